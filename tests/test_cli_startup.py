"""The ``siyu`` command starts without the console: Panel and Bokeh are imported only when a
page is built or the server starts. The everyday commands import no more than they use:
neither Alembic (an up-to-date database is recognised without it), pandas, nor the Tornado
server behind ``siyu sandbox``'s options (a plugin command is set up only when it is run).

Each check runs in a fresh interpreter (this test process has long imported Panel) and looks
at ``sys.modules`` afterwards: a behavioural check, never a timing (see bench/cli_start.py for
the figures).

When one fails, find the import path with
``python -X importtime -m siyu --version 2>imports.txt`` and look for ``panel`` in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

import siyu
from siyu.core.errors import PluginError
from siyu.core.plugins import collect_records, get_plugin_manager, hookimpl
from siyu.core.records import CommandSpec, LazyCallable, PageSpec

#: Top-level packages only the console (pages, server) may import.
CONSOLE_ONLY = ("panel", "bokeh")

#: What ``siyu --version``, ``siyu plugins`` and ``siyu livecode list`` do not need either:
#: migrating (Alembic), frames (pandas), the sandbox server (Tornado, segno for its QR codes).
NOT_AT_START = (*CONSOLE_ONLY, "alembic", "pandas", "tornado", "segno")

#: The plugins' command modules, imported only when one of their commands runs.
COMMAND_MODULES = ("siyu.plugins.livecodes.commands", "siyu.plugins.livecodes.group_commands",
                   "siyu.plugins.wecom.commands", "siyu.plugins.wecom.sandbox.server",
                   "siyu.plugins.risk.commands")

#: Runs ``siyu.cli.main(argv)`` and writes the loaded top-level packages to a JSON file.
RUN_COMMAND = textwrap.dedent("""
    import json, sys
    from siyu.cli import main

    report, argv = sys.argv[1], sys.argv[2:]
    code = main(argv)
    with open(report, "w") as out:
        json.dump(sorted({name.split(".")[0] for name in sys.modules}), out)
    sys.exit(code)
""")

#: Like RUN_COMMAND, but reports every loaded module by its full name.
RUN_COMMAND_FULL = RUN_COMMAND.replace('{name.split(".")[0] for name in sys.modules}',
                                       "set(sys.modules)")

#: Loads every plugin's registrations the way the CLI and a notebook do: the parser with
#: every plugin command, and a workspace's pages, commands and jobs.
REGISTER_EVERYTHING = textwrap.dedent("""
    import json, sys
    import siyu
    from siyu.cli import build_parser, plugin_commands

    report, db = sys.argv[1], sys.argv[2]
    commands = plugin_commands()
    build_parser(commands)
    ws = siyu.open(db)
    try:
        names = {"commands": sorted(commands), "pages": sorted(ws.pages()),
                 "ws_commands": sorted(ws.commands()), "jobs": sorted(ws.jobs)}
    finally:
        ws.close()
    with open(report, "w") as out:
        json.dump({"names": names,
                   "modules": sorted({name.split(".")[0] for name in sys.modules})}, out)
