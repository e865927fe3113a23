"""Leaderboards (排行榜): live rankings of stores, staff, regions and customers.

The notebook door is this module::

    from siyu.plugins import leaderboards

    leaderboards.define(ws, "sales-month", metric="sales_fen", dimension="store",
                        period="this_month", title="本月门店销售榜", top=20)
    leaderboards.ranking(ws, "sales-month")      # rank, key, name, value, previous_rank, change
    leaderboards.recompute(ws, "sales-month")    # the same, straight from the orders
    leaderboards.snapshot(ws, "sales-month")     # keep the ranking of this period
    leaderboards.snapshots(ws, "sales-month")
    leaderboards.listing(ws)

Modules: :mod:`~.models` (tables, history ``leaderboards``), :mod:`~.aggregate` (the daily
aggregates and how they stay current), :mod:`~.store` (boards, rankings, snapshots),
:mod:`~.commands` (``siyu leaderboard``), :mod:`~.pages` (the console page) and
:mod:`~.plugin` (the hooks).
"""

from __future__ import annotations

import importlib
from typing import Any

_DOOR = {"BoardInfo": "store", "boards": "store", "define": "store",
         "export_frame": "store", "get": "store", "listing": "store", "ranking": "store",
         "recompute": "store", "remove": "store", "snapshot": "store", "snapshots": "store",
         "update": "store", "refresh": "aggregate", "rebuild": "aggregate"}

__all__ = sorted(_DOOR)


def __getattr__(name: str) -> Any:
    module = _DOOR.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
