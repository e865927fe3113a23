"""The connectors plugin: the REST and SQL connector kinds, the framework that runs
configured connectors (cursors, retries, run history, the schedule), ``siyu connector`` and
the Connectors page.

Registered as a built-in (``siyu.plugins.connectors.plugin``), written exactly like a
third-party plugin.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.connectors.models import TABLES

_ = translator("siyu.plugins.connectors")


@hookimpl
def register_models():
    """connector, connector_cursor and connector_run (history ``connectors``)."""
    return [ModelSet("connectors", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_connectors():
    """The generic REST connector, the SQL database connector and the file drop."""
    from siyu.plugins.connectors import files, rest, sql

    return [rest.SPEC, sql.SPEC, files.SPEC]


@hookimpl
def register_commands():
    """``siyu connector``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.connectors.commands"
    return [CommandSpec("connector", _.lazy("sync orders and members from ERP, CRM and shop "
                                            "systems (REST APIs, SQL databases)"),
                        f"{module}:configure", f"{module}:run")]


@hookimpl
def register_pages(ws):
    """The Connectors page and the Customers to match page (``data.read``; changing,
    running and matching need ``data.write``)."""
    from siyu.core.records import PageSpec

    return [PageSpec("connectors", _.lazy("Data connectors"),
                     "siyu.plugins.connectors.pages:ConnectorsPage", icon="refresh",
                     permission="data.read", order=58),
            PageSpec("identity-queue", _.lazy("Customers to match"),
                     "siyu.plugins.connectors.queue_page:IdentityQueuePage",
                     icon="user-question", permission="data.read", order=59)]


@hookimpl
def register_jobs(ws):
    """Every minute, run the connectors whose schedule says they are due."""
    from siyu.core.records import JobSpec

    return [JobSpec("connectors.due", run_due, "interval", {"minutes": 1},
                    _.lazy("Connectors: run those due"))]


def run_due(ws):
    """Scheduled: sync the enabled connectors whose interval has passed."""
    from siyu.plugins.connectors.runner import run_due as due

    return due(ws)
