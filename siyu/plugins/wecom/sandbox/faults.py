"""Faults the sandbox can inject, so clients and receivers get tested against a bad day.

API side (``/cgi-bin/`` only; the ``/sandbox/`` admin endpoints stay reliable):

- ``latency``: seconds added before every answer;
- ``error_rate``: fraction of calls answered with an HTTP 5xx (``error_status``);
- ``drop_rate``: fraction of calls whose connection is closed without any answer;
- ``answer_latency``: seconds added *after* a call took effect, before its answer (WeCom
  created the mass message; the answer is slow, and a client may give up or crash first);
- ``lost_answer_rate``: fraction of calls that take effect and then lose their answer (the
  connection closes): the client cannot know whether WeCom did it;
- ``busy_rate``: fraction answered ``{"errcode": -1, "errmsg": "system busy"}``;
- ``revoke_after``: access tokens stop working this many seconds after they were issued,
  long before ``expires_in`` says (WeCom "may invalidate a token early"); see also
  :meth:`Faults.revoke_tokens` for a one-off revocation.

WeChat Pay side (``/mmpaymkttransfers/``, red packets; the knobs above apply there too):

- ``pay_systemerrors``: the next N accepted sends are answered ``SYSTEMERROR`` (the packet
  is recorded: "请求已受理，请稍后使用原单号查询发放结果");
- ``pay_lost_answers``: the next N sends are recorded and never answered (the connection
  closes after ``answer_latency`` seconds): a timeout after the fact.

Callback side:

- ``duplicate_rate``: fraction of delivered callbacks posted a second time;
- ``callback_timeout`` / ``callback_retries``: WeCom's 5 s and 3 retries, changeable.

Every knob is a plain attribute; changes apply to the next call.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from siyu.plugins.wecom.sandbox.world import World

KNOBS = ("latency", "error_rate", "error_status", "drop_rate", "busy_rate", "revoke_after",
         "duplicate_rate", "callback_timeout", "callback_retries", "answer_latency",
         "lost_answer_rate", "pay_systemerrors", "pay_lost_answers")


@dataclass
class Faults:
    """The fault knobs of one sandbox, with their own seeded dice.

    :param world: the world whose tokens :meth:`revoke_tokens` revokes.
    :param seed: seeds the dice, so a run with the same calls fails the same way.
    """

    world: World | None = field(default=None, repr=False)
    seed: int = 0
    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    drop_rate: float = 0.0
    busy_rate: float = 0.0
    revoke_after: float | None = None
    duplicate_rate: float = 0.0
    callback_timeout: float = 5.0
    callback_retries: int = 3
    answer_latency: float = 0.0
    lost_answer_rate: float = 0.0
    pay_systemerrors: int = 0
    pay_lost_answers: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {"error": 0, "drop": 0, "busy": 0, "duplicate": 0,
                                         "lost_answer": 0, "pay_systemerrors": 0,
                                         "pay_lost_answers": 0}

    def _roll(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._rng.random() < rate

    def draw(self) -> str | None:
        """The fault for the next API call: ``"drop"``, ``"error"``, ``"busy"`` or ``None``."""
        for kind, rate in (("drop", self.drop_rate), ("error", self.error_rate),
                           ("busy", self.busy_rate)):
            if self._roll(rate):
                with self._lock:
                    self.injected[kind] += 1
                return kind
        return None

    def lose_answer(self) -> bool:
        """Whether the call that just took effect should lose its answer."""
        if self._roll(self.lost_answer_rate):
            with self._lock:
                self.injected["lost_answer"] += 1
            return True
        return False

    def take_pay_fault(self, knob: str) -> bool:
        """Use up one of the counted WeChat Pay faults (``pay_systemerrors`` or
        ``pay_lost_answers``); ``False`` when none is left."""
        with self._lock:
            left = int(getattr(self, knob))
            if left <= 0:
                return False
            setattr(self, knob, left - 1)
            self.injected[knob] += 1
            return True

    def duplicate(self) -> bool:
        """Whether the callback just delivered should be posted once more."""
        if self._roll(self.duplicate_rate):
            with self._lock:
                self.injected["duplicate"] += 1
            return True
        return False

    def revoke_tokens(self) -> int:
        """Invalidate every access token now; return how many were still valid."""
        if self.world is None:
            raise RuntimeError("these faults are not attached to a world")
        with self.world.lock:
            return self.world.revoke_tokens()

    def set(self, **knobs: Any) -> Faults:
        """Change several knobs at once, e.g. ``faults.set(error_rate=0.2, latency=0.1)``.

        :raises ValueError: for an unknown knob or a rate outside 0..1.
        """
        known = {f.name for f in fields(self)} & set(KNOBS)
        for name, value in knobs.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}; known: {', '.join(KNOBS)}")
            if name.endswith("_rate") and not 0 <= float(value) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
            setattr(self, name, value)
        return self

    def reset(self) -> Faults:
        """Back to a well-behaved service."""
        return self.set(latency=0.0, error_rate=0.0, error_status=503, drop_rate=0.0,
                        busy_rate=0.0, revoke_after=None, duplicate_rate=0.0,
                        callback_timeout=5.0, callback_retries=3, pay_systemerrors=0,
                        pay_lost_answers=0)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in KNOBS} | {"injected": dict(self.injected)}
