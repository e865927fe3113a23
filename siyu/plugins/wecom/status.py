"""Counts and words for the WeCom status line, ``siyu wecom status`` and the console pages.

Light on purpose (SQLAlchemy and the translation layer only): ``siyu wecom status`` imports
it without the console.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.i18n import current_language, translator
from siyu.plugins.wecom.models import WeComCallback, WeComCallbackRejection

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.wecom")

#: The setting the last finished sync is recorded in: ``{"at": ISO time, "summary": str}``.
LAST_SYNC = "wecom.sync.last"
#: How times are shown: the workspace timezone, to the minute.
TIME_FORMAT = "%Y-%m-%d %H:%M"

#: What each callback status means to a reader (the keys are data: see callback_counts).
STATUS_LABELS = {"pending": _.lazy("pending"), "processing": _.lazy("processing"),
                 "done": _.lazy("applied"), "ignored": _.lazy("ignored"),
                 "failed": _.lazy("failed"), "rejected": _.lazy("refused")}
#: The figures of a sync, in the order :meth:`SyncReport.summary` writes them.
SYNC_FIGURES = ("staff", "tags", "customers", "created", "updated", "removed", "follows",
                "follows_started", "follows_ended", "groups")
_SUMMARY = re.compile(
    r"WeCom sync(?: \(resumed at (?P<resumed_from>\w+)\))?: (?P<staff>\d+) staff, "
    r"(?P<tags>\d+) tags, (?P<customers>\d+) customers \((?P<created>\d+) new, "
    r"(?P<updated>\d+) updated, (?P<removed>\d+) removed\), (?P<follows>\d+) follows "
    r"\((?P<follows_started>\d+) started, (?P<follows_ended>\d+) ended\), "
    r"(?P<groups>\d+) groups$")


def join_list(items: Any) -> str:
    """Items in a sentence: ``a，b`` in Chinese, ``a, b`` otherwise."""
    return ("，" if current_language().startswith("zh") else ", ").join(str(i) for i in items)


def callback_counts(ws: Workspace) -> dict[str, int]:
    """Stored callbacks by status (``pending``, ``processing``, ``done``, ``ignored``,
    ``failed``), then ``rejected``: requests the receiver refused (bad signature, stale,
    too large…), which are counted, not stored; a running server writes its count every
    few seconds (:mod:`siyu.plugins.wecom.rejections`)."""
    table = WeComCallback.__table__
    refused = WeComCallbackRejection.__table__
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.status, sa.func.count())
                            .group_by(table.c.status)).all()
        rejected = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(refused.c.total), 0))
                                ).scalar()
    counts = {"pending": 0, "processing": 0, "done": 0, "ignored": 0, "failed": 0}
    counts.update({status: n for status, n in rows})
    counts["rejected"] = int(rejected or 0)
    return counts


def status_label(status: str) -> str:
    """A callback status as a reader says it (unknown statuses as they are)."""
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


def last_sync(ws: Workspace) -> tuple[Any, str]:
    """When the last sync finished (an aware ``datetime``; the stored text when it is no
    time; ``None`` when none ran) and its summary as recorded."""
    last = ws.settings.get(LAST_SYNC) or {}
    if not isinstance(last, dict):
        return None, ""
    at = last.get("at")
    if isinstance(at, str) and at:
        try:
            parsed = datetime.fromisoformat(at)
        except ValueError:
            parsed = None
        if parsed is not None:
            at = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return at or None, str(last.get("summary") or "")


def show_time(value: Any, tz: tzinfo) -> str:
    """A time in the timezone ``tz`` to the minute (text that is no time as it is; ``—`` for
    nothing)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(tz).strftime(TIME_FORMAT)
    return str(value)


def sync_figures(report: Any) -> dict[str, Any] | None:
    """The figures of a sync: from a :class:`~siyu.plugins.wecom.sync.SyncReport`, or
    read back from the summary line it recorded (``None`` when the text is not one)."""
    if isinstance(report, str):
        found = _SUMMARY.match(report.strip())
        if found is None:
            return None
        figures: dict[str, Any] = {k: int(found[k]) for k in SYNC_FIGURES}
        figures["resumed_from"] = found["resumed_from"] or ""
        return figures
    return {**{k: int(getattr(report, k)) for k in SYNC_FIGURES},
            "resumed_from": getattr(report, "resumed_from", "")}


#: The stages of a sync as a reader says them.
STAGE_LABELS = {"starting": _.lazy("starting"), "staff": _.lazy("staff"),
                "tags": _.lazy("tags"), "customers": _.lazy("customers"),
                "groups": _.lazy("customer groups")}


def stage_label(stage: str) -> str:
    """A sync stage as a reader says it."""
    label = STAGE_LABELS.get(stage)
    return str(label) if label is not None else stage


def sync_summary(report: Any) -> str:
    """One line saying what a sync did, in the current language; ``report`` is a
    :class:`~siyu.plugins.wecom.sync.SyncReport` or the summary it recorded (shown as it
    is when it cannot be read)."""
    figures = sync_figures(report)
    if figures is None:
        return str(report)
    shown = {k: format(figures[k], ",") for k in SYNC_FIGURES}
    line = _("{staff} staff, {tags} tags, {customers} customers ({created} new, {updated} "
             "updated, {removed} removed), {follows} follows ({follows_started} started, "
             "{follows_ended} ended), {groups} customer groups", **shown)
    if figures["resumed_from"]:
        return _("Resumed at {stage}: {figures}", stage=stage_label(figures["resumed_from"]),
                 figures=line)
    return line
