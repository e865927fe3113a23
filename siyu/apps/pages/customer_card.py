"""The customer card: one contact's profile, the staff members it follows, tags, orders and
journey.

Phone numbers are masked unless the signed-in role holds ``pii.view``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.pages.common import section, show_times, table, yuan
from siyu.apps.safe import Safe, escape, html, join, md
from siyu.core.pii import mask_phone
from siyu.storage.models import PAID_STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

GENDER = {0: "unknown", 1: "male", 2: "female"}
TIME = "%Y-%m-%d %H:%M"
EMPTY = "<p>Select a contact in the table, or open one by id, to see their card.</p>"
PROFILE_CSS = ("th{text-align:left;font-weight:500;color:#555;padding:2px 14px 2px 0}"
               "td{padding:2px 0}")
TAG_CSS = (".siyu-tag{display:inline-block;margin:2px 4px 2px 0;padding:2px 8px;"
           "border-radius:10px;background:#e3f2fd;color:#0d47a1;font-size:12px}")
FOLLOW_CSS = ("th{text-align:left;font-weight:500;color:#555;padding:2px 14px 2px 0}"
              "td{padding:2px 14px 2px 0}.siyu-follow-ended{color:#999}")
NO_FOLLOWS = "<i>No staff member follows this customer</i>"
EVENT_COLUMNS = ["occurred_at", "kind", "source", "payload"]
ORDER_COLUMNS = ["external_id", "source", "store", "staff", "amount", "status", "paid_at"]


def _cell(value: Any) -> Safe:
    return escape("" if value is None else str(value)) or Safe("—")


class CustomerCard(pn.viewable.Viewer):
    """A card that shows the contact given to :meth:`show`; empty until then."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.reveal_pii = ws.principal.can("pii.view")
        self.contact_id: int | None = None
        self.title = pn.pane.HTML(EMPTY, css_classes=["siyu-card-title"])
        self.profile = pn.pane.HTML("", css_classes=["siyu-card-profile"],
                                    stylesheets=[PROFILE_CSS])
        self.tags = pn.pane.HTML("", css_classes=["siyu-card-tags"], stylesheets=[TAG_CSS])
        self.follows = pn.pane.HTML("", css_classes=["siyu-card-follows"],
                                    stylesheets=[FOLLOW_CSS])
        self.orders_summary = pn.pane.Markdown("", css_classes=["siyu-card-orders-summary"])
        self.orders = table(css_class="siyu-card-orders", max_height=240)
        self.timeline = table(css_class="siyu-card-timeline", max_height=300)
        self._details = pn.Column(
            self.profile, section("Followed by", self.follows), section("Tags", self.tags),
            section("Orders", self.orders_summary, self.orders),
            section("Journey", self.timeline), visible=False, sizing_mode="stretch_width")
        self._layout = pn.Card(self.title, self._details, title="Customer card",
                               css_classes=["siyu-customer-card"],
                               sizing_mode="stretch_width", collapsible=False)

    def show(self, contact: int | str) -> None:
        """Fill the card with ``contact`` (id or external_userid).

        :raises NotFound: no such contact.
        """
        ws, tz = self.ws, self.ws.timezone
        row = ws.contacts.get(contact)
        self.contact_id = row.id
        owners = {s.id: f"{s.name} ({s.userid})" for s in ws.staff.list()}
        stores = {s.id: f"{s.name} ({s.code})" for s in ws.stores.list()}
        phone = row.phone if self.reveal_pii else mask_phone(row.phone)
        added = row.added_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if row.added_at else ""
        removed = (row.removed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
                   if row.removed_at else "")
        name = str(row.name or row.external_userid or row.id)
        self.title.object = html("<h3>{name}{removed}</h3>", name=name,
                                 removed=" · removed" if removed else "")
        fields = [("Contact id", row.id), ("External user id", row.external_userid),
                  ("Unionid", row.unionid), ("Phone", phone),
                  ("Gender", GENDER.get(row.gender, row.gender)), ("City", row.city),
                  ("Owner", owners.get(row.owner_id, "")),
                  ("Store", stores.get(row.store_id, "")),
                  ("Source channel", row.source_channel), ("Remark", row.remark),
                  ("Added", added), ("Removed", removed)]
        self.profile.object = html("<table>{rows}</table>", rows=join("", (
            html("<tr><th>{label}</th><td>{value}</td></tr>", label=label, value=_cell(value))
            for label, value in fields)))
        self._show_follows(row.id)
        tags = ws.tags.of(row.id)
        self.tags.object = (join(" ", (html('<span class="siyu-tag">{tag}</span>', tag=tag)
                                       for tag in tags)) or "<i>No tags</i>")
        self._show_orders(row.id)
        events = ws.events.timeline(row.id).reindex(columns=EVENT_COLUMNS)
        events["payload"] = events["payload"].map(
            lambda p: json.dumps(p, ensure_ascii=False) if p else "")
        self.timeline.value = show_times(events, ["occurred_at"], tz)
        self._details.visible = True

    def _show_follows(self, contact_id: int) -> None:
        """The staff members the customer follows (and followed): one row each, the owner
        marked, ended relations with when and by whom."""
        tz = self.ws.timezone
        rows = []
        for follow in self.ws.follows.of(contact_id, include_deleted=True):
            added = follow.added_at.astimezone(tz).strftime(TIME) if follow.added_at else ""
            ended = ""
            if follow.deleted_at is not None:
                ended = follow.deleted_at.astimezone(tz).strftime(TIME)
                if follow.deleted_by:
                    ended = f"{ended} by {follow.deleted_by}"
            member = f"{follow.staff_name} ({follow.staff})"
            if follow.owner:
                member += " · owner (chosen)" if follow.pinned else " · owner"
            rows.append(html('<tr class="{css}"><td>{member}</td><td>{added}</td>'
                             "<td>{state}</td><td>{remark}</td><td>{ended}</td></tr>",
                             css="siyu-follow-live" if follow.live else "siyu-follow-ended",
                             member=member, added=_cell(added), state=_cell(follow.state),
                             remark=_cell(follow.remark), ended=_cell(ended)))
        self.follows.object = (html("<table><tr><th>Member</th><th>Added</th><th>State</th>"
                                    "<th>Remark</th><th>Deleted</th></tr>{rows}</table>",
                                    rows=join("", rows)) if rows else NO_FOLLOWS)

    def _show_orders(self, contact_id: int) -> None:
        frame = self.ws.orders.df(contact=contact_id, reveal_pii=self.reveal_pii)
        paid = frame[frame["status"].isin(PAID_STATUSES)] if not frame.empty else frame
        count = len(frame)
        net = int((paid["amount_fen"] - paid["refunded_fen"]).sum()) if count else 0
        self.orders_summary.object = md(
            "{count} order{s} · {paid} paid", count=count, s="s" if count != 1 else "",
            paid=yuan(net))
        if count:
            frame = frame.assign(amount=frame["amount_fen"].map(yuan))
            frame = show_times(frame[ORDER_COLUMNS], ["paid_at"], self.ws.timezone)
        else:
            frame = pd.DataFrame(columns=ORDER_COLUMNS)
        self.orders.value = frame

    def clear(self) -> None:
        """Empty the card."""
        self.contact_id = None
        self.title.object = EMPTY
        self._details.visible = False

    def __panel__(self) -> pn.Card:
        return self._layout
