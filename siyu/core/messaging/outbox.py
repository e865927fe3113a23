"""Draining the outbox exactly once.

A sender repeats three steps, and never holds a transaction open while a provider is called:

1. **Claim** (one transaction): a ``delivery_batch`` row is written with a lease, and up to
   the channel's ``batch_size`` queued deliveries of one campaign and one sender move to
   ``sending`` in it. On PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, so any
   number of sender processes share the queue; SQLite has one writer at a time anyway.
2. **Send**: ``risk_check`` vets each message (a veto makes it ``blocked``), then the
   channel's ``send`` gets the rest, outside any transaction.
3. **Record** (one transaction): each delivery's new status, the batch marked ``done`` and an
   ``on_delivery`` notice per change commit together. A transient failure goes back to the
   queue with a backoff until :data:`MAX_ATTEMPTS`.

A crash between 1 and 3 leaves a batch ``sending`` past its lease: the provider may or may
not have received it. :func:`recover` takes such a batch over and asks the channel's
``reconcile`` what the provider already has; what it answers for is recorded, the rest was
never sent and goes back to the queue. A channel that cannot be asked (SMTP, webhooks) has
its batch sent again: at most that batch repeats, and only after a crash. A sender starts a
call only while its lease has at least :data:`CALL_MARGIN` left, so a batch recovery takes
over cannot still be on the wire.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import PluginError, ValidationError
from siyu.core.i18n import core as _
from siyu.core.messaging.content import fill, placeholders_in
from siyu.core.records import Hold, OutgoingMessage, SendResult
from siyu.storage.models import Campaign, Contact, Delivery, DeliveryBatch, Staff, Store
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.outbox")

#: How long a claimed batch belongs to its sender before recovery may take it over.
LEASE = timedelta(seconds=float(os.environ.get("SIYU_OUTBOX_LEASE_S", "600")))
#: A sender does not start a provider call with less than this left of its lease.
CALL_MARGIN = timedelta(seconds=float(os.environ.get("SIYU_OUTBOX_CALL_MARGIN_S", "120")))
#: Tries of a delivery that keeps failing transiently before it is ``failed``.
MAX_ATTEMPTS = 5
#: Wait before try 2, 3, 4, 5 (seconds).
BACKOFF_S = (30, 120, 600, 1800)
#: An outcome's key meaning "this claim was not a try" (a risk hold), not a column.
UNDO_TRY = "_undo_try"
#: The shortest wait a :class:`~siyu.core.records.Hold` imposes, whatever time it names.
MIN_HOLD = timedelta(minutes=1)

D = Delivery.__table__
B = DeliveryBatch.__table__
C = Campaign.__table__


def worker_name() -> str:
    """This process, as batches record it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Claimed:
    """A batch this sender owns until ``lease_until``."""

    batch_id: int
    campaign_id: int
    channel: str
    sender: str | None
    lease_until: datetime
    size: int


@dataclass
class DrainReport:
    """What :func:`drain` did."""

    batches: int = 0
    recovered: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, statuses: Iterable[str]) -> None:
        for status in statuses:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def handled(self) -> int:
        return sum(self.statuses.values())


# -- claim -------------------------------------------------------------------------------------


