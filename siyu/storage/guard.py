"""Catch network calls made while a database write transaction is open (opt-in).

The rule (DESIGN §5): intent is recorded and committed before a provider is called, never
inside a transaction. A thread that calls WeCom while it holds a write transaction keeps its
row locks for a network round trip — on SQLite the whole database's write lock, so every
other writer, callback processing included, waits on WeCom.

:func:`enable` turns the detector on for the whole process (the test suite does, and so does
``SIYU_STRICT_TRANSACTIONS=1`` through :func:`enable_from_env`):

- SQLAlchemy events on every engine note, per database connection, the first statement of
  the open transaction that writes or locks (INSERT/UPDATE/DELETE, DDL, ``SELECT … FOR
  UPDATE``, ``BEGIN IMMEDIATE``) and which thread and which code line ran it; commit,
  rollback and the connection's return to the pool forget it;
- every request an :class:`httpx.Client` sends is checked first: when the sending thread holds
  such a transaction the request is refused with :class:`NetworkInTransaction` naming the
  endpoint and the statement (and code line) that opened the transaction, and the violation
  is kept in :func:`violations` — also when the error is swallowed by a background thread.

Process-wide on purpose: a transaction and a network call meet in one thread, whatever
workspace, plugin or HTTP client they came from. Read-only transactions are not flagged: on
PostgreSQL and on SQLite in WAL mode they block no writer. Off (the default) nothing is
registered and nothing costs anything.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

__all__ = ["ENV", "NetworkInTransaction", "Violation", "check_network", "clear", "disable",
           "enable", "enable_from_env", "enabled", "violations"]

#: Environment variable that turns the detector on for a process (``1``, ``true``, ``yes``).
ENV = "SIYU_STRICT_TRANSACTIONS"
#: Violations kept for :func:`violations` (the oldest are dropped).
MAX_KEPT = 100

# Statements that take a write lock (or a row lock) until the transaction ends.
_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|REPLACE|MERGE|UPSERT|CREATE|ALTER|DROP|"
                    r"TRUNCATE|LOCK|BEGIN\s+(?:IMMEDIATE|EXCLUSIVE))\b", re.IGNORECASE)
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b|\bpg_advisory_xact_lock\b",
                      re.IGNORECASE)
_CTE_WRITE = re.compile(r"^\s*WITH\b.*\b(?:INSERT|UPDATE|DELETE)\b", re.IGNORECASE | re.DOTALL)
# Frames of these modules are plumbing; the report names the caller's code instead.
_PLUMBING = ("sqlalchemy", "sqlmodel", "alembic", "pandas", "contextlib", __name__)
#: How many of the caller's frames a report shows.
FRAMES = 4


class NetworkInTransaction(RuntimeError):
    """A network call was about to go out while the thread held a write transaction."""


@dataclass(frozen=True)
class _Write:
    """The statement that made a connection's open transaction a writing one."""

    thread: int
    statement: str
    where: str


@dataclass(frozen=True)
class Violation:
    """One refused network call.

    :ivar endpoint: what was called (for WeCom the API path, e.g.
        ``externalcontact/update_contact_way``).
    :ivar url: method and URL without the query string.
    :ivar statement: the statement that opened the write transaction.
    :ivar where: the code that ran that statement, innermost first.
    :ivar thread: the thread's name.
    """

    endpoint: str
    url: str
    statement: str
    where: str
    thread: str

    def __str__(self) -> str:
        return (f"network call to {self.endpoint} ({self.url}) inside a database write "
                f"transaction, in thread {self.thread}: the transaction was opened by "
                f"{self.statement!r} at {self.where}. Record the intent, commit, then call "
                "(see siyu.storage.guard)")


