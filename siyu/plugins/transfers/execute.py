"""Executing plans through WeCom and following them to the end.

:func:`run` sends a plan's ``planned`` customers, at most 100 per call, one call per
(departing member, successor). Each chunk goes through three steps, never with a database
transaction open while WeCom is called:

1. claim: the chunk's items become ``requested`` (or ``limit_exceeded`` when the 90-day
   limit is reached meanwhile), committed;
2. call ``transfer_customer`` (or ``resigned/transfer_customer``);
3. record each customer's answer: ``waiting`` (errcode 0: WeCom takes over in 24 hours),
   ``failed`` with WeCom's reason, or ``unknown`` when the answer was lost.

:func:`reconcile` (the scheduled ``transfers.poll`` job, also run by the page and the CLI)
applies the ``transfer_fail`` callbacks the WeCom plugin recorded as
``contact.transfer_failed`` events, then asks ``transfer_result`` about every open item:
1 taken over (the successor becomes the follow and owner, through the follows service, in
one transaction with a ``contact.transferred`` event), 2 waiting, 3 refused, 4 limit. An
``unknown`` item WeCom has no record of goes back to ``planned`` (it never reached WeCom and
may be run again); one WeCom knows takes WeCom's state. Nothing is sent twice blindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.core.i18n import translator
from siyu.plugins.transfers.departed import limit_reason, recent_transfers
from siyu.plugins.transfers.models import MAX_REASON, OPEN, TransferItem, TransferPlan
from siyu.storage.models import Contact, Event, Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.transfers")
_ = translator("siyu.plugins.transfers")

#: Customers per WeCom transfer call.
BATCH = 100
#: A ``requested`` item older than this without an answer was left by a crashed run: it is
#: reconciled like an ``unknown`` one (a younger one may still be in flight).
IN_FLIGHT = timedelta(minutes=5)
#: How much earlier than the request a ``transfer_fail`` callback may be stamped (clocks).
CLOCK_SLACK = timedelta(minutes=10)
#: transfer_result status → item state.
RESULT_STATES = {1: "taken_over", 2: "waiting", 3: "refused", 4: "limit_exceeded"}
#: transfer_fail FailReason → item state.
FAIL_STATES = {"customer_refused": "refused", "customer_limit_exceed": "limit_exceeded"}

T = TransferItem.__table__


def state_word(state: str) -> str:
    """A transfer state in a word or two, in the current language (for summaries)."""
    words = {"planned": _("planned"), "requested": _("sending"), "waiting": _("waiting"),
             "taken_over": _("taken over"), "refused": _("refused"),
             "limit_exceeded": _("over a limit"), "failed": _("failed"),
             "unknown": _("answer lost")}
    return words.get(state, state)


def _counts(states: dict[str, int]) -> str:
    from siyu.plugins.transfers.models import STATUSES

    order = {state: i for i, state in enumerate(STATUSES)}
    return ", ".join(f"{state_word(state)} {n}"
                     for state, n in sorted(states.items(), key=lambda i: order.get(i[0], 99)))


def _fail_reason(reason: str) -> str:
    if reason == "customer_refused":
        return _("the customer refused the transfer")
    if reason == "customer_limit_exceed":
        return _("the successor's customer list is full")
    return _("WeCom reported the transfer failed: {reason}", reason=reason)


@dataclass
class _StateCounts:
    """How many items reached each state."""

    states: dict[str, int] = field(default_factory=dict)

    def add(self, state: str, n: int = 1) -> None:
        if n:
            self.states[state] = self.states.get(state, 0) + n


@dataclass
class RunReport(_StateCounts):
    """What :func:`run` did: how many customers ended in each state, and the WeCom calls."""

    calls: int = 0

    def summary(self) -> str:
        """One line for the CLI, the page and the job log."""
        if not self.states:
            return _("nothing to do")
        return _.ngettext("{n} WeCom call: {parts}", "{n} WeCom calls: {parts}", self.calls,
                          parts=_counts(self.states))


def _client(ws: Workspace) -> Any:
    from siyu.plugins.wecom.service import wecom

    return wecom(ws).client


def _set(conn: sa.Connection, ids: list[int], now: datetime, **values: Any) -> None:
    if ids:
        conn.execute(T.update().where(T.c.id.in_(ids)).values(updated_at=now, **values))


def run(ws: Workspace, plan_id: int | None = None, *, now: datetime | None = None) -> RunReport:
    """Send the ``planned`` customers of plan ``plan_id`` (of every plan when ``None``) to
    WeCom, at most 100 per call.

    :return: the states the customers reached and the number of calls.
    :raises ConfigError: WeCom is not configured.
    :raises NotFound: no such plan.
    """
    from siyu.plugins.transfers.planning import get_plan

    ws.principal.require("data.write")
    if plan_id is not None:
        get_plan(ws, plan_id)
    client = _client(ws)
    report = RunReport()
    query = sa.select(T.c.id, T.c.plan_id, T.c.kind, T.c.handover, T.c.takeover).where(
        T.c.status == "planned").order_by(T.c.id)
    if plan_id is not None:
        query = query.where(T.c.plan_id == int(plan_id))
    with ws.engine.connect() as conn:
        rows = conn.execute(query).all()
        messages = dict(conn.execute(sa.select(TransferPlan.id, TransferPlan.message)).all())
    groups: dict[tuple, list[int]] = {}
    for r in rows:
        groups.setdefault((r.plan_id, r.kind, r.handover, r.takeover), []).append(r.id)
    for (plan, kind, handover, takeover), ids in groups.items():
        for start in range(0, len(ids), BATCH):
            _send_chunk(ws, client, report, ids[start:start + BATCH], kind, handover,
                        takeover, messages.get(plan) or None, now)
    if report.states:
        ws.audit("transfer.run", str(plan_id or ""), {"states": report.states,
                                                      "calls": report.calls})
    return report


def _claim(ws: Workspace, ids: list[int], kind: str, now: datetime) -> tuple[dict[str, int], int]:
    """Step 1, in one committed transaction: the chunk's still-planned customers already
    handed over twice in 90 days become ``limit_exceeded`` (with the dates), the others
    ``requested``. Returns external userid → item id of those claimed, and how many were
    over the limit."""
    tz = ws.timezone
    over = 0
    with ws.engine.begin() as conn:
        planned = dict(conn.execute(sa.select(T.c.external_userid, T.c.id).where(
            T.c.id.in_(ids), T.c.status == "planned")).all())
        if kind == "onjob" and planned:
            recent = recent_transfers(conn, list(planned), now)
            for ext, times in recent.items():
                if len(times) >= 2 and ext in planned:
                    over += conn.execute(
                        T.update().where(T.c.id == planned[ext], T.c.status == "planned")
                        .values(status="limit_exceeded", updated_at=now,
                                reason=limit_reason(times, tz)[:MAX_REASON])).rowcount
                    del planned[ext]
        claimed = dict(conn.execute(
            T.update().where(T.c.id.in_(list(planned.values())), T.c.status == "planned")
            .values(status="requested", requested_at=now, updated_at=now)
            .returning(T.c.external_userid, T.c.id)).all()) if planned else {}
    return claimed, over


def _send_chunk(ws: Workspace, client: Any, report: RunReport, ids: list[int], kind: str,
                handover: str, takeover: str, message: str | None,
                now: datetime | None) -> None:
    from siyu.plugins.wecom.errors import WeComError, WeComTransportError, explain

    at = now or utcnow()
    claimed, over = _claim(ws, ids, kind, at)
    report.add("limit_exceeded", over)
    if not claimed:
        return
    report.calls += 1
    customers = list(claimed)
    try:
        if kind == "onjob":
            answers = client.transfer_customer(handover, takeover, customers,
                                               transfer_success_msg=message)
        else:
            answers = client.resigned_transfer_customer(handover, takeover, customers)
    except WeComTransportError as exc:
        with ws.engine.begin() as conn:
            _set(conn, list(claimed.values()), utcnow(), status="unknown",
                 reason=_("the answer was lost ({error}); checked against WeCom's transfer "
                          "results, never sent again blindly", error=str(exc))[:MAX_REASON])
        report.add("unknown", len(claimed))
        return
    except (WeComError, SiyuError) as exc:
        with ws.engine.begin() as conn:
            _set(conn, list(claimed.values()), utcnow(), status="failed",
                 errcode=getattr(exc, "errcode", None), reason=str(exc)[:MAX_REASON])
        report.add("failed", len(claimed))
        return
    by_ext = {a.get("external_userid"): a for a in answers}
    soon = at + timedelta(hours=24)
    with ws.engine.begin() as conn:
        for ext, item_id in claimed.items():
            answer = by_ext.get(ext)
            if answer is None:
                _set(conn, [item_id], utcnow(), status="unknown",
                     reason=_("WeCom's answer did not mention this customer")[:MAX_REASON])
                report.add("unknown")
                continue
            code = int(answer.get("errcode") or 0)
            if code == 0:
                _set(conn, [item_id], utcnow(), status="waiting", errcode=0, reason="",
                     takeover_at=soon)
                report.add("waiting")
            else:
                _set(conn, [item_id], utcnow(), status="failed", errcode=code,
                     reason=_("WeCom refused: {errcode} {explained}", errcode=code,
                              explained=explain(code))[:MAX_REASON])
                report.add("failed")


# -- following up ---------------------------------------------------------------------------


@dataclass
class ReconcileReport(_StateCounts):
    """What :func:`reconcile` changed: item state → how many items reached it."""

    def summary(self) -> str:
        if not self.states:
            return _("no change")
        return _counts(self.states)


def reconcile(ws: Workspace, *, now: datetime | None = None) -> ReconcileReport:
    """Bring every open transfer up to date: failure callbacks first, then WeCom's
    ``transfer_result`` (skipped while WeCom is not configured).

    :return: how many items reached each state.
    :raises WeComError: WeCom refused or did not answer a ``transfer_result`` call.
    """
    ws.principal.require("data.write")
    now = now or utcnow()
    report = ReconcileReport()
    _link_contacts(ws)
    _apply_failures(ws, report, now)
    from siyu.plugins.wecom.service import wecom

    if wecom(ws).config.api_ready:
        _apply_results(ws, report, now)
    return report


def _link_contacts(ws: Workspace) -> None:
    """Fill in the contact of items made before the customer was synced."""
    with ws.engine.begin() as conn:
        conn.execute(T.update().where(T.c.contact_id.is_(None)).values(
            contact_id=sa.select(Contact.id).where(Contact.external_userid == T.c.external_userid)
            .scalar_subquery()))


def _apply_failures(ws: Workspace, report: ReconcileReport, now: datetime) -> None:
    """Open items whose successor got a ``transfer_fail`` callback (stored by the WeCom
    plugin as a ``contact.transfer_failed`` event) since the request: refused or full."""
    with ws.engine.connect() as conn:
        items = conn.execute(sa.select(T.c.id, T.c.contact_id, T.c.takeover, T.c.requested_at)
                             .where(T.c.status.in_(OPEN), T.c.contact_id.is_not(None))).all()
        if not items:
            return
        contact_ids = sorted({i.contact_id for i in items})
        events = []
        for start in range(0, len(contact_ids), 500):
            events += conn.execute(
                sa.select(Event.contact_id, Event.occurred_at, Event.payload)
                .where(Event.kind == "contact.transfer_failed",
                       Event.contact_id.in_(contact_ids[start:start + 500]))
                .order_by(Event.occurred_at)).all()
    changes: dict[int, tuple[str, str]] = {}
    for item in items:
        for event in events:
            payload = event.payload or {}
            if event.contact_id != item.contact_id or payload.get("userid") != item.takeover:
                continue
            if item.requested_at is not None and event.occurred_at < item.requested_at - \
                    CLOCK_SLACK:
                continue
            reason = payload.get("reason", "")
            changes[item.id] = (FAIL_STATES.get(reason, "failed"), _fail_reason(reason))
    if not changes:
        return
    with ws.engine.begin() as conn:
        for item_id, (state, reason) in changes.items():
            conn.execute(T.update().where(T.c.id == item_id, T.c.status.in_(OPEN))
                         .values(status=state, reason=reason[:MAX_REASON], updated_at=now))
            report.add(state)


def _apply_results(ws: Workspace, report: ReconcileReport, now: datetime) -> None:
    with ws.engine.connect() as conn:
        items = conn.execute(sa.select(T.c.id, T.c.kind, T.c.external_userid, T.c.contact_id,
                                       T.c.handover, T.c.takeover, T.c.status,
                                       T.c.requested_at)
                             .where(T.c.status.in_(OPEN)).order_by(T.c.id)).all()
    pairs: dict[tuple[str, str, str], list[Any]] = {}
    for item in items:
        if item.status == "requested" and item.requested_at is not None and \
                now - item.requested_at < IN_FLIGHT:
            continue  # a run may be waiting for WeCom's answer right now
        pairs.setdefault((item.kind, item.handover, item.takeover), []).append(item)
    if not pairs:
        return
    client = _client(ws)
    for (kind, handover, takeover), group in pairs.items():
        known = _results(client, kind, handover, takeover)
        for item in group:
            entry = known.get(item.external_userid)
            if entry is None:
                if item.status != "waiting":
                    _update(ws, item.id, now, status="planned", requested_at=None,
                            reason=_("WeCom has no record of this request: it did not reach "
                                     "WeCom and can be run again"))
                    report.add("planned")
                continue
            state = RESULT_STATES.get(int(entry.get("status") or 0))
            when = int(entry.get("takeover_time") or 0)
            at = datetime.fromtimestamp(when, UTC) if when else None
            if state == "taken_over":
                if _take_over(ws, item, at or now, now):
                    report.add(state)
            elif state == "waiting":
                if item.status != "waiting":
                    _update(ws, item.id, now, status="waiting", errcode=0, reason="",
                            takeover_at=at)
                    report.add(state)
            elif state is not None:
                reason = _fail_reason("customer_refused" if state == "refused"
                                      else "customer_limit_exceed")
                _update(ws, item.id, now, status=state, reason=reason)
                report.add(state)


def _results(client: Any, kind: str, handover: str, takeover: str) -> dict[str, dict]:
    """external userid → WeCom's latest transfer_result entry for the pair (every page)."""
    call = client.transfer_result if kind == "onjob" else client.resigned_transfer_result
    found: dict[str, dict] = {}
    cursor, seen = None, set()
    while True:
        page = call(handover, takeover, cursor=cursor)
        for entry in page.get("customer", []):
            found[entry.get("external_userid")] = entry  # the later entry is the newer one
        cursor = page.get("next_cursor") or None
        if not cursor or cursor in seen:
            return found
        seen.add(cursor)


