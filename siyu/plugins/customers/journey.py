"""A customer's story in words: the timeline (journey events, campaign messages, orders),
the owner history and the risk notes, built from the rows :mod:`~.reads` returns.

Each timeline entry is ``{"time", "kind", "what"}``: ``kind`` a dotted code
(``contact.added``, ``group.member_joined``, ``campaign.sent``, ``order.paid``…; see
:data:`~siyu.plugins.customers.labels.KINDS`), ``what`` one sentence in the current
language naming who and through what ("Added by 张三 (zhangsan) through live code 春季海报").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from siyu.core.i18n import translator
from siyu.plugins.customers.labels import money, reason_text, staff_label

_ = translator("siyu.plugins.customers")

#: The most entries a timeline holds (the newest).
TIMELINE_LIMIT = 200
#: Delivery statuses the timeline shows: messages the customer got, waits for, or missed.
TIMELINE_DELIVERIES = ("sent", "pending", "failed")
#: Skip reasons of a launch that are risk decisions (the others — holdout, not a friend,
#: no owner — are not about the customer's risk).
RISK_SKIPS = ("do not contact", "receive quota", "frequency cap")
#: Records of one takeover (the plan's item, WeCom's callback, the owner choice the takeover
#: makes, audited when the follow-up runs) lie at most this far apart.
TRANSFER_SETTLES = timedelta(days=2)

# -- journey events -------------------------------------------------------------------------

def _details(payload: Mapping[str, Any]) -> str:
    """An event of a kind the card does not know: its payload as ``key: value`` text."""
    parts = []
    for key, value in payload.items():
        if key == "change_type" or value in (None, "", [], {}):
            continue
        shown = value if isinstance(value, str | int | float) else json.dumps(
            value, ensure_ascii=False, default=str)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def _added(payload: Mapping[str, Any], staff: str, codes: Mapping[str, str]) -> str:
    state = payload.get("state") or ""
    code = codes.get(state)
    if staff and code:
        return _("Added by {staff} through live code {code}", staff=staff, code=code)
    if staff and state:
        return _("Added by {staff} through {state}", staff=staff, state=state)
    if staff:
        return _("Added by {staff}", staff=staff)
    return _("Added through {state}", state=state) if state else _("Added")


def _ended(payload: Mapping[str, Any], staff: str) -> str:
    by = payload.get("by")
    if by == "customer":
        return _("The customer deleted {staff}", staff=staff)
    if by == "staff":
        return _("{staff} deleted the customer", staff=staff)
    return _("The friendship with {staff} ended", staff=staff)


def event_text(kind: str, payload: Any, names: Mapping[str, str],
               codes: Mapping[str, str], groups: Mapping[str, str]) -> str:
    """What a journey event says, in one sentence.

    :param names: staff userid → name; :param codes: WeCom state → live code name;
    :param groups: group chat id → name.
    """
    payload = payload if isinstance(payload, Mapping) else {}
    staff = staff_label(payload.get("userid"), names)
    chat = payload.get("chat_id") or ""
    group = groups.get(chat) or chat
    if kind == "contact.added":
        return _added(payload, staff, codes)
    if kind in ("contact.removed", "contact.follow_removed"):
        return _ended(payload, staff)
    texts = {
        "contact.transferred_away": lambda: _("{staff} handed the customer over by transfer",
                                              staff=staff),
        "contact.transferred": lambda: _("Transferred from {old} to {new}",
                                         old=staff_label(payload.get("from"), names),
                                         new=staff_label(payload.get("to"), names)),
        "contact.transfer_failed": lambda: _("Transfer to {staff} failed: {reason}",
                                             staff=staff, reason=payload.get("reason") or "—"),
        "contact.edited": lambda: _("{staff} edited the customer in WeCom", staff=staff),
        "contact.welcomed": lambda: _("{staff} sent the welcome message", staff=staff),
        "contact.note": lambda: _("Note by {who}: {text}",
                                  who=staff if payload.get("userid") else
                                  (payload.get("by") or "—"),
                                  text=payload.get("text") or ""),
        "group.member_joined": lambda: _("Joined group chat {group}", group=group),
        "group.member_left": lambda: _("Left group chat {group}", group=group),
    }
    return texts[kind]() if kind in texts else _details(payload)


def _delivery_text(row: Any, names: Mapping[str, str]) -> str:
    staff = staff_label(row.sender, names)
    if row.status == "sent":
        if staff:
            return _("Campaign {campaign} sent by {staff} through {channel}",
                     campaign=row.campaign, staff=staff, channel=row.channel)
        return _("Campaign {campaign} sent through {channel}", campaign=row.campaign,
                 channel=row.channel)
    if row.status == "pending":
        if staff:
            return _("Campaign {campaign} waits for {staff} to send it",
                     campaign=row.campaign, staff=staff)
        return _("Campaign {campaign} waits to be sent", campaign=row.campaign)
    return _("Campaign {campaign} failed: {reason}", campaign=row.campaign,
             reason=reason_text(row.reason) or "—")


def _order_text(row: Any) -> str:
    values = {"number": row.external_id, "source": row.source, "amount": money(row.amount_fen)}
    if row.status == "cancelled":
        return _("Order {number} ({source}), {amount}, cancelled", **values)
    if row.status == "refunded":
        return _("Order {number} ({source}), {amount}, refunded", **values)
    if row.refunded_fen:
        return _("Order {number} ({source}), {amount}, {refunded} refunded",
                 refunded=money(row.refunded_fen), **values)
    return _("Order {number} ({source}), {amount}", **values)


def timeline(contact: Any, events: list[Any], deliveries: Iterable[Any],
             orders: Iterable[Any], *, names: Mapping[str, str], codes: Mapping[str, str],
             groups: Mapping[str, str], complete: bool) -> list[dict[str, Any]]:
    """The contact's timeline, newest first, at most :data:`TIMELINE_LIMIT` entries.

    :param complete: ``events`` are all the contact's events; then a contact known only
        from an import (no ``contact.added`` event) starts with its ``added_at``.
    """
    rows = [{"time": e.occurred_at, "kind": e.kind,
             "what": event_text(e.kind, e.payload, names, codes, groups)} for e in events]
    rows += [{"time": d.sent_at or d.updated_at, "kind": f"campaign.{d.status}",
              "what": _delivery_text(d, names)}
             for d in deliveries if d.status in TIMELINE_DELIVERIES]
    rows += [{"time": o.paid_at,
              "kind": "order.cancelled" if o.status == "cancelled" else "order.paid",
              "what": _order_text(o)} for o in orders]
    added = any(e.kind == "contact.added" for e in events)
    if complete and not added and contact.added_at is not None:
        channel = contact.source_channel
        rows.append({"time": contact.added_at, "kind": "contact.added",
                     "what": _("Added (source channel {channel})", channel=channel)
                     if channel else _("Added")})
    rows.sort(key=lambda r: r["time"], reverse=True)
    return rows[:TIMELINE_LIMIT]


# -- owners ---------------------------------------------------------------------------------

def _entry(at: datetime | None, old: str, new: str, how: str, names: Mapping[str, str],
           status: str = "", by: str = "", note: str = "") -> dict[str, Any]:
    return {"at": at, "from": old or "", "from_name": names.get(old or "", ""),
            "to": new or "", "to_name": names.get(new or "", ""), "how": how,
            "status": status, "by": by, "note": note}


def owner_history(items: Iterable[Any], transfer_events: Iterable[Any],
                  choices: Iterable[Any], names: Mapping[str, str], *,
                  show_actor: bool) -> list[dict[str, Any]]:
    """How the contact's owner changed, newest first: transfers (the transfers plugin's
    items in whatever state, and transfers WeCom reported) and the owner a user chose, while
    that choice holds (earlier choices are in the audit log, ``contact.owner``).

    A transfer both planned here and reported by WeCom, or a takeover's own owner choice,
    is one entry. Each is ``{"at", "from", "from_name", "to", "to_name", "how"
    ("transfer" / "chosen"), "status" (a transfer's state), "by" (who chose; empty unless
    ``show_actor``: the audit log's actors are for ``audit.read``), "note"}``.
    """
    entries: list[dict[str, Any]] = []
    planned = [_entry(item.takeover_at or item.requested_at or item.updated_at,
                      item.handover, item.takeover, "transfer", names, status=item.status,
                      note=item.reason or "") for item in items]
    entries += planned
    done = [e for e in planned if e["status"] == "taken_over"]
    # WeCom's "member handed over" (no successor named) after the takeovers that name one.
    for event in sorted(transfer_events, key=lambda e: e.kind != "contact.transferred"):
        payload = event.payload if isinstance(event.payload, Mapping) else {}
        away = event.kind != "contact.transferred"
        old = str(payload.get("userid" if away else "from") or "")
        new = "" if away else str(payload.get("to") or "")
        if any(_same_takeover(e, old, new, event.occurred_at) for e in done):
            continue  # the plan's item, or another report of the same takeover
        entry = _entry(event.occurred_at, old, new, "transfer", names, status="taken_over")
        entries.append(entry)
        done.append(entry)
    for choice in choices:
        detail = choice.detail if isinstance(choice.detail, Mapping) else {}
        new = detail.get("owner") or ""
        if any(e["to"] == new and _near(e["at"], choice.at) for e in done):
            continue  # the takeover made the successor the owner
        entries.append(_entry(choice.at, detail.get("was") or "", new, "chosen", names,
                              by=choice.actor if show_actor else ""))
    entries.sort(key=lambda e: (e["at"] is not None, e["at"] or datetime.min), reverse=True)
    return entries


def _same_takeover(entry: dict[str, Any], old: str, new: str, at: datetime) -> bool:
    """Whether a takeover from ``old`` (to ``new``, when known) at ``at`` is ``entry``."""
    return (entry["from"] == old and (not new or entry["to"] == new)
            and _near(entry["at"], at))


def _near(first: datetime | None, second: datetime | None) -> bool:
    """Whether two records of one takeover are close enough in time to be the same."""
    return first is not None and second is not None and abs(first - second) <= TRANSFER_SETTLES


# -- risk -----------------------------------------------------------------------------------

def risk_notes(dnc: Any, deliveries: Iterable[Any]) -> list[dict[str, Any]]:
    """What the risk checks hold against the contact, newest first: the do-not-contact
    list, messages blocked, and messages skipped for a risk reason (:data:`RISK_SKIPS`).
    Each is ``{"at", "kind", "campaign", "reason", "by"}``."""
    notes = []
    if dnc is not None:
        notes.append({"at": dnc.added_at, "kind": "do_not_contact", "campaign": "",
                      "reason": dnc.reason or "", "by": dnc.added_by or ""})
    for d in deliveries:
        if d.status == "blocked" or (d.status == "skipped" and d.reason in RISK_SKIPS):
            notes.append({"at": d.updated_at, "kind": d.status, "campaign": d.campaign,
                          "reason": d.reason or "", "by": ""})
    notes.sort(key=lambda n: n["at"], reverse=True)
    return notes
