"""`siyu wecom org-sync`: bad input is one `siyu: error: …` line naming the bad value, before
WeCom is called and with nothing stored; good input syncs the sandbox's chain."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from siyu.cli import main
from siyu.plugins.wecom.sandbox import Sandbox


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "shop.db"
    assert main(["init", "--db", str(path)]) == 0
    return path


@pytest.fixture
def db(tmp_path, template, capsys):
    capsys.readouterr()
    path = tmp_path / "shop.db"
    shutil.copy(template, path)
    return path


def run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def fingerprint(path: Path) -> dict:
    conn = sqlite3.connect(path)
    try:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        settings = dict(conn.execute("SELECT key, value FROM setting"))
    finally:
        conn.close()
    return {"counts": counts, "settings": settings}


CASES = [
    ("store-level-zero", ["--store-level", "0"], ["--store-level", "0"]),
    ("store-level-text", ["--store-level", "three"], ["--store-level", "'three'"]),
    ("store-level-too-deep", ["--store-level", "16"], ["--store-level", "16"]),
    ("region-level-negative", ["--region-level", "-1"], ["--region-level", "-1"]),
    ("region-not-above-store", ["--store-level", "2", "--region-level", "2"],
     ["region level 2", "store level 2"]),
    ("region-below-default-store", ["--region-level", "4"], ["region level 4"]),
    ("skip-not-ids", ["--skip", "12,华东"], ["'华东'", "department id"]),
    ("skip-zero", ["--skip", "0"], ["'0'"]),
    ("bad-save", ["--store-level", "2", "--region-level", "3", "--save"], ["region level 3"]),
    ("unconfigured", [], ["WeCom is not configured"]),
]


@pytest.mark.parametrize("options, fragments", [pytest.param(o, f, id=i) for i, o, f in CASES])
def test_bad_input_is_one_line_and_stores_nothing(capsys, db, options, fragments):
    before = fingerprint(db)
    code, out, err = run(capsys, ["--db", db, "wecom", "org-sync", *options])
    assert "Traceback" not in out + err
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siyu: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert fingerprint(db) == before


def _configure(capsys, db, sandbox):
    assert main(["--db", str(db), "wecom", "config", "--corp-id", sandbox.corp_id,
                 "--secret", sandbox.secret, "--base-url", sandbox.base_url]) == 0
    capsys.readouterr()


def test_a_store_level_the_tree_does_not_have_is_one_line_and_writes_nothing(capsys, db):
    with Sandbox(seed=3) as sandbox:
        _configure(capsys, db, sandbox)
        before = fingerprint(db)
        code, out, err = run(capsys, ["--db", db, "wecom", "org-sync", "--store-level", "6"])
    assert code == 2 and err.count("\n") == 1
    assert "store level 6" in err and "3 levels deep" in err
    assert fingerprint(db) == before


def test_org_sync_prints_what_it_did_and_can_save_its_options(capsys, db):
    with Sandbox(seed=3) as sandbox:
        _configure(capsys, db, sandbox)
        code, out, err = run(capsys, ["--db", db, "wecom", "org-sync", "--store-level", "3",
                                      "--region-level", "2", "--save"])
        assert code == 0, err
        assert "stores 3 new" in out and "staff 5 new" in out
        code, out, err = run(capsys, ["--db", db, "wecom", "org-sync"])
    assert code == 0 and "3 unchanged" in out and "5 unchanged" in out
    conn = sqlite3.connect(db)
    try:
        saved = dict(conn.execute("SELECT key, value FROM setting WHERE key LIKE 'wecom.org.%'"))
    finally:
        conn.close()
    assert (saved["wecom.org.store_level"], saved["wecom.org.region_level"]) == (3, 2)
