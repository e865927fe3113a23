"""One writer at a time per SQLite file, handed over in arrival order (no busy sleeping).

SQLite lets one connection write at a time. When a second one tries, it gets ``SQLITE_BUSY``
and its busy handler *sleeps* — 1, 2, 5, 10, … up to 100 ms between tries — however soon the
lock is freed. With a dozen threads writing (the callback processor's workers, the hook
dispatcher, the receiver's group commit), most of the time goes to those sleeps: measured
on the callback bench, ``do_execute`` waiting in the busy handler took more samples than
all the Python work together.

A :class:`WriteGate` queues the writers of one process in front of SQLite instead: a
connection takes the gate just before the first statement that opens a write transaction
(``INSERT``/``UPDATE``/``DELETE``/``REPLACE``, DDL) and gives it back when the transaction
ends (commit, rollback, close); the next waiter is woken at once, in the order they came.
Readers never touch it (WAL lets them read beside the writer). Other processes still meet
SQLite's own busy handler, so correctness never depends on the gate.

It works at the DB-API level (:class:`GatedConnection` is the ``sqlite3`` connection
factory), so it covers ORM sessions, Core and raw ``executemany`` alike. Python's
``sqlite3`` (isolation level ``""``, SQLAlchemy's default) opens its transaction just before
the first ``INSERT``/``UPDATE``/``DELETE``/``REPLACE``, which is exactly when the gate is
taken: a transaction's earlier ``SELECT`` statements ran outside it.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import deque

__all__ = ["GatedConnection", "WriteGate", "gate_for", "is_write"]

_WRITE = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP|"
                    r"BEGIN\s+(?:IMMEDIATE|EXCLUSIVE)|WITH\b.*?\b(?:INSERT|UPDATE|DELETE))\b",
                    re.IGNORECASE | re.DOTALL)

_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def is_write(sql: str) -> bool:
    """Whether ``sql`` writes (and so, outside a transaction, opens one or takes the lock)."""
    return _WRITE.match(sql) is not None


def gate_for(path: str) -> WriteGate:
    """The process's gate for the SQLite file at ``path`` (one per file, however many
    engines open it)."""
    with _gates_lock:
        gate = _gates.get(path)
        if gate is None:
            gate = _gates[path] = WriteGate(path)
        return gate


class WriteGate:
    """A first-come, first-served lock for the writers of one SQLite file.

    :meth:`release` hands the gate straight to the longest waiter, so a writer that has
    just finished cannot take it again ahead of the others.
    """

    def __init__(self, name: str = ""):
        self.name = name
        self._lock = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the gate.

        :raises sqlite3.OperationalError: not handed over in time ("database is locked",
            as SQLite itself says when its busy timeout runs out).
        """
        with self._lock:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return
        with self._lock:
            try:
                self._waiters.remove(turn)
            except ValueError:  # handed over just as the wait ran out: it is ours
                return
        raise sqlite3.OperationalError(
            f"database is locked (waited {timeout:g} s for another writer in this process)")

    def release(self) -> None:
        """Give the gate to the next waiter, or free it."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by the waiter
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        """How many writers are waiting."""
        return len(self._waiters)


class GatedCursor(sqlite3.Cursor):
    """Takes the connection's gate before a statement that starts writing."""

    def execute(self, sql, parameters=(), /):  # noqa: D102 - sqlite3's signature
        connection = self.connection
        taken = connection._take_gate(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            if taken:
                connection._settle_gate()

    def executemany(self, sql, seq_of_parameters, /):  # noqa: D102
        connection = self.connection
        taken = connection._take_gate(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            if taken:
                connection._settle_gate()


class GatedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose write transactions pass through a :class:`WriteGate`.

    Pass it as ``factory`` to :func:`sqlite3.connect` after :meth:`bind`-ing a gate (see
    :func:`siyu.storage.engine.create_engine`).
    """

    gate: WriteGate | None = None
    gate_timeout: float = 30.0

    @classmethod
    def bind(cls, gate: WriteGate, timeout: float) -> type[GatedConnection]:
        """A subclass whose connections use ``gate`` (waiting up to ``timeout`` s)."""
        return type("GatedConnection", (cls,), {"gate": gate, "gate_timeout": timeout})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._holding = False

    def cursor(self, factory=GatedCursor):  # noqa: D102 - sqlite3's signature
        return super().cursor(factory)

    def execute(self, sql, parameters=(), /):  # noqa: D102 - sqlite3's shortcut
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):  # noqa: D102
        return self.cursor().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script, /):  # noqa: D102 - commits first, then autocommit
        if not self._holding and self.gate is not None:
            self.gate.acquire(self.gate_timeout)
            self._holding = True
        try:
            return super().executescript(sql_script)
        finally:
            self._settle_gate()

    def _take_gate(self, sql: str) -> bool:
        """Take the gate if ``sql`` starts a write; whether it was taken now."""
        if self._holding or self.gate is None or self.in_transaction or not is_write(sql):
            return False
        self.gate.acquire(self.gate_timeout)
        self._holding = True
        return True

    def _settle_gate(self) -> None:
        """After the statement that took the gate: keep it while a transaction is open
        (released by commit or rollback), else give it back (autocommit, DDL, error)."""
        if self._holding and not self.in_transaction:
            self._release_gate()

    def _release_gate(self) -> None:
        if self._holding:
            self._holding = False
            self.gate.release()

    def commit(self) -> None:  # noqa: D102
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._release_gate()

    def rollback(self) -> None:  # noqa: D102
        try:
            super().rollback()
        finally:
            self._release_gate()

    def close(self) -> None:  # noqa: D102
        try:
            super().close()
        finally:
            self._release_gate()