def _for_update(conn: sa.Connection, query: sa.Select) -> sa.Select:
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def sending_campaigns(ws: Workspace, campaign_id: int | None = None) -> list[tuple[int, str]]:
    """``(id, channel)`` of the campaigns whose deliveries may be sent now."""
    query = sa.select(C.c.id, C.c.channel).where(C.c.status == "sending").order_by(C.c.id)
    if campaign_id is not None:
        query = query.where(C.c.id == campaign_id)
    with ws.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def claim(ws: Workspace, campaign_id: int, channel: str, *, worker: str,
          now: datetime | None = None) -> Claimed | None:
    """Move up to the channel's ``batch_size`` queued deliveries of ``campaign_id`` (one
    sender's) into a new batch; ``None`` when none is due."""
    spec = ws.channels.get(channel)
    if spec is None:
        raise ValidationError(_("channel {channel} is not available (is its plugin loaded?)",
                                channel=channel))
    now = now or utcnow()
    due = sa.or_(D.c.not_before.is_(None), D.c.not_before <= now)
    with ws.engine.begin() as conn:
        probe = _for_update(conn, sa.select(D.c.id, D.c.sender).where(
            D.c.campaign_id == campaign_id, D.c.status == "queued", due).limit(1))
        first = conn.execute(probe).first()
        if first is None:
            return None
        lease_until = now + LEASE
        batch_id = conn.execute(B.insert().values(
            campaign_id=campaign_id, channel=channel, sender=first.sender, status="sending",
            items=0, worker=worker[:100], claimed_at=now, lease_until=lease_until, note="")
            .returning(B.c.id)).scalar_one()
        same_sender = (D.c.sender.is_(None) if first.sender is None
                       else D.c.sender == first.sender)
        pick = _for_update(conn, sa.select(D.c.id).where(
            D.c.campaign_id == campaign_id, D.c.status == "queued", same_sender, due)
            .order_by(D.c.id).limit(spec.batch_size))
        # One statement: on SQLite this transaction already holds the write lock (the batch
        # row), so the rows picked are still queued; on PostgreSQL they are locked for us.
        # There a CTE, not an IN (subquery): PostgreSQL may run a LIMIT … SKIP LOCKED
        # subquery more than once inside an UPDATE and take more rows than the limit. On
        # SQLite an IN (subquery): its driver reports no row count for a WITH … UPDATE.
        if conn.dialect.name == "postgresql":
            picked = pick.cte("picked")
            chosen = D.c.id == picked.c.id
        else:
            chosen = D.c.id.in_(pick.scalar_subquery())
        taken = conn.execute(D.update().where(chosen, D.c.status == "queued")
                             .values(status="sending", batch_id=batch_id,
                                     attempts=D.c.attempts + 1, updated_at=now)).rowcount
        if not taken:
            conn.execute(B.delete().where(B.c.id == batch_id))
            return None
        conn.execute(B.update().where(B.c.id == batch_id).values(items=taken))
    return Claimed(batch_id, campaign_id, channel, first.sender, lease_until, taken)


# -- messages ----------------------------------------------------------------------------------


def _variant_content(campaign: Any, variant: str) -> dict[str, Any]:
    for entry in campaign.variants or []:
        if entry.get("name") == variant and entry.get("content"):
            return entry["content"]
    return campaign.content


def _forms(campaign: Any, variants: Iterable[str], staff_name: str
           ) -> dict[str, tuple[dict[str, Any], tuple[str, str] | None, tuple]]:
    """variant → (content, (text, subject) when the same for every row of the batch, else
    ``None``, attachments). A batch has one sender, so ``{staff}`` is filled once here."""
    forms = {}
    for variant in variants:
        content = _variant_content(campaign, variant)
        text, subject = content.get("text") or "", content.get("subject") or ""
        per_row = (set(placeholders_in(text)) | set(placeholders_in(subject))) - {"staff"}
        same = None
        if not per_row:
            values = {"staff": staff_name}
            fallbacks = content.get("fallbacks") or {}
            same = (fill(text, values, fallbacks) if "{" in text else text,
                    fill(subject, values, fallbacks) if "{" in subject else subject)
        forms[variant] = (content, same, tuple(content.get("attachments") or ()))
    return forms


