"""The language ``siyu`` speaks: Chinese unless told otherwise; ``--lang`` first, then
``SIYU_LANGUAGE``, then the workspace's ``language`` setting; the commands that show and
set the workspace's and each user's language.

The other CLI tests read English (``SIYU_LANGUAGE=en``, from tests/conftest.py); these
expect each message in the language chosen, translated through the catalogue, so a
rewording does not break them but a missing translation does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import siyu
from siyu.cli import main
from siyu.core.i18n import DEFAULT_LANGUAGE, core, current_language, use_language

NO_USERS = "No users. Add one with `siyu user add NAME --role admin`."
NO_PLUGINS_HELP = "list plugins and their hooks"


def chinese(message: str, **values) -> str:
    """``message`` in Chinese; fails when the catalogue does not translate it."""
    with use_language("zh_CN"):
        text = core(message, **values)
    assert text != message.format(**values) if values else text != message, (
        f"{message!r} has no Chinese translation")
    return text


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No language, database or plugin choice from the developer's shell."""
    for name in ("SIYU_LANGUAGE", "SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS",
                 "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "shop.db"
    siyu.open(str(path), load_entry_points=False).close()
    return str(path)


def run(capsys, *argv):
    """Run `siyu argv…` in this process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def siyu_command(*argv, language: str | None, cwd) -> subprocess.CompletedProcess:
    """Run the installed ``siyu`` command (``SIYU_LANGUAGE`` unset when ``language`` is
    ``None``)."""
    script = Path(sys.executable).with_name("siyu")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "siyu"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    if language is not None:
        env["SIYU_LANGUAGE"] = language
    return subprocess.run([*command, *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


# -- the real command ---------------------------------------------------------------------------


def test_the_command_speaks_chinese_by_default(db, tmp_path):
    result = siyu_command("--db", db, "user", "list", language=None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == chinese(NO_USERS)
    result = siyu_command("--help", language=None, cwd=tmp_path)
    assert chinese(NO_PLUGINS_HELP) in result.stdout
    assert chinese("usage: ").strip() in result.stdout     # argparse's own words too
    assert "usage:" not in result.stdout


@pytest.mark.parametrize(("argv", "language"), [
    (["--lang", "en"], None), ([], "en"), (["--lang=en_US"], "zh_CN")],
    ids=["--lang", "SIYU_LANGUAGE", "--lang-beats-SIYU_LANGUAGE"])
def test_the_command_speaks_english_when_asked(db, tmp_path, argv, language):
    result = siyu_command(*argv, "--db", db, "user", "list", language=language, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == NO_USERS


def test_errors_are_chinese_too_with_the_same_prefix(tmp_path):
    result = siyu_command("--db", str(tmp_path / "x.db"), "init", "--timezone", "Mars/Base",
                          language=None, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "siyu: error: " + chinese(
        "unknown timezone {value!r}; use an IANA name such as Asia/Shanghai",
        value="Mars/Base")


def test_version_reads_no_catalogue(tmp_path):
    code = ("import sys; from siyu.cli import main; main(['--version']); "
            "print(sorted(m for m in sys.modules if m.startswith('babel')))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


# -- the order: --lang, SIYU_LANGUAGE, the workspace, Chinese ----------------------------------


def test_the_workspace_language_applies_when_nothing_else_chose(capsys, db, monkeypatch):
    assert run(capsys, "--db", db, "user", "list")[1].strip() == chinese(NO_USERS)
    code, out, _ = run(capsys, "--db", db, "settings", "language", "en")
    assert code == 0 and "English (en)" in out                    # said in the new language
    assert run(capsys, "--db", db, "user", "list")[1].strip() == NO_USERS
    code, out, _ = run(capsys, "--lang", "zh", "--db", db, "user", "list")
    assert out.strip() == chinese(NO_USERS)                       # --lang beats it
    monkeypatch.setenv("SIYU_LANGUAGE", "zh_CN")
    assert run(capsys, "--db", db, "user", "list")[1].strip() == chinese(NO_USERS)
    assert run(capsys, "--db", db, "user", "list", "--lang", "en")[1].strip() == NO_USERS


def test_the_process_language_is_given_back_after_a_command(capsys, db):
    import argparse
    import gettext

    assert current_language() == DEFAULT_LANGUAGE
    run(capsys, "--lang", "en", "--db", db, "user", "list")
    assert current_language() == DEFAULT_LANGUAGE
    run(capsys, "--db", db, "settings", "language", "en")
    run(capsys, "--db", db, "user", "list")
    assert current_language() == DEFAULT_LANGUAGE
    assert "用法" in run(capsys, "--help")[1]                   # argparse's words, in Chinese
    assert argparse._ is gettext.gettext                          # only while siyu ran


@pytest.mark.parametrize("argv", [
    ["--lang", "fr", "plugins"], ["--lang=", "plugins"], ["plugins", "--lang"]])
def test_an_unknown_lang_is_one_line_naming_the_languages(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("siyu: error: ")
    assert "zh_CN" in err and "en" in err


def test_an_unknown_siyu_language_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("SIYU_LANGUAGE", "fr")
    code, _, err = run(capsys, "plugins")
    assert code == 2 and err.startswith("siyu: error: SIYU_LANGUAGE='fr'")
    assert "zh_CN" in err
    assert run(capsys, "--lang", "en", "plugins")[0] == 0         # --lang needs no fallback


# -- siyu init --language, siyu settings language ----------------------------------------------


def test_init_stores_the_language(capsys, tmp_path):
    db = str(tmp_path / "new.db")
    code, out, _ = run(capsys, "--db", db, "init", "--language", "en", "--name", "Shop")
    assert code == 0
    assert out.startswith("Created workspace 'Shop'") and "language en" in out
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.language == "en"
    code, out, _ = run(capsys, "--db", db, "init", "--language", "中文")
    assert code == 0 and "zh_CN" in out
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.language == "zh_CN"


def test_init_without_language_leaves_it_to_the_environment(capsys, tmp_path, monkeypatch):
    db = str(tmp_path / "new.db")
    assert run(capsys, "--db", db, "init")[0] == 0
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.settings.get("language", None) is None
        monkeypatch.setenv("SIYU_LANGUAGE", "en")
        assert ws.language == "en"


def test_settings_show_and_language(capsys, db):
    code, out, _ = run(capsys, "--lang", "en", "--db", db, "settings", "show")
    assert code == 0
    assert "timezone  Asia/Shanghai" in out and "not set" in out
    code, out, _ = run(capsys, "--lang", "en", "--db", db, "settings", "language")
    assert out.startswith("workspace language: 简体中文 (zh_CN; not set")
    assert run(capsys, "--db", db, "settings", "language", "en")[0] == 0
    code, out, _ = run(capsys, "--db", db, "settings", "language")
    assert out.strip() == "workspace language: English (en)"


@pytest.mark.parametrize("argv", [
    ["init", "--language", "fr"], ["settings", "language", "klingon"],
    ["user", "language", "ada", "fr"]])
def test_an_unknown_language_is_refused_before_anything_is_stored(capsys, db, argv):
    code, _, err = run(capsys, "--lang", "en", "--db", db, *argv)
    assert code == 2
    assert "unknown language" in err and "zh_CN (简体中文), en (English)" in err
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.settings.get("language", None) is None


# -- siyu user language -----------------------------------------------------------------------


def test_user_language_shows_sets_and_resets(capsys, db):
    assert run(capsys, "--db", db, "user", "add", "ada", "--role", "operator",
               "--password", "long-enough")[0] == 0
    code, out, _ = run(capsys, "--lang", "en", "--db", db, "user", "language", "ada")
    assert out.strip() == "ada: the workspace's language, now 简体中文 (zh_CN)"
    code, out, _ = run(capsys, "--lang", "en", "--db", db, "user", "language", "ada", "en_US")
    assert code == 0 and out.strip() == "ada: English (en)"
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.users.principal("ada").language == "en"
    code, out, _ = run(capsys, "--lang", "en", "--db", db, "user", "list")
    assert "ada  operator  language en" in out
    code, out, _ = run(capsys, "--lang", "en", "--db", db, "user", "language", "ada",
                       "default")
    assert out.strip() == "ada: the workspace's language, now 简体中文 (zh_CN)"
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.users.principal("ada").language is None


def test_user_language_of_an_unknown_user_is_one_line(capsys, db):
    for argv in (["ghost"], ["ghost", "en"]):
        code, _, err = run(capsys, "--lang", "en", "--db", db, "user", "language", *argv)
        assert code == 2 and err.strip() == "siyu: error: unknown user 'ghost'"


# -- a plugin command's lazily translated help --------------------------------------------------


def test_a_plugin_commands_lazy_help_is_translated_only_when_shown(capsys, monkeypatch,
                                                                  tmp_path):
    from siyu.core.i18n import translator
    from siyu.core.plugins import get_plugin_manager, hookimpl
    from siyu.core.records import CommandSpec

    po = tmp_path / "coupons" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "hand out coupons"\nmsgstr "发放优惠券"\n', encoding="utf-8")
    _ = translator(str(tmp_path / "coupons"))
    read = []
    catalogue = _.catalogue
    monkeypatch.setattr(_, "catalogue", lambda language: read.append(language) or
                        catalogue(language))

    class Coupons:
        @hookimpl
        def register_commands(self):
            return [CommandSpec("coupons", _.lazy("hand out coupons"), lambda parser: None,
                                lambda ws, args: 0)]

    monkeypatch.setattr("siyu.cli.get_plugin_manager", lambda: get_plugin_manager(
        plugins=[Coupons()], load_entry_points=False))
    assert run(capsys, "plugins")[0] == 0
    assert read == []                                 # not shown: its catalogue is not read
    code, out, _err = run(capsys, "--help")
    assert code == 0 and "发放优惠券" in out
    code, out, _err = run(capsys, "--lang", "en", "coupons", "--help")
    assert code == 0 and "hand out coupons" in out
