"""Applies stored callbacks in the background, in event-time order, each exactly once.

The receiver stores a callback and wakes the processor; the processor claims pending rows
one by one (an atomic ``UPDATE … WHERE status = 'pending'``, so several processes can share
the work), applies them with :mod:`siyu.plugins.wecom.apply` and marks them done. A crash
leaves rows ``processing``; they are retried after :data:`STALE_AFTER`.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.plugins.wecom.models import WeComCallback
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")

STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5


class CallbackProcessor:
    """One background thread applying pending callbacks."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0

    def start(self) -> None:
        """Start the thread (idempotent); stale claims from a crash go back to pending."""
        if self._thread is not None and self._thread.is_alive():
            return
        table = WeComCallback.__table__
        with self.ws.engine.begin() as conn:
            conn.execute(table.update().where(table.c.status == "processing",
                                              table.c.received_at < utcnow() - STALE_AFTER)
                         .values(status="pending"))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="siyu-wecom-callbacks",
                                        daemon=True)
        self._thread.start()
        self.wake()

    def wake(self) -> None:
        """Tell the thread there is work."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the callback in hand."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self.run_pending(limit=50):
                    pass
            except Exception:  # keep the thread alive; the row stays for a retry
                log.exception("callback processing failed")

    def run_pending(self, limit: int = 50) -> int:
        """Apply up to ``limit`` pending callbacks now, oldest event first; returns how many."""
        from siyu.plugins.wecom.apply import apply_callback

        table = WeComCallback.__table__
        with self.ws.engine.connect() as conn:
            ids = conn.execute(sa.select(table.c.id).where(table.c.status == "pending")
                               .order_by(table.c.created_at, table.c.id)
                               .limit(limit)).scalars().all()
        done = 0
        for callback_id in ids:
            with self.ws.engine.begin() as conn:
                claimed = conn.execute(
                    table.update().where(table.c.id == callback_id,
                                         table.c.status == "pending")
                    .values(status="processing", attempts=table.c.attempts + 1)).rowcount
                row = conn.execute(sa.select(table).where(table.c.id == callback_id)).first()
            if not claimed:
                continue
            try:
                status, error = apply_callback(self.ws, row), ""
            except Exception as exc:  # recorded on the row; retried until MAX_ATTEMPTS
                log.exception("callback %s failed", callback_id)
                status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
                error = f"{type(exc).__name__}: {exc}"[:2000]
            with self.ws.engine.begin() as conn:
                conn.execute(table.update().where(table.c.id == callback_id)
                             .values(status=status, error=error, processed_at=utcnow()))
            done += 1
            self.processed += 1
        return done