""")


def _python(code: str, *argv: str, tmp_path) -> tuple[subprocess.CompletedProcess, object]:
    """Run ``code`` in a fresh interpreter; return the process and the JSON it reported."""
    report = tmp_path / f"report-{uuid.uuid4().hex}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env["SIYU_LANGUAGE"] = "en"  # what they read; zh: test_cli_language.py
    result = subprocess.run([sys.executable, "-c", code, str(report), *argv], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result, json.loads(report.read_text(encoding="utf-8"))


def _assert_no_console(modules, what: str, packages=CONSOLE_ONLY) -> None:
    loaded = [name for name in packages if name in modules]
    assert not loaded, (f"{what} imported {', '.join(loaded)}; only the commands that use them "
                        f"may (python -X importtime shows through which module)")


@pytest.fixture(scope="module")
def fresh_db(tmp_path_factory) -> str:
    """A new, migrated SQLite workspace with nothing in it."""
    path = tmp_path_factory.mktemp("startup") / "shop.db"
    siyu.open(f"sqlite:///{path}").close()
    return str(path)


# -- the CLI ----------------------------------------------------------------------------------


def test_version_does_not_import_the_console(tmp_path):
    result, modules = _python(RUN_COMMAND, "--version", tmp_path=tmp_path)
    assert result.stdout.strip() == f"siyu {siyu.__version__}"
    _assert_no_console(modules, "`siyu --version`", NOT_AT_START)


@pytest.mark.parametrize(("argv", "expected", "packages"), [
    (("plugins",), "livecodes", NOT_AT_START),
    (("livecode", "list"), "no live codes", NOT_AT_START),
    (("wecom", "status"), "last sync: never", CONSOLE_ONLY),
    (("user", "list"), "No users.", CONSOLE_ONLY),
    (("risk", "words", "list"), "no sensitive words", (*NOT_AT_START, "ahocorasick")),
], ids=["plugins", "livecode-list", "wecom-status", "user-list", "risk-words-list"])
def test_everyday_commands_do_not_import_the_console(tmp_path, fresh_db, argv, expected,
                                                     packages):
    result, modules = _python(RUN_COMMAND, "--db", fresh_db, *argv, tmp_path=tmp_path)
    assert expected in result.stdout
    _assert_no_console(modules, f"`siyu {' '.join(argv)}`", packages)


def test_only_the_chosen_plugin_command_is_set_up(tmp_path, fresh_db):
    _, modules = _python(RUN_COMMAND_FULL, "--version", tmp_path=tmp_path)
    assert not [name for name in COMMAND_MODULES if name in modules]
    _, modules = _python(RUN_COMMAND_FULL, "--db", fresh_db, "livecode", "list",
                         tmp_path=tmp_path)
    assert "siyu.plugins.livecodes.commands" in modules
    assert not [name for name in COMMAND_MODULES[1:] if name in modules]


def test_help_lists_every_command_without_setting_them_up(tmp_path):
    result, modules = _python(RUN_COMMAND_FULL, "--help", tmp_path=tmp_path)
    commands = {spec.name: spec.help for spec in
                collect_records(get_plugin_manager(), "register_commands", "command").values()}
    assert {"livecode", "groupcode", "wecom", "doctor", "sandbox"} <= set(commands)
    shown = " ".join(result.stdout.split())
    for name, text in commands.items():
        assert f"{name} {' '.join(str(text).split())}" in shown, name
    assert not [name for name in COMMAND_MODULES if name in modules]
    assert not {"tornado", "ahocorasick"} & {name.split(".")[0] for name in modules}


def test_a_plugin_command_is_set_up_for_its_own_help(capsys):
    from siyu.cli import main

    assert main(["sandbox", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--port" in out and "--db" in out
    assert main(["livecode", "create", "--help"]) == 0
    assert "--member USERID[:WEIGHT]" in capsys.readouterr().out


def _no_options(parser):
    raise RuntimeError("no options today")


BROKEN = CommandSpec("broken", "cannot set up", _no_options, lambda ws, args: 0)


def test_an_action_set_up_later_works_on_any_parser(capsys):
    import argparse

    from siyu.cli import main
    from siyu.plugins.livecodes.commands import configure

    parser = argparse.ArgumentParser()  # not siyu's: set up at once
    configure(parser)
    assert parser.parse_args(["check", "--per-minute", "7"]).per_minute == 7
    assert main(["livecode", "check", "--help"]) == 0  # siyu's: set up when asked
    assert "--per-minute" in capsys.readouterr().out


class BrokenOptions:
    """A plugin whose command fails to set up its options."""

    @hookimpl
    def register_commands(self):
        return [BROKEN]


def test_a_plugin_command_that_cannot_set_up_fails_only_itself(capsys, monkeypatch):
    from siyu.cli import main

    monkeypatch.setattr("siyu.cli.get_plugin_manager", lambda: get_plugin_manager(
        plugins=[BrokenOptions()], load_entry_points=False))
    assert main(["--version"]) == 0
    assert main(["--help"]) == 0
    assert "cannot set up" in capsys.readouterr().out
    assert main(["broken"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert err.startswith("siyu: error: plugin command 'broken' could not set up its "
                          "options: RuntimeError: no options today")


def test_build_parser_sets_up_every_command_unless_deferred():
    from siyu.cli import build_parser

    with pytest.raises(PluginError, match="'broken' could not set up its options"):
        build_parser({"broken": BROKEN})
    parser = build_parser({"broken": BROKEN}, defer=True)  # set up when parsed
    with pytest.raises(PluginError, match="no options today"):
        parser.parse_args(["broken"])


def test_registering_every_plugin_does_not_import_the_console(tmp_path, fresh_db):
    _, found = _python(REGISTER_EVERYTHING, fresh_db, tmp_path=tmp_path)
    # The registrations did happen: the checks below would pass vacuously otherwise.
    assert {"livecode", "groupcode", "wecom"} <= set(found["names"]["commands"])
    assert {"overview", "contacts", "livecodes", "wecom-settings"} <= set(
        found["names"]["pages"])
    assert found["names"]["jobs"]
    _assert_no_console(found["modules"], "building the parser and listing pages and jobs")


# -- lazy records ----------------------------------------------------------------------------


@pytest.fixture
def page_module(tmp_path, monkeypatch):
    """The name of a fresh, importable module that defines ``Page(ws)``; not imported yet."""
    name = f"lazy_page_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        class Page:
            def __init__(self, ws):
                self.ws = ws


        def run(ws, args):
            return 7


        def configure(parser):
            parser.add_argument("--shout", action="store_true")
    """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_a_page_given_by_import_path_is_imported_when_first_built(page_module):
    spec = PageSpec("lazy", "Lazy", f"{page_module}:Page")
    assert page_module not in sys.modules
    page = spec.factory("the workspace")
    assert page.ws == "the workspace"
    assert page_module in sys.modules