class _State:
    """The detector's bookkeeping, one per process (see the module notes for why)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.enabled = False
        self.raise_errors = True
        self.open: dict[int, _Write] = {}
        self.found: list[Violation] = []
        self.original_send: Any = None


_state = _State()


def _is_write(statement: str) -> bool:
    return bool(_WRITE.match(statement) or _LOCKING.search(statement)
                or _CTE_WRITE.match(statement))


def _short(path: str) -> str:
    """A source path from the project root (``siyu/…``, ``tests/…``) when it is in one."""
    if "site-packages" not in path:
        for marker in ("/siyu/", "/tests/"):
            if marker in path:
                return marker[1:] + path.rsplit(marker, 1)[1]
    return path


def _caller() -> str:
    """``file:line in function`` of the innermost non-plumbing frames, innermost first."""
    frame = sys._getframe(1)
    found: list[str] = []
    while frame is not None and len(found) < FRAMES:
        if not frame.f_globals.get("__name__", "").startswith(_PLUMBING):
            found.append(f"{_short(frame.f_code.co_filename)}:{frame.f_lineno} in "
                         f"{frame.f_code.co_name}")
        frame = frame.f_back
    return " <- ".join(found) or "unknown code"


def _key(conn: sa.Connection) -> int | None:
    try:
        return id(conn.connection.dbapi_connection)
    except Exception:  # noqa: BLE001 - an invalidated connection holds nothing
        return None


def _autocommit(conn: sa.Connection) -> bool:
    return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def _on_execute(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if not _is_write(statement) or _autocommit(conn):
        return
    key = _key(conn)
    if key is None or key in _state.open:
        return
    text = " ".join(statement.split())
    write = _Write(threading.get_ident(), text[:200] + ("…" if len(text) > 200 else ""),
                   _caller())
    with _state.lock:
        _state.open.setdefault(key, write)


def _on_end(conn, *_args) -> None:
    key = _key(conn)
    if key is not None:
        with _state.lock:
            _state.open.pop(key, None)


def _on_checkin(dbapi_connection, _record) -> None:
    if dbapi_connection is not None:
        with _state.lock:
            _state.open.pop(id(dbapi_connection), None)


_ENGINE_EVENTS = (("before_cursor_execute", _on_execute), ("commit", _on_end),
                  ("rollback", _on_end))
_POOL_EVENTS = (("checkin", _on_checkin),)


def _endpoint(url: httpx.URL) -> str:
    path = url.path
    if "/cgi-bin/" in path:
        return "WeCom " + path.split("/cgi-bin/", 1)[1]
    return f"{url.host}{path}"


def check_network(endpoint: str, url: str = "") -> None:
    """Refuse a network call if this thread holds a write transaction (when enabled).

    :param endpoint: what is being called, for the report.
    :param url: method and URL, for the report.
    :raises NetworkInTransaction: the thread holds one (and errors are raised; see
        :func:`enable`).
    """
    if not _state.enabled:
        return
    me = threading.get_ident()
    with _state.lock:
        held = next((w for w in _state.open.values() if w.thread == me), None)
    if held is None:
        return
    violation = Violation(endpoint, url or endpoint, held.statement, held.where,
                          threading.current_thread().name)
    with _state.lock:
        _state.found = [*_state.found[-(MAX_KEPT - 1):], violation]
    if _state.raise_errors:
        raise NetworkInTransaction(str(violation))


def _guarded_send(self: httpx.Client, request: httpx.Request, *args: Any, **kwargs: Any
                  ) -> httpx.Response:
    check_network(_endpoint(request.url),
                  f"{request.method} {request.url.copy_with(query=None)}")
    return _state.original_send(self, request, *args, **kwargs)


def enable(*, raise_errors: bool = True) -> None:
    """Turn the detector on for this process (idempotent).

    :param raise_errors: refuse the offending call with :class:`NetworkInTransaction`; with
        ``False`` the call goes out and the violation is only kept in :func:`violations`
        (to survey existing code).
    """
    with _state.lock:
        _state.raise_errors = raise_errors
        if _state.enabled:
            return
        _state.enabled = True
        _state.original_send = httpx.Client.send
    for name, listener in _ENGINE_EVENTS:
        sa.event.listen(sa.engine.Engine, name, listener)
    for name, listener in _POOL_EVENTS:
        sa.event.listen(sa.pool.Pool, name, listener)
    httpx.Client.send = _guarded_send  # type: ignore[method-assign]


def disable() -> None:
    """Turn the detector off again and forget the open transactions it tracked."""
    with _state.lock:
        if not _state.enabled:
            return
        _state.enabled = False
        httpx.Client.send = _state.original_send  # type: ignore[method-assign]
        _state.open.clear()
    for name, listener in _ENGINE_EVENTS:
        sa.event.remove(sa.engine.Engine, name, listener)
    for name, listener in _POOL_EVENTS:
        sa.event.remove(sa.pool.Pool, name, listener)


def enable_from_env() -> bool:
    """:func:`enable` when ``$SIYU_STRICT_TRANSACTIONS`` is ``1``/``true``/``yes``; returns
    whether the detector is on."""
    if os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes"):
        enable()
    return _state.enabled


def enabled() -> bool:
    """Whether the detector is on."""
    return _state.enabled


def violations() -> list[Violation]:
    """The network calls refused (or, without ``raise_errors``, let through) so far."""
    with _state.lock:
        return list(_state.found)


def clear() -> None:
    """Forget the violations found so far."""
    with _state.lock:
        _state.found = []
