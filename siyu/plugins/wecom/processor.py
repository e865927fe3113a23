"""Applies stored callbacks in the background, in event-time order, each exactly once.

The receiver stores a callback and wakes the processor. A dispatcher thread claims pending
rows (one atomic ``UPDATE … WHERE status = 'pending' RETURNING id``, so several processes
can share the work) and hands each to one of :data:`DEFAULT_WORKERS` worker threads, chosen
by the customer or group the event is about: events about the same subject are applied one
after another in event-time order, different subjects in parallel.

Applying a callback is mostly waiting on WeCom (``externalcontact/get`` before the change,
``send_welcome_msg`` after it): the number of requests in flight, not the number of CPUs,
bounds throughput, so there are many workers, and the dispatcher keeps at most
:data:`IN_FLIGHT_PER_WORKER` claimed rows per worker in hand (the rest stay ``pending`` in
the table, for this or another process). The rows' outcomes are written by a
:class:`~siyu.storage.group_commit.GroupCommit` thread, many per transaction.

A crash leaves rows ``processing``; they are retried after :data:`STALE_AFTER` (applying is
idempotent: the event rows' dedupe keys make a second application change nothing).
:meth:`CallbackProcessor.run_pending` applies pending rows in the calling thread (CLI,
scheduled sweep).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.plugins.wecom.models import WeComCallback
from siyu.storage.group_commit import GroupCommit
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")

STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BATCH = 100
#: Worker threads (``SIYU_WECOM_WORKERS``): enough requests in flight to keep up with
#: WeCom's ceiling (167 adds/s) at its real round trips (tens of ms, two calls per add).
DEFAULT_WORKERS = 32
#: Claimed rows a process keeps in hand per worker.
IN_FLIGHT_PER_WORKER = 2

_T = WeComCallback.__table__
_DONE = (_T.update().where(_T.c.id == sa.bindparam("row_id"))
         .values(status=sa.bindparam("new_status"), error=sa.bindparam("new_error"),
                 processed_at=sa.bindparam("at")))


def workers_from_env() -> int:
    """The worker count: ``SIYU_WECOM_WORKERS`` when set to a positive number, else
    :data:`DEFAULT_WORKERS`."""
    try:
        return max(1, int(os.environ.get("SIYU_WECOM_WORKERS", DEFAULT_WORKERS)))
    except ValueError:
        return DEFAULT_WORKERS


def subject_of(row: Any) -> str:
    """What an event is about (a customer or a group); events about one subject are
    applied in order."""
    fields = row.fields or {}
    return fields.get("ExternalUserID") or fields.get("ChatId") or fields.get("Event", "")


def _write_outcomes(conn: sa.Connection, outcomes: list[dict[str, Any]]) -> None:
    conn.execute(_DONE, outcomes)


class CallbackProcessor:
    """A dispatcher thread and ``workers`` worker threads applying pending callbacks."""

    def __init__(self, ws: Workspace, workers: int | None = None):
        self.ws = ws
        self.workers = max(1, workers or workers_from_env())
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queues: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._in_hand = 0
        self._outcomes = GroupCommit(ws.engine, _write_outcomes, name="siyu-wecom-outcomes")
        self.processed = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the threads (idempotent); stale claims from a crash go back to pending."""
        if self._threads and all(t.is_alive() for t in self._threads):
            return
        with self.ws.engine.begin() as conn:
            conn.execute(_T.update().where(_T.c.status == "processing",
                                           _T.c.received_at < utcnow() - STALE_AFTER)
                         .values(status="pending"))
        self._stop.clear()
        self._in_hand = 0
        self._outcomes.start()
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
        with self._room:
            self._room.notify_all()
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
        self._outcomes.stop()
        if leftover:
            with self.ws.engine.begin() as conn:
                conn.execute(_T.update().where(_T.c.id.in_(leftover))
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
        # Written with other rows' outcomes; a crash before that leaves the row
        # "processing", applied again (to no effect) after STALE_AFTER.
        self._outcomes.submit({"row_id": row.id, "new_status": status, "new_error": error,
                               "at": utcnow()})
        with self._lock:
            self.processed += 1

    def _dispatch(self) -> None:
        capacity = self.workers * IN_FLIGHT_PER_WORKER
        while not self._stop.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    with self._room:
                        while self._in_hand >= capacity and not self._stop.is_set():
                            self._room.wait(1.0)
                        room = capacity - self._in_hand
                    rows = self._claim(min(BATCH, room))
                    with self._room:
                        self._in_hand += len(rows)
                    for row in rows:
                        slot = zlib.crc32(subject_of(row).encode()) % self.workers
                        self._queues[slot].put(row)
                    if len(rows) < min(BATCH, room):
                        break
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
                if row is not None:
                    with self._room:
                        self._in_hand -= 1
                        self._room.notify()
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
