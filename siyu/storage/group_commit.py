"""Group commit: many small writes from many threads, one transaction per batch.

A write transaction costs about the same for one row as for a hundred (taking the write
lock, the commit, the WAL append), and on SQLite writers take turns. Where many threads
each write one small row — the callback receiver storing every request before it answers,
the processor marking every callback done — a :class:`GroupCommit` thread writes whatever
has been handed to it since its last commit in one transaction, and each caller waits on
its own :class:`~concurrent.futures.Future` for its row to be committed (or not).

Under light load a batch is one item, committed at once (no timer, no added delay); under
heavy load batches grow by themselves, and so does throughput.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

__all__ = ["GroupCommit"]

T = TypeVar("T")
log = logging.getLogger("siyu.storage")

_STOP = object()


class GroupCommit(Generic[T]):
    """A thread that writes the items handed to :meth:`submit`, a batch per transaction.

    :param engine: the database to write to.
    :param write: ``write(conn, items)`` writes a batch inside the open transaction.
    :param name: the thread's name (for logs and profiles).
    :param max_batch: most items written in one transaction.
    """

    def __init__(self, engine: sa.Engine, write: Callable[[sa.Connection, list[T]], Any],
                 *, name: str, max_batch: int = 500):
        self.engine = engine
        self.write = write
        self.name = name
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.items = 0

    @property
    def running(self) -> bool:
        """Whether the writer thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._lock:
            if not self.running:
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name=self.name)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what was handed over so far, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)

    def submit(self, item: T) -> Future:
        """Hand ``item`` over; the future is done once it is committed (its result is
        ``None``) or failed (its exception is the write's). Without the thread running the
        item is written at once, in the caller's thread."""
        future: Future = Future()
        if not self.running:
            self._commit([(item, future)])
            return future
        self._queue.put((item, future))
        return future

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[T, Future]]) -> None:
        try:
            with self.engine.begin() as conn:
                self.write(conn, [item for item, _future in batch])
        except Exception as exc:  # every caller of the batch learns it was not written
            log.warning("%s: a batch of %d failed: %s", self.name, len(batch), exc)
            for _item, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        self.items += len(batch)
        for _item, future in batch:
            future.set_result(None)
