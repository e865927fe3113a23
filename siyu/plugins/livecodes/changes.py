"""Changing a code in WeCom without a transaction open during the call.

A live code's or group code's change is recorded as the code's *pending* change and committed
(the intent), then WeCom is called, then a second short transaction stores the change (WeCom
took it) or forgets it (WeCom refused). A second change of the same code waits until the first
is settled, so WeCom is never asked twice. When WeCom's answer is lost, or the process stops
between the intent and the outcome, the change stays pending; :meth:`Changes.reconcile` — on
the code's next change, re-plan or check, and in the daily ``livecodes.check`` job — asks
WeCom what it has and stores or forgets the change accordingly. It never sends it again.

Why: a transaction open during a WeCom round trip keeps the code's row locked (on SQLite the
whole database's write lock), so callbacks and every other writer wait on WeCom.
"""

from __future__ import annotations

import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, SiyuError, ValidationError
from siyu.plugins.wecom.errors import WeComTransportError
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

__all__ = ["Changes", "Intent", "in_flight"]

log = logging.getLogger("siyu.livecodes")

#: A change whose outcome nobody recorded within this long is taken as crashed and settled by
#: asking WeCom (the client gives up on one call well before: 4 attempts of 10 s + backoff).
INTENT_LEASE = timedelta(minutes=5)
#: How long a change someone asks for waits for another change of the same code to settle.
WAIT_S = 30.0
POLL_S = 0.05
#: How ``last_error`` starts while WeCom's answer to a change is unknown.
LOST = "WeCom's answer to"
#: The pending columns of a code with nothing pending.
CLEARED = {"pending": "", "pending_state": "", "pending_change": None, "pending_by": "",
           "pending_at": None}


@dataclass(frozen=True)
class Intent:
    """A change of a code, recorded and committed before it is sent to WeCom.

    :ivar op: what it does (see :data:`~siyu.plugins.livecodes.models.PENDING`).
    :ivar token: tells this change from any later one of the same code.
    :ivar change: what is stored once WeCom took it (``values`` for the code's columns and
        what the kind of code adds, e.g. ``members`` or ``chats``).
    """

    code_id: int
    op: str
    token: str
    change: dict[str, Any]
    config_id: str
    state: str

    @classmethod
    def of(cls, row: Any) -> Intent:
        """The intent a code row holds."""
        change = dict(row.pending_change or {})
        return cls(row.id, row.pending, str(change.pop("token", "")), change, row.config_id,
                   row.state)


def in_flight(row: Any) -> bool:
    """Whether ``row`` holds a change whose call may still be under way (its owner will
    record the outcome); a lost answer or an expired lease is for :meth:`Changes.reconcile`."""
    return (bool(row.pending) and row.pending_state == "intent"
            and row.pending_at is not None and utcnow() - row.pending_at < INTENT_LEASE)


def _owns(row: Any, intent: Intent) -> bool:
    return (row is not None and bool(row.pending)
            and (row.pending_change or {}).get("token") == intent.token)


def _definite(exc: BaseException) -> bool:
    """Whether the failed call certainly changed nothing in WeCom: WeCom answered with a
    refusal, or the call was refused before it was sent. A lost answer is not definite."""
    return isinstance(exc, SiyuError) and not isinstance(exc, WeComTransportError)