def messages(ws: Workspace, batch_id: int) -> list[OutgoingMessage]:
    """The batch's deliveries as rendered :class:`OutgoingMessage` records, in id order.

    Contacts are joined only when a text names ``{nickname}`` or ``{store}`` or the channel
    wants an ``address``; a text without them is rendered once per variant."""
    with ws.engine.connect() as conn:
        batch = conn.execute(sa.select(B).where(B.c.id == batch_id)).one()
        campaign = conn.execute(sa.select(C).where(C.c.id == batch.campaign_id)).one()
        spec = ws.channels.get(campaign.channel)
        address = getattr(spec, "address", None) if spec is not None else None
        senders = set(conn.execute(sa.select(D.c.sender).where(D.c.batch_id == batch_id)
                                   .distinct()).scalars()) - {None}
        staff_names = dict(conn.execute(sa.select(Staff.userid, Staff.name).where(
            Staff.userid.in_(sorted(senders)))).all()) if senders else {}
        variants = set(conn.execute(sa.select(D.c.variant).where(D.c.batch_id == batch_id)
                                    .distinct()).scalars())
        sender_name = staff_names.get(batch.sender or "", "")
        forms = _forms(campaign, variants, sender_name)
        per_row = any(same is None for _c, same, _a in forms.values())
        ct = Contact.__table__
        columns = [D.c.id, D.c.recipient, D.c.contact_id, D.c.variant, D.c.sender,
                   D.c.attempts]
        source = D
        if per_row or address:
            source = D.outerjoin(ct, ct.c.id == D.c.contact_id)
            columns.append(ct.c[address] if address else sa.null())
        if per_row:
            source = source.outerjoin(Store.__table__, Store.id == ct.c.store_id)
            columns += [ct.c.name, Store.name]
        rows = conn.execute(sa.select(*columns).select_from(source)
                            .where(D.c.batch_id == batch_id).order_by(D.c.id)).all()
    options = dict(campaign.options or {})
    prefix = f"{campaign.id}:"
    channel, campaign_id = campaign.channel, campaign.id
    out = []
    append = out.append
    for row in rows:
        delivery_id, recipient, contact_id, variant, sender, attempts = row[:6]
        content, same, attachments = forms[variant]
        if same is not None:
            text, subject = same
        else:
            fallbacks = content.get("fallbacks") or {}
            values = {"nickname": row[7], "store": row[8],
                      "staff": staff_names.get(sender or "", "")}
            text = fill(content.get("text") or "", values, fallbacks)
            subject = fill(content.get("subject") or "", values, fallbacks)
        append(OutgoingMessage(delivery_id, prefix + recipient, campaign_id, channel,
                               recipient, contact_id, variant, text, attachments, subject,
                               sender, attempts, options,
                               row[6] if len(row) > 6 else None))
    return out


def risk_action(message: OutgoingMessage) -> dict[str, Any]:
    """The ``risk_check`` action for one message (the contract of ``risk_check``)."""
    return {"kind": "send", "channel": message.channel, "campaign_id": message.campaign_id,
            "contact_id": message.contact_id, "recipient": message.recipient,
            "text": message.text, "sender": message.sender}


def _per_message_checks(ws: Workspace) -> Any:
    """``risk_check`` of the plugins that do not vet whole batches (``None``: no such
    plugin), kept per plugin manager."""
    kept = ws.extension("outbox.per_message_checks", lambda _ws: {})
    key = id(ws.pm)
    if key not in kept:
        batchers = [ws.pm.get_name(impl.plugin) for impl in
                    ws.pm.hook.risk_check_batch.get_hookimpls()]
        caller = ws.pm.subset_hook_caller(
            "risk_check", remove_plugins=[ws.pm.get_plugin(n) for n in batchers])
        kept.clear()
        kept[key] = caller if caller.get_hookimpls() else None
    return kept[key]


@dataclass
class Verdicts:
    """What the risk checks said about a batch: delivery id → reason to block it, or →
    :class:`~siyu.core.records.Hold` (it waits); a delivery in neither may be sent."""

    blocked: dict[int, str] = field(default_factory=dict)
    held: dict[int, Hold] = field(default_factory=dict)


def vet(ws: Workspace, batch: list[OutgoingMessage]) -> Verdicts:
    """Ask the risk checks about a batch: ``risk_check_batch`` answers, then ``risk_check``
    per message for plugins that vet one action at a time. A block wins over a hold; of
    several holds the latest ``until`` wins."""
    reasons: dict[int, list[str]] = {}
    held: dict[int, Hold] = {}
    if ws.has_hook("risk_check_batch"):
        for answer in ws.hook.risk_check_batch(ws=ws, batch=batch):
            for delivery_id, verdict in (answer or {}).items():
                if isinstance(verdict, Hold):
                    kept = held.get(int(delivery_id))
                    if kept is None or verdict.until > kept.until:
                        held[int(delivery_id)] = verdict
                elif verdict:
                    reasons.setdefault(int(delivery_id), []).append(str(verdict))
    single = _per_message_checks(ws)
    if single is not None:
        for message in batch:
            for reason in single(ws=ws, action=risk_action(message)):
                if reason:
                    reasons.setdefault(message.delivery_id, []).append(str(reason))
    blocked = {i: "; ".join(r)[:500] for i, r in reasons.items()}
    return Verdicts(blocked, {i: h for i, h in held.items() if i not in blocked})


