"""The Customer card page (客户详情): find a customer by name, phone, member id or external
userid and read their card — profile, owner and owner history, tags, order figures and
orders, the journey timeline and the risk notes.

Opening it needs ``data.read``; phones are masked unless the role holds ``pii.view``.
``/customer?contact=<id or external userid>`` opens a contact at once, so other pages can
link to a card. Every data-derived string reaches the page through the kit tables or
:func:`~siyu.apps.safe.html`, escaped. Each browser session builds its own page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    MISSING,
    Col,
    data_table,
    display_frame,
    empty_state,
    fmt_int,
    fmt_money,
    fmt_time,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import contact_ref, notify_errors, notify_success, section
from siyu.apps.pages.contacts import url_contact
from siyu.apps.safe import Safe, html, join
from siyu.core.i18n import translator
from siyu.plugins.customers import labels
from siyu.plugins.customers.card import CustomerCard, card
from siyu.plugins.customers.notes import MAX_NOTE as NOTE_LIMIT
from siyu.plugins.customers.search import find

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.customers")

#: Tabulator's ``textarea`` formatter: long text wraps in its cell (escaped like the default).
WRAP = {"type": "textarea"}
RESULT_COLS = (Col("id", _.lazy("ID"), "id"), Col("name", _.lazy("Customer")),
               Col("phone", _.lazy("Phone"), "id"), Col("member_id", _.lazy("Member ID"), "id"),
               Col("owner_label", _.lazy("Owner")),
               Col("external_userid", _.lazy("External user ID"), "id"),
               Col("added_at", _.lazy("Added at"), "time"))
FOLLOWER_COLS = (Col("member", _.lazy("Staff member")), Col("role", _.lazy("Owner")),
                 Col("added_at", _.lazy("Added at"), "time"), Col("ended", _.lazy("Ended")),
                 Col("state", _.lazy("Channel code")), Col("remark", _.lazy("Remark")))
HISTORY_COLS = (Col("at", _.lazy("Time"), "time"), Col("old", _.lazy("From")),
                Col("new", _.lazy("To")), Col("how_label", _.lazy("How")),
                Col("state", _.lazy("State")), Col("by", _.lazy("By")),
                Col("note", _.lazy("Reason"), width=240))
ORDER_COLS = (Col("external_id", _.lazy("Order number"), "id"),
              Col("paid_at", _.lazy("Paid at"), "time"),
              Col("amount_fen", _.lazy("Amount"), "money"),
              Col("refunded_fen", _.lazy("Refunded"), "money"),
              Col("status_label", _.lazy("Status")), Col("source", _.lazy("Source")),
              Col("store_label", _.lazy("Store")))
#: The details take the room the time and the kind leave, wrapped: on a phone too the
#: whole sentence shows without scrolling sideways.
TIMELINE_COLS = (Col("time", _.lazy("Time"), "time", width=96),
                 Col("kind_label", _.lazy("What happened"), width=96),
                 Col("what", _.lazy("Details")))
RISK_COLS = (Col("at", _.lazy("Time"), "time"), Col("kind_label", _.lazy("Kind")),
             Col("reason_label", _.lazy("Reason"), width=260),
             Col("campaign", _.lazy("Campaign")), Col("by", _.lazy("By")))
#: Rows per page of the orders and timeline tables.
PAGE_SIZE = 10

CARD_CSS = """
.siyu-customer-name{font-size:20px;font-weight:600;margin:4px 0;word-break:break-word}
.siyu-badge{display:inline-block;margin:0 6px 4px 0;padding:2px 8px;border-radius:10px;
font-size:12px;background:#eef1f5;color:#33404f}
.siyu-badge-removed{background:#fdecea;color:#b71c1c}
.siyu-badge-dnc{background:#fff3e0;color:#e65100}
.siyu-profile{border-collapse:collapse;width:100%}
.siyu-profile th{text-align:left;font-weight:500;color:#5f6b7a;padding:3px 14px 3px 0;
vertical-align:top;white-space:nowrap;width:1%}
.siyu-profile td{padding:3px 0;word-break:break-word}
.siyu-profile-more th{padding-top:10px}
.siyu-owner{margin:0 0 8px;line-height:1.6;word-break:break-word}
.siyu-owner-none{color:#5f6b7a}
.siyu-tag{display:inline-block;margin:2px 4px 2px 0;padding:2px 8px;border-radius:10px;
background:#e3f2fd;color:#0d47a1;font-size:12px;word-break:break-word}
.siyu-tags-none{color:#5f6b7a;margin:0}
"""
#: On a phone two figure cards share a row: a date in the kit's size would not fit one.
KPI_CSS = "@media (max-width: 600px){.siyu-kpi-value{font-size:19px}}"
#: Side by side on a wide screen (profile one part, owner two), one under the other on a
#: phone.
PROFILE_STYLES = {"flex": "1 1 340px", "min-width": "0"}
OWNER_STYLES = {"flex": "2 1 480px", "min-width": "0"}


def _pane(css_class: str, margin: tuple[int, ...] = (0, 10)) -> pn.pane.HTML:
    return pn.pane.HTML("", sizing_mode="stretch_width", css_classes=[css_class],
                        stylesheets=[CARD_CSS], margin=margin)


def _show_or_empty(holder: pn.Column, table: Any, empty: Any, has_rows: bool) -> None:
    """Put ``table`` or its ``empty`` state in ``holder`` (a table drawn while hidden
    would stay zero pixels high, so the one not wanted is taken out, not hidden)."""
    wanted = table if has_rows else empty
    if list(holder.objects) != [wanted]:
        holder.objects = [wanted]


class CardView(pn.viewable.Viewer):
    """The card of one contact; empty until :meth:`show`."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.shown: CustomerCard | None = None
        self.title = _pane("siyu-customer-title", margin=(16, 10, 0, 10))
        self.profile = _pane("siyu-customer-profile")
        self.owner = _pane("siyu-customer-owner")
        self.tags = _pane("siyu-customer-tags")
        self.kpis = pn.Column(sizing_mode="stretch_width", css_classes=["siyu-customer-kpis"])
        #: Each table by name: the table, its empty state, the column holding either.
        self.tables: dict[str, tuple[pn.widgets.Tabulator, Any, pn.Column]] = {}
        self._cols: dict[str, tuple[Col, ...]] = {}
        self._table("followers", FOLLOWER_COLS, _("No staff member follows this customer."))
        self._table("history", HISTORY_COLS, _("No owner change recorded."),
                    formatters={HISTORY_COLS[-1].title: WRAP})
        self._table("orders", ORDER_COLS, _("No orders yet."), pagination="local",
                    page_size=PAGE_SIZE)
        self._table("timeline", TIMELINE_COLS, _("Nothing recorded yet."),
                    pagination="local", page_size=PAGE_SIZE, layout="fit_columns",
                    frozen_columns=[], formatters={col.title: WRAP for col in TIMELINE_COLS})
        self._table("risk", RISK_COLS, _("No risk notes."),
                    formatters={RISK_COLS[2].title: WRAP})
        can_write = ws.principal.can("data.write")
        self.note_input = pn.widgets.TextAreaInput(
            placeholder=_("What colleagues should know about this customer (shown in the "
                          "timeline and the chat sidebar)"), max_length=NOTE_LIMIT,
            disabled=not can_write, css_classes=["siyu-customer-note"], height=70,
            sizing_mode="stretch_width")
        self.note_button = pn.widgets.Button(label=_("Save note"), color="primary",
                                             disabled=not can_write,
                                             css_classes=["siyu-customer-note-save"])
        self.note_button.on_click(lambda _event: self.add_note())
        self.details = self._details()
        self.empty = empty_state(_("Find a customer above to see their card."),
                                 _("Or open one from the Contacts page."),
                                 css_class="siyu-customer-none")
        self._layout = pn.Column(self.empty, sizing_mode="stretch_width",
                                 css_classes=["siyu-customer-card-view"])

    def _table(self, name: str, cols: tuple[Col, ...], empty: str, **options: Any) -> None:
        table = data_table(cols, css_class=f"siyu-customer-{name}", sortable=False, **options)
        message = empty_state(empty, css_class=f"siyu-customer-{name}-empty")
        self.tables[name] = (table, message, pn.Column(message, sizing_mode="stretch_width"))
        self._cols[name] = cols

    def _holder(self, name: str) -> pn.Column:
        return self.tables[name][2]

    def _details(self) -> pn.Column:
        profile = pn.Column(self.profile, sizing_mode="stretch_width", styles=PROFILE_STYLES)
        owner = pn.Column(section(_("Owner"), self.owner, self._holder("followers")),
                          section(_("Owner history"), self._holder("history")),
                          sizing_mode="stretch_width", styles=OWNER_STYLES)
        return pn.Column(
            self.title, pn.FlexBox(profile, owner, flex_wrap="wrap", sizing_mode="stretch_width"),
            section(_("Tags"), self.tags),
            section(_("Notes"), self.note_input, self.note_button),
            section(_("Orders"), self.kpis, self._holder("orders")),
            section(_("Timeline"), self._holder("timeline")),
            section(_("Risk notes"), self._holder("risk")),
            sizing_mode="stretch_width", css_classes=["siyu-customer-card"])

    # -- filling ------------------------------------------------------------------------

    def show(self, contact: int | str) -> CustomerCard:
        """Fill the card with ``contact`` (an id or an external userid).

        :raises NotFound: no such contact; the card keeps what it showed.
        """
        found = card(self.ws, contact)
        self.shown = found
        self.title.object = self._title_html(found)
        self.profile.object = self._profile_html(found)
        self.owner.object = self._owner_html(found)
        self.tags.object = self._tags_html(found)
        self.kpis.objects = [self._kpis(found)]
        self._fill("followers", self._followers(found))
        self._fill("history", self._history(found))
        self._fill("orders", self._orders(found))
        self._fill("timeline", found.timeline.assign(
            kind_label=[labels.kind_label(k) for k in found.timeline["kind"]]))
        self._fill("risk", self._risk(found))
        if list(self._layout.objects) != [self.details]:
            self._layout.objects = [self.details]
        return found

    @notify_errors
    def add_note(self) -> None:
        """Write the typed note on the customer shown and show it in the timeline."""
        from siyu.plugins.customers import notes

        if self.shown is None:
            return
        text = self.note_input.value_input or self.note_input.value or ""
        notes.add(self.ws, self.shown.contact_id, text)
        self.note_input.value = self.note_input.value_input = ""
        self.show(self.shown.contact_id)
        notify_success(_("Note saved."))

    def _fill(self, name: str, frame: pd.DataFrame) -> None:
        table, empty, holder = self.tables[name]
        table.value = display_frame(frame, self._cols[name], self.ws.timezone)
        _show_or_empty(holder, table, empty, not frame.empty)

    def _time(self, value: Any) -> str:
        return fmt_time(value, self.ws.timezone) if value is not None else ""

    def _title_html(self, c: CustomerCard) -> Safe:
        badges = []
        if c.profile["removed"]:
            badges.append(html('<span class="siyu-badge siyu-badge-removed">{text}</span>',
                               text=_("Removed {time}", time=self._time(c.profile["removed_at"]))))
        if any(note["kind"] == "do_not_contact" for note in c.risk_notes):
            badges.append(html('<span class="siyu-badge siyu-badge-dnc">{text}</span>',
                               text=_("Do not contact")))
        return html('<h2 class="siyu-customer-name">{name}</h2>{badges}', name=c.title,
                    badges=join("", badges))

    def _profile_html(self, c: CustomerCard) -> Safe:
        p = c.profile
        shown = dict(p, gender=labels.word(labels.GENDERS, p["gender"]),
                     store=_("{name} ({code})", name=p["store_name"], code=p["store"])
                     if p["store"] else "",
                     added_at=self._time(p["added_at"]), removed_at=self._time(p["removed_at"]))
        rows = [html("<tr><th>{label}</th><td>{value}</td></tr>", label=str(label),
                     value=shown.get(key) if shown.get(key) not in (None, "") else MISSING)
                for key, label in labels.PROFILE]
        fields = p.get("fields") or {}
        if fields:
            rows.append(html('<tr class="siyu-profile-more"><th colspan="2">{title}</th></tr>',
                             title=_("Custom fields")))
            rows += [html("<tr><th>{label}</th><td>{value}</td></tr>", label=name,
                          value=value or MISSING) for name, value in fields.items()]
        return html('<table class="siyu-profile">{rows}</table>', rows=join("", rows))

    def _owner_html(self, c: CustomerCard) -> Safe:
        owner = c.owner
        if owner is None:
            return html('<p class="siyu-owner siyu-owner-none">{text}</p>',
                        text=_("No owner"))
        member = labels.staff_label(owner["userid"], {owner["userid"]: owner["name"]})
        parts = [_("Owner: {member}", member=member)]
        if owner["since"] is not None:
            parts.append(_("friend since {time}", time=self._time(owner["since"])))
        if owner["pinned"]:
            parts.append(_("chosen by a user"))
        return html('<p class="siyu-owner">{text}</p>', text=" · ".join(parts))

    def _tags_html(self, c: CustomerCard) -> Safe:
        if not c.tags:
            return html('<p class="siyu-tags-none">{text}</p>', text=_("No tags"))
        return join(" ", (html('<span class="siyu-tag">{group}/{name}</span>',
                               group=t["group"], name=t["name"]) for t in c.tags))

    def _kpis(self, c: CustomerCard) -> pn.pane.HTML:
        t = c.order_totals
        cards = kpi_cards(
            [(_("Orders"), fmt_int(t["orders"]),
              _("{n} paid", n=fmt_int(t["paid_orders"]))),
             (_("Revenue"), fmt_money(t["revenue_fen"]),
              _("{refunded} refunded", refunded=fmt_money(t["refunded_fen"]))),
             (_("Average order"), fmt_money(t["average_order_fen"]), _("per paid order")),
             (_("First purchase"), fmt_time(t["first_order_at"], self.ws.timezone, "%Y-%m-%d")),
             (_("Last purchase"), fmt_time(t["last_order_at"], self.ws.timezone, "%Y-%m-%d"))],
            css_class="siyu-customer-order-kpis")
        cards.stylesheets = [*cards.stylesheets, KPI_CSS]
        return cards

    def _followers(self, c: CustomerCard) -> pd.DataFrame:
        rows = []
        for f in c.followers:
            role = (_("yes, chosen by a user") if f["pinned"] else _("yes")) if f["owner"] else ""
            ended = ""
            if f["deleted_at"] is not None:
                ended = " ".join(filter(None, (self._time(f["deleted_at"]),
                                               labels.word(labels.DELETED_BY, f["deleted_by"]))))
            rows.append({**f, "member": labels.staff_label(f["userid"], {f["userid"]: f["name"]}),
                         "role": role, "ended": ended})
        return pd.DataFrame(rows)

    @staticmethod
    def _history(c: CustomerCard) -> pd.DataFrame:
        def member(userid: str, name: str) -> str:
            return labels.staff_label(userid, {userid: name}) if userid else ""
        return pd.DataFrame([{**e, "old": member(e["from"], e["from_name"]),
                              "new": member(e["to"], e["to_name"]),
                              "how_label": labels.word(labels.HOW, e["how"]),
                              "state": labels.word(labels.TRANSFER_STATES, e["status"])}
                             for e in c.owner_history])

    @staticmethod
    def _orders(c: CustomerCard) -> pd.DataFrame:
        frame = c.orders
        if frame.empty:
            return frame
        stores = [_("{name} ({code})", name=name, code=code) if code and name else code
                  for code, name in zip(frame["store"], frame["store_name"], strict=True)]
        return frame.assign(status_label=[labels.word(labels.ORDER_STATUSES, s)
                                          for s in frame["status"]], store_label=stores)

    @staticmethod
    def _risk(c: CustomerCard) -> pd.DataFrame:
        return pd.DataFrame([{**n, "kind_label": labels.word(labels.RISK_KINDS, n["kind"]),
                              "reason_label": labels.reason_text(n["reason"])}
                             for n in c.risk_notes])

    def __panel__(self) -> pn.Column:
        return self._layout


class CustomerCardPage(pn.viewable.Viewer):
    """The Customer card page (permission ``data.read``).

    :param ws: the workspace acting as the signed-in user.
    :param contact: a contact to open at once (an id or an external userid); default: the
        one the address names (``?contact=``), if any.
    """

    def __init__(self, ws: Workspace, *, contact: int | str | None = None, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.rows = pd.DataFrame()
        self.search = pn.widgets.TextInput(
            label=_("Find a customer"),
            placeholder=_("Name, phone, member ID or external user ID"),
            css_classes=["siyu-customer-search"], width=300)
        self.search_button = pn.widgets.Button(label=_("Search"), color="primary",
                                               css_classes=["siyu-customer-search-go"],
                                               margin=(24, 10, 10, 10))
        self.results = data_table(RESULT_COLS, css_class="siyu-customer-results",
                                  selectable=1, sortable=False)
        self.no_results = empty_state(_("No customer matches that."),
                                      _("Search by part of the name, the last four digits of "
                                        "the phone, the member ID or the external user ID."),
                                      css_class="siyu-customer-results-empty")
        self.found = pn.Column(sizing_mode="stretch_width", css_classes=["siyu-customer-found"])
        self.view = CardView(ws)
        self.search_button.on_click(lambda _event: self.run_search())
        self.search.param.watch(lambda _event: self.run_search(), "enter_pressed")
        self.results.param.watch(self._picked, "selection")
        wanted = contact if contact is not None else url_contact()
        if wanted:
            self.open(wanted)

    @property
    def card(self) -> CustomerCard | None:
        """The card shown, if any."""
        return self.view.shown

    @notify_errors
    def run_search(self) -> pd.DataFrame | None:
        """List the customers the search box names; open the only one found."""
        term = self.search.value.strip()
        if not term:
            self.found.objects = []
            return None
        frame = find(self.ws, term)
        owners = [labels.staff_label(o, {o: n}) if isinstance(o, str) else ""
                  for o, n in zip(frame["owner"], frame["owner_name"], strict=True)]
        self.rows = frame.assign(owner_label=owners).reset_index(drop=True)
        self.results.selection = []
        self.results.value = display_frame(self.rows, RESULT_COLS, self.ws.timezone)
        self.found.objects = [self.results if len(frame) else self.no_results]
        if len(frame) == 1:
            self.open(int(frame["id"].iloc[0]))
        return frame

    def _picked(self, event: Any) -> None:
        if event.new and 0 <= event.new[0] < len(self.rows):
            self.open(int(self.rows["id"].iloc[event.new[0]]))

    @notify_errors
    def open(self, contact: int | str) -> CustomerCard | None:
        """Show ``contact`` (an id, an external userid, or text typed by a user)."""
        if isinstance(contact, str):
            if not contact.strip():
                return None
            contact = contact_ref(contact)
        shown = self.view.show(contact)
        location = pn.state.location
        if location is not None:  # the address names the card shown, to share or reload
            location.update_query(contact=str(shown.contact_id))
        return shown

    def __panel__(self) -> pn.Column:
        finder = pn.FlexBox(self.search, self.search_button, flex_wrap="wrap",
                            css_classes=["siyu-customer-finder"])
        return pn.Column(
            page_header(_("Customer card"),
                        _("One customer at a glance: profile, owner, tags, orders, journey "
                          "and risk notes. Find them by name, phone, member ID or external "
                          "user ID.")),
            finder, self.found, self.view, css_classes=["siyu-customer-page"],
            sizing_mode="stretch_width")
