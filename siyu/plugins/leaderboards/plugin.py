"""The leaderboards plugin (排行榜): rankings of stores, staff, regions and customers that
follow orders within seconds, the Leaderboards page and ``siyu leaderboard``.

Registered as a built-in (``siyu.plugins.leaderboards.plugin``), written exactly like a
third-party plugin. It implements no per-order hook: a job folds new orders and contacts into
daily aggregates every few seconds (:mod:`~.aggregate`); only ``on_order_changed`` (refunds,
corrections: rare) is implemented.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.leaderboards.models import TABLES

_ = translator("siyu.plugins.leaderboards")

#: Seconds between background folds of new orders and contacts. Every ranking folds first, so
#: an open board is current at each of its refreshes whatever this is; the job keeps the
#: aggregates close for everyone else without writing a job-run row every few seconds.
REFRESH_SECONDS = 60


@hookimpl
def register_models():
    """leaderboard, its daily aggregates, watermarks and snapshots (history
    ``leaderboards``)."""
    return [ModelSet("leaderboards", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_jobs(ws):
    """Every few seconds, fold new orders and contacts in; every night, snapshot the boards
    whose period ended."""
    from siyu.core.records import JobSpec

    return [JobSpec("leaderboards.refresh", refresh_job, "interval",
                    {"seconds": REFRESH_SECONDS}, _.lazy("Leaderboards: count new orders")),
            JobSpec("leaderboards.snapshot", snapshot_job, "cron", {"hour": 0, "minute": 5},
                    _.lazy("Leaderboards: keep the rankings of periods that ended"))]


@hookimpl
def register_pages(ws):
    """The Leaderboards page (``data.read``; defining boards needs ``data.write``)."""
    from siyu.core.records import PageSpec

    return [PageSpec("leaderboards", _.lazy("Leaderboards"),
                     "siyu.plugins.leaderboards.pages:LeaderboardsPage", icon="trophy",
                     permission="data.read", order=57)]


@hookimpl
def register_commands():
    """``siyu leaderboard``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.leaderboards.commands"
    return [CommandSpec("leaderboard", _.lazy("rankings of stores, staff, regions and "
                                              "customers by sales, orders or new contacts"),
                        f"{module}:configure", f"{module}:run")]


@hookimpl
def on_order_changed(ws, order, changes, delivery_id):
    """A refund or correction: recount the day buckets the order falls in (idempotent by
    ``delivery_id``)."""
    from siyu.plugins.leaderboards.aggregate import order_changed

    order_changed(ws, order, changes, delivery_id)


def refresh_job(ws):
    """Scheduled: fold the orders and contacts stored since the last run."""
    from siyu.plugins.leaderboards.aggregate import refresh

    moved = refresh(ws)
    return ", ".join(f"{name} → {mark}" for name, mark in moved.items()) or None


def snapshot_job(ws):
    """Scheduled: snapshot the boards whose period ended; forget old delivery ids."""
    from siyu.plugins.leaderboards.aggregate import forget_applied
    from siyu.plugins.leaderboards.store import snapshot_ended

    taken = snapshot_ended(ws)
    forget_applied(ws)
    return _.ngettext("{n} snapshot taken", "{n} snapshots taken", taken, n=taken)
