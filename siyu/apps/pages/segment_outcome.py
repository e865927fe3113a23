"""What counting a segment spec finds, for the segments page: the count and a sample of the
members, or the problems of the spec (each with its place in the spec).

:func:`evaluate` runs on a worker thread (:mod:`siyu.apps.pages.live`); it never raises, so
the page always learns how the count ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from siyu.core.errors import SiyuError
from siyu.core.i18n import core as _
from siyu.core.segments import SegmentError

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.console")

#: Members the sample shows.
SAMPLE_ROWS = 20


@dataclass
class Outcome:
    """What counting a spec found: the count and a sample, or the problems of the spec.

    :ivar empty: the builder holds no rule yet (nothing was counted).
    :ivar named: the count was of the saved segment (recorded in the list).
    """

    count: int | None = None
    sample: pd.DataFrame | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    empty: bool = False
    named: bool = False


def evaluate(ws: Workspace, spec: dict[str, Any] | None, saved: str | None = None) -> Outcome:
    """Count ``spec`` and read a sample of its members (runs on a worker thread).

    :param spec: the builder's spec; ``None`` when it holds no rule.
    :param saved: the saved segment ``spec`` is identical to: counted by name, so the list
        records the count.
    """
    if spec is None:
        return Outcome(empty=True)
    try:
        count = ws.segments.count(saved if saved else spec)
        sample = ws.segments.preview(spec, limit=SAMPLE_ROWS)
    except SegmentError as exc:
        return Outcome(problems=list(exc.problems))
    except SiyuError as exc:
        return Outcome(error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a worker thread: report it, keep the page
        log.exception("counting a segment failed")
        return Outcome(error=_("Counting failed ({kind}); the error was logged on the "
                               "server.", kind=type(exc).__name__))
    return Outcome(count=count, sample=sample, named=bool(saved))
