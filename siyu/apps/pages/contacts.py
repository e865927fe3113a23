"""Contacts: a searchable, filterable table paged on the server, and the customer card.

Only the current page is ever read from the database (``ws.contacts.df(limit=, offset=)``);
the total comes from ``ws.contacts.count()`` with the same filters, counted once per set of
filters (paging reuses it), so paging through a search spends one search per page of the
user's per-minute search budget (see :data:`siyu.core.services.contacts.SEARCHES_PER_MINUTE`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.pages.common import (
    Pager,
    contact_ref,
    notify_error,
    notify_errors,
    show_times,
    table,
)
from siyu.apps.pages.customer_card import CustomerCard
from siyu.core.errors import SiyuError

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: Columns of the contacts table, in order.
COLUMNS = ["id", "external_userid", "name", "phone", "owner", "store", "source_channel",
           "city", "added_at", "removed_at"]
ALL = ""


class ContactsPage(pn.viewable.Viewer):
    """The Contacts page (permission ``data.read``).

    :param ws: the workspace acting as the signed-in user.
    :param page_size: rows per page.
    """

    def __init__(self, ws: Workspace, *, page_size: int = 50, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.reveal_pii = ws.principal.can("pii.view")
        self.search = pn.widgets.TextInput(
            label="Search", placeholder="Name, remark, external user id or phone",
            css_classes=["siyu-contacts-search"], width=280)
        self.tag = pn.widgets.Select(label="Tag", css_classes=["siyu-contacts-tag"], width=180)
        self.owner = pn.widgets.Select(label="Owner", css_classes=["siyu-contacts-owner"],
                                       width=180)
        self.channel = pn.widgets.Select(label="Channel",
                                         css_classes=["siyu-contacts-channel"], width=180)
        self.reset = pn.widgets.Button(label="Clear filters", css_classes=["siyu-contacts-reset"],
                                       margin=(24, 10, 10, 10))
        self.pager = Pager(page_size=page_size, noun="contact", nouns="contacts",
                           css_class="siyu-contacts-pager")
        # Sorting in the browser would only reorder the current page: off.
        self.table = table(css_class="siyu-contacts-table", selectable=1, sortable=False)
        self.open_input = pn.widgets.TextInput(
            label="Open a contact", placeholder="Contact id or external user id",
            css_classes=["siyu-contacts-open-input"], width=300)
        self.open_button = pn.widgets.Button(label="Open", color="primary",
                                             css_classes=["siyu-contacts-open"],
                                             margin=(24, 10, 10, 10))
        self.card = CustomerCard(ws)
        self._quiet = False
        #: The filters ``pager.total`` was counted for (``None``: count again).
        self._counted: dict[str, Any] | None = None

        self._load_options()
        for widget in (self.search, self.tag, self.owner, self.channel):
            widget.param.watch(self._filters_changed, "value")
        self.pager.param.watch(self._page_changed, "page")
        self.table.param.watch(self._row_selected, "selection")
        self.reset.on_click(lambda _event: self.clear_filters())
        self.open_button.on_click(lambda _event: self.open_contact(self.open_input.value))
        self.open_input.param.watch(lambda _event: self.open_contact(self.open_input.value),
                                    "enter_pressed")
        self.refresh()

    # -- filters --------------------------------------------------------------------------

    def _load_options(self) -> None:
        """Fill the tag, owner and channel choices (small lists, read once per session)."""
        ws = self.ws
        self.tag.options = {"All tags": ALL, **{name: name for name in ws.tags.names()}}
        self.owner.options = {"All owners": ALL,
                              **{f"{s.name} ({s.userid})": s.userid for s in ws.staff.list()}}
        channels = ws.reports.contacts_by_channel(active=None)["channel"]
        self.channel.options = {"All channels": ALL,
                                **{name: name for name in sorted(channels) if name}}
        # Set the value with the options: a Select left at None is set to its first option
        # when drawn, which would fire the filter watchers and refresh the table again.
        for widget in (self.tag, self.owner, self.channel):
            widget.value = ALL

    def filters(self) -> dict[str, Any]:
        """The current filters as ``ws.contacts.count()`` / ``df()`` keyword arguments."""
        return {"search": self.search.value.strip() or None, "tag": self.tag.value or None,
                "owner": self.owner.value or None, "channel": self.channel.value or None}

    def clear_filters(self) -> None:
        """Show every contact again."""
        self._quiet = True
        try:
            for widget in (self.search, self.tag, self.owner, self.channel):
                widget.value = ALL
        finally:
            self._quiet = False
        self._filters_changed()

    def _filters_changed(self, *_events: Any) -> None:
        if self._quiet:
            return
        if self.pager.page != 1:
            self.pager.page = 1  # the page watcher refreshes
        else:
            self.refresh()

    # -- table ----------------------------------------------------------------------------

    def _page_changed(self, *_events: Any) -> None:
        if not self._quiet:
            self.refresh(recount=False)

    def refresh(self, *, recount: bool = True) -> None:
        """Count the matching contacts and show the current page of them.

        A refused or rate-limited search is shown as a notification and leaves an empty
        table, never rows of an earlier search under the new search term.

        :param recount: count again even when the filters are the ones last counted.
        """
        try:
            self._show_page(recount)
        except SiyuError as exc:
            self._counted = None
            self._quiet = True
            try:
                self.pager.total = 0
                self.pager.page = 1
            finally:
                self._quiet = False
            self.table.selection = []
            self.table.value = pd.DataFrame(columns=COLUMNS)
            notify_error(str(exc))

    def _show_page(self, recount: bool) -> None:
        filters = self.filters()
        if recount or filters != self._counted:
            self._counted = None  # an error while counting must not leave a stale total
            self.pager.total = self.ws.contacts.count(**filters)
            self._counted = filters
        if self.pager.page > self.pager.pages:
            self.pager.page = self.pager.pages  # the page watcher refreshes
            return
        frame = self.ws.contacts.df(columns=COLUMNS, limit=self.pager.page_size,
                                    offset=self.pager.offset, reveal_pii=self.reveal_pii,
                                    **filters)
        self.table.selection = []
        self.table.value = show_times(frame, ["added_at", "removed_at"], self.ws.timezone)

    def _row_selected(self, event: Any) -> None:
        if not event.new:
            return
        frame = self.table.value
        index = event.new[0]
        if 0 <= index < len(frame):
            self.open_contact(int(frame["id"].iloc[index]))

    @notify_errors
    def open_contact(self, contact: int | str) -> None:
        """Show ``contact`` (an id, or text typed by the user) on the customer card.

        :raises NotFound: shown as a notification.
        """
        if isinstance(contact, str):
            if not contact.strip():
                return
            contact = contact_ref(contact)
        self.card.show(contact)

    # -- layout ---------------------------------------------------------------------------

    def __panel__(self) -> pn.Column:
        filters = pn.Row(self.search, self.tag, self.owner, self.channel, self.reset,
                         css_classes=["siyu-contacts-filters"], sizing_mode="stretch_width")
        listing = pn.Column(self.pager, self.table, sizing_mode="stretch_width")
        side = pn.Column(pn.Row(self.open_input, self.open_button), self.card, width=520)
        return pn.Column(
            pn.pane.Markdown("## Contacts"), filters, pn.Row(listing, side,
                                                             sizing_mode="stretch_width"),
            css_classes=["siyu-contacts-page"], sizing_mode="stretch_width")
