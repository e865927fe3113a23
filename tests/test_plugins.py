"""The plugin contract: discovery, blocking, tracing, and what a broken plugin may not break.

Third-party plugins are real distributions, built and installed with pip into a temporary
folder that goes on ``sys.path`` for the test. Temporary in-test plugins are passed to
``siyu.open(..., plugins=[...])`` so they live only as long as that workspace.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import siyu
from siyu import hookimpl
from siyu.core.errors import PluginError
from siyu.core.plugins import get_plugin_manager
from siyu.core.records import ChannelSpec

TINYPLUG = '''\
"""A tiny third-party plugin: records every on_contact_added call as an event."""

import uuid

from siyu import hookimpl


@hookimpl
def on_contact_added(ws, contact, via):
    # A fresh dedupe key per call, so a second call would show as a second event.
    ws.events.record("tinyplug.added", dedupe_key=f"tinyplug:{uuid.uuid4()}",
                     contact_id=contact.id, source="tinyplug",
                     payload={"via": via, "external_userid": contact.external_userid})
'''

BROKENPLUG = '''\
"""A plugin whose import fails, as a plugin with a missing dependency would."""

raise RuntimeError("brokenplug needs the 'frobnicate' package")
'''


def _install(root: Path, dist: str, version: str, module: str, source: str) -> Path:
    """Build the one-module distribution ``dist`` with a ``siyu`` entry point named after
    ``module`` and pip-install it into ``root / "site"``; returns that folder."""
    package = root / "src"
    package.mkdir(parents=True)
    (package / f"{module}.py").write_text(source, encoding="utf-8")
    (package / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "{version}"

        [project.entry-points.siyu]
        {module} = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
        """), encoding="utf-8")
    site = root / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--disable-pip-version-check", "--target", str(site),
         str(package)],
        capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"could not pip-install the test plugin {dist} (building it offline needs "
                    f"setuptools>=70.1, or setuptools with the wheel package, in the test "
                    f"environment):\n{result.stderr}")
    return site


@pytest.fixture(scope="session")
def tinyplug_site(tmp_path_factory) -> Path:
    return _install(tmp_path_factory.mktemp("tinyplug"), "siyu-tinyplug", "0.3.1",
                    "tinyplug", TINYPLUG)


@pytest.fixture(scope="session")
def brokenplug_site(tmp_path_factory) -> Path:
    return _install(tmp_path_factory.mktemp("brokenplug"), "siyu-brokenplug", "1.0.0",
                    "brokenplug", BROKENPLUG)


def _on_path(monkeypatch, site: Path, module: str):
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    sys.modules.pop(module, None)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    """No plugin switches inherited from the shell running the tests."""
    monkeypatch.delenv("SIYU_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SIYU_TRACE_PLUGINS", raising=False)


@pytest.fixture
def tinyplug(monkeypatch, tinyplug_site):
    """The installed ``tinyplug`` distribution, importable for this test only."""
    _on_path(monkeypatch, tinyplug_site, "tinyplug")
    yield tinyplug_site
    sys.modules.pop("tinyplug", None)


@pytest.fixture
def brokenplug(monkeypatch, brokenplug_site):
    """The installed ``brokenplug`` distribution, importable for this test only."""
    _on_path(monkeypatch, brokenplug_site, "brokenplug")
    yield brokenplug_site
    sys.modules.pop("brokenplug", None)


