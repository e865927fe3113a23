"""Contacts: a searchable, filterable table paged on the server, and the customer card.

Only the current page is ever read from the database (``ws.contacts.df(limit=, offset=)``);
the total comes from ``ws.contacts.count()`` with the same filters, counted once per set of
filters (paging reuses it), so paging through a search spends one search per page of the
user's per-minute search budget (see :data:`siyu.core.services.contacts.SEARCHES_PER_MINUTE`).

The highlighted row and the customer card always agree: a row clicked opens its contact, a
contact opened by id highlights its row when it is on the page, and when the rows change (a
search, a filter, another page) the card stays only if its contact is still on the page —
otherwise the card and the highlight are both cleared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    downloads,
    empty_state,
    export_frame,
    fmt_int,
    page_header,
)
from siyu.apps.pages.common import (
    Pager,
    contact_ref,
    notify_error,
    notify_errors,
    toggle_empty,
)
from siyu.apps.pages.customer_card import CustomerCard
from siyu.apps.safe import md
from siyu.core.errors import SiyuError
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: Columns read for the contacts table, in order.
COLUMNS = ["id", "external_userid", "name", "phone", "owner", "store", "source_channel",
           "city", "added_at", "removed_at"]
#: How the table shows them.
COLS = (
    Col("id", _.lazy("ID"), "id"),
    Col("name", _.lazy("Customer name")),
    Col("external_userid", _.lazy("External user ID"), "id"),
    Col("phone", _.lazy("Phone"), "id"),
    Col("owner", _.lazy("Owner")),
    Col("store", _.lazy("Store")),
    Col("source_channel", _.lazy("Source channel")),
    Col("city", _.lazy("City")),
    Col("added_at", _.lazy("Added at"), "time"),
    Col("removed_at", _.lazy("Removed at"), "time"),
)
#: The table and the customer card share a row only when the table can have the width a
#: page of contacts needs — about 1,000 px for every column in English, with WeCom's 32
#: character external user ids — beside a card of at least 320 px: a screen of about
#: 1,600 px or more. On a narrower one (a 1440 px laptop, a phone) the card goes below the
#: table, full width, and scrolls into view when a row is clicked
#: (:data:`siyu.apps.pages.customer_card.REVEAL_JS`). Side by side, three parts of the
#: room left over go to the table, one to the card.
LISTING_STYLES = {"flex": "3 1 1000px", "min-width": "0"}
CARD_STYLES = {"flex": "1 1 320px", "min-width": "0"}
#: A download holds at most this many contacts of the current filters.
EXPORT_LIMIT = 10_000
ALL = ""


def url_contact() -> str:
    """The contact the page's address names (``/contacts?contact=<id or external user id>``,
    as the sandbox's scan page links to it), or ``""``."""
    try:
        values = (pn.state.session_args or {}).get("contact") or []
    except AttributeError:  # no browser session (a notebook, a test)
        return ""
    value = values[0] if values else b""
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:200]


