"""Applies stored callbacks in the background, in event-time order, each exactly once.

The receiver stores a callback and wakes the processor. A dispatcher thread claims pending
rows in batches (one atomic ``UPDATE … WHERE status = 'pending' RETURNING id``, so several
processes can share the work) and hands each to one of a few worker threads, chosen by the
customer or group the event is about: events about the same subject are applied one after
another in event-time order, different subjects in parallel (WeCom API round trips and
database commits overlap). A crash leaves rows ``processing``; they are retried after
:data:`STALE_AFTER`. :meth:`CallbackProcessor.run_pending` applies pending rows in the
calling thread (CLI, scheduled sweep).
"""

from __future__ import annotations

import logging
import queue
import threading
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.plugins.wecom.models import WeComCallback
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")

STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BATCH = 100
DEFAULT_WORKERS = 4


def subject_of(row: Any) -> str:
    """What an event is about (a customer or a group); events about one subject are
    applied in order."""
    fields = row.fields or {}
    return fields.get("ExternalUserID") or fields.get("ChatId") or fields.get("Event", "")


class CallbackProcessor:
    """A dispatcher thread and ``workers`` worker threads applying pending callbacks."""

    def __init__(self, ws: Workspace, workers: int = DEFAULT_WORKERS):
        self.ws = ws
        self.workers = max(1, workers)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queues: list[queue.Queue] = []
        self._lock = threading.Lock()
        self.processed = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the threads (idempotent); stale claims from a crash go back to pending."""
        if self._threads and all(t.is_alive() for t in self._threads):
            return
        table = WeComCallback.__table__
        with self.ws.engine.begin() as conn:
            conn.execute(table.update().where(table.c.status == "processing",
                                              table.c.received_at < utcnow() - STALE_AFTER)
                         .values(status="pending"))
        self._stop.clear()
        self._queues = [queue.Queue() for _ in range(self.workers)]
        self._threads = [threading.Thread(target=self._work, args=(q,), daemon=True,
                                          name=f"siyu-wecom-worker-{i}")
                         for i, q in enumerate(self._queues)]
        self._threads.append(threading.Thread(target=self._dispatch, daemon=True,
                                              name="siyu-wecom-dispatch"))
        for thread in self._threads:
            thread.start()
        self.wake()

    def wake(self) -> None:
        """Tell the dispatcher there is work."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the callbacks in hand; claimed but unapplied rows go back to pending."""
        self._stop.set()
        self._wake.set()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        leftover = []
        for q in self._queues:
            while not q.empty():
                item = q.get_nowait()
                if item is not None:
                    leftover.append(item.id)
        if leftover:
            table = WeComCallback.__table__
            with self.ws.engine.begin() as conn:
                conn.execute(table.update().where(table.c.id.in_(leftover))
                             .values(status="pending"))

    # -- claiming and applying ------------------------------------------------------------

    def _claim(self, limit: int) -> list[Any]:
        """Claim up to ``limit`` pending rows, oldest event first; returns them in order."""
        table = WeComCallback.__table__
        with self.ws.engine.begin() as conn:
            ids = conn.execute(sa.select(table.c.id).where(table.c.status == "pending")
                               .order_by(table.c.created_at, table.c.id)
                               .limit(limit)).scalars().all()
            if not ids:
                return []
            claimed = set(conn.execute(
                table.update().where(table.c.id.in_(ids), table.c.status == "pending")
                .values(status="processing", attempts=table.c.attempts + 1)
                .returning(table.c.id)).scalars())
            rows = conn.execute(sa.select(table).where(table.c.id.in_(claimed))).all()
        order = {row_id: i for i, row_id in enumerate(ids)}
        return sorted(rows, key=lambda row: order[row.id])

    def _apply(self, row: Any) -> None:
        from siyu.plugins.wecom.apply import apply_callback

        try:
            status, error = apply_callback(self.ws, row), ""
        except Exception as exc:  # recorded on the row; retried until MAX_ATTEMPTS
            log.exception("callback %s failed", row.id)
            status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
            error = f"{type(exc).__name__}: {exc}"[:2000]
        table = WeComCallback.__table__
        with self.ws.engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == row.id)
                         .values(status=status, error=error, processed_at=utcnow()))
        with self._lock:
            self.processed += 1

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    rows = self._claim(BATCH)
                    for row in rows:
                        slot = zlib.crc32(subject_of(row).encode()) % self.workers
                        self._queues[slot].put(row)
                    if len(rows) < BATCH:
                        break
                    for q in self._queues:  # let the workers catch up before more
                        q.join()
            except Exception:  # keep dispatching; the rows stay for a retry
                log.exception("claiming callbacks failed")

    def _work(self, work: queue.Queue) -> None:
        while True:
            row = work.get()
            try:
                if row is None:
                    return
                self._apply(row)
            except Exception:  # never let a worker die
                log.exception("applying callback failed")
            finally:
                work.task_done()

    def run_pending(self, limit: int = 1000) -> int:
        """Apply up to ``limit`` pending callbacks now, in this thread; returns how many."""
        done = 0
        while done < limit:
            rows = self._claim(min(BATCH, limit - done))
            if not rows:
                break
            for row in rows:
                self._apply(row)
            done += len(rows)
        return done