def _siyu_plugins(site: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m siyu plugins`` with ``site`` on the import path."""
    environ = {k: v for k, v in os.environ.items()
               if k not in ("SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS")}
    environ["PYTHONPATH"] = os.pathsep.join(
        [str(site)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    environ["SIYU_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "siyu", "plugins"], capture_output=True,
                          text=True, cwd=tmp_path, env=environ, timeout=120)


def _line_of(output: str, name: str) -> tuple[str, str]:
    """The line that starts with plugin ``name`` and the line after it."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.split()[:1] == [name]:
            return line, lines[i + 1] if i + 1 < len(lines) else ""
    raise AssertionError(f"no line for plugin {name!r} in:\n{output}")


# -- in-test plugins ------------------------------------------------------------------------


class Recorder:
    """Remembers every contact it is told about."""

    def __init__(self):
        self.added: list[tuple[str, str]] = []

    @hookimpl
    def on_contact_added(self, ws, contact, via):
        self.added.append((contact.external_userid, via))


class Boom:
    """Fails in on_contact_added, as a buggy plugin would."""

    @hookimpl
    def on_contact_added(self, ws, contact, via):
        raise RuntimeError(f"no welcome template for {contact.external_userid}")


# -- discovery ------------------------------------------------------------------------------


def test_entry_point_plugin_is_discovered_with_its_distribution(tinyplug):
    pm = get_plugin_manager()
    info = {info.name: info for info in pm.describe()}["tinyplug"]
    assert pm.get_plugin("tinyplug") is sys.modules["tinyplug"]
    assert info.source == "entry point (siyu-tinyplug)"
    assert info.version == "0.3.1"
    assert info.hooks == ["on_contact_added"]


def test_built_ins_are_registered_before_entry_points(tinyplug):
    names = [info.name for info in get_plugin_manager().describe()]
    assert names.index("default_segments") < names.index("tinyplug")


def test_plugins_passed_in_are_registered_last_and_named_after_their_class(tinyplug):
    pm = get_plugin_manager(plugins=[Recorder()])
    infos = pm.describe()
    assert [info.name for info in infos][-1] == "Recorder"
    assert infos[-1].source == "registered"


def test_module_plugin_passed_in_is_named_after_its_module():
    plugin = types.ModuleType("shop_hooks")
    plugin.on_contact_added = hookimpl(lambda contact: None)
    pm = get_plugin_manager(plugins=[plugin], load_entry_points=False)
    assert pm.get_plugin("shop_hooks") is plugin


def test_new_contact_fires_entry_point_plugin_once_with_via_api(db_url, tinyplug):
    with siyu.open(db_url) as ws:
        contact, created = ws.contacts.upsert("wm_tiny_1", name="王芳")
        events = ws.events.df(kind="tinyplug.added")
    assert created
    assert len(events) == 1
    assert events.iloc[0]["contact_id"] == contact.id
    assert events.iloc[0]["payload"] == {"via": "api", "external_userid": "wm_tiny_1"}


def test_upserting_a_known_contact_again_does_not_fire_on_contact_added(db_url, tinyplug):
    with siyu.open(db_url) as ws:
        ws.contacts.upsert("wm_tiny_1", name="王芳")
        _contact, created = ws.contacts.upsert("wm_tiny_1", name="王芳芳", city="上海")
        events = ws.events.df(kind="tinyplug.added")
    assert not created
    assert len(events) == 1


# -- blocking -------------------------------------------------------------------------------


def test_disabled_entry_point_plugin_is_not_called(db_url, tinyplug, monkeypatch):
    monkeypatch.setenv("SIYU_DISABLE_PLUGINS", "tinyplug")
    with siyu.open(db_url) as ws:
        ws.contacts.upsert("wm_tiny_1")
        assert ws.pm.get_plugin("tinyplug") is None
        assert ws.events.df(kind="tinyplug.added").empty


def test_disabled_entry_point_plugin_is_listed_as_blocked_and_not_imported(tinyplug,
                                                                          monkeypatch):
    monkeypatch.setenv("SIYU_DISABLE_PLUGINS", "someother, tinyplug")
    info = {info.name: info for info in get_plugin_manager().describe()}["tinyplug"]
    assert info.blocked
    assert info.hooks == []
    assert "tinyplug" not in sys.modules


def test_built_in_plugin_can_be_disabled_by_its_short_name(monkeypatch):
    monkeypatch.setenv("SIYU_DISABLE_PLUGINS", "default_segments")
    pm = get_plugin_manager(load_entry_points=False)
    assert pm.get_plugin("default_segments") is None
    assert "default_segments" not in {impl.plugin_name for impl in
                                      pm.hook.register_segment_rules.get_hookimpls()}


def test_disable_argument_overrides_the_environment(tinyplug, monkeypatch):
    monkeypatch.setenv("SIYU_DISABLE_PLUGINS", "tinyplug")
    pm = get_plugin_manager(disable=["default_segments"])
    assert pm.get_plugin("tinyplug") is not None
    assert pm.get_plugin("default_segments") is None


# -- the `siyu plugins` command -------------------------------------------------------------


def test_siyu_plugins_lists_entry_point_plugin_with_source_version_and_hooks(tinyplug_site,
                                                                            tmp_path):
    result = _siyu_plugins(tinyplug_site, tmp_path)
    assert result.returncode == 0, result.stderr
    line, hooks = _line_of(result.stdout, "tinyplug")
    assert "entry point (siyu-tinyplug)" in line
    assert "0.3.1" in line
    assert hooks.startswith((" ", "\t"))
    assert hooks.strip() == "hooks: on_contact_added"


def test_siyu_plugins_marks_disabled_plugin(tinyplug_site, tmp_path):
    result = _siyu_plugins(tinyplug_site, tmp_path, SIYU_DISABLE_PLUGINS="tinyplug")
    assert result.returncode == 0, result.stderr
    line, _next = _line_of(result.stdout, "tinyplug")
    assert "(disabled)" in line


def test_siyu_plugins_reports_plugin_that_failed_to_load(brokenplug_site, tmp_path):
    result = _siyu_plugins(brokenplug_site, tmp_path)
    assert result.returncode == 0, result.stderr
    line, _next = _line_of(result.stdout, "brokenplug")
    assert "failed to load:" in line
    assert "RuntimeError: brokenplug needs the 'frobnicate' package" in line
    assert _line_of(result.stdout, "default_segments")[1].strip().startswith("hooks:")


# -- broken plugins ---------------------------------------------------------------------------


def test_plugin_that_fails_to_import_is_reported_by_name_and_skipped(brokenplug, caplog):
    caplog.set_level(logging.ERROR, logger="siyu.plugins")
    pm = get_plugin_manager()
    assert pm.load_errors["brokenplug"] == (
        "RuntimeError: brokenplug needs the 'frobnicate' package")
    assert pm.get_plugin("brokenplug") is None
    assert pm.get_plugin("default_segments") is not None
    assert any("brokenplug" in record.getMessage() for record in caplog.records
               if record.name == "siyu.plugins")


def test_workspace_opens_despite_a_plugin_that_fails_to_import(db_url, brokenplug):
    with siyu.open(db_url) as ws:
        _contact, created = ws.contacts.upsert("wm_1", name="李雷")
        assert created
        assert "brokenplug" in ws.pm.load_errors


def test_misspelt_hook_name_is_a_plugin_error_naming_the_hook():
    plugin = types.ModuleType("typoplug")

    @hookimpl
    def on_contact_addded(ws, contact, via):
        """Misspelt: three d's."""

    plugin.on_contact_addded = on_contact_addded
    with pytest.raises(PluginError, match="on_contact_addded") as err:
        get_plugin_manager(plugins=[plugin], load_entry_points=False)
    assert "typoplug" in str(err.value)


def test_misspelt_hook_name_stops_the_workspace_from_opening(db_url):
    class Typo:
        @hookimpl
        def register_channel(self):
            return []

    with pytest.raises(PluginError, match="register_channel"):
        siyu.open(db_url, plugins=[Typo()], load_entry_points=False)


def test_unknown_hook_argument_is_a_plugin_error_naming_the_argument():
    class WrongArgument:
        @hookimpl
        def on_contact_added(self, ws, contact, channel):
            pass

    with pytest.raises(PluginError, match="channel"):
        get_plugin_manager(plugins=[WrongArgument()], load_entry_points=False)


def test_contact_is_stored_when_a_plugin_raises_in_on_contact_added(db_url):
    with siyu.open(db_url, plugins=[Boom()], load_entry_points=False) as ws:
        contact, created = ws.contacts.upsert("wm_1", name="韩梅梅")
        assert created
        assert ws.contacts.get("wm_1").id == contact.id
        assert ws.contacts.count() == 1


def test_plugin_raising_in_a_notification_hook_is_stored_as_plugin_error_event(db_url):
    with siyu.open(db_url, plugins=[Boom()], load_entry_points=False) as ws:
        ws.contacts.upsert("wm_1")
        errors = ws.events.df(kind="plugin.error")
    assert len(errors) == 1
    assert errors.iloc[0]["source"] == "on_contact_added"
    message = errors.iloc[0]["payload"]["error"]
    assert "'Boom'" in message
    assert "no welcome template for wm_1" in message


@pytest.mark.parametrize("order", [
    "failing plugin runs last",
    "failing plugin runs first",
])
def test_other_plugins_still_get_the_call_when_one_raises(db_url, order):
    recorder = Recorder()
    # Plugins registered later are called first.
    plugins = [Boom(), recorder] if order == "failing plugin runs last" else [recorder, Boom()]
    with siyu.open(db_url, plugins=plugins, load_entry_points=False) as ws:
        ws.contacts.upsert("wm_1")
    assert recorder.added == [("wm_1", "api")]


def test_two_plugins_registering_one_channel_name_is_an_error_naming_both(db_url):
    class SmsBao:
        @hookimpl
        def register_channels(self):
            return [ChannelSpec("sms", title="SMS via smsbao")]

    class AliyunSms:
        @hookimpl
        def register_channels(self):
            return [ChannelSpec("sms", title="SMS via Aliyun")]

    with siyu.open(db_url, plugins=[SmsBao(), AliyunSms()], load_entry_points=False) as ws:
        with pytest.raises(PluginError) as err:
            ws.channels  # noqa: B018 - the lookup is what raises
    message = str(err.value)
    assert "'sms'" in message
    assert "'SmsBao'" in message
    assert "'AliyunSms'" in message


# -- tracing --------------------------------------------------------------------------------


def test_trace_logs_notification_hook_calls_with_the_plugin(db_url, monkeypatch, caplog):
    monkeypatch.setenv("SIYU_TRACE_PLUGINS", "1")
    caplog.set_level(logging.INFO, logger="siyu.plugins")
    with siyu.open(db_url, plugins=[Recorder()], load_entry_points=False) as ws:
        ws.contacts.upsert("wm_1")
    messages = [r.getMessage() for r in caplog.records if r.name == "siyu.plugins"]
    assert any("Recorder.on_contact_added(ws, contact, via)" in m for m in messages), messages


def test_trace_logs_hook_calls_made_through_the_hook_relay(monkeypatch, caplog):
    class AutoReply:
        @hookimpl
        def on_message_received(self, ws, contact, message):
            return {"type": "text", "content": "您好"}

    monkeypatch.setenv("SIYU_TRACE_PLUGINS", "1")
    caplog.set_level(logging.INFO, logger="siyu.plugins")
    pm = get_plugin_manager(plugins=[AutoReply()], load_entry_points=False)
    reply = pm.hook.on_message_received(ws=None, contact=None,
                                        message={"type": "text", "content": "在吗"})
    assert reply == {"type": "text", "content": "您好"}
    messages = [r.getMessage() for r in caplog.records if r.name == "siyu.plugins"]
    assert any("on_message_received" in m and "AutoReply" in m for m in messages), messages
    assert any("您好" in m for m in messages), messages


def test_hook_calls_are_not_logged_without_trace(db_url, caplog):
    caplog.set_level(logging.DEBUG, logger="siyu.plugins")
    with siyu.open(db_url, plugins=[Recorder()], load_entry_points=False) as ws:
        ws.contacts.upsert("wm_1")
    assert [r for r in caplog.records if r.name == "siyu.plugins"] == []
