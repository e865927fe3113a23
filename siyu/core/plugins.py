"""The plugin manager: built-ins first, then the ``siyu`` entry-point group.

Environment:

``SIYU_DISABLE_PLUGINS=a,b``
    block plugins by name (built-in or entry point) before they load.
``SIYU_TRACE_PLUGINS=1``
    log every hook call and its result on the ``siyu.plugins`` logger.

A third-party plugin that raises while importing is reported by name (``load_errors``) and
skipped: a broken add-on must not take the console down. A plugin whose hook names are
misspelt fails loudly at load time (``check_pending``).

A plugin that needs another one says so in ``siyu_requires``; when a requirement is missing,
disabled or broken, the plugin is disabled too, with the reason (``disabled_reasons``), before
any of its hooks is called. Plugins that require each other in a cycle are an error.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any

import pluggy

from siyu.core import hookspecs
from siyu.core.errors import PluginError, listing
from siyu.core.i18n import core as _
from siyu.core.i18n import use_language
from siyu.core.records import StatePrefix

log = logging.getLogger("siyu.plugins")

hookimpl = pluggy.HookimplMarker("siyu")


def notified_when(predicate: Callable[..., bool]) -> Callable[[Callable], Callable]:
    """Declare which notifications a notification hook implementation wants.

    ``predicate`` is called when the notification is written, with the hook's arguments
    shared by every item (for an import's bulk notice: ``via``, not the contacts); when it
    returns false, no delivery is written for this implementation at all. It must be cheap
    and depend only on its arguments::

        @hookimpl
        @notified_when(lambda via, **_: via.startswith("lc:"))
        def on_contact_added(ws, contact, via): ...

    :param predicate: called with keyword arguments; return whether to deliver.
    """
    def mark(function: Callable) -> Callable:
        function.siyu_notified_when = predicate
        return function
    return mark

ENTRY_POINT_GROUP = "siyu"

#: Built-in feature plugins, registered in this order before any entry point. A plugin is
#: named after its module, or after its package when the module is called ``plugin``.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "siyu.plugins.default_segments",
    "siyu.plugins.default_pages",
    "siyu.plugins.wecom.plugin",
    "siyu.plugins.livecodes.plugin",
    "siyu.plugins.risk.plugin",
    "siyu.plugins.campaigns.plugin",
    "siyu.plugins.email.plugin",
    "siyu.plugins.robots.plugin",
    "siyu.plugins.transfers.plugin",
    "siyu.plugins.connectors.plugin",
    "siyu.plugins.customers.plugin",
    "siyu.plugins.quickreplies.plugin",
    "siyu.plugins.sidebar.plugin",
    "siyu.plugins.leaderboards.plugin",
    "siyu.plugins.rewards.plugin",
)

#: The attribute a plugin (module, class or instance) names the plugins it needs in, e.g.
#: ``siyu_requires = ("wecom",)``. It is plain data rather than a hook: requirements decide
#: whether a plugin's hooks may be called at all, so they are read before any of its code
#: runs (a hook would be such a call), and they belong to one plugin while a hook call asks
#: every plugin. The ``siyu_`` prefix keeps an unrelated ``requires`` attribute from being
#: taken for a declaration.
REQUIRES_ATTRIBUTE = "siyu_requires"

#: A WeCom ``state`` prefix: 2 to 5 characters ending with ``:``, so that a state (at most 30
#: characters) keeps room for its own part, and lowercase so ``LC:`` cannot pass for ``lc:``.
STATE_PREFIX_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,3}:")


@dataclass
class PluginInfo:
    """What ``siyu plugins`` shows for one plugin."""

    name: str
    source: str
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    blocked: bool = False
    error: str = ""
    #: the plugins it declares in ``siyu_requires``
    requires: tuple[str, ...] = ()
    #: why it is disabled when a requirement is not there (``blocked`` is then True too),
    #: e.g. ``"requires wecom, which is disabled"``
    reason: Any = ""  #: why it is disabled (text in the reader's language when shown)

    @property
    def status(self) -> str:
        """``"loaded"``, ``"disabled"``, ``"disabled: <reason>"`` or
        ``"failed to load: <error>"``."""
        if self.error:
            return f"failed to load: {self.error}"
        if self.blocked:
            return f"disabled: {self.reason}" if self.reason else "disabled"
        return "loaded"


class SiyuPluginManager(pluggy.PluginManager):
    """A ``pluggy.PluginManager`` that remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__("siyu")
        self.add_hookspecs(hookspecs)
        self.sources: dict[str, tuple[str, str]] = {}
        self.load_errors: dict[str, str] = {}
        #: ``siyu_requires`` of every registered plugin, by plugin name
        self.requirements: dict[str, tuple[str, ...]] = {}
        #: plugins disabled because a requirement is missing, disabled or broken: the reason
        self.disabled_reasons: dict[str, Any] = {}

    def register_from(self, plugin: Any, name: str, source: str, version: str = "") -> None:
        """Register ``plugin`` under ``name`` and remember its ``source`` for ``siyu plugins``.

        :raises PluginError: the plugin does not match the hook specs, or its
            ``siyu_requires`` is not a tuple of plugin names.
        """
        if self.is_blocked(name):
            self.sources[name] = (source, version)
            return
        requires = _declared_requirements(plugin, name)
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(_("plugin {name!r} ({source}) does not match the hook specs: "
                                "{error}; check docs/plugins.md", name=name, source=source,
                                error=exc)) from exc
        self.sources[name] = (source, version)
        self.requirements[name] = requires

    def disable_unmet(self) -> None:
        """Disable (block) every registered plugin whose requirements are not all loaded.

        A requirement may be missing, disabled (``SIYU_DISABLE_PLUGINS``), broken (failed to
        load) or itself disabled for want of another plugin; the reason names the chain, e.g.
        ``"requires livecodes, which requires wecom, which is disabled"``. Reasons are worked
        out for every plugin before any is blocked, so each names the first plugin really
        missing rather than the one blocked a moment ago.

        :raises PluginError: plugins require each other in a cycle (naming them).
        """
        _check_for_cycles(self.requirements)
        reasons: dict[str, str | None] = {}

        def unmet(name: str) -> str | None:
            if name not in reasons:
                reasons[name] = None
                for required in self.requirements.get(name, ()):
                    why = self._unavailable(required, unmet)
                    if why:
                        reasons[name] = _.lazy("requires {required}, which {why}",
                                               required=required, why=why)
                        break
            return reasons[name]

        for name in list(self.requirements):
            unmet(name)
        for name, reason in reasons.items():
            if reason and self.get_plugin(name) is not None:
                self.set_blocked(name)
                self.disabled_reasons[name] = reason
                # INFO, not WARNING: disabling wecom on purpose disables its dependants on
                # purpose too, and every CLI command would otherwise print this.
                with use_language("en"):  # logs stay in English
                    log.info("plugin %r disabled: %s", name, str(reason))

    def _unavailable(self, name: str, unmet: Callable[[str], str | None]) -> str | None:
        """Why plugin ``name`` cannot be relied on (``"is disabled"``…), or ``None``."""
        if name in self.load_errors:
            return _.lazy("failed to load")
        if self.is_blocked(name):
            return _.lazy("is disabled")
        if self.get_plugin(name) is None:
            return _.lazy("is not installed")
        return unmet(name)

    def describe(self) -> list[PluginInfo]:
        """Every known plugin (loaded, blocked or broken) with the hooks it implements."""
        infos = []
        for name, (source, version) in self.sources.items():
            plugin = self.get_plugin(name)
            hooks = sorted(h.name for h in self.get_hookcallers(plugin) or []) if plugin else []
            infos.append(PluginInfo(name=name, source=source, version=version, hooks=hooks,
                                    blocked=self.is_blocked(name),
                                    requires=self.requirements.get(name, ()),
                                    reason=self.disabled_reasons.get(name, "")))
        for name, error in self.load_errors.items():
            infos.append(PluginInfo(name=name, source="entry point", error=error))
        return infos

    def call_each(self, hook_name: str, on_error: Callable[[PluginError], None] | None = None,
                  **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook_name`` one by one, in pluggy's call order.

        :param on_error: called with a :class:`PluginError` naming the plugin when an
            implementation raises; the remaining implementations still run. Without it the
            error is raised at once.
        :return: ``(plugin_name, result)`` for each implementation that returned.
        """
        caller = getattr(self.hook, hook_name)
        results = []
        for impl in reversed(caller.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            args = {name: kwargs[name] for name in impl.argnames}
            try:
                result = impl.function(**args)
            except Exception as exc:  # a plugin bug: name the plugin
                error = PluginError(_("plugin {name!r} failed in {hook}: {kind}: {error}",
                                      name=impl.plugin_name, hook=hook_name,
                                      kind=type(exc).__name__, error=exc))
                error.__cause__ = exc
                if on_error is None:
                    raise error from exc
                on_error(error)
                continue
            if os.environ.get("SIYU_TRACE_PLUGINS") == "1":
                log.info("%s.%s(%s) -> %r", impl.plugin_name, hook_name,
                         ", ".join(args), result)
            results.append((impl.plugin_name, result))
        return results


def _parse_blocklist(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def _declared_requirements(plugin: Any, name: str) -> tuple[str, ...]:
    """The plugin's ``siyu_requires``, checked.

    :raises PluginError: it is not a tuple (or list) of plugin names.
    """
    declared = getattr(plugin, REQUIRES_ATTRIBUTE, ())
    if (isinstance(declared, (tuple, list))
            and all(isinstance(item, str) and item.strip() for item in declared)):
        return tuple(item.strip() for item in declared)
    raise PluginError(_("plugin {name!r} declares {attribute} = {declared!r}; give a tuple of "
                        "plugin names, e.g. {attribute} = ('wecom',)", name=name,
                        attribute=REQUIRES_ATTRIBUTE, declared=declared))


def _check_for_cycles(requirements: dict[str, tuple[str, ...]]) -> None:
    """:raises PluginError: some plugins require each other, naming them in order."""
    done: set[str] = set()

    def visit(path: list[str]) -> None:
        for required in requirements.get(path[-1], ()):
            if required in path:
                cycle = path[path.index(required):] + [required]
                raise PluginError(_cycle_message(cycle))
            if required in requirements and required not in done:
                visit(path + [required])
        done.add(path[-1])

    for name in requirements:
        if name not in done:
            visit([name])


def _cycle_message(cycle: list[str]) -> str:
    if len(cycle) == 2:
        return _("plugin {name!r} requires itself; remove {name!r} from its {attribute}",
                 name=cycle[0], attribute=REQUIRES_ATTRIBUTE)
    names = [repr(name) for name in cycle[:-1]]
    listed = _("{names} and {last}", names=listing(names[:-1]), last=names[-1])
    chain = _("{name} requires {required}", name=repr(cycle[0]), required=repr(cycle[1]))
    for name in cycle[2:]:
        chain = _("{chain}, which requires {required}", chain=chain, required=repr(name))
    return _("plugins {names} require each other in a cycle ({chain}); remove one of these "
             "requirements from {attribute}", names=listed, chain=chain,
             attribute=REQUIRES_ATTRIBUTE)


def get_plugin_manager(
    *,
    plugins: Iterable[Any] = (),
    load_entry_points: bool = True,
    disable: Iterable[str] | None = None,
) -> SiyuPluginManager:
    """Build a fresh plugin manager.

    :param plugins: extra plugin objects (modules or instances) registered after the
        built-ins, e.g. a test's temporary plugin. Named after their ``__name__`` or class.
    :param load_entry_points: load the ``siyu`` entry-point group (third-party plugins).
    :param disable: names to block; defaults to ``SIYU_DISABLE_PLUGINS``.
    :return: a :class:`SiyuPluginManager` with ``check_pending()`` already passed and the
        plugins whose requirements are not loaded disabled (``disabled_reasons``).
    :raises PluginError: a plugin implements a hook that does not exist (misspelt name), its
        ``siyu_requires`` is malformed, or plugins require each other in a cycle.
    """
    pm = SiyuPluginManager()
    blocked = list(disable) if disable is not None else _parse_blocklist(
        os.environ.get("SIYU_DISABLE_PLUGINS"))
    for name in blocked:
        pm.set_blocked(name)

    for module_name in DEFAULT_PLUGINS:
        parts = module_name.split(".")
        short = parts[-2] if parts[-1] == "plugin" else parts[-1]
        if pm.is_blocked(short):
            pm.sources[short] = ("built-in", "")
            continue
        pm.register_from(importlib.import_module(module_name), short, "built-in")

    if load_entry_points:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            source = f"entry point ({dist.name})" if dist else "entry point"
            version = dist.version if dist else ""
            if pm.is_blocked(ep.name):
                pm.sources[ep.name] = (source, version)
                continue
            if pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # broken third-party plugin: report, skip
                pm.load_errors[ep.name] = f"{type(exc).__name__}: {exc}"
                log.error("plugin %r failed to load and was skipped: %s", ep.name, exc)
                continue
            pm.register_from(plugin, ep.name, source, version)

    for plugin in plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        pm.register_from(plugin, name, "registered")

    # Before check_pending: a plugin disabled for want of another is not validated or called.
    pm.disable_unmet()
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_("{error}; check the hook name against docs/plugins.md",
                            error=exc)) from exc

    if os.environ.get("SIYU_TRACE_PLUGINS") == "1":
        def before(hook_name, hook_impls, kwargs):
            log.info("call %s(%s) -> %s", hook_name, ", ".join(kwargs),
                     [i.plugin_name for i in hook_impls])

        def after(outcome, hook_name, hook_impls, kwargs):
            try:
                log.info("%s returned %r", hook_name, outcome.get_result())
            except BaseException as exc:  # noqa: BLE001 - tracing must not raise
                log.info("%s raised %r", hook_name, exc)

        pm.add_hookcall_monitoring(before, after)
    return pm


def collect_records(pm: SiyuPluginManager, hook_name: str, kind: Any, **kwargs: Any) -> dict:
    """Call a ``register_*`` hook and index its records by name.

    :param kind: what a record is called in the error about a clash (``_.lazy("page")``).

    :raises PluginError: two plugins register the same name, or a plugin raises.
    """
    records: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for plugin_name, result in pm.call_each(hook_name, **kwargs):
        for record in result or []:
            if record.name in records:
                raise PluginError(
                    _("{kind} {name!r} is registered by both plugin {first!r} and plugin "
                      "{second!r}; rename one", kind=kind, name=record.name,
                      first=owners[record.name], second=plugin_name))
            records[record.name] = record
            owners[record.name] = plugin_name
    return records


def collect_state_prefixes(pm: SiyuPluginManager) -> dict[str, StatePrefix]:
    """Call ``register_state_prefixes`` and index the claims by prefix.

    :return: each :class:`~siyu.core.records.StatePrefix` with ``plugin`` set to the plugin
        that registered it.
    :raises PluginError: a prefix is malformed; two plugins claim one prefix, or one prefix
        starts another (naming both plugins); a record names another plugin; a plugin raises.
    """
    claims: dict[str, StatePrefix] = {}
    for plugin_name, result in pm.call_each("register_state_prefixes"):
        for record in result or []:
            claims[record.name] = _checked_claim(record, plugin_name, claims)
    return claims


def _checked_claim(record: Any, plugin_name: str,
                   claims: dict[str, StatePrefix]) -> StatePrefix:
    if not isinstance(record, StatePrefix):
        raise PluginError(_("plugin {name!r} returned {record!r} from "
                            "register_state_prefixes; return StatePrefix records, e.g. "
                            "StatePrefix('ex:', description='...')", name=plugin_name,
                            record=record))
    prefix = record.name
    if not isinstance(prefix, str) or not STATE_PREFIX_PATTERN.fullmatch(prefix):
        raise PluginError(_("plugin {name!r} claims WeCom state prefix {prefix!r}; a prefix "
                            "is 2 to 5 lowercase letters, digits, '_', '-', '.' or ':' ending "
                            "with ':', e.g. 'ex:'", name=plugin_name, prefix=prefix))
    if record.plugin and record.plugin != plugin_name:
        raise PluginError(_("plugin {name!r} claims state prefix {prefix!r} for plugin "
                            "{other!r}; a plugin claims prefixes for itself only, leave "
                            "plugin= empty", name=plugin_name, prefix=prefix,
                            other=record.plugin))
    for taken in claims.values():
        if taken.name == prefix:
            raise PluginError(_("state prefix {prefix!r} is registered by both plugin "
                                "{first!r} and plugin {second!r}; rename one", prefix=prefix,
                                first=taken.plugin, second=plugin_name))
        if prefix.startswith(taken.name) or taken.name.startswith(prefix):
            shorter, longer = sorted((prefix, taken.name), key=len)
            raise PluginError(_("state prefix {prefix!r} of plugin {name!r} overlaps prefix "
                                "{other_prefix!r} of plugin {other!r} (every state starting "
                                "with {longer!r} starts with {shorter!r}); choose a prefix "
                                "that no other prefix starts", prefix=prefix, name=plugin_name,
                                other_prefix=taken.name, other=taken.plugin, longer=longer,
                                shorter=shorter))
    return replace(record, plugin=plugin_name)
