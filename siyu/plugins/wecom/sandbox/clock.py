"""The sandbox clock: real time by default, movable by tests and demos.

Every time-dependent rule of the sandbox (token expiry, the 20-second welcome-code window, the
24-hour transfer takeover, monthly receive caps, per-minute rate limits) reads this clock, so a
test can jump a day ahead without waiting for one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    """Seconds since the epoch, optionally shifted or frozen.

    :param start: ``None`` (default) follows real time; a timestamp freezes the clock there
        until :meth:`advance` or :meth:`set` moves it.

    Listeners registered with :meth:`on_change` run after every move, in the caller's thread;
    the sandbox uses this to settle transfers that became due.
    """

    def __init__(self, start: float | None = None):
        self._lock = threading.Lock()
        self._frozen = start
        self._offset = 0.0
        self._listeners: list[Callable[[float], None]] = []

    @classmethod
    def frozen(cls, start: float) -> Clock:
        """A clock standing still at ``start`` until moved."""
        return cls(start=start)

    @property
    def is_frozen(self) -> bool:
        return self._frozen is not None

    def now(self) -> float:
        """The current simulated time, in seconds since the epoch."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (negative moves it back); return the new time."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds
        return self._notify()

    def set(self, timestamp: float) -> float:
        """Jump to ``timestamp``; a real-time clock keeps ticking from there."""
        with self._lock:
            if self._frozen is not None:
                self._frozen = float(timestamp)
            else:
                self._offset = float(timestamp) - time.time()
        return self._notify()

    def on_change(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(now)`` after every :meth:`advance` or :meth:`set`."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[float], None]) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self) -> float:
        now = self.now()
        for listener in list(self._listeners):
            listener(now)
        return now
