"""Small typed records that registration hooks return.

Every record has a ``name``; two plugins registering the same name for the same kind of
record is an error (:class:`siyu.core.errors.PluginError`), never a silent override.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelSet:
    """Tables a plugin adds.

    :param name: unique name; the plugin's Alembic history is kept in the version table
        ``alembic_version_<name>``.
    :param tables: SQLAlchemy ``Table`` objects (``MyModel.__table__``) the plugin owns.
    :param migrations: folder of Alembic revision files for these tables (their own history,
        starting from ``down_revision = None``; run after the core's). When ``None`` the
        tables are created with ``create_all`` after the core migrations (fine for prototypes;
        ship migrations before your schema changes for the first time).
    """

    name: str
    tables: tuple = ()
    migrations: Path | None = None


@dataclass(frozen=True)
class ChannelSpec:
    """A delivery channel (WeCom mass-send, SMS, e-mail…).

    :param name: channel name used in campaigns and in ``send(ws, channel, batch)``.
    :param title: human title for the console.
    :param batch_size: most recipients one ``send`` call receives.
    """

    name: str
    title: str = ""
    batch_size: int = 1000


@dataclass(frozen=True)
class SegmentRule:
    """A named audience rule that ``segment(ws, rule, params)`` can compile.

    :param name: rule name used in segment specs, e.g. ``"tagged"``.
    :param title: human title.
    :param params: parameter names and a short description of each.
    """

    name: str
    title: str = ""
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskRule:
    """A named risk rule the risk centre lists; the check itself is ``risk_check``."""

    name: str
    title: str = ""
    description: str = ""


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job.

    :param name: unique job id (kept across restarts in the persistent job store).
    :param func: the callable, importable by path; it receives the Workspace as only argument.
    :param trigger: APScheduler trigger name: ``"interval"``, ``"cron"`` or ``"date"``.
    :param trigger_args: keyword arguments of the trigger, e.g. ``{"minutes": 5}``.
    :param title: human title for the Jobs page.
    """

    name: str
    func: Callable[[Any], Any]
    trigger: str = "interval"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    title: str = ""


@dataclass(frozen=True)
class PageSpec:
    """A console page.

    :param name: URL slug, unique.
    :param title: navigation title.
    :param factory: ``factory(ws) -> viewable``; called once per browser session.
    :param icon: icon name for the navigation.
    :param permission: permission required to open the page (see ``siyu.core.permissions``).
    :param order: position in the navigation (lower first).
    """

    name: str
    title: str
    factory: Callable[[Any], Any]
    icon: str = ""
    permission: str = "console.view"
    order: int = 100


@dataclass(frozen=True)
class RouteSpec:
    """An extra HTTP route served next to the console.

    :param name: unique name.
    :param pattern: Tornado URL pattern, e.g. ``r"/wecom/callback"``.
    :param handler: a ``tornado.web.RequestHandler`` subclass.
    :param public: when True, no console login is needed (the handler authenticates itself).
    :param kwargs: passed to the handler's ``initialize``.
    """

    name: str
    pattern: str
    handler: Any
    public: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectorSpec:
    """A CRM / ERP / e-commerce connector that syncs members and orders.

    :param name: unique connector name.
    :param title: human title.
    :param sync: ``sync(ws, cursor) -> new_cursor``; pulls what changed since ``cursor``.
    """

    name: str
    title: str = ""
    sync: Callable[[Any, Any], Any] | None = None


@dataclass(frozen=True)
class CommandSpec:
    """An extra ``siyu`` CLI sub-command.

    :param name: sub-command name, e.g. ``"wecom"``.
    :param help: one-line help.
    :param configure: ``configure(parser)`` adds arguments to an ``argparse`` parser.
    :param run: ``run(ws, args) -> int | None``; the exit code.
    """

    name: str
    help: str
    configure: Callable[[Any], None]
    run: Callable[[Any, Any], int | None]


@dataclass(frozen=True)
class DemoService:
    """Something a plugin runs beside ``siyu demo``'s console (e.g. a sandbox).

    :param name: what it is, e.g. ``"wecom-sandbox"``.
    :param connect: ``connect(console_port) -> lines``: called once the console listens;
        returns lines to print for people trying the demo.
    :param stop: ``stop()``: called when the demo stops.
    """

    name: str
    connect: Callable[[int], list[str]]
    stop: Callable[[], None]
