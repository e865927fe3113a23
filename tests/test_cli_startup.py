"""The ``siyu`` command starts without the console: Panel and Bokeh are imported only when a
page is built or the server starts.

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
from siyu.core.plugins import collect_records, get_plugin_manager
from siyu.core.records import CommandSpec, LazyCallable, PageSpec

#: Top-level packages only the console (pages, server) may import.
CONSOLE_ONLY = ("panel", "bokeh")

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
    result = subprocess.run([sys.executable, "-c", code, str(report), *argv], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result, json.loads(report.read_text(encoding="utf-8"))


def _assert_no_console(modules, what: str) -> None:
    loaded = [name for name in CONSOLE_ONLY if name in modules]
    assert not loaded, (f"{what} imported {', '.join(loaded)}; only building a page or the "
                        f"server may (python -X importtime shows through which module)")


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
    _assert_no_console(modules, "`siyu --version`")


@pytest.mark.parametrize(("argv", "expected"), [
    (("plugins",), "livecodes"),
    (("livecode", "list"), "no live codes"),
    (("wecom", "status"), "last sync: never"),
    (("user", "list"), "No users."),
], ids=["plugins", "livecode-list", "wecom-status", "user-list"])
def test_everyday_commands_do_not_import_the_console(tmp_path, fresh_db, argv, expected):
    result, modules = _python(RUN_COMMAND, "--db", fresh_db, *argv, tmp_path=tmp_path)
    assert expected in result.stdout
    _assert_no_console(modules, f"`siyu {' '.join(argv)}`")


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
