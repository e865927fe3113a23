"""The risk plugin's checks on outgoing content.

A campaign's thousands of messages mostly share a few texts, and the outbox asks once per
message: :func:`word_reason` keeps the verdict per text for the current word lists, and looks
at whether the lists changed at most every :data:`RECHECK_S` seconds.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from siyu.core.i18n import translator

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

#: How often the word lists' version is read again while checking messages.
RECHECK_S = 1.0
#: Verdicts kept per word-list version.
MAX_KEPT = 10_000


class _Verdicts:
    def __init__(self, ws: Workspace):
        self.lock = threading.Lock()
        self.screen = None
        self.checked = 0.0
        self.reasons: dict[str, str | None] = {}


def word_reason(ws: Workspace, text: str, *, fresh: bool = False) -> str | None:
    """Why ``text`` may not be sent (each listed word in it with its category), or ``None``.

    :param fresh: read the lists' version now (a launch), not within :data:`RECHECK_S`."""
    from siyu.plugins.risk.words import screen

    kept = ws.extension("risk.verdicts", _Verdicts)
    now = time.monotonic()
    with kept.lock:
        if fresh or kept.screen is None or now - kept.checked > RECHECK_S:
            current = screen(ws)
            if current is not kept.screen:
                kept.screen, kept.reasons = current, {}
            kept.checked = now
        if text in kept.reasons:
            return kept.reasons[text]
        found = kept.screen.screen(text)
    reason = None
    if found:
        named = dict.fromkeys(f"「{m.word}」({m.category})" for m in found)
        reason = _("sensitive words: {words}", words="、".join(named))
    with kept.lock:
        if len(kept.reasons) >= MAX_KEPT:
            kept.reasons.clear()
        kept.reasons[text] = reason
    return reason