class ContactsPage(pn.viewable.Viewer):
    """The Contacts page (permission ``data.read``).

    ``rows`` holds the contacts of the current page as read (ids as numbers, times aware);
    the table shows them formatted (:data:`COLS`). The downloads hold up to
    :data:`EXPORT_LIMIT` contacts matching the current filters, not only the current page.

    :param ws: the workspace acting as the signed-in user.
    :param page_size: rows per page.
    :param contact: a contact to open on the card at once (an id or an external user id);
        default: the one the address names (``?contact=``), if any.
    """

    def __init__(self, ws: Workspace, *, page_size: int = 50,
                 contact: int | str | None = None, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.reveal_pii = ws.principal.can("pii.view")
        self.search = pn.widgets.TextInput(
            label=_("Search"), placeholder=_("Name, remark, external user ID or phone"),
            css_classes=["siyu-contacts-search"], width=280)
        self.tag = pn.widgets.Select(label=_("Tag"), css_classes=["siyu-contacts-tag"],
                                     width=180)
        self.owner = pn.widgets.Select(label=_("Owner"), css_classes=["siyu-contacts-owner"],
                                       width=180)
        self.channel = pn.widgets.Select(label=_("Source channel"),
                                         css_classes=["siyu-contacts-channel"], width=180)
        self.reset = pn.widgets.Button(label=_("Clear filters"),
                                       css_classes=["siyu-contacts-reset"],
                                       margin=(24, 10, 10, 10))
        self.pager = Pager(page_size=page_size, noun="contact", nouns="contacts",
                           css_class="siyu-contacts-pager")
        self.rows = pd.DataFrame(columns=COLUMNS)
        # Sorting in the browser would only reorder the current page: off.
        self.table = data_table(COLS, css_class="siyu-contacts-table", selectable=1,
                                sortable=False)
        self.empty = empty_state("", css_class="siyu-contacts-empty")
        self.downloads = downloads(self.export_frame, "contacts",
                                   css_class="siyu-contacts-download")
        self.download_note = pn.pane.Markdown(
            md(_("Downloads hold up to {limit} contacts matching the filters, not only this "
                 "page."), limit=fmt_int(EXPORT_LIMIT)),
            css_classes=["siyu-contacts-download-note"], margin=(14, 10, 0, 10))
        self.open_input = pn.widgets.TextInput(
            label=_("Open a contact"), placeholder=_("Contact ID or external user ID"),
            css_classes=["siyu-contacts-open-input"], width=200)
        self.open_button = pn.widgets.Button(label=_("Open"), color="primary",
                                             css_classes=["siyu-contacts-open"],
                                             margin=(24, 10, 10, 10))
        self.card = CustomerCard(ws)
        self._quiet = False
        #: True while the page itself sets the table's selection (not a click).
        self._syncing = False
        #: The filters ``pager.total`` was counted for (``None``: count again).
        self._counted: dict[str, Any] | None = None
        self._staff_names: dict[str, str] = {}

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
        wanted = contact if contact is not None else url_contact()
        if wanted:
            self.open_contact(wanted)

    # -- filters --------------------------------------------------------------------------

    def _load_options(self) -> None:
        """Fill the tag, owner and channel choices (small lists, read once per session)."""
        ws = self.ws
        staff = ws.staff.list()
        self._staff_names = {s.userid: s.name or s.userid for s in staff}
        self.tag.options = {_("All tags"): ALL, **{name: name for name in ws.tags.names()}}
        self.owner.options = {_("All owners"): ALL,
                              **{f"{s.name} ({s.userid})": s.userid for s in staff}}
        channels = ws.reports.contacts_by_channel(active=None)["channel"]
        self.channel.options = {_("All channels"): ALL,
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
            self._show_rows(pd.DataFrame(columns=COLUMNS))
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
        self._show_rows(frame)

    def _readable(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with owners by name instead of WeCom userid."""
        if frame.empty:
            return frame
        return frame.assign(owner=[self._staff_names.get(o, o) if isinstance(o, str) else o
                                   for o in frame["owner"]])

    def _show_rows(self, frame: pd.DataFrame) -> None:
        """Show ``frame`` as the page of rows; keep the card only if its contact is on it."""
        self.rows = frame.reset_index(drop=True)
        self.table.value = display_frame(self._readable(self.rows), COLS, self.ws.timezone)
        has_rows = not self.rows.empty
        if not has_rows:
            searched = any(self.filters().values())
            self.empty.object = empty_state(
                _("No contact matches these filters.") if searched else _("No contacts yet."),
                _("Clear the filters or search for something else.") if searched else
                _("Import contacts, or connect WeCom to sync them.")).object
        toggle_empty(self.table, self.empty, has_rows)
        if self._row_of(self.card.contact_id) is None:
            self.card.clear()
        self._sync_selection()

    def _row_of(self, contact_id: int | None) -> int | None:
        """The row index of ``contact_id`` on the current page, if it is there."""
        if contact_id is None or self.rows.empty:
            return None
        matches = self.rows.index[self.rows["id"] == contact_id].tolist()
        return matches[0] if matches else None

    def _sync_selection(self) -> None:
        """Highlight the row of the card's contact, or nothing when it is not on the page."""
        index = self._row_of(self.card.contact_id)
        wanted = [] if index is None else [index]
        if list(self.table.selection) != wanted:
            self._syncing = True
            try:
                self.table.selection = wanted
            finally:
                self._syncing = False

    def _row_selected(self, event: Any) -> None:
        if self._syncing:
            return
        if not event.new:
            self.card.clear()  # the row was un-highlighted: no card without its row
            return
        index = event.new[0]
        if 0 <= index < len(self.rows):
            self.open_contact(int(self.rows["id"].iloc[index]))

    @notify_errors
    def open_contact(self, contact: int | str) -> None:
        """Show ``contact`` (an id, or text typed by the user) on the customer card and
        highlight its row when it is on the current page (else no row).

        :raises NotFound: shown as a notification; the card keeps what it showed.
        """
        if isinstance(contact, str):
            if not contact.strip():
                return
            contact = contact_ref(contact)
        try:
            self.card.show(contact)
        finally:
            self._sync_selection()

    # -- downloads ------------------------------------------------------------------------

    def export_frame(self) -> pd.DataFrame:
        """What the downloads hold: up to :data:`EXPORT_LIMIT` contacts matching the current
        filters (all pages), with the table's columns and headers; phones masked unless the
        role may see them. Audited as ``contact.export``."""
        filters = self.filters()
        try:
            frame = self.ws.contacts.df(columns=COLUMNS, limit=EXPORT_LIMIT,
                                        reveal_pii=self.reveal_pii, **filters)
        except SiyuError as exc:
            notify_error(str(exc))
            frame = pd.DataFrame(columns=COLUMNS)
        else:
            detail = {key: value for key, value in filters.items()
                      if value and key != "search"}
            if filters["search"]:
                detail["search"] = True  # the term itself is in the contact.search entry
            self.ws.audit("contact.export", "contacts", {"rows": len(frame), **detail})
        return export_frame(self._readable(frame), COLS, self.ws.timezone)

    # -- layout ---------------------------------------------------------------------------

    def __panel__(self) -> pn.Column:
        filters = pn.FlexBox(self.search, self.tag, self.owner, self.channel, self.reset,
                             flex_wrap="wrap", css_classes=["siyu-contacts-filters"],
                             sizing_mode="stretch_width")
        listing = pn.Column(self.pager, self.table, self.empty,
                            pn.FlexBox(self.downloads, self.download_note, flex_wrap="wrap"),
                            sizing_mode="stretch_width", styles=LISTING_STYLES)
        opener = pn.FlexBox(self.open_input, self.open_button, flex_wrap="wrap")
        side = pn.Column(opener, self.card, sizing_mode="stretch_width", styles=CARD_STYLES)
        return pn.Column(
            page_header(_("Contacts"),
                        _("Every customer, with search and filters. Click a row, or open a "
                          "contact by ID, to see the customer card.")),
            filters, pn.FlexBox(listing, side, flex_wrap="wrap", sizing_mode="stretch_width"),
            css_classes=["siyu-contacts-page"], sizing_mode="stretch_width")
