"""The customer card: one contact's profile, the staff members it follows, tags, orders and
journey.

Phone numbers are masked unless the signed-in role holds ``pii.view``. Every time is shown in
the workspace timezone. The journey lists each event as one readable line — when, what
happened, and its key fields labelled (the staff member, the channel code, who removed whom)
— never as raw JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import MISSING, Col, data_table, display_frame, empty_state, fmt_time
from siyu.apps.pages.common import labelled, section, toggle_empty, yuan
from siyu.apps.safe import Safe, escape, html, join, md
from siyu.core.i18n import core as _
from siyu.core.pii import mask_phone
from siyu.storage.models import PAID_STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from zoneinfo import ZoneInfo

    from siyu.core.workspace import Workspace

GENDER = {0: _.lazy("unknown"), 1: _.lazy("male"), 2: _.lazy("female")}
PROFILE_CSS = ("th{text-align:left;font-weight:500;color:#555;padding:2px 14px 2px 0;"
               "vertical-align:top;white-space:nowrap}"
               "td{padding:2px 0;word-break:break-word}")
TAG_CSS = (".siyu-tag{display:inline-block;margin:2px 4px 2px 0;padding:2px 8px;"
           "border-radius:10px;background:#e3f2fd;color:#0d47a1;font-size:12px}")
FOLLOW_CSS = (":host{max-width:100%;overflow-x:auto}"
              "th{text-align:left;font-weight:500;color:#555;padding:2px 14px 2px 0}"
              "td{padding:2px 14px 2px 0}.siyu-follow-ended{color:#999}")
JOURNEY_CSS = (".siyu-journey{list-style:none;margin:0;padding:0}"
               ".siyu-journey-event{padding:6px 0;border-bottom:1px solid #eef1f5}"
               ".siyu-journey-time{color:#5f6b7a;font-size:12px;margin-right:8px;"
               "white-space:nowrap}"
               ".siyu-journey-kind{font-weight:600}"
               ".siyu-journey-fields{color:#33404f;font-size:13px;margin-top:2px}"
               ".siyu-journey-field{display:inline-block;margin-right:12px}"
               ".siyu-journey-label{color:#5f6b7a}"
               ".siyu-journey-more{color:#5f6b7a;font-size:12px;margin-top:6px}")

#: JavaScript run in the browser when the card's title changes: when it now names a contact
#: (``siyu-card-name``) and the card starts in the lower half of the screen or below it — on a
#: screen too narrow for the table and the card side by side, the card is under a page of
#: contacts — scroll the card's top up into view, so that a row clicked shows its card.
REVEAL_JS = """
if (!String(cb_obj.text || '').includes('siyu-card-name')) return;
const find = root => {
    for (const el of root.querySelectorAll('*')) {
        if (el.classList.contains('siyu-customer-card')) return el;
        if (el.shadowRoot) { const found = find(el.shadowRoot); if (found) return found; }
    }
    return null;
};
// After the browser has laid out the contact's details, which arrive with the title.
setTimeout(() => {
    const card = find(document);
    if (card && card.getBoundingClientRect().top > window.innerHeight / 2)
        card.scrollIntoView({behavior: 'smooth', block: 'start'});
}, 50);
"""

#: Events the journey shows at most (the newest).
JOURNEY_LIMIT = 100

#: What each kind of journey event is called.
EVENT_KINDS: dict[str, Any] = {
    "contact.added": _.lazy("Added as a contact"),
    "contact.removed": _.lazy("Removed as a contact"),
    "contact.follow_removed": _.lazy("A staff member's friendship ended"),
    "contact.transferred_away": _.lazy("Transferred to another staff member"),
    "contact.transfer_failed": _.lazy("Transfer failed"),
    "contact.edited": _.lazy("Edited in WeCom"),
    "contact.welcomed": _.lazy("Welcome message sent"),
    "group.member_joined": _.lazy("Joined a group chat"),
    "group.member_left": _.lazy("Left a group chat"),
    "plugin.error": _.lazy("Plugin error"),
}
#: The labels of the payload fields the journey shows, in this order.
PAYLOAD_LABELS: dict[str, Any] = {
    "userid": _.lazy("Staff member"),
    "state": _.lazy("Channel code"),
    "via": _.lazy("Via"),
    "by": _.lazy("Removed by"),
    "reason": _.lazy("Reason"),
    "chat_id": _.lazy("Group chat"),
    "member": _.lazy("Member"),
    "scene": _.lazy("Join scene"),
    "name": _.lazy("Name"),
    "code_id": _.lazy("Live code"),
    "file": _.lazy("File"),
    "summary": _.lazy("Summary"),
    "detail": _.lazy("Detail"),
    "error": _.lazy("Error"),
    "delivery": _.lazy("Delivery"),
}
#: Payload fields left out: the event's kind already says them.
PAYLOAD_SKIP = ("change_type",)
#: Who ended a relation (``by`` of a removal event).
REMOVED_BY: dict[str, Any] = {"customer": _.lazy("the customer"),
                              "staff": _.lazy("a staff member"),
                              "transfer": _.lazy("a transfer")}
#: Where an event came from.
SOURCES: dict[str, Any] = {"wecom": _.lazy("WeCom"), "livecodes": _.lazy("Live codes"),
                           "import": _.lazy("Import")}
#: Order statuses as the card shows them.
ORDER_STATUSES: dict[str, Any] = {"paid": _.lazy("Paid"),
                                  "partially_refunded": _.lazy("Partially refunded"),
                                  "refunded": _.lazy("Refunded"),
                                  "cancelled": _.lazy("Cancelled")}
ORDER_COLS = (
    Col("external_id", _.lazy("Order number"), "id"),
    Col("source", _.lazy("Source")),
    Col("store", _.lazy("Store")),
    Col("staff", _.lazy("Staff member")),
    Col("amount_fen", _.lazy("Amount"), "money"),
    Col("status_label", _.lazy("Status")),
    Col("paid_at", _.lazy("Paid at"), "time"),
)


def _cell(value: Any) -> Safe:
    return escape("" if value is None else str(value)) or escape(MISSING)


def _empty_card() -> Safe:
    return html("<p>{text}</p>", text=_("Select a contact in the table, or open one by ID, "
                                         "to see their card."))


def _ended(when: str, by: str | None) -> str:
    """When a follow ended and who ended it."""
    if by == "customer":
        return _("{time} by customer", time=when)
    if by == "staff":
        return _("{time} by staff", time=when)
    if by == "transfer":
        return _("{time} by transfer", time=when)
    return _("{time} by {who}", time=when, who=by) if by else when


def journey_event(event: Any, tz: ZoneInfo, staff: dict[str, str] | None = None
                  ) -> tuple[str, str, list[tuple[str, str]]]:
    """One journey event (a record of ``ws.events.df()``, as a dict) as ``(time, what,
    fields)``: the time in ``tz``, what happened in words, and its key fields as
    ``(label, text)`` pairs.

    :param staff: WeCom userid → staff name, to show members by name.
    """
    kind = str(event["kind"])
    what = str(EVENT_KINDS.get(kind, kind))
    payload = event["payload"] if isinstance(event["payload"], dict) else {}
    payload = dict(payload)
    if staff and isinstance(payload.get("userid"), str):
        userid = payload["userid"]
        payload["userid"] = (_("{name} ({userid})", name=staff[userid], userid=userid)
                             if userid in staff else userid)
    if isinstance(payload.get("by"), str) and payload["by"] in REMOVED_BY:
        payload["by"] = str(REMOVED_BY[payload["by"]])
    fields = labelled(payload, PAYLOAD_LABELS, tz, skip=PAYLOAD_SKIP)
    source = event.get("source")
    if isinstance(source, str) and source:
        fields.append((_("Source"), str(SOURCES.get(source, source))))
    return fmt_time(event["occurred_at"], tz), what, fields


def journey_line(when: str, what: str, fields: list[tuple[str, str]]) -> str:
    """A journey event as one line of plain text: ``2026-11-01 18:00 · Added as a contact ·
    Staff member: 张三 (zhangsan) · Channel code: lc:spring``."""
    parts = [when, what, *(_("{label}: {value}", label=label, value=value)
                           for label, value in fields)]
    return " · ".join(parts)


class CustomerCard(pn.viewable.Viewer):
    """A card that shows the contact given to :meth:`show`; empty until then.

    ``journey_lines`` holds the journey shown, one plain-text line per event.
    """

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.reveal_pii = ws.principal.can("pii.view")
        self.contact_id: int | None = None
        self.journey_lines: list[str] = []
        self.title = pn.pane.HTML(_empty_card(), css_classes=["siyu-card-title"])
        self.profile = pn.pane.HTML("", css_classes=["siyu-card-profile"],
                                    stylesheets=[PROFILE_CSS], sizing_mode="stretch_width")
        self.tags = pn.pane.HTML("", css_classes=["siyu-card-tags"], stylesheets=[TAG_CSS],
                                 sizing_mode="stretch_width")
        self.follows = pn.pane.HTML("", css_classes=["siyu-card-follows"],
                                    stylesheets=[FOLLOW_CSS], sizing_mode="stretch_width")
        self.orders_summary = pn.pane.Markdown("", css_classes=["siyu-card-orders-summary"])
        self.orders_frame = pd.DataFrame()
        self.orders = data_table(ORDER_COLS, css_class="siyu-card-orders", max_height=240)
        self.no_orders = empty_state(_("No orders yet."),
                                     _("Orders appear here once they are imported or synced."),
                                     css_class="siyu-card-no-orders")
        self.timeline = pn.pane.HTML("", css_classes=["siyu-card-timeline"],
                                     stylesheets=[JOURNEY_CSS], sizing_mode="stretch_width")
        self._details = pn.Column(
            self.profile, section(_("Followed by"), self.follows),
            section(_("Tags"), self.tags),
            section(_("Orders"), self.orders_summary, self.orders, self.no_orders),
            section(_("Customer journey"), self.timeline), sizing_mode="stretch_width")
        # The details join the card when a contact is shown (not hidden and shown again: a
        # table drawn while hidden stays zero pixels high in the browser).
        # scroll-margin-top: scrolled into view, the card stays clear of the console header.
        self._layout = pn.Card(self.title, title=html(_("Customer card")),
                               css_classes=["siyu-customer-card"],
                               styles={"scroll-margin-top": "80px"},
                               sizing_mode="stretch_width", collapsible=False)
        self.title.jscallback(text=REVEAL_JS)  # "text": the model property of .object

    def show(self, contact: int | str) -> None:
        """Fill the card with ``contact`` (id or external_userid).

        :raises NotFound: no such contact.
        """
        ws, tz = self.ws, self.ws.timezone
        row = ws.contacts.get(contact)
        self.contact_id = row.id
        staff = ws.staff.list()
        owners = {s.id: _("{name} ({userid})", name=s.name, userid=s.userid) for s in staff}
        stores = {s.id: _("{name} ({code})", name=s.name, code=s.code) for s in ws.stores.list()}
        phone = row.phone if self.reveal_pii else mask_phone(row.phone)
        added = fmt_time(row.added_at, tz) if row.added_at else ""
        removed = fmt_time(row.removed_at, tz) if row.removed_at else ""
        name = str(row.name or row.external_userid or row.id)
        self.title.object = html('<h3 class="siyu-card-name">{name}{removed}</h3>',
                                 name=name, removed=_(" · removed") if removed else "")
        gender = GENDER.get(row.gender, row.gender)
        fields = [(_("Contact ID"), row.id), (_("External user ID"), row.external_userid),
                  (_("Unionid"), row.unionid), (_("Phone"), phone),
                  (_("Gender"), str(gender) if gender is not None else None),
                  (_("City"), row.city),
                  (_("Owner"), owners.get(row.owner_id, "")),
                  (_("Store"), stores.get(row.store_id, "")),
                  (_("Source channel"), row.source_channel), (_("Remark"), row.remark),
                  (_("Added at"), added), (_("Removed at"), removed)]
        self.profile.object = html("<table>{rows}</table>", rows=join("", (
            html("<tr><th>{label}</th><td>{value}</td></tr>", label=label, value=_cell(value))
            for label, value in fields)))
        self._show_follows(row.id)
        tags = ws.tags.of(row.id)
        self.tags.object = (join(" ", (html('<span class="siyu-tag">{tag}</span>', tag=tag)
                                       for tag in tags))
                            or html("<i>{text}</i>", text=_("No tags")))
        self._show_orders(row.id)
        self._show_journey(row.id, {s.userid: s.name or s.userid for s in staff})
        if not self.showing:
            self._layout.objects = [self.title, self._details]

    def _show_follows(self, contact_id: int) -> None:
        """The staff members the customer follows (and followed): one row each, the owner
        marked, ended relations with when and by whom."""
        tz = self.ws.timezone
        rows = []
        for follow in self.ws.follows.of(contact_id, include_deleted=True):
            added = fmt_time(follow.added_at, tz) if follow.added_at else ""
            ended = ""
            if follow.deleted_at is not None:
                ended = _ended(fmt_time(follow.deleted_at, tz), follow.deleted_by)
            member = _("{name} ({userid})", name=follow.staff_name, userid=follow.staff)
            if follow.owner:
                member = (_("{member} · owner (chosen)", member=member) if follow.pinned
                          else _("{member} · owner", member=member))
            rows.append(html('<tr class="{css}"><td>{member}</td><td>{added}</td>'
                             "<td>{state}</td><td>{remark}</td><td>{ended}</td></tr>",
                             css="siyu-follow-live" if follow.live else "siyu-follow-ended",
                             member=member, added=_cell(added), state=_cell(follow.state),
                             remark=_cell(follow.remark), ended=_cell(ended)))
        self.follows.object = (
            html("<table><tr><th>{member}</th><th>{added}</th><th>{state}</th>"
                 "<th>{remark}</th><th>{ended}</th></tr>{rows}</table>",
                 member=_("Member"), added=_("Added at"), state=_("Channel code"),
                 remark=_("Remark"), ended=_("Deleted"), rows=join("", rows))
            if rows else html("<i>{text}</i>", text=_("No staff member follows this customer")))

    def _show_orders(self, contact_id: int) -> None:
        frame = self.ws.orders.df(contact=contact_id, reveal_pii=self.reveal_pii)
        paid = frame[frame["status"].isin(PAID_STATUSES)] if not frame.empty else frame
        count = len(frame)
        net = int((paid["amount_fen"] - paid["refunded_fen"]).sum()) if count else 0
        self.orders_summary.object = md("{text}", text=_.ngettext(
            "{count} order · {paid} paid", "{count} orders · {paid} paid", count,
            count=count, paid=yuan(net)))
        if count:
            frame = frame.assign(status_label=[str(ORDER_STATUSES.get(s, s))
                                               for s in frame["status"]])
        self.orders_frame = frame
        self.orders.value = display_frame(frame, ORDER_COLS, self.ws.timezone)
        toggle_empty(self.orders, self.no_orders, bool(count))

    def _show_journey(self, contact_id: int, staff: dict[str, str]) -> None:
        """The newest :data:`JOURNEY_LIMIT` events, one readable line each."""
        tz = self.ws.timezone
        events = self.ws.events.df(contact=contact_id, limit=JOURNEY_LIMIT + 1)
        more = len(events) > JOURNEY_LIMIT
        events = events.iloc[:JOURNEY_LIMIT]
        items, lines = [], []
        for event in events.to_dict("records"):
            when, what, fields = journey_event(event, tz, staff)
            lines.append(journey_line(when, what, fields))
            shown = join("", (html('<span class="siyu-journey-field">'
                                   '<span class="siyu-journey-label">{label}</span> '
                                   '{value}</span>',
                                   label=_("{label}:", label=label), value=value)
                              for label, value in fields))
            items.append(html('<li class="siyu-journey-event">'
                              '<span class="siyu-journey-time">{when}</span>'
                              '<span class="siyu-journey-kind">{what}</span>'
                              '<div class="siyu-journey-fields">{fields}</div></li>',
                              when=when, what=what, fields=shown))
        self.journey_lines = lines
        if not items:
            self.timeline.object = html('<p class="siyu-journey-none">{text}</p>',
                                        text=_("No events yet."))
            return
        note = (html('<p class="siyu-journey-more">{text}</p>',
                     text=_("Showing the newest {n} events.", n=JOURNEY_LIMIT))
                if more else "")
        self.timeline.object = html('<ul class="siyu-journey">{items}</ul>{note}',
                                    items=join("", items), note=note)

    def clear(self) -> None:
        """Empty the card."""
        self.contact_id = None
        self.journey_lines = []
        self.title.object = _empty_card()
        if self.showing:
            self._layout.objects = [self.title]

    @property
    def showing(self) -> bool:
        """Whether the card shows a contact's details (profile, follows, tags, orders,
        journey)."""
        return self._details in self._layout.objects

    def __panel__(self) -> pn.Card:
        return self._layout
