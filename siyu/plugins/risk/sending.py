"""The send-time check of an outbox batch (``risk_check_batch``), set-based.

For a batch of up to 10,000 messages of one campaign and one sender, in this order:

1. **sensitive words** block a message (each distinct text screened once);
2. the **do-not-contact list** blocks a message to a contact on it (one query for the
   batch's contacts) — a contact added after the launch;
3. **quiet hours**: inside them every other message is held until they end;
4. the **staff daily cap**: one query counts what each sender of the batch sent today
   (``pending`` or ``sent``, by ``sent_at``, else ``updated_at``) and has in flight in
   batches claimed before this one; the messages that fit the room left pass in delivery-id
   order, the rest are held until the next local midnight (or the end of the quiet period
   it falls in).

Every decision becomes a ``risk_event`` row, written with one ``executemany`` after the
checks (outside any transaction of the outbox). The time is :func:`limits.clock`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.i18n import translator
from siyu.core.records import Hold
from siyu.plugins.risk import journal, limits
from siyu.plugins.risk.models import RiskDnc
from siyu.plugins.risk.rules import DNC, QUIET_HOURS, SENSITIVE_WORDS, STAFF_CAP
from siyu.storage.models import Campaign, Delivery

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.records import OutgoingMessage
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

D = Delivery.__table__
C = Campaign.__table__
N = RiskDnc.__table__
#: Ids per ``IN`` list (a whole batch of the largest channel in one statement).
CHUNK = 10_000
#: Statuses a staff member's daily cap counts.
COUNTED = ("pending", "sent")
#: A campaign finished this long before a day began sent nothing that day (its last WeCom
#: confirmations come in within it).
FINISHED_BEFORE = timedelta(days=7)
#: How hold times are shown in reasons (workspace timezone).
WHEN = "%m-%d %H:%M"


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def dnc_reasons(ws: Workspace, contact_ids: Sequence[int]) -> dict[int, str]:
    """The contacts among ``contact_ids`` on the do-not-contact list, with why."""
    found: dict[int, str] = {}
    with ws.engine.connect() as conn:
        for part in _chunks(sorted(set(contact_ids))):
            found.update(conn.execute(sa.select(N.c.contact_id, N.c.reason)
                                      .where(N.c.contact_id.in_(part))).all())
    return found


def sent_today(ws: Workspace, senders: Sequence[str], now: datetime,
               batch_id: Any = None) -> dict[str, int]:
    """How many messages each of ``senders`` sent (or has waiting for their confirmation)
    on the local day of ``now`` — and, with ``batch_id``, has in flight in the outbox
    batches claimed before that one: one query.

    Counting the earlier batches in flight keeps the cap when several senders drain one
    staff member's queue at once: the earliest batch uses the room first, a later one sees
    it taken. Only the deliveries of campaigns that may have sent that day are read —
    launched before its end and not finished more than :data:`FINISHED_BEFORE` before its
    start (a WeCom mass message is confirmed after its campaign is done) — through the
    outbox's queue index, so the cost follows the day's campaigns, not the whole outbox.

    :param batch_id: the outbox batch being checked (a value or a scalar subquery).
    """
    start, end = limits.local_day(now, ws.timezone)
    active = sa.select(C.c.id).where(
        C.c.launched_at < end,
        sa.or_(C.c.finished_at.is_(None), C.c.finished_at >= start - FINISHED_BEFORE))
    when = sa.func.coalesce(D.c.sent_at, D.c.updated_at)
    counted = D.c.status.in_(COUNTED)
    if batch_id is not None:
        counted = sa.or_(counted, sa.and_(D.c.status == "sending", D.c.batch_id < batch_id))
    query = (sa.select(D.c.sender, sa.func.count())
             .where(D.c.campaign_id.in_(active), D.c.status.in_((*COUNTED, "sending")),
                    counted, D.c.sender.in_(sorted(set(senders))), when >= start,
                    when < end)
             .group_by(D.c.sender))
    with ws.engine.connect() as conn:
        return {sender: int(n) for sender, n in conn.execute(query)}


def batch_of(batch: Sequence[OutgoingMessage]) -> Any:
    """SQL for the outbox batch the messages were claimed in (that of the first one)."""
    first = min(m.delivery_id for m in batch)
    return sa.select(D.c.batch_id).where(D.c.id == first).scalar_subquery()


def launch_delays(ws: Workspace, batch: Sequence[OutgoingMessage]) -> list[dict[str, Any]]:
    """Event rows for the batch's deliveries that a launch delayed for quiet hours, recorded
    here at the latest, before they are sent and their reason is cleared. Found through the
    outbox batch the first message belongs to (by index, without listing the ids)."""
    wanted = {m.delivery_id for m in batch}
    with ws.engine.connect() as conn:
        found = [row for row in conn.execute(journal.delayed_at_launch(
            D.c.batch_id == batch_of(batch))) if row.id in wanted]
    return journal.launch_delay_rows(ws, found)


class _Batch:
    """The verdicts and events of one batch while it is checked."""

    def __init__(self, ws: Workspace, now: datetime):
        self.ws, self.now = ws, now
        self.blocked: dict[int, list[str]] = {}
        self.held: dict[int, Hold] = {}
        self.events: list[dict[str, Any]] = []

    def when(self, moment: datetime) -> str:
        return moment.astimezone(self.ws.timezone).strftime(WHEN)

    def block(self, message: OutgoingMessage, rule: str, reason: str) -> None:
        self.blocked.setdefault(message.delivery_id, []).append(reason)
        self.events.append(self._event(message, rule, "blocked", reason))

    def hold(self, message: OutgoingMessage, rule: str, until: datetime, reason: str) -> None:
        self.held[message.delivery_id] = Hold(until, reason, rule=rule)
        self.events.append(self._event(message, rule, "held", reason, until))

    def _event(self, message: OutgoingMessage, rule: str, decision: str, reason: str,
               until: datetime | None = None) -> dict[str, Any]:
        return journal.event_row(at=self.now, rule=rule, decision=decision,
                                 delivery_id=message.delivery_id,
                                 campaign_id=message.campaign_id,
                                 contact_id=message.contact_id, staff=message.sender,
                                 text=message.text, reason=reason, until=until)

    def verdicts(self) -> dict[int, str | Hold]:
        out: dict[int, str | Hold] = {i: "; ".join(r) for i, r in self.blocked.items()}
        out.update({i: hold for i, hold in self.held.items() if i not in out})
        return out


def check_batch(ws: Workspace, batch: Sequence[OutgoingMessage]) -> dict[int, str | Hold]:
    """The plugin's verdicts on an outbox batch: ``{delivery_id: reason}`` to block,
    ``{delivery_id: Hold}`` to wait; messages not named may be sent. Records every decision
    (and the batch's launch-time delays) in ``risk_event``.

    :raises ValidationError: a risk setting is malformed (written by hand).
    """
    if not batch:
        return {}
    from siyu.plugins.risk.checks import word_reason

    checked = _Batch(ws, limits.clock())
    words = {text: word_reason(ws, text) for text in {m.text for m in batch if m.text}}
    for message in batch:
        if message.text and words[message.text]:
            checked.block(message, SENSITIVE_WORDS, words[message.text])
    listed = dnc_reasons(ws, [m.contact_id for m in batch if m.contact_id is not None])
    for message in batch:
        if message.contact_id in listed:
            checked.block(message, DNC, _("do not contact ({rule}): {reason}", rule=DNC,
                                          reason=listed[message.contact_id]
                                          or _("no reason given")))
    free = sorted((m for m in batch if m.delivery_id not in checked.blocked),
                  key=lambda m: m.delivery_id)
    quiet = limits.quiet_hours(ws)
    quiet_end = quiet.end_of(checked.now, ws.timezone) if quiet is not None else None
    if quiet_end is not None:
        reason = _("quiet hours {hours}: waits until {until}", hours=str(quiet),
                   until=checked.when(quiet_end))
        for message in free:
            checked.hold(message, QUIET_HOURS, quiet_end, reason)
    else:
        _apply_cap(checked, free, quiet)
    events = launch_delays(ws, batch) + checked.events
    journal.write(ws, events)
    return checked.verdicts()


def _apply_cap(checked: _Batch, free: Sequence[OutgoingMessage], quiet: Any) -> None:
    """Hold what each sender cannot send today any more (``free`` in delivery-id order)."""
    cap = limits.staff_daily_cap(checked.ws)
    senders = [m.sender for m in free if m.sender]
    if cap is None or not senders:
        return
    used = Counter(sent_today(checked.ws, senders, checked.now, batch_of(free)))
    until = limits.cap_resumes(checked.now, checked.ws.timezone, quiet)
    for message in free:
        if not message.sender:
            continue
        if used[message.sender] < cap:
            used[message.sender] += 1
            continue
        checked.hold(message, STAFF_CAP, until, _(
            "staff daily cap: {staff} has sent {cap} today; waits until {until}",
            staff=message.sender, cap=cap, until=checked.when(until)))