def test_a_command_run_given_by_import_path_is_imported_when_it_runs(page_module):
    spec = CommandSpec("lazy", "a lazy command", lambda parser: None, f"{page_module}:run")
    assert page_module not in sys.modules
    assert spec.run("ws", "args") == 7


def test_a_command_configure_given_by_import_path_is_imported_when_set_up(page_module):
    import argparse

    spec = CommandSpec("lazy", "a lazy command", f"{page_module}:configure",
                       f"{page_module}:run")
    assert page_module not in sys.modules
    parser = argparse.ArgumentParser()
    spec.configure(parser)
    assert parser.parse_args(["--shout"]).shout is True


def test_every_builtin_command_is_registered_by_import_paths_that_resolve():
    pm = get_plugin_manager(load_entry_points=False, disable=[])
    commands = collect_records(pm, "register_commands", "command")
    assert commands
    for spec in commands.values():
        for target in (spec.configure, spec.run):
            assert isinstance(target, LazyCallable), spec.name
            assert callable(target.resolve()), target.path


def test_plain_callables_are_kept_as_they_are():
    def build(ws):
        return ws

    assert PageSpec("plain", "Plain", build).factory is build


@pytest.mark.parametrize("path", ["no_such_module_for_siyu:Page", "siyu:NoSuchName",
                                  "no colon here", "siyu:__version__"])
def test_a_bad_import_path_fails_when_used_not_when_registered(path):
    spec = PageSpec("bad", "Bad", path)  # registering never fails: the console stays up
    with pytest.raises(PluginError, match="siyu|import path"):
        spec.factory("ws")


def test_every_builtin_page_is_registered_by_an_import_path_that_resolves():
    pm = get_plugin_manager(load_entry_points=False, disable=[])
    pages = collect_records(pm, "register_pages", "page", ws=None)
    assert pages
    for spec in pages.values():
        assert isinstance(spec.factory, LazyCallable), spec.name
        assert callable(spec.factory.resolve()), spec.factory.path