def _update(ws: Workspace, item_id: int, now: datetime, **values: Any) -> None:
    if "reason" in values:
        values["reason"] = str(values["reason"])[:MAX_REASON]
    with ws.engine.begin() as conn:
        conn.execute(T.update().where(T.c.id == item_id, T.c.status.in_(OPEN))
                     .values(updated_at=now, **values))


def _take_over(ws: Workspace, item: Any, at: datetime, now: datetime) -> bool:
    """The successor took the customer over at ``at``: in one transaction, the departing
    member's follow ends (by ``transfer``), the successor's starts and they become the
    owner, a ``contact.transferred`` event is recorded and the item is ``taken_over``.
    Returns whether this call made the change (another process may have)."""
    with ws.session() as s:
        conn = s.connection()
        moved = conn.execute(T.update().where(T.c.id == item.id, T.c.status.in_(OPEN))
                             .values(status="taken_over", reason="", takeover_at=at,
                                     updated_at=now)).rowcount
        if not moved:
            return False
        contact_id = item.contact_id or conn.execute(
            sa.select(Contact.id).where(Contact.external_userid == item.external_userid)
        ).scalar()
        if contact_id is None:
            return True  # not synced yet: the sync brings the follows
        staff = set(conn.execute(sa.select(Staff.userid).where(
            Staff.userid.in_([item.handover, item.takeover]))).scalars())
        if item.handover in staff:
            ws.follows.deleted(contact_id, item.handover, at=at, by="transfer", session=s)
        if item.takeover in staff:
            ws.follows.added(contact_id, item.takeover, at=at, session=s)
            ws.follows.set_owner(contact_id, item.takeover, session=s)
        ws.events.record("contact.transferred", dedupe_key=f"transfers:{item.id}:taken_over",
                         contact_id=contact_id, occurred_at=at, source="transfers",
                         payload={"from": item.handover, "to": item.takeover,
                                  "kind": item.kind}, session=s)
    return True
