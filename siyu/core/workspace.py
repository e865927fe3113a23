"""The Workspace: one object that every door (console, notebook, CLI, plugin) goes through.

It owns the database engine and sessions, the plugin manager (``ws.hook``), the scheduler and
the domain services (``ws.contacts``, ``ws.tags``, ``ws.orders``…).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import DatabaseError, OperationalError
from sqlmodel import Session

from siyu.core.errors import ConfigError
from siyu.core.i18n import core as _
from siyu.core.permissions import LOCAL, Principal
from siyu.core.plugins import (
    SiyuPluginManager,
    collect_records,
    collect_state_prefixes,
    get_plugin_manager,
)
from siyu.storage import guard
from siyu.storage import migrate as schema
from siyu.storage.engine import create_engine, describe_url, resolve_url

log = logging.getLogger("siyu")
_DISPATCHER_LOCK = threading.Lock()

DEFAULT_TIMEZONE = "Asia/Shanghai"
#: How long a process trusts its cached copy of the timezone setting.
TIMEZONE_TTL_S = 60.0


class Workspace:
    """A siyu workspace: a database plus the plugins that work on it.

    Open one with :func:`siyu.open`. Use it as a context manager, or call :meth:`close`.

    :param url: database URL or SQLite file path; ``None`` uses ``$SIYU_DATABASE_URL`` or
        ``./siyu.db``.
    :param plugins: extra plugin objects to register after the built-ins and entry points.
    :param load_entry_points: load third-party plugins from the ``siyu`` entry-point group.
    :param disable: plugin names to block (default: ``$SIYU_DISABLE_PLUGINS``).
    :param migrate: bring the schema up to date on open (default). With ``False`` a database
        that needs migrating raises :class:`ConfigError`.
    :param principal: who acts; the CLI and notebooks act as ``local`` (admin).
    """

    def __init__(self, url: str | None = None, *, plugins: Iterable[Any] = (),
                 load_entry_points: bool = True, disable: Iterable[str] | None = None,
                 migrate: bool = True, principal: Principal = LOCAL,
                 _parent: Workspace | None = None):
        self.principal = principal
        if _parent is not None:
            self.url, self.engine, self.pm = _parent.url, _parent.engine, _parent.pm
            self._parent = _parent
            return
        self._parent = None
        self.url = resolve_url(url)
        self.engine = create_engine(self.url)
        guard.enable_from_env()  # SIYU_STRICT_TRANSACTIONS=1: no network call in a transaction
        self.pm: SiyuPluginManager = get_plugin_manager(
            plugins=plugins, load_entry_points=load_entry_points, disable=disable)
        try:
            if migrate:
                schema.upgrade(self.engine, self.model_sets.values())
            else:
                todo = schema.pending(self.engine, self.model_sets.values())
                if todo:
                    raise ConfigError(_("database {url} needs migrating ({n} revision(s)); "
                                        "run `siyu db upgrade`", url=describe_url(self.url),
                                        n=len(todo)))
        except (OperationalError, DatabaseError) as exc:
            self.engine.dispose()
            raise ConfigError(_("cannot reach database {url}: {reason}",
                                url=describe_url(self.url),
                                reason=str(exc.orig).strip().splitlines()[0])) from exc
        except Exception:
            self.engine.dispose()
            raise

    # -- plugins --------------------------------------------------------------------------

    @property
    def hook(self):
        """The hook relay: ``ws.hook.on_contact_added(ws=ws, contact=c, via="api")``."""
        return self.pm.hook

    def has_hook(self, name: str) -> bool:
        """Whether any plugin implements hook ``name`` (lets the core skip building
        arguments nobody will read)."""
        return bool(getattr(self.pm.hook, name).get_hookimpls())

    def notify(self, hook_name: str, *, session: Session | None = None,
               subject: str | None = None, **kwargs: Any) -> int | None:
        """Notify the plugins implementing hook ``hook_name`` (``on_contact_added``…).

        The notice is written as rows in ``session``'s transaction (so it commits, or not,
        with the change it describes) and delivered to each implementation after that
        commit, at least once, with a ``delivery_id`` to be idempotent with (see
        :mod:`siyu.core.dispatch`). Without ``session`` it is written in a transaction of its
        own and delivered at once.

        :param session: the caller's session, from :meth:`session` (its commit delivers).
        :param subject: what the notice is about (default ``contact:<id>`` for a
            ``contact`` argument); one plugin sees one subject's notices in order.
        :param kwargs: the hook's arguments except ``ws`` and ``delivery_id``; stored rows
            are passed by reference and read back when delivered.
        :return: the notice id, or ``None`` when no plugin implements the hook.
        """
        from siyu.core import dispatch, notices

        plugins = notices.implementers(self.pm, hook_name, kwargs)
        if not plugins:
            return None
        payload = notices.encode(kwargs)
        if subject is None:
            subject = notices.subject_of(kwargs)
        if session is None:
            with self.session() as own:
                return self.notify(hook_name, session=own, subject=subject, **kwargs)
        inline = session.info.get("siyu_delivers", False)  # a session() delivers it itself
        notice_id = notices.write_notice(
            session.connection(), hook_name, plugins, payload=payload, subject=subject,
            items=1, lease_s=dispatch.lease_seconds() if inline else None)
        session.info.setdefault("siyu_notices", []).append(
            (notice_id, "leased" if inline else "single"))
        return notice_id

    def notify_each(self, hook_name: str, *, session: Session,
                    refs: dict[str, tuple[Any, list[int]]],
                    each: dict[str, list[Any]] | None = None, **common: Any) -> list[int]:
        """Notify plugins of many items at once (an import's new contacts), in bulk notices
        of up to :data:`~siyu.core.notices.BULK_ITEMS` items each.

        Each implementation is still called once per item, with delivery id
        ``"<notice>:<index>"``.

        :param refs: argument name → ``(model, ids)``, e.g. ``{"contact": (Contact, ids)}``.
        :param each: argument name → one value per item (``{"added": [[...], ...]}``).
        :param common: arguments every item shares (``via="import"``).
        :return: the notice ids (none when no plugin implements the hook).
        """
        from siyu.core import notices

        plugins = notices.implementers(self.pm, hook_name, common)
        each = each or {}
        count = len(next(iter(refs.values()))[1]) if refs else 0
        if not plugins or not count:
            return []
        ids = []
        for start in range(0, count, notices.BULK_ITEMS):
            stop = min(start + notices.BULK_ITEMS, count)
            payload = notices.bulk_payload(refs, each, common, start, stop)
            ids.append(notices.write_notice(session.connection(), hook_name, plugins,
                                            payload=payload, subject=None,
                                            items=stop - start))
        session.info.setdefault("siyu_notices", []).extend((i, "bulk") for i in ids)
        return ids

    def _records(self, hook_name: str, kind: Any, **kwargs: Any) -> dict[str, Any]:
        return collect_records(self.pm, hook_name, kind, **kwargs)

    @cached_property
    def model_sets(self) -> dict[str, Any]:
        """``register_models`` results by name."""
        return self._records("register_models", _.lazy("model set"))

    @cached_property
    def channels(self) -> dict[str, Any]:
        """``register_channels`` results by name."""
        return self._records("register_channels", _.lazy("channel"))

    @cached_property
    def segment_rules(self) -> dict[str, Any]:
        """``register_segment_rules`` results by name."""
        return self._records("register_segment_rules", _.lazy("segment rule"))

    @cached_property
    def risk_rules(self) -> dict[str, Any]:
        """``register_risk_rules`` results by name."""
        return self._records("register_risk_rules", _.lazy("risk rule"))

    @cached_property
    def jobs(self) -> dict[str, Any]:
        """``register_jobs`` results by name."""
        return self._records("register_jobs", _.lazy("job"), ws=self)

    @cached_property
    def connectors(self) -> dict[str, Any]:
        """``register_connectors`` results by name."""
        return self._records("register_connectors", _.lazy("connector"))

    def pages(self) -> dict[str, Any]:
        """``register_pages`` results by name (fresh each call: pages may depend on state)."""
        return self._records("register_pages", _.lazy("page"), ws=self)

    def routes(self) -> dict[str, Any]:
        """``register_routes`` results by name."""
        return self._records("register_routes", _.lazy("route"), ws=self)

    def commands(self) -> dict[str, Any]:
        """``register_commands`` results by name."""
        return self._records("register_commands", _.lazy("command"))

    @cached_property
    def state_prefixes(self) -> dict[str, Any]:
        """``register_state_prefixes`` claims by prefix, each naming its ``plugin``.

        :raises PluginError: a malformed prefix, or two plugins' prefixes clash.
        """
        return collect_state_prefixes(self.pm)

    def state_owner(self, state: str | None) -> str | None:
        """The plugin that claimed the prefix of a WeCom ``state`` (to route a callback to
        it), or ``None`` when no plugin claims it (no state, ``"staff"``, an unknown one).
        """
        claim = next((c for c in self.state_prefixes.values() if c.claims(state)), None)
        return claim.plugin if claim else None

    # -- storage --------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A SQLModel session in one transaction: committed on success, rolled back on error.

        Objects stay readable after the block (``expire_on_commit=False``).
        """
        with Session(self.engine, expire_on_commit=False) as session:
            session.info["siyu_delivers"] = True
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            written = session.info.pop("siyu_notices", None)
        if written:
            leased = [notice for notice, kind in written if kind == "leased"]
            others = [notice for notice, kind in written if kind != "leased"]
            if leased:
                self.hooks.after_commit(leased, bulk=False, leased=True)
            if others:
                self.hooks.after_commit(others, bulk=any(kind == "bulk"
                                                         for _notice, kind in written))

    @property
    def timezone(self) -> ZoneInfo:
        """The workspace timezone (setting ``timezone``, default Asia/Shanghai).

        Read from the database at most every :data:`TIMEZONE_TTL_S` seconds (every time
        and report needs it); changing the setting through this process applies at once.
        """
        root = self._parent or self
        cached = root.__dict__.get("_timezone_cache")
        if cached is not None and time.monotonic() - cached[1] < TIMEZONE_TTL_S:
            return cached[0]
        name = self.settings.get("timezone", DEFAULT_TIMEZONE)
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(_("workspace timezone {name!r} is not a known timezone; set "
                                "e.g. Asia/Shanghai", name=name)) from exc
        root.__dict__["_timezone_cache"] = (zone, time.monotonic())
        return zone

    def forget_cached_settings(self) -> None:
        """Drop settings this process caches (the timezone); called when one changes."""
        (self._parent or self).__dict__.pop("_timezone_cache", None)

    @property
    def name(self) -> str:
        """The workspace's display name (setting ``name``)."""
        return self.settings.get("name", "siyu")

    @property
    def language(self) -> str:
        """The workspace's default language (setting ``language``; unset: ``SIYU_LANGUAGE``,
        else ``zh_CN``). A console user may choose another for themselves."""
        from siyu.core.i18n import DEFAULT_LANGUAGE, environment_language, normalize_language

        value = self.settings.get("language", None)
        if value:
            try:
                return normalize_language(value)
            except ValueError:
                pass  # a value written by hand; fall back rather than break every page
        try:
            return environment_language() or DEFAULT_LANGUAGE
        except ValueError:
            return DEFAULT_LANGUAGE

    def set_language(self, language: str) -> str:
        """Set the workspace's default language (``zh_CN`` or ``en``); returns it.

        :raises ValidationError: for a language siyu does not ship.
        """
        from siyu.core.services.base import checked_language

        code = checked_language(language)
        self.settings.set("language", code)
        return code

    # -- services -------------------------------------------------------------------------

    @cached_property
    def hooks(self):
        """:class:`~siyu.core.dispatch.Hooks`: hook notices' deliveries, delivered by one
        :class:`~siyu.core.dispatch.HookDispatcher` per process and database."""
        from siyu.core.dispatch import HookDispatcher, Hooks

        root = self._parent or self
        with _DISPATCHER_LOCK:
            dispatcher = root.__dict__.get("_hook_dispatcher")
            if dispatcher is None:
                dispatcher = root.__dict__["_hook_dispatcher"] = HookDispatcher(root)
        return Hooks(self, dispatcher)

    @cached_property
    def settings(self):
        """:class:`~siyu.core.services.settings.SettingsService`."""
        from siyu.core.services.settings import SettingsService
        return SettingsService(self)

    @cached_property
    def stores(self):
        """:class:`~siyu.core.services.stores.StoresService`."""
        from siyu.core.services.stores import StoresService
        return StoresService(self)

    @cached_property
    def staff(self):
        """:class:`~siyu.core.services.stores.StaffService`."""
        from siyu.core.services.stores import StaffService
        return StaffService(self)

    @cached_property
    def contacts(self):
        """:class:`~siyu.core.services.contacts.ContactsService`."""
        from siyu.core.services.contacts import ContactsService
        return ContactsService(self)

    @cached_property
    def follows(self):
        """:class:`~siyu.core.services.follows.FollowsService`: which staff members each
        contact follows, and the owner rule."""
        from siyu.core.services.follows import FollowsService
        return FollowsService(self)

    @cached_property
    def tags(self):
        """:class:`~siyu.core.services.tags.TagsService`."""
        from siyu.core.services.tags import TagsService
        return TagsService(self)

    @cached_property
    def events(self):
        """:class:`~siyu.core.services.events.EventsService`."""
        from siyu.core.services.events import EventsService
        return EventsService(self)

    @cached_property
    def orders(self):
        """:class:`~siyu.core.services.orders.OrdersService`."""
        from siyu.core.services.orders import OrdersService
        return OrdersService(self)

    @cached_property
    def segments(self):
        """:class:`~siyu.core.services.segments.SegmentsService`: audiences (check, count,
        preview, export, save with versions, snapshot, RFM)."""
        from siyu.core.services.segments import SegmentsService
        return SegmentsService(self)

    @cached_property
    def campaigns(self):
        """:class:`~siyu.core.services.campaigns.CampaignsService`: compose, preview, launch,
        pause, resume, cancel and measure campaigns; drain the outbox."""
        from siyu.core.services.campaigns import CampaignsService
        return CampaignsService(self)

    @cached_property
    def reports(self):
        """:class:`~siyu.core.services.reports.ReportsService`: aggregates for dashboards."""
        from siyu.core.services.reports import ReportsService
        return ReportsService(self)

    @cached_property
    def users(self):
        """:class:`~siyu.core.services.users.UsersService`."""
        from siyu.core.services.users import UsersService
        return UsersService(self)

    @cached_property
    def audit_log(self):
        """:class:`~siyu.core.services.users.AuditService`."""
        from siyu.core.services.users import AuditService
        return AuditService(self)

    def audit(self, action: str, target: Any = "", detail: dict | None = None, *,
              actor: str | None = None, session: Session | None = None) -> None:
        """Write one audit-log entry for a state-changing action by the acting principal.

        :param action: dotted verb, e.g. ``"tag.create"``.
        :param target: what it acted on (a name or id).
        :param detail: anything JSON can hold.
        :param session: write in the caller's transaction.
        """
        self.audit_log.record(action, str(target), detail, actor=actor, session=session)

    @cached_property
    def imports(self):
        """:class:`~siyu.core.importing.Importer`: contacts and orders from CSV / Excel."""
        from siyu.core.importing import Importer
        return Importer(self)

    @cached_property
    def scheduler(self):
        """:class:`~siyu.core.scheduler.WorkspaceScheduler` (not started until asked)."""
        if self._parent is not None:
            return self._parent.scheduler
        from siyu.core.scheduler import WorkspaceScheduler
        return WorkspaceScheduler(self)

    # -- lifecycle ------------------------------------------------------------------------

    def extension(self, name: str, factory: Callable[[Workspace], Any]) -> Any:
        """A per-workspace object a plugin keeps (an API client, a worker), built once.

        Views made with :meth:`as_user` share their parent's extensions.

        :param name: the plugin's key, e.g. ``"wecom"``.
        :param factory: ``factory(ws)`` builds the object the first time.
        """
        root = self._parent or self
        store = root.__dict__.setdefault("_extensions", {})
        if name not in store:
            store[name] = factory(root)
        return store[name]

    def as_user(self, principal: Principal) -> Workspace:
        """A view of this workspace acting as ``principal`` (same database and plugins)."""
        return Workspace(principal=principal, _parent=self)

    def summary(self) -> dict[str, int]:
        """Counts of the core objects and paid revenue, for a first look."""
        orders = self.orders.summary(paid=True)
        return {"stores": len(self.stores.list()), "staff": len(self.staff.list()),
                "contacts": self.contacts.count(), "tags": len(self.tags.names()),
                "orders": orders["orders"], "revenue_fen": orders["revenue_fen"]}

    def close(self) -> None:
        """Stop the scheduler (if this process runs it) and release the database."""
        if self._parent is not None:
            return
        for extension in self.__dict__.get("_extensions", {}).values():
            if hasattr(extension, "close"):
                extension.close()
        if "scheduler" in self.__dict__:
            self.scheduler.shutdown()
        if "_hook_dispatcher" in self.__dict__:
            self.__dict__["_hook_dispatcher"].stop()
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {describe_url(self.url)} as {self.principal.name}>"


def open(url: str | None = None, **kwargs: Any) -> Workspace:  # noqa: A001
    """Open (and, when new, create and migrate) a workspace.

    :param url: SQLite file path or database URL; default ``$SIYU_DATABASE_URL`` or
        ``./siyu.db``.
    :param kwargs: see :class:`Workspace`.
    :raises ConfigError: a malformed URL, a missing folder, an unreachable server.
    """
    return Workspace(url, **kwargs)

