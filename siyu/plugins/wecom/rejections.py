"""Refused WeCom callbacks, counted per reason instead of stored (and logged) one by one.

The callback URL is public: anyone can post to it, as often as they like. A row and a log
line per refused request would let a stranger fill the database and the logs, so each
process counts refusals per reason in memory and writes them at most once per
:data:`FLUSH_INTERVAL_S` per reason, into one row per reason of ``wecom_callback_rejection``
(running total, first and last time, and the latest refusal as a sample: address, time and
a short detail). The same write logs one line, so the log is rate-limited the same way.

When counts reach the database:

- the first refusal of a reason after a quiet interval is written (and logged) at once, so
  a new kind of failure shows without waiting;
- the ones after it in the same interval are held, and written by a timer when the interval
  is over (or by the next refusal after that, whichever comes first);
- whatever is still held is written by :meth:`RejectionCounter.close`, which runs when the
  workspace closes (``siyu serve`` closes it when it stops).

So a crash loses at most the refusals of its last interval (10 s), never older ones. A write
that fails keeps its counts in memory for the next attempt. Several processes serving the
same workspace each keep their own counts and add them to the same rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.plugins.wecom.models import WeComCallbackRejection
from siyu.storage.dialect import insert_for
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")

#: Seconds between two writes (and log lines) for the same reason. Short enough that an
#: operator sees a flood within seconds and a crash loses little; long enough that a flood
#: of any size costs one small upsert per reason per interval.
FLUSH_INTERVAL_S = 10.0

_IP_MAX = 64
_DETAIL_MAX = 200


@dataclass(frozen=True)
class Rejection:
    """The stored counts of one refusal reason.

    :ivar total: refusals written so far, by every process.
    :ivar first_at: the first refusal ever counted; ``last_at`` the latest one written.
    :ivar sample_ip: where the latest written refusal came from, with ``sample_at`` and
        ``sample_detail`` (a short description, never a secret or a request's content).
    """

    reason: str
    total: int
    first_at: datetime
    last_at: datetime
    sample_ip: str
    sample_at: datetime
    sample_detail: str


@dataclass
class _Held:
    """Refusals of one reason counted in memory and not written yet."""

    count: int
    first_at: datetime
    last_at: datetime
    ip: str
    detail: str

    def merge_older(self, older: _Held) -> None:
        """Fold in counts from before these (a batch whose write failed)."""
        self.count += older.count
        self.first_at = min(self.first_at, older.first_at)


class RejectionCounter:
    """Counts refused callbacks per reason and writes them at most once per interval.

    Thread-safe: the receiver records on the server's IO loop, a timer thread writes what
    was held.

    :param ws: the workspace whose database gets the counts.
    :param interval: seconds between two writes for the same reason.
    :param monotonic: the clock the interval is measured with (tests pass their own).
    """

    def __init__(self, ws: Workspace, *, interval: float = FLUSH_INTERVAL_S,
                 monotonic: Callable[[], float] = time.monotonic):
        self.ws = ws
        self.interval = interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._written: dict[str, float] = {}  # reason → monotonic time of its last write
        self._timer: threading.Timer | None = None
        self._closed = False

    def record(self, reason: str, *, ip: str, detail: str) -> None:
        """Count one refusal. Writes (and logs) at once when ``reason`` was not written in
        the last interval; otherwise holds it for the timer.

        :param reason: the short public reason, e.g. ``"invalid signature"``.
        :param ip: the client's address.
        :param detail: what exactly failed, for operators; must hold no secret.
        """
        at = utcnow()
        now = self._monotonic()
        with self._lock:
            held = self._held.get(reason)
            if held is None:
                held = self._held[reason] = _Held(0, at, at, "", "")
            held.count += 1
            held.last_at, held.ip, held.detail = at, ip[:_IP_MAX], detail[:_DETAIL_MAX]
            last = self._written.get(reason)
            if last is not None and now - last < self.interval:
                self._arm(last + self.interval - now)
                return
            self._written[reason] = now
            batch = {reason: self._held.pop(reason)}
        self._write(batch)

    def flush(self) -> int:
        """Write every held count now, whatever the interval; return how many refusals."""
        now = self._monotonic()
        with self._lock:
            batch, self._held = self._held, {}
            for reason in batch:
                self._written[reason] = now
        self._write(batch)
        return sum(held.count for held in batch.values())

    def close(self) -> None:
        """Stop the timer and write what is held (the server is stopping)."""
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush()

    # -- internals -----------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        """Start the timer unless one runs (call with the lock held)."""
        if self._timer is not None or self._closed:
            return
        self._timer = threading.Timer(max(delay, 0.0), self._tick)
        self._timer.name = "siyu-wecom-rejections"
        self._timer.daemon = True  # never keeps a stopping process alive; close() flushes
        self._timer.start()

    def _tick(self) -> None:
        """Write the reasons whose interval is over; wait again for the others."""
        now = self._monotonic()
        batch: dict[str, _Held] = {}
        with self._lock:
            self._timer = None
            next_due: float | None = None
            for reason in list(self._held):
                due = self._written.get(reason, now - self.interval) + self.interval - now
                if due <= 0:
                    batch[reason] = self._held.pop(reason)
                    self._written[reason] = now
                else:
                    next_due = due if next_due is None else min(next_due, due)
            if next_due is not None:
                self._arm(next_due)
        self._write(batch)

    def _write(self, batch: dict[str, _Held]) -> None:
        if not batch:
            return
        try:
            with self.ws.engine.begin() as conn:
                for reason, held in sorted(batch.items()):
                    conn.execute(_upsert(conn, reason, held))
        except Exception:  # noqa: BLE001 - a counter must never break the receiver
            log.warning("could not record %d refused WeCom callbacks; kept for the next "
                        "write", sum(h.count for h in batch.values()), exc_info=True)
            with self._lock:
                for reason, held in batch.items():
                    if reason in self._held:
                        self._held[reason].merge_older(held)
                    else:
                        self._held[reason] = held
                self._arm(self.interval)
            return
        for reason, held in sorted(batch.items()):
            if held.count == 1:
                log.warning("refused a WeCom callback from %s: %s (%s)", held.ip, reason,
                            held.detail)
            else:
                log.warning("refused %d WeCom callbacks since %s: %s; latest from %s (%s)",
                            held.count, held.first_at.isoformat(timespec="seconds"), reason,
                            held.ip, held.detail)


def _upsert(conn: sa.Connection, reason: str, held: _Held):
    """Add ``held`` to the row of ``reason`` (created on first use)."""
    table = WeComCallbackRejection.__table__
    stmt = insert_for(conn, table).values(
        reason=reason, total=held.count, first_at=held.first_at, last_at=held.last_at,
        sample_ip=held.ip, sample_at=held.last_at, sample_detail=held.detail)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[table.c.reason],
        set_={"total": table.c.total + new.total, "last_at": new.last_at,
              "sample_ip": new.sample_ip, "sample_at": new.sample_at,
              "sample_detail": new.sample_detail})


def stored_rejections(ws: Workspace) -> list[Rejection]:
    """Every reason's stored counts, the most recent first (what the database holds; a
    running server may hold up to one interval more in memory)."""
    table = WeComCallbackRejection.__table__
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.last_at.desc(),
                                                      table.c.reason)).mappings().all()
    return [Rejection(**row) for row in rows]
