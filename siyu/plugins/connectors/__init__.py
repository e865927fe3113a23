"""Connectors: orders and members synced from ERP, CRM and shop systems.

A *kind* of connector (``register_connectors``: the built-in ``rest`` and ``sql``, or a
plugin's) knows how to page through one sort of source; a *connector* is one configured
source of a kind, with its settings, a field mapping and a schedule. The notebook door is
this module::

    from siyu.plugins import connectors

    connectors.add(ws, "shop", "rest",
                   settings={"base_url": "https://erp.example.com/api",
                             "orders_path": "/orders", "token": "…"},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at", "member_id": "member_id"}})
    report = connectors.sync(ws, "shop")        # resumes where the last run stopped
    print(report.summary())
    connectors.runs(ws, "shop")                 # the run history
    connectors.listing(ws)                      # every connector, as a DataFrame
    connectors.queue(ws)                        # customers to match by hand
    link = connectors.resolve(ws, item_id, contact_id)
    connectors.undo(ws, link)                   # every match can be undone

Modules: :mod:`~.models` (tables, history ``connectors``), :mod:`~.store` (configuring),
:mod:`~.mapping` (source records → siyu's fields), :mod:`~.runner` (running: cursors, run
history), :mod:`~.identity` (members and buyers matched to contacts, the queue, undoing),
:mod:`~.rest` and :mod:`~.sql` (the built-in kinds), :mod:`~.commands`
(``siyu connector``) and :mod:`~.plugin` (the hooks).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Where each name of the notebook door lives; imported on first use, so that registering
#: the plugin (``siyu --help``, another command) costs nothing.
_DOOR = {"RunRecord": "runner", "RunResult": "runner", "SyncReport": "runner",
         "runs": "runner", "sync": "runner",
         "queue": "identity", "resolve": "identity", "dismiss": "identity",
         "links": "identity", "undo": "identity",
         "ConnectorInfo": "store", "add": "store", "configured": "store", "get": "store",
         "listing": "store", "remove": "store", "reset": "store", "update": "store"}

__all__ = sorted(_DOOR)


def __getattr__(name: str) -> Any:
    module = _DOOR.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
