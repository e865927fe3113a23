"""Sign-in throttling by address and by a name that is not a user.

Failures of known users are counted in the database (``ws.users.authenticate`` locks the
user, across processes and restarts). What the database cannot count without letting an
attacker fill it — failures per client address, and failures for names that are not users —
is counted here, in the memory of the serving process: a window of recent failure times per
key. Names that are not users lock exactly like real ones, so a lockout does not tell an
attacker which names exist.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Window:
    """At most ``limit`` failures within ``seconds``; past that, locked for ``lock``."""

    limit: int
    seconds: float
    lock: float
    _failures: dict[str, deque] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        until = self._locked_until.get(key, 0.0)
        if until <= now:
            self._locked_until.pop(key, None)
            return 0.0
        return until - now

    def fail(self, key: str, now: float) -> None:
        """Count a failure for ``key``; lock it when the window is full."""
        times = self._failures.setdefault(key, deque())
        times.append(now)
        while times and times[0] <= now - self.seconds:
            times.popleft()
        if len(times) >= self.limit:
            self._locked_until[key] = now + self.lock
            times.clear()

    def forget(self, key: str) -> None:
        """Clear ``key``'s failures (after a successful sign-in)."""
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)

    def prune(self, now: float) -> None:
        """Drop keys with no recent failure and no lock, so memory stays bounded."""
        for key in [k for k, t in self._failures.items() if not t or t[-1] <= now - self.seconds]:
            del self._failures[key]
        for key in [k for k, t in self._locked_until.items() if t <= now]:
            del self._locked_until[key]


class LoginThrottle:
    """Per-address and per-unknown-name sign-in limits for one server process.

    :param per_address: failures from one address within ``address_seconds`` before the
        address is refused for ``address_lock`` seconds.
    :param per_name: failures for one name that is not a user before it locks (the same
        numbers the user service applies to real users).
    """

    def __init__(self, *, per_address: int = 20, address_seconds: float = 600,
                 address_lock: float = 600, per_name: int = 5, name_seconds: float = 900,
                 name_lock: float = 900, clock=time.monotonic):
        self.addresses = Window(per_address, address_seconds, address_lock)
        self.names = Window(per_name, name_seconds, name_lock)
        self._clock = clock
        self._lock = threading.Lock()
        self._calls = 0

    def retry_after(self, address: str, name: str) -> float:
        """Seconds before a sign-in from ``address`` for ``name`` is considered (0: now)."""
        with self._lock:
            now = self._clock()
            return max(self.addresses.retry_after(address, now),
                       self.names.retry_after(name.lower(), now))

    def failed(self, address: str, name: str, *, known_user: bool) -> None:
        """Record a failed sign-in; names that are not users are counted here too."""
        with self._lock:
            now = self._clock()
            self.addresses.fail(address, now)
            if not known_user:
                self.names.fail(name.lower(), now)
            self._calls += 1
            if self._calls % 1000 == 0:
                self.addresses.prune(now)
                self.names.prune(now)

    def succeeded(self, address: str, name: str) -> None:
        """A correct sign-in clears the name's failures (not the address's)."""
        with self._lock:
            self.names.forget(name.lower())
