"""Ownership transfer (在职继承 / 离职继承): hand a departing member's customers to successors
through WeCom, and follow each customer until the successor has taken them over.

The notebook door is this module::

    from siyu.plugins import transfers

    transfers.list_departed(ws)                     # resigned members with customers waiting
    leaving = transfers.departing(ws, "zhouba")     # their customers and customer groups
    made = transfers.plan(ws, "zhouba", ["lisi", "wangwu"], split="even")
    transfers.run(ws, made.plan_id)                 # ≤ 100 customers per WeCom call
    transfers.reconcile(ws)                         # callbacks + transfer_result (also a job)
    transfers.items(ws, made.plan_id)               # each customer's state and reason

Modules: :mod:`~siyu.plugins.transfers.models` (tables ``transfer_plan`` and
``transfer_item``, own Alembic history ``transfers``), :mod:`~.departed` (who leaves, their
customers and groups, the 90-day count), :mod:`~.planning` (splitting, reading),
:mod:`~.execute` (calling WeCom, following up), :mod:`~.commands` (``siyu transfer``),
:mod:`~.pages` (the console page) and :mod:`~.plugin` (the hooks).
"""

from siyu.plugins.transfers.departed import (
    DepartedMember,
    Departing,
    departing,
    list_departed,
)
from siyu.plugins.transfers.execute import ReconcileReport, RunReport, reconcile, run
from siyu.plugins.transfers.planning import PlanResult, get_plan, items, plan, plans

__all__ = ["DepartedMember", "Departing", "PlanResult", "ReconcileReport", "RunReport",
           "departing", "get_plan", "items", "list_departed", "plan", "plans", "reconcile",
           "run"]