# -- send and record ---------------------------------------------------------------------------


def _call_channel(ws: Workspace, channel: str, batch: list[OutgoingMessage]
                  ) -> list[SendResult]:
    answer = ws.hook.send(ws=ws, channel=channel, batch=batch)
    if answer is None:
        raise PluginError(_("no plugin answered send for channel {channel}", channel=channel))
    results = [SendResult.of(item) for item in answer]
    if len(results) != len(batch):
        raise PluginError(_("channel {channel} answered {got} results for {count} messages",
                            channel=channel, got=len(results), count=len(batch)))
    return results


def _outcome(result: SendResult, attempts: int, now: datetime, has_reconcile: bool
             ) -> dict[str, Any]:
    """The delivery columns a channel's result leads to."""
    if result.status == "sent":
        return {"status": "sent", "provider_id": result.provider_id, "sent_at": now,
                "reason": ""}
    if result.status == "pending":
        return {"status": "pending", "provider_id": result.provider_id, "reason": ""}
    if result.status == "unknown":
        if has_reconcile:  # recovery asks the provider about this batch
            return {"status": "sending", "reason": str(result.reason)[:500]}
        return {"status": "failed", "reason": str(_("outcome unknown, not sent again: {reason}",
                                                    reason=result.reason))[:500]}
    if result.retry and attempts < MAX_ATTEMPTS:
        wait = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
        return {"status": "queued", "batch_id": None, "reason": str(result.reason)[:500],
                "not_before": now + timedelta(seconds=wait)}
    return {"status": "failed", "reason": str(result.reason)[:500]}


