"""The transfers plugin: hand a departing member's customers over through WeCom (在职继承 /
离职继承), the ``siyu transfer`` CLI, the Transfers page and the job that follows transfers
up.

Registered as a built-in (``siyu.plugins.transfers.plugin``), written exactly like a
third-party plugin; it needs the WeCom plugin (``siyu_requires``).
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.transfers.models import TABLES

_ = translator("siyu.plugins.transfers")

#: Transfers go through WeCom's API and read the callbacks the WeCom plugin stores.
siyu_requires = ("wecom",)


@hookimpl
def register_models():
    """transfer_plan and transfer_item (history ``transfers``)."""
    return [ModelSet("transfers", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_commands():
    """``siyu transfer``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.transfers.commands"
    return [CommandSpec("transfer", _.lazy("hand a departing member's customers over "
                                           "(在职/离职继承) and follow the transfers"),
                        f"{module}:configure", f"{module}:run")]


@hookimpl
def register_pages(ws):
    """The Transfers page (``data.read``; planning and running need ``data.write``)."""
    from siyu.core.records import PageSpec

    return [PageSpec("transfers", _.lazy("Transfers"),
                     "siyu.plugins.transfers.pages:TransfersPage", icon="users",
                     permission="data.read", order=55)]


@hookimpl
def register_jobs(ws):
    """Follow open transfers up every 10 minutes (callbacks, then transfer_result)."""
    from siyu.core.records import JobSpec

    return [JobSpec("transfers.poll", poll, "interval", {"minutes": 10},
                    _.lazy("Transfers: read WeCom's transfer results"))]


def poll(ws):
    """Scheduled: bring every open transfer up to date."""
    from siyu.plugins.transfers.execute import reconcile

    return reconcile(ws).summary()
