"""The plugin manager: built-ins first, then the ``siyu`` entry-point group.

Environment:

``SIYU_DISABLE_PLUGINS=a,b``
    block plugins by name (built-in or entry point) before they load.
``SIYU_TRACE_PLUGINS=1``
    log every hook call and its result on the ``siyu.plugins`` logger.

A third-party plugin that raises while importing is reported by name (``load_errors``) and
skipped: a broken add-on must not take the console down. A plugin whose hook names are
misspelt fails loudly at load time (``check_pending``).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from siyu.core import hookspecs
from siyu.core.errors import PluginError

log = logging.getLogger("siyu.plugins")

hookimpl = pluggy.HookimplMarker("siyu")

ENTRY_POINT_GROUP = "siyu"

#: Built-in feature plugins, registered in this order before any entry point. A plugin is
#: named after its module, or after its package when the module is called ``plugin``.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "siyu.plugins.default_segments",
    "siyu.plugins.default_pages",
    "siyu.plugins.wecom.plugin",
    "siyu.plugins.livecodes.plugin",
)


@dataclass
class PluginInfo:
    """What ``siyu plugins`` shows for one plugin."""

    name: str
    source: str
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    blocked: bool = False
    error: str = ""


class SiyuPluginManager(pluggy.PluginManager):
    """A ``pluggy.PluginManager`` that remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__("siyu")
        self.add_hookspecs(hookspecs)
        self.sources: dict[str, tuple[str, str]] = {}
        self.load_errors: dict[str, str] = {}

    def register_from(self, plugin: Any, name: str, source: str, version: str = "") -> None:
        """Register ``plugin`` under ``name`` and remember its ``source`` for ``siyu plugins``."""
        if self.is_blocked(name):
            self.sources[name] = (source, version)
            return
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r} ({source}) does not match the hook specs: "
                              f"{exc}; check docs/plugins.md") from exc
        self.sources[name] = (source, version)

    def describe(self) -> list[PluginInfo]:
        """Every known plugin (loaded, blocked or broken) with the hooks it implements."""
        infos = []
        for name, (source, version) in self.sources.items():
            plugin = self.get_plugin(name)
            hooks = sorted(h.name for h in self.get_hookcallers(plugin) or []) if plugin else []
            infos.append(PluginInfo(name=name, source=source, version=version, hooks=hooks,
                                    blocked=self.is_blocked(name)))
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
                error = PluginError(f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                                    f"{type(exc).__name__}: {exc}")
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
    :return: a :class:`SiyuPluginManager` with ``check_pending()`` already passed.
    :raises PluginError: a plugin implements a hook that does not exist (misspelt name).
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

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{exc}; check the hook name against docs/plugins.md") from exc

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


def collect_records(pm: SiyuPluginManager, hook_name: str, kind: str, **kwargs: Any) -> dict:
    """Call a ``register_*`` hook and index its records by name.

    :raises PluginError: two plugins register the same name, or a plugin raises.
    """
    records: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for plugin_name, result in pm.call_each(hook_name, **kwargs):
        for record in result or []:
            if record.name in records:
                raise PluginError(
                    f"{kind} {record.name!r} is registered by both plugin "
                    f"{owners[record.name]!r} and plugin {plugin_name!r}; rename one")
            records[record.name] = record
            owners[record.name] = plugin_name
    return records