class Changes(ABC):
    """The steps of a change (see the module notes) for one kind of code.

    Subclasses give the table, how to lock a row, store a change, drop a code whose creation
    WeCom did not take, and ask WeCom whether it has a change.
    """

    table: sa.Table
    noun = "code"
    audit = "code"

    @abstractmethod
    def lock(self, conn: sa.Connection, code_id: int) -> Any:
        """Take the code's row lock and read the row (``None`` when it does not exist)."""

    def apply(self, conn: sa.Connection, row: Any, change: dict[str, Any]) -> None:
        """Store a change WeCom took (the pending columns are cleared by the caller)."""
        values = change.get("values") or {}
        if values:
            conn.execute(self.table.update().where(self.table.c.id == row.id).values(**values))

    def discard(self, conn: sa.Connection, row: Any) -> None:
        """Remove a code whose creation WeCom did not take."""
        conn.execute(self.table.delete().where(self.table.c.id == row.id))

    @abstractmethod
    def ask(self, ws: Workspace, row: Any) -> tuple[bool, dict[str, Any]]:
        """Whether WeCom has the row's pending change, and column values to store with the
        outcome (what WeCom really has).

        :raises SiyuError: WeCom could not be asked.
        """

    # -- the steps ------------------------------------------------------------------------

    def intend(self, conn: sa.Connection, row: Any, op: str, by: str,
               change: dict[str, Any]) -> Intent:
        """Record ``change`` as the code's pending ``op`` (committed with ``conn``)."""
        token = uuid.uuid4().hex
        conn.execute(self.table.update().where(self.table.c.id == row.id).values(
            pending=op, pending_state="intent", pending_change={**change, "token": token},
            pending_by=by[:64], pending_at=utcnow()))
        return Intent(row.id, op, token, change, row.config_id, row.state)

    def begin(self, ws: Workspace, code_id: int,
              prepare: Callable[[sa.Connection, Any], Intent | None]) -> Intent | None:
        """Run ``prepare(conn, row)`` on the locked row once no other change of the code is
        pending; it checks the row, and records an intent or makes a change that needs no
        WeCom call. Waits up to :data:`WAIT_S` for a change in flight.

        :raises ValidationError: another change is still unsettled after the wait.
        """
        deadline = time.monotonic() + WAIT_S
        while True:
            self.reconcile(ws, code_id)
            with ws.engine.begin() as conn:
                row = self.lock(conn, code_id)
                if row is None:
                    raise NotFound(f"no {self.noun} {code_id!r}")
                if not row.pending:
                    return prepare(conn, row)
            if time.monotonic() >= deadline:
                raise ValidationError(self.busy(row))
            time.sleep(POLL_S)

    def busy(self, row: Any) -> str:
        """Why a change of ``row`` cannot start now."""
        asked = (f"{row.pending} asked by {row.pending_by or 'siyu'} at "
                 f"{row.pending_at:%Y-%m-%d %H:%M:%S} UTC" if row.pending_at else row.pending)
        if in_flight(row):
            return f"{self.noun} {row.state} is being changed ({asked}); try again in a moment"
        return (f"{self.noun} {row.state} has an earlier change ({asked}) that WeCom has not "
                "confirmed; siyu asks WeCom what it has before changing the code again. Try "
                "again once WeCom answers")

    def send(self, ws: Workspace, intent: Intent, call: Callable[[], Any], *,
             refused: Callable[[Exception], Exception] | None = None,
             outcome: Callable[[Any], dict[str, Any]] | None = None,
             note: bool = False) -> Any:
        """Call WeCom for a committed intent, then record the outcome.

        :param call: sends the change (no transaction is open).
        :param refused: turns WeCom's refusal into the error raised.
        :param outcome: answer → more column values to store with the change.
        :param note: keep a refusal in ``last_error`` (changes nobody is watching).
        :return: WeCom's answer (``None`` when the answer was lost but WeCom turned out to
            have the change).
        :raises SiyuError: WeCom refused (nothing changed), or its answer was lost and it
            could not be asked (the change stays pending for :meth:`reconcile`).
        """
        try:
            answer = call()
        except Exception as exc:
            if _definite(exc):
                problem = refused(exc) if refused is not None else exc
                self.drop(ws, intent, {"last_error": str(problem)[:1000]} if note else None)
                if problem is exc:
                    raise
                raise problem from exc
            self.lost(ws, intent, exc)
            if self.reconcile(ws, intent.code_id) == "done":
                return None
            raise
        self.finish(ws, intent, outcome(answer) if outcome is not None else None)
        return answer

    def finish(self, ws: Workspace, intent: Intent, extra: dict[str, Any] | None = None
               ) -> bool:
        """Store a change WeCom took; ``False`` when the code no longer holds it (another
        process settled it first)."""
        with ws.engine.begin() as conn:
            row = self.lock(conn, intent.code_id)
            if not _owns(row, intent):
                return False
            self.apply(conn, row, intent.change)
            conn.execute(self.table.update().where(self.table.c.id == row.id)
                         .values(**CLEARED, **(extra or {})))
        return True

    def drop(self, ws: Workspace, intent: Intent, values: dict[str, Any] | None = None
             ) -> bool:
        """Forget a change WeCom does not have (a code being created goes with it)."""
        with ws.engine.begin() as conn:
            row = self.lock(conn, intent.code_id)
            if not _owns(row, intent):
                return False
            if intent.op == "create":
                self.discard(conn, row)
            else:
                conn.execute(self.table.update().where(self.table.c.id == row.id)
                             .values(**CLEARED, **(values or {})))
        return True

    def lost(self, ws: Workspace, intent: Intent, exc: BaseException) -> None:
        """Record that WeCom's answer to ``intent`` is unknown."""
        log.warning("%s %s: WeCom's answer to %s was lost: %s", self.noun, intent.state,
                    intent.op, exc)
        with ws.engine.begin() as conn:
            row = self.lock(conn, intent.code_id)
            if _owns(row, intent):
                conn.execute(self.table.update().where(self.table.c.id == row.id).values(
                    pending_state="unknown",
                    last_error=(f"{LOST} '{intent.op}' was lost ({exc}); siyu asks WeCom what "
                                "it has before changing this code again")[:1000]))

    def reconcile(self, ws: Workspace, code_id: int) -> str:
        """Settle a change whose outcome was never recorded (answer lost, or the process
        stopped after the intent) by asking WeCom what it has — never by sending it again.

        :return: ``"done"`` (WeCom has it: stored), ``"dropped"`` (WeCom does not: forgotten),
            ``"unknown"`` (WeCom could not be asked: left pending), ``""`` (nothing to settle,
            or a change still in flight).
        """
        with ws.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(self.table.c.id == code_id)).first()
        if row is None or not row.pending or in_flight(row):
            return ""
        try:
            taken, extra = self.ask(ws, row)
        except SiyuError as exc:
            log.warning("%s %s: cannot ask WeCom about the pending %s yet: %s", self.noun,
                        row.state, row.pending, exc)
            return "unknown"
        if row.last_error.startswith(LOST):
            extra = {"last_error": "", **extra}
        intent = Intent.of(row)
        settled = self.finish(ws, intent, extra) if taken else self.drop(ws, intent, extra)
        if not settled:
            return ""
        outcome = "done" if taken else "dropped"
        log.info("%s %s: pending %s %s after asking WeCom", self.noun, row.state, row.pending,
                 outcome)
        ws.audit(f"{self.audit}.reconcile", row.state, {"change": row.pending,
                                                       "outcome": outcome,
                                                       "asked_by": row.pending_by})
        return outcome

    def reconcile_all(self, ws: Workspace) -> list[str]:
        """:meth:`reconcile` every code with a pending change; ``"name (state): outcome"``
        of each one settled."""
        with ws.engine.connect() as conn:
            rows = conn.execute(sa.select(self.table.c.id, self.table.c.name,
                                          self.table.c.state)
                                .where(self.table.c.pending != "")
                                .order_by(self.table.c.id)).all()
        settled = []
        for row in rows:
            outcome = self.reconcile(ws, row.id)
            if outcome in ("done", "dropped"):
                settled.append(f"{row.name} ({row.state}): {outcome}")
        return settled