def _columns(outcome: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An outcome as the delivery columns to write (a hold gives its try back)."""
    values = {k: v for k, v in outcome.items() if k != UNDO_TRY}
    values["updated_at"] = now
    if outcome.get(UNDO_TRY):
        values["attempts"] = D.c.attempts - 1
    return values


def record(ws: Workspace, batch_id: int, outcomes: dict[int, dict[str, Any]], *,
           batch_status: str = "done", expect: tuple[str, ...] = ("sending",),
           note: str = "") -> bool:
    """Write the deliveries' new columns, close the batch and notify ``on_delivery``, in one
    transaction. ``False`` (nothing written) when the batch is no longer in ``expect``
    (recovery took it over)."""
    now = utcnow()
    with ws.session() as s:
        conn = s.connection()
        taken = conn.execute(B.update().where(B.c.id == batch_id, B.c.status.in_(expect))
                             .values(status=batch_status, finished_at=now,
                                     note=note[:500])).rowcount
        if not taken:
            return False
        grouped: dict[tuple, list[int]] = {}
        keys: dict[int, tuple] = {}  # outcome dicts are often shared: one key each
        for delivery_id, values in outcomes.items():  # equal outcomes, one statement
            key = keys.get(id(values))
            if key is None:
                key = keys[id(values)] = tuple(values.items())
            grouped.setdefault(key, []).append(delivery_id)
        for items, ids in grouped.items():
            values = _columns(dict(items), now)
            if len(grouped) == 1 and len(ids) == items_in_batch(conn, batch_id):
                conn.execute(D.update().where(D.c.batch_id == batch_id).values(**values))
                continue
            for i in range(0, len(ids), 5000):
                conn.execute(D.update().where(D.c.id.in_(ids[i:i + 5000]),
                                              D.c.batch_id == batch_id).values(**values))
        changed = [(i, v["status"]) for i, v in outcomes.items()
                   if v["status"] != "sending" and not v.get(UNDO_TRY)]
        notify_changes(ws, s, changed)
        _finish_campaigns(conn, now)
    return True


def items_in_batch(conn: sa.Connection, batch_id: int) -> int:
    """How many deliveries a batch holds (its row says)."""
    return conn.execute(sa.select(B.c["items"]).where(B.c.id == batch_id)).scalar_one()


def notify_changes(ws: Workspace, session: Any, changed: list[tuple[int, str]]) -> None:
    """Write ``on_delivery`` notices for ``(delivery id, new status)`` in ``session``, one
    bulk notice per status: ``status`` is shared by a notice's items, so an implementation
    marked ``@notified_when(lambda status, **_: status == "failed")`` gets no delivery at all
    for the others."""
    if not changed or not ws.has_hook("on_delivery"):
        return
    by_status: dict[str, list[int]] = {}
    for delivery_id, status in changed:
        by_status.setdefault(status, []).append(delivery_id)
    for status, ids in by_status.items():
        ws.notify_each("on_delivery", session=session, refs={"delivery": (Delivery, ids)},
                       status=status)


def _finish_campaigns(conn: sa.Connection, now: datetime) -> None:
    """Sending campaigns with nothing queued or in flight become ``done``."""
    open_rows = sa.select(D.c.id).where(D.c.campaign_id == C.c.id,
                                        D.c.status.in_(("queued", "sending"))).exists()
    conn.execute(C.update().where(C.c.status == "sending", ~open_rows)
                 .values(status="done", finished_at=now, updated_at=now))


def _hold_until(hold: Hold, now: datetime) -> datetime:
    """When a held delivery is due again: the hold's time, but never sooner than
    :data:`MIN_HOLD` from now (a hold in the past would hand the delivery straight back to
    the sender that was told to wait, forever)."""
    soonest = now + MIN_HOLD
    if hold.until < soonest:
        log.warning("rule %r held a delivery until %s, which is not in the future; it waits "
                    "until %s", hold.rule, hold.until.isoformat(), soonest.isoformat())
        return soonest
    return hold.until


def send_batch(ws: Workspace, claimed: Claimed) -> list[str]:
    """Vet, send and record one claimed batch; the statuses it ended in."""
    spec = ws.channels[claimed.channel]
    batch = messages(ws, claimed.batch_id)
    verdicts = vet(ws, batch)
    outcomes: dict[int, dict[str, Any]] = {
        i: {"status": "blocked", "reason": reason} for i, reason in verdicts.blocked.items()}
    now = utcnow()
    for i, hold in verdicts.held.items():  # back to the queue until then; not a try
        outcomes[i] = {"status": "queued", "batch_id": None,
                       "not_before": _hold_until(hold, now),
                       "reason": str(hold.reason)[:500], UNDO_TRY: True}
    to_send = [m for m in batch if m.delivery_id not in outcomes]
    if to_send:
        if now > claimed.lease_until - CALL_MARGIN:
            log.warning("batch %s: lease too short to call %s; left for recovery",
                        claimed.batch_id, claimed.channel)
            return []
        try:
            results = _call_channel(ws, claimed.channel, to_send)
        except Exception as exc:  # a plugin bug: nothing is known to have gone out
            if spec.reconcile is None:
                raise
            log.exception("channel %s raised; batch %s left for reconciliation",
                          claimed.channel, claimed.batch_id)
            results = [SendResult("unknown", reason=str(exc)) for _m in to_send]
        now = utcnow()
        asks = spec.reconcile is not None
        same: dict[tuple, dict[str, Any]] = {}  # equal results share one (unchanged) outcome
        for message, result in zip(to_send, results, strict=True):
            key = (result.status, result.provider_id, result.reason, result.retry,
                   message.attempt if result.retry else 0)
            outcome = same.get(key)
            if outcome is None:
                outcome = same[key] = _outcome(result, message.attempt, now, asks)
            outcomes[message.delivery_id] = outcome
    in_doubt = any(v["status"] == "sending" for v in outcomes.values())
    if in_doubt:  # keep the batch for recovery, record what is known now
        _record_partial(ws, claimed.batch_id, outcomes)
        return [v["status"] for v in outcomes.values() if v["status"] != "sending"]
    record(ws, claimed.batch_id, outcomes)
    return [v["status"] for v in outcomes.values()]


def _record_partial(ws: Workspace, batch_id: int, outcomes: dict[int, dict[str, Any]]) -> None:
    """Record the known outcomes of a batch some of whose messages are in doubt; the batch
    stays ``sending`` with its lease cut short, so recovery reconciles the rest soon."""
    known = {i: v for i, v in outcomes.items() if v["status"] != "sending"}
    now = utcnow()
    with ws.session() as s:
        conn = s.connection()
        conn.execute(B.update().where(B.c.id == batch_id, B.c.status == "sending")
                     .values(lease_until=now, note="outcome unknown; to reconcile"))
        for delivery_id, values in known.items():
            conn.execute(D.update().where(D.c.id == delivery_id, D.c.batch_id == batch_id)
                         .values(**_columns(values, now)))
        notify_changes(ws, s, [(i, v["status"]) for i, v in known.items()
                               if not v.get(UNDO_TRY)])


# -- recovery ----------------------------------------------------------------------------------


def stale_batches(ws: Workspace, now: datetime | None = None) -> list[int]:
    """Batches whose sender's lease ran out before their outcome was recorded."""
    now = now or utcnow()
    with ws.engine.connect() as conn:
        return list(conn.execute(sa.select(B.c.id).where(
            B.c.status.in_(("sending", "reconciling")), B.c.lease_until < now)
            .order_by(B.c.id)).scalars())


def _take_over(ws: Workspace, batch_id: int, worker: str) -> bool:
    now = utcnow()
    with ws.engine.begin() as conn:
        return bool(conn.execute(B.update().where(
            B.c.id == batch_id, B.c.status.in_(("sending", "reconciling")),
            B.c.lease_until < now).values(status="reconciling", worker=worker[:100],
                                         lease_until=now + LEASE)).rowcount)


def recover(ws: Workspace, *, worker: str | None = None) -> int:
    """Settle every batch left in doubt by a crash; returns how many were settled."""
    worker = worker or worker_name()
    settled = 0
    for batch_id in stale_batches(ws):
        if not _take_over(ws, batch_id, worker):
            continue  # another process took it
        with ws.engine.connect() as conn:
            batch = conn.execute(sa.select(B).where(B.c.id == batch_id)).one()
            waiting = list(conn.execute(sa.select(D.c.id).where(
                D.c.batch_id == batch_id, D.c.status == "sending")).scalars())
        spec = ws.channels.get(batch.channel)
        if spec is None:
            log.warning("batch %s: channel %s not loaded; left in doubt", batch_id,
                        batch.channel)
            continue
        found: dict[int, SendResult] = {}
        if waiting and spec.reconcile is not None:
            in_doubt = [m for m in messages(ws, batch_id) if m.delivery_id in set(waiting)]
            try:
                answer = spec.reconcile(ws, in_doubt)
            except Exception:  # the provider cannot be asked now: try again after the lease
                log.warning("batch %s: reconciling with %s failed; will retry", batch_id,
                            batch.channel, exc_info=True)
                continue
            found = {int(k): SendResult.of(v) for k, v in answer.items()}
        now = utcnow()
        outcomes: dict[int, dict[str, Any]] = {}
        for delivery_id in waiting:
            if delivery_id in found:
                outcomes[delivery_id] = _outcome(found[delivery_id], MAX_ATTEMPTS, now, False)
            else:  # never reached the provider (or cannot be asked): back to the queue
                outcomes[delivery_id] = {"status": "queued", "batch_id": None}
        note = (f"reconciled after a crash: {len(found)} found at the provider, "
                f"{len(waiting) - len(found)} queued again" if spec.reconcile is not None
                else f"sender crashed; {len(waiting)} queued again (channel cannot be asked)")
        if record(ws, batch_id, outcomes, batch_status="reconciled", expect=("reconciling",),
                  note=note):
            settled += 1
            log.info("batch %s: %s", batch_id, note)
    return settled


# -- the loop ----------------------------------------------------------------------------------


def drain(ws: Workspace, *, campaign_id: int | None = None, worker: str | None = None,
          max_batches: int | None = None, progress: Callable[[DrainReport], None] | None = None,
          stop: Callable[[], bool] | None = None) -> DrainReport:
    """Send queued deliveries until none is due (or ``max_batches``, or ``stop()``).

    Several processes may drain at once on PostgreSQL; on SQLite run one.

    :param campaign_id: only this campaign's deliveries.
    :param progress: called with the running report after each batch.
    """
    worker = worker or worker_name()
    report = DrainReport()
    report.recovered = recover(ws, worker=worker)
    while True:
        did = False
        for cid, channel in sending_campaigns(ws, campaign_id):
            if stop and stop():
                return report
            claimed = claim(ws, cid, channel, worker=worker)
            if claimed is None:
                continue
            did = True
            report.batches += 1
            report.add(send_batch(ws, claimed))
            if progress:
                progress(report)
            if max_batches is not None and report.batches >= max_batches:
                return report
        if not did:
            if stale_batches(ws):
                report.recovered += recover(ws, worker=worker)
            return report


def run_forever(ws: Workspace, *, interval_s: float = 2.0, worker: str | None = None,
                stop: Callable[[], bool] | None = None) -> None:
    """A sender process: drain, wait ``interval_s`` when idle, repeat until ``stop()``."""
    worker = worker or worker_name()
    while not (stop and stop()):
        report = drain(ws, worker=worker, stop=stop)
        if not report.batches:
            time.sleep(interval_s)


# -- feedback ----------------------------------------------------------------------------------


def record_feedback(ws: Workspace, session: Any,
                    updates: Iterable[tuple[int, str, str, datetime | None]]) -> int:
    """Status changes a channel learned after sending (a WeCom member confirmed the mass
    message; the customer was not a friend any more), written in ``session`` with their
    ``on_delivery`` notices.

    :param updates: ``(delivery id, status, reason, sent_at)``; ``status`` is ``sent``,
        ``failed`` or ``skipped``. Deliveries already in that status, or already final, are
        left alone (feedback may come twice).
    :return: how many deliveries changed.
    """
    conn = session.connection()
    updates = list(updates)
    ids = [u[0] for u in updates]
    current = {}
    for i in range(0, len(ids), 5000):
        current.update(dict(conn.execute(sa.select(D.c.id, D.c.status).where(
            D.c.id.in_(ids[i:i + 5000]))).all()))
    now = utcnow()
    changed = []
    rows = []
    for delivery_id, status, reason, sent_at in updates:
        before = current.get(delivery_id)
        if before is None or before == status or before not in ("pending", "sending"):
            continue
        rows.append({"i": delivery_id, "st": status, "r": reason[:500], "u": now,
                     "at": sent_at})
        changed.append((delivery_id, status))
    if rows:  # one executemany; sent_at kept where the feedback has none
        conn.execute(D.update().where(D.c.id == sa.bindparam("i")).values(
            status=sa.bindparam("st"), reason=sa.bindparam("r"), updated_at=sa.bindparam("u"),
            sent_at=sa.func.coalesce(sa.bindparam("at", type_=D.c.sent_at.type),
                                     D.c.sent_at)), rows)
    notify_changes(ws, session, changed)
    return len(changed)


def unsettled(ws: Workspace, campaign_id: int | None = None) -> int:
    """Deliveries still queued or in flight (of sending or paused campaigns), plus batches
    in doubt: what a sender run ``--until-done`` waits for."""
    with ws.engine.connect() as conn:
        query = (sa.select(sa.func.count()).select_from(D.join(C, C.c.id == D.c.campaign_id))
                 .where(D.c.status.in_(("queued", "sending")), C.c.status == "sending"))
        if campaign_id is not None:
            query = query.where(D.c.campaign_id == campaign_id)
        waiting = conn.execute(query).scalar_one()
        doubt = conn.execute(sa.select(sa.func.count()).where(
            B.c.status.in_(("sending", "reconciling")))).scalar_one()
    return waiting + doubt
