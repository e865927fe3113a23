"""The Customers to match page (待匹配客户): members and buyers a connector could not match to
one contact by itself, resolved by a person; and every match made, undoable.

Opening it needs ``data.read``; matching, dismissing and undoing need ``data.write`` (the
buttons are hidden without it, and :mod:`~siyu.plugins.connectors.identity` checks again).
Phones are masked unless the role holds ``pii.view``; contact searches go through
``ws.contacts`` (audited and rate-limited like the Contacts page's). Every data-derived string
reaches the page through the kit's tables or :func:`~siyu.apps.safe.html`, escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, empty_state, page_header
from siyu.apps.pages.common import notify_errors, notify_success, readonly_note, section
from siyu.apps.safe import html
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.connectors import identity

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.connectors")

QUEUE_COLS = (Col("id", _.lazy("No."), "id", width=60), Col("source", _.lazy("Connector")),
              Col("why", _.lazy("Why")), Col("member_id", _.lazy("Member no.")),
              Col("name", _.lazy("Name")), Col("phone", _.lazy("Phone")),
              Col("orders", _.lazy("Orders"), "int"), Col("detail", _.lazy("Detail")),
              Col("seen", _.lazy("Seen"), "int"), Col("created_at", _.lazy("Since"), "time"))
MATCH_COLS = (Col("id", _.lazy("No."), "id", width=60), Col("contact", _.lazy("Contact")),
              Col("source", _.lazy("Connector")), Col("how_label", _.lazy("How")),
              Col("member_id", _.lazy("Member no.")), Col("orders", _.lazy("Orders"), "int"),
              Col("created_at", _.lazy("Matched"), "time"), Col("created_by", _.lazy("By")),
              Col("undone_at", _.lazy("Undone"), "time"))
#: Contacts a search offers.
SEARCH_LIMIT = 20


def reason_labels() -> dict[str, str]:
    """Each queue reason in words, in the current language."""
    return {"conflict": _("unclear which contact"),
            "unmatched": _("orders with no matching contact")}


def how_labels() -> dict[str, str]:
    return {"auto": _("automatically"), "manual": _("by hand")}


class IdentityQueuePage(pn.viewable.Viewer):
    """The Customers to match page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        self.items = pd.DataFrame()
        self.matches = pd.DataFrame()
        self.queue_table = data_table(QUEUE_COLS, css_class="siyu-idqueue-table", selectable=1,
                                      pagination="local", page_size=20)
        self.queue_empty = empty_state(_("Nobody is waiting to be matched."),
                                       _("Connectors queue members and buyers here when they "
                                         "match no contact or more than one."),
                                       css_class="siyu-idqueue-empty")
        self.chosen = pn.pane.HTML("", css_classes=["siyu-idqueue-chosen"],
                                   sizing_mode="stretch_width")
        self.search = pn.widgets.TextInput(
            placeholder=_("Name, phone (last 4 digits) or external ID"), width=260,
            css_classes=["siyu-idqueue-search"])
        self.find = pn.widgets.Button(label=_("Find contacts"), margin=(5, 10),
                                      css_classes=["siyu-idqueue-find"])
        self.contact = pn.widgets.Select(label=_("This customer is"), width=320,
                                         css_classes=["siyu-idqueue-contact"])
        self.match = pn.widgets.Button(label=_("Match"), color="primary",
                                       margin=(24, 10, 10, 10),
                                       css_classes=["siyu-idqueue-match"])
        self.dismiss = pn.widgets.Button(label=_("Dismiss"), margin=(24, 10, 10, 10),
                                         css_classes=["siyu-idqueue-dismiss"])
        self.resolver = pn.Column(self.chosen,
                                  pn.FlexBox(self.search, self.find, align_items="end"),
                                  pn.FlexBox(self.contact, self.match, self.dismiss,
                                             align_items="end"),
                                  visible=False, sizing_mode="stretch_width",
                                  css_classes=["siyu-idqueue-resolver"])
        self.match_table = data_table(MATCH_COLS, css_class="siyu-idqueue-matches",
                                      selectable=1, pagination="local", page_size=20)
        self.undo = pn.widgets.Button(label=_("Undo the chosen match"), disabled=True,
                                      css_classes=["siyu-idqueue-undo"],
                                      visible=self.can_write)
        self.queue_table.param.watch(self._item_chosen, "selection")
        self.match_table.param.watch(self._match_chosen, "selection")
        self.find.on_click(lambda _e: self.find_contacts())
        self.match.on_click(lambda _e: self.resolve())
        self.dismiss.on_click(lambda _e: self.dismiss_item())
        self.undo.on_click(lambda _e: self.undo_match())
        self.refresh()

    # -- reading -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the open queue and the matches again."""
        self.items = identity.queue(self.ws)
        shown = self.items.assign(why=self.items["reason"].map(reason_labels()).fillna(""))
        self.queue_table.value = display_frame(shown, QUEUE_COLS, self.ws.timezone)
        has = not self.items.empty
        self.queue_table.visible, self.queue_empty.visible = has, not has
        self.resolver.visible = False
        self.matches = identity.links(self.ws)
        names = self._names(self.matches["contact_id"].tolist())
        shown = self.matches.assign(
            contact=self.matches["contact_id"].map(lambda i: names.get(i, str(i))),
            how_label=self.matches["how"].map(how_labels()).fillna(""))
        self.match_table.value = display_frame(shown, MATCH_COLS, self.ws.timezone)
        self.undo.disabled = True

    def _names(self, ids: list[int]) -> dict[int, str]:
        """``{contact id: "name (id)"}`` for ``ids``."""
        if not ids:
            return {}
        frame = self.ws.contacts.df(columns=["id", "name"],
                                    within=_ids_select(sorted(set(map(int, ids)))))
        return {int(i): f"{n or '—'} ({i})" for i, n in zip(frame["id"], frame["name"],
                                                            strict=True)}

    def _chosen_item(self) -> pd.Series | None:
        rows = list(self.queue_table.selection)
        if not rows or rows[0] >= len(self.items):
            return None
        return self.items.iloc[rows[0]]

    def _item_chosen(self, _event: Any = None) -> None:
        item = self._chosen_item()
        if item is None or not self.can_write:
            self.resolver.visible = False
            return
        self.chosen.object = html(
            "<p><b>{label}</b> {name} · {member} · {detail}</p>", label=_("Chosen:"),
            name=item["name"] or "—", member=item["member_id"] or "—",
            detail=item["detail"])
        self._offer(self._names(list(item["candidates"] or [])))
        self.resolver.visible = True

    def _offer(self, contacts: dict[int, str]) -> None:
        self.contact.options = {label: contact_id for contact_id, label in contacts.items()}
        self.contact.value = next(iter(contacts), None)

    def _match_chosen(self, _event: Any = None) -> None:
        rows = list(self.match_table.selection)
        chosen = self.matches.iloc[rows[0]] if rows and rows[0] < len(self.matches) else None
        self.undo.disabled = chosen is None or pd.notna(chosen["undone_at"])

    # -- acting ------------------------------------------------------------------------
    @notify_errors
    def find_contacts(self) -> None:
        term = self.search.value.strip()
        if not term:
            raise ValidationError(_("type a name, a phone or an external ID to search"))
        frame = self.ws.contacts.df(columns=["id", "name", "phone", "external_userid"],
                                    search=term, limit=SEARCH_LIMIT)
        found = {int(row.id): f"{row.name or '—'} · {row.phone or ''} ({row.id})"
                 for row in frame.itertuples()}
        if not found:
            raise ValidationError(_("no contact matches {term!r}", term=term))
        self._offer(found)

    @notify_errors
    def resolve(self) -> None:
        item = self._chosen_item()
        if item is None or self.contact.value is None:
            raise ValidationError(_("choose a queued customer and the contact it is"))
        link = identity.resolve(self.ws, int(item["id"]), int(self.contact.value))
        notify_success(_("Matched; match {link} can be undone below.", link=link))
        self.refresh()

    @notify_errors
    def dismiss_item(self) -> None:
        item = self._chosen_item()
        if item is None:
            raise ValidationError(_("choose a queued customer first"))
        identity.dismiss(self.ws, int(item["id"]))
        notify_success(_("Dismissed."))
        self.refresh()

    @notify_errors
    def undo_match(self) -> None:
        rows = list(self.match_table.selection)
        if not rows:
            raise ValidationError(_("choose a match first"))
        identity.undo(self.ws, int(self.matches.iloc[rows[0]]["id"]))
        notify_success(_("Match undone."))
        self.refresh()

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("Customers to match"),
                        _("Members and buyers a connector could not match to one contact by "
                          "itself. Say which contact each is; every match can be undone.")),
            *readonly_note(self.can_write, _("matches")),
            section(_("Waiting"), self.queue_table, self.queue_empty, self.resolver,
                    css_class="siyu-idqueue-waiting"),
            section(_("Matches made"), self.match_table, self.undo,
                    css_class="siyu-idqueue-made"),
            css_classes=["siyu-idqueue-page"], sizing_mode="stretch_width")


def _ids_select(ids: list[int]):
    import sqlalchemy as sa

    from siyu.storage.models import Contact

    return sa.select(Contact.id).where(Contact.id.in_(ids))
