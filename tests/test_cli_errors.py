"""Every `siyu` command given bad input: exit 2, one `siyu: error: …` line naming the bad
value, no traceback, and nothing half-written.

The table runs each bad invocation through the real entry point (``siyu.cli.main``) against a
real workspace file; the workspace starts empty, so "nothing stored" means every table keeps
its row count and every setting its value. Errors must come before any WeCom call: the
table's workspace has no WeCom settings, so a command that reached WeCom would fail with
"WeCom is not configured" instead of naming the bad value, and the wired tests at the end
check the sandbox received nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from siyu.cli import main
from siyu.plugins.wecom.sandbox.testing import wired_workspace

SOME_PG = "postgresql://nobody:sekrit@127.0.0.1:1/x"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The CLI reads these; a developer's shell must not change what the tests see."""
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """An empty workspace made by `siyu init`, copied for each test (init once is faster)."""
    path = tmp_path_factory.mktemp("template") / "shop.db"
    assert main(["init", "--db", str(path)]) == 0
    return path


@pytest.fixture
def db(tmp_path, template, capsys):
    """A fresh copy of the empty workspace, and the files the table's cases name."""
    capsys.readouterr()
    path = tmp_path / "shop.db"
    shutil.copy(template, path)
    (tmp_path / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 40)
    (tmp_path / "renamed.xlsx").write_text("门店,员工\nSH001,zhangsan\n", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "hollow.xlsx", "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "stores.csv").write_text("门店,员工\n", encoding="utf-8")
    (tmp_path / "junk.db").write_text("shopping list\n" * 200)
    (tmp_path / "words.txt").write_text("[引流]\n加微信\n[坏\n", encoding="utf-8")
    return path


def run(capsys, argv):
    """Run `siyu argv…` in-process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *fragments):
    """Exit 2, exactly one stderr line `siyu: error: …` holding ``fragments``, no
    traceback anywhere."""
    assert "Traceback" not in out + err
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("siyu: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def fingerprint(path: Path) -> dict:
    """Row count of every table and every setting of the SQLite workspace at ``path``."""
    conn = sqlite3.connect(path)
    try:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        settings = dict(conn.execute("SELECT key, value FROM setting"))
    finally:
        conn.close()
    return {"counts": counts, "settings": settings}


# -- the table: one or more bad inputs for every command and sub-command --------------------
#
# Each case: argv (``@db`` the workspace file, ``@tmp`` the test's folder; ``--db @db`` is put
# in front unless the case gives its own --db first) and fragments the error line must hold.

CASES = [
    # the `siyu` command itself
    ("no-command", [], ["COMMAND"]),
    ("unknown-command", ["nope"], ["'nope'"]),
    ("unknown-option", ["plugins", "--verbose"], ["--verbose"]),
    # init
    ("init-timezone", ["init", "--timezone", "Mars/Olympus"], ["'Mars/Olympus'"]),
    ("init-empty-name", ["init", "--name", ""], ["--name", "empty"]),
    ("init-missing-folder", ["--db", "/nonexistent/dir/x.db", "init"], ["/nonexistent/dir"]),
    ("init-postgres-down", ["--db", SOME_PG, "init"], ["127.0.0.1:1", "Connection refused"]),
    ("init-language", ["init", "--language", "klingon"], ["'klingon'", "zh_CN"]),
    ("lang-unknown", ["--lang", "fr", "plugins"], ["'fr'", "zh_CN"]),
    ("lang-without-value", ["plugins", "--lang"], ["--lang", "zh_CN"]),
    # settings
    ("settings-no-action", ["settings"], ["ACTION"]),
    ("settings-show-missing-folder", ["--db", "/nonexistent/dir/x.db", "settings", "show"],
     ["/nonexistent/dir"]),
    ("settings-language-unknown", ["settings", "language", "fr"], ["'fr'", "zh_CN"]),
    ("settings-language-postgres-down", ["--db", SOME_PG, "settings", "language", "en"],
     ["127.0.0.1:1"]),
    # i18n
    ("i18n-no-action", ["i18n"], ["ACTION"]),
    ("i18n-check-unknown-package", ["i18n", "check", "--package", "no_such_pkg_for_siyu"],
     ["'no_such_pkg_for_siyu'"]),
    ("i18n-update-english", ["i18n", "update", "--language", "en"], ["English"]),
    # db
    ("db-no-action", ["db"], ["ACTION"]),
    ("db-upgrade-missing-folder", ["--db", "/nonexistent/dir/x.db", "db", "upgrade"],
     ["/nonexistent/dir"]),
    ("db-upgrade-junk-file", ["--db", "@tmp/junk.db", "db", "upgrade"], ["not a database"]),
    ("db-status-junk-file", ["--db", "@tmp/junk.db", "db", "status"], ["not a database"]),
    ("db-status-postgres-down", ["--db", SOME_PG, "db", "status"], ["127.0.0.1:1"]),
    ("db-upgrade-folder", ["--db", "@tmp/folder.csv", "db", "upgrade"], ["folder.csv"]),
    # import
    ("import-no-kind", ["import"], ["KIND"]),
    ("import-order-lines-no-number", ["import", "order-lines", "@tmp/stores.csv"],
     ["order number"]),
    # segment
    ("segment-no-action", ["segment"], ["ACTION"]),
    ("segment-list-postgres-down", ["--db", SOME_PG, "segment", "list"], ["127.0.0.1:1"]),
    ("segment-rules-postgres-down", ["--db", SOME_PG, "segment", "rules"], ["127.0.0.1:1"]),
    ("segment-show-unknown", ["segment", "show", "nope"], ["'nope'"]),
    ("segment-count-nothing", ["segment", "count"], ["--json"]),
    ("segment-count-negative-window", ["segment", "count", "--spec",
                                       '{"all": [{"orders": {"within_days": -3}}]}'],
     ["all[0].orders.within_days", "-3"]),
    ("segment-count-missing-file", ["segment", "count", "--json", "@tmp/nope.json"],
     ["nope.json"]),
    ("segment-preview-bad-json", ["segment", "preview", "--spec", "{bad"], ["JSON"]),
    ("segment-explain-unknown-rule", ["segment", "explain", "--spec", '{"ordrs": {}}'],
     ["'ordrs'", "'orders'"]),
    ("segment-create-empty-any", ["segment", "create", "x", "--spec", '{"any": []}'],
     ["any", "at least one rule"]),
    ("segment-create-no-spec", ["segment", "create", "x"], ["--json"]),
    ("segment-save-unknown", ["segment", "save", "nope", "--spec", '{"friend": {}}'],
     ["'nope'"]),
    ("segment-versions-unknown", ["segment", "versions", "nope"], ["'nope'"]),
    ("segment-restore-unknown", ["segment", "restore", "nope", "1"], ["'nope'"]),
    ("segment-restore-not-a-number", ["segment", "restore", "x", "one"], ["'one'"]),
    ("segment-delete-unknown", ["segment", "delete", "nope"], ["'nope'"]),
    ("segment-export-bad-suffix", ["segment", "export", "--spec", '{"friend": {}}', "--out",
                                   "@tmp/x.txt"], [".csv", ".xlsx"]),
    ("segment-snapshot-unknown", ["segment", "snapshot", "nope"], ["'nope'"]),
    ("segment-rebuild-stats-postgres-down", ["--db", SOME_PG, "segment", "rebuild-stats"],
     ["127.0.0.1:1"]),
    ("import-missing-file", ["import", "contacts", "@tmp/nope.csv"], ["nope.csv"]),
    ("import-folder", ["import", "contacts", "@tmp/folder.csv"], ["folder.csv", "folder"]),
    ("import-binary-file", ["import", "contacts", "@tmp/binary.csv"], ["binary.csv", "UTF-8"]),
    ("import-renamed-xlsx", ["import", "contacts", "@tmp/renamed.xlsx"],
     ["renamed.xlsx", ".xlsx"]),
    ("import-hollow-xlsx", ["import", "orders", "@tmp/hollow.xlsx"], ["hollow.xlsx"]),
    ("import-orders-binary", ["import", "orders", "@tmp/binary.csv"], ["binary.csv"]),
    ("import-bad-map", ["import", "contacts", "@tmp/stores.csv", "--map", "手机"],
     ["COLUMN=FIELD"]),
    ("import-bad-key", ["import", "contacts", "@tmp/stores.csv", "--key", ""], ["key ''"]),
    ("import-postgres-down", ["--db", SOME_PG, "import", "contacts", "@tmp/stores.csv"],
     ["nobody:***@127.0.0.1:1"]),
    # demo and serve fail before loading or serving anything
    ("demo-postgres-down", ["--db", SOME_PG, "demo", "--no-serve"], ["127.0.0.1:1"]),
    ("demo-missing-folder", ["--db", "/nonexistent/dir/x.db", "demo", "--no-serve"],
     ["/nonexistent/dir"]),
    ("serve-postgres-down", ["--db", SOME_PG, "serve"], ["127.0.0.1:1"]),
    ("serve-bad-port", ["serve", "--port", "-1"], ["-1"]),
    ("serve-bad-address", ["serve", "--address", "999.1.1.1"], ["999.1.1.1"]),
    ("serve-no-procs", ["serve", "--num-procs", "0"], ["0"]),
    ("serve-zero-hours", ["serve", "--session-hours", "0"], ["'0'"]),
    ("serve-wildcard-origin", ["serve", "--allow-origin", "*", "--port", "0"], ["'*'"]),
    ("user-add-guest", ["user", "add", "guest", "--role", "admin", "--password",
                        "long-enough-1"], ["'guest'"]),
    # user
    ("user-no-action", ["user"], ["ACTION"]),
    ("user-add-empty-password", ["user", "add", "ada", "--role", "admin", "--password", ""],
     ["password"]),
    ("user-add-empty-name", ["user", "add", "", "--role", "admin", "--password", "long-enough"],
     ["name"]),
    ("user-add-bad-role", ["user", "add", "ada", "--role", "boss", "--password", "long-enough"],
     ["'boss'"]),
    ("user-list-missing-folder", ["--db", "/nonexistent/dir/x.db", "user", "list"],
     ["/nonexistent/dir"]),
    ("user-passwd-unknown", ["user", "passwd", "ghost", "--password", "long-enough"],
     ["'ghost'"]),
    ("user-role-unknown", ["user", "role", "ghost", "admin"], ["'ghost'"]),
    ("user-role-bad-role", ["user", "role", "ghost", "boss"], ["'boss'"]),
    ("user-disable-unknown", ["user", "disable", "ghost"], ["'ghost'"]),
    ("user-enable-unknown", ["user", "enable", "ghost"], ["'ghost'"]),
    ("user-unlock-unknown", ["user", "unlock", "ghost"], ["'ghost'"]),
    ("user-language-unknown", ["user", "language", "ghost"], ["'ghost'"]),
    ("user-language-unknown-user", ["user", "language", "ghost", "en"], ["'ghost'"]),
    ("user-language-bad", ["user", "language", "ghost", "fr"], ["'fr'", "default"]),
    # hook deliveries
    ("hooks-no-action", ["hooks"], ["ACTION"]),
    ("hooks-list-status", ["hooks", "list", "--status", "lost"], ["'lost'"]),
    ("hooks-list-limit", ["hooks", "list", "--limit", "0"], ["--limit"]),
    ("hooks-retry-unknown", ["hooks", "retry", "99"], ["no hook delivery 99"]),
    ("hooks-retry-not-a-number", ["hooks", "retry", "x"], ["'x'"]),
    ("hooks-deliver-extra", ["hooks", "deliver", "now"], ["unrecognized arguments: now"]),
    # contacts, orders, identity
    ("contacts-follows-unknown", ["contacts", "follows", "wm_ghost"], ["'wm_ghost'"]),
    ("contacts-owner-unknown", ["contacts", "owner", "wm_ghost", "lisi"], ["'wm_ghost'"]),
    ("contacts-owner-rule-bad", ["contacts", "owner-rule", "random"], ["'random'"]),
    ("orders-upsert-amount", ["orders", "upsert", "shop", "A1", "--amount", "1.999",
                              "--paid-at", "2026-11-11"], ["'1.999'"]),
    ("orders-upsert-fen", ["orders", "upsert", "shop", "A1", "--amount-fen", "-5",
                           "--paid-at", "2026-11-11"], ["'-5'"]),
    ("orders-upsert-paid-at", ["orders", "upsert", "shop", "A1", "--amount", "10",
                               "--paid-at", "yesterday"], ["'yesterday'"]),
    ("orders-upsert-refund", ["orders", "upsert", "shop", "A1", "--amount", "10",
                              "--paid-at", "2026-11-11", "--refunded", "20"], ["refund"]),
    ("orders-upsert-store", ["orders", "upsert", "shop", "A1", "--amount", "10",
                             "--paid-at", "2026-11-11", "--store", "NOPE"], ["'NOPE'"]),
    ("identity-order-bad", ["identity", "order", "phone,bogus"], ["'bogus'"]),
    ("identity-order-empty", ["identity", "order", " "], ["comma-separated"]),
    # livecode create: the original finding, then every option that takes a value
    ("livecode-no-action", ["livecode"], ["ACTION"]),
    ("livecode-create-welcome-json", ["livecode", "create", "海报", "--member", "zhangsan",
                                      "--welcome-json", "{bad"], ["--welcome-json", "JSON"]),
    ("livecode-create-welcome-json-list", ["livecode", "create", "海报", "--member", "a",
                                           "--welcome-json", "[1]"], ["JSON object"]),
    ("livecode-create-welcome-json-template", ["livecode", "create", "海报", "--member", "a",
                                               "--welcome-json", '{"text": "你好 {nickname"}'],
     ["--welcome-json", "{nickname"]),
    ("livecode-create-welcome-json-variants", ["livecode", "create", "海报", "--member", "a",
                                               "--welcome-json", '{"variants": [5]}'],
     ["variants"]),
    ("livecode-create-welcome-template", ["livecode", "create", "海报", "--member", "a",
                                          "--welcome", "你好 {"], ["--welcome", "'你好 {'"]),
    ("livecode-create-welcome-placeholder", ["livecode", "create", "海报", "--member", "a",
                                             "--welcome", "{name}"], ["{name}", "{nickname}"]),
    ("livecode-create-remark-template", ["livecode", "create", "海报", "--member", "a",
                                         "--remark", "{0}"], ["--remark", "{0}"]),
    ("livecode-create-member-weight", ["livecode", "create", "海报", "--member", "zhangsan:x"],
     ["'zhangsan:x'", "weight"]),
    ("livecode-create-member-negative", ["livecode", "create", "海报", "--member", "a:-1"],
     ["'a:-1'"]),
    ("livecode-create-member-empty", ["livecode", "create", "海报", "--member", ""],
     ["--member", "userid"]),
    ("livecode-create-no-member", ["livecode", "create", "海报"], ["--member"]),
    ("livecode-create-daily-cap-text", ["livecode", "create", "海报", "--member", "a",
                                        "--daily-cap", "lots"], ["--daily-cap", "'lots'"]),
    ("livecode-create-daily-cap-negative", ["livecode", "create", "海报", "--member", "a",
                                            "--daily-cap", "-1"], ["--daily-cap", "-1"]),
    ("livecode-create-round-cap-zero", ["livecode", "create", "海报", "--member", "a",
                                        "--round-cap", "0"], ["--round-cap", "0"]),
    ("livecode-create-backup-empty", ["livecode", "create", "海报", "--member", "a",
                                      "--backup", ""], ["--backup"]),
    ("livecode-create-strategy", ["livecode", "create", "海报", "--member", "a",
                                  "--strategy", "random"], ["'random'"]),
    ("livecode-create-empty-name", ["livecode", "create", "", "--member", "a"], ["name"]),
    ("livecode-create-bad-tag", ["livecode", "create", "海报", "--member", "a", "--tag", "/x"],
     ["'/x'"]),
    ("livecode-create-unknown-store", ["livecode", "create", "海报", "--member", "a",
                                       "--store", "XX9"], ["'XX9'"]),
    ("livecode-create-bad-state", ["livecode", "create", "海报", "--member", "a",
                                   "--state", "poster"], ["'poster'", "lc:"]),
    ("livecode-create-postgres-down", ["--db", SOME_PG, "livecode", "create", "海报",
                                       "--member", "a"], ["127.0.0.1:1"]),
    # the other livecode actions
    ("livecode-list-postgres-down", ["--db", SOME_PG, "livecode", "list"], ["127.0.0.1:1"]),
    ("livecode-list-junk-file", ["--db", "@tmp/junk.db", "livecode", "list"],
     ["not a database"]),
    ("livecode-report-since", ["livecode", "report", "--since", "yesterday"], ["'yesterday'"]),
    ("livecode-report-until", ["livecode", "report", "--until", "2026-13-45"],
     ["'2026-13-45'"]),
    ("livecode-report-by", ["livecode", "report", "--by", "store"], ["'store'"]),
    ("livecode-report-csv-folder", ["livecode", "report", "--csv", "/nonexistent/dir/r.csv"],
     ["/nonexistent/dir/r.csv"]),
    ("livecode-report-csv-is-folder", ["livecode", "report", "--csv", "@tmp/folder.csv"],
     ["folder.csv"]),
    ("livecode-check-per-minute-zero", ["livecode", "check", "--per-minute", "0"],
     ["--per-minute", "0"]),
    ("livecode-check-per-minute-over", ["livecode", "check", "--per-minute", "20000"],
     ["--per-minute", "10,000"]),
    ("livecode-stores-missing-file", ["livecode", "stores", "@tmp/nope.csv"], ["nope.csv"]),
    ("livecode-stores-folder", ["livecode", "stores", "@tmp/folder.csv"], ["folder.csv"]),
    ("livecode-stores-binary", ["livecode", "stores", "@tmp/binary.csv"], ["binary.csv"]),
    ("livecode-stores-renamed-xlsx", ["livecode", "stores", "@tmp/renamed.xlsx"],
     ["renamed.xlsx"]),
    ("livecode-stores-zip-folder-missing", ["livecode", "stores", "@tmp/stores.csv", "--zip",
                                            "/nonexistent/dir/qr.zip"],
     ["--zip", "/nonexistent/dir"]),
    ("livecode-stores-zip-is-folder", ["livecode", "stores", "@tmp/stores.csv", "--zip",
                                       "@tmp/folder.csv"], ["--zip", "folder"]),
    ("livecode-stores-daily-cap", ["livecode", "stores", "@tmp/stores.csv", "--daily-cap",
                                   "-2"], ["--daily-cap", "-2"]),
    ("livecode-update-unknown", ["livecode", "update", "999", "--name", "x"], ["999"]),
    ("livecode-update-nothing", ["livecode", "update", "999"], ["999"]),
    ("livecode-update-member-weight", ["livecode", "update", "1", "--member", "a:heavy"],
     ["'a:heavy'"]),
    ("livecode-update-daily-cap", ["livecode", "update", "1", "--daily-cap", "-1"],
     ["--daily-cap", "-1"]),
    ("livecode-update-welcome", ["livecode", "update", "1", "--welcome", "}"], ["--welcome"]),
    ("livecode-show-unknown", ["livecode", "show", "999"], ["999"]),
    ("livecode-show-unknown-state", ["livecode", "show", "lc:nope"], ["'lc:nope'"]),
    ("livecode-pause-unknown", ["livecode", "pause", "999"], ["999"]),
    ("livecode-resume-unknown", ["livecode", "resume", "999"], ["999"]),
    ("livecode-delete-unknown", ["livecode", "delete", "999"], ["999"]),
    ("livecode-preview-unknown", ["livecode", "preview", "999"], ["999"]),
    # groupcode
    ("groupcode-no-action", ["groupcode"], ["ACTION"]),
    ("groupcode-create-no-chat", ["groupcode", "create", "社群码"], ["--chat"]),
    ("groupcode-create-empty-chat", ["groupcode", "create", "社群码", "--chat", ""], ["--chat"]),
    ("groupcode-create-empty-pool", ["groupcode", "create", "社群码", "--chat", "wr1",
                                     "--pool", " "], ["--pool"]),
    ("groupcode-create-warn-at-text", ["groupcode", "create", "社群码", "--chat", "wr1",
                                       "--warn-at", "many"], ["--warn-at", "'many'"]),
    ("groupcode-create-warn-at-range", ["groupcode", "create", "社群码", "--chat", "wr1",
                                        "--warn-at", "300"], ["warn_at 300"]),
    ("groupcode-create-rotate-at", ["groupcode", "create", "社群码", "--chat", "wr1",
                                    "--rotate-at", "0"], ["rotate_at 0"]),
    ("groupcode-create-room-start", ["groupcode", "create", "社群码", "--chat", "wr1",
                                     "--room-start", "-5"], ["--room-start", "-5"]),
    ("groupcode-create-empty-name", ["groupcode", "create", "", "--chat", "wr1"], ["name"]),
    ("groupcode-create-six-chats", ["groupcode", "create", "社群码", *[
        a for n in range(6) for a in ("--chat", f"wr{n}")]], ["at most 5"]),
    ("groupcode-update-unknown", ["groupcode", "update", "999", "--name", "x"], ["999"]),
    ("groupcode-update-nothing", ["groupcode", "update", "999"], ["nothing to change"]),
    ("groupcode-update-room-start", ["groupcode", "update", "1", "--room-start", "x"],
     ["--room-start", "'x'"]),
    ("groupcode-update-auto-create", ["groupcode", "update", "1", "--auto-create", "maybe"],
     ["'maybe'"]),
    ("groupcode-list-postgres-down", ["--db", SOME_PG, "groupcode", "list"], ["127.0.0.1:1"]),
    ("groupcode-chats-unconfigured", ["groupcode", "chats"], ["WeCom is not configured"]),
    ("groupcode-invite-unknown", ["groupcode", "invite", "999", "1"], ["999"]),
    ("groupcode-show-unknown", ["groupcode", "show", "999"], ["999"]),
    ("groupcode-pause-unknown", ["groupcode", "pause", "999"], ["999"]),
    ("groupcode-resume-unknown", ["groupcode", "resume", "999"], ["999"]),
    ("groupcode-delete-unknown", ["groupcode", "delete", "999"], ["999"]),
    ("groupcode-members-unknown", ["groupcode", "members", "gl:nope"], ["'gl:nope'"]),
    ("groupcode-joins-unknown", ["groupcode", "joins", "999"], ["999"]),
    # wecom, doctor, sandbox
    ("wecom-no-action", ["wecom"], ["ACTION"]),
    ("wecom-config-agent-id", ["wecom", "config", "--agent-id", "app"], ["--agent-id", "'app'"]),
    ("wecom-config-token", ["wecom", "config", "--token", "bad token!"], ["token"]),
    ("wecom-config-aes-key", ["wecom", "config", "--encoding-aes-key", "short"],
     ["EncodingAESKey"]),
    ("wecom-config-base-url", ["wecom", "config", "--base-url", "qyapi.weixin.qq.com"],
     ["'qyapi.weixin.qq.com'"]),
    ("wecom-sync-per-minute", ["wecom", "sync", "--per-minute", "-1"], ["--per-minute", "-1"]),
    ("wecom-sync-unconfigured", ["wecom", "sync", "--no-progress"], ["WeCom is not configured"]),
    ("wecom-process-limit", ["wecom", "process", "--limit", "0"], ["--limit", "0"]),
    ("wecom-process-limit-text", ["wecom", "process", "--limit", "all"], ["'all'"]),
    ("wecom-status-postgres-down", ["--db", SOME_PG, "wecom", "status"], ["127.0.0.1:1"]),
    # more `wecom org-sync` cases: tests/wecom/test_org_sync_cli.py
    ("wecom-org-sync-store-level", ["wecom", "org-sync", "--store-level", "0"],
     ["--store-level", "0"]),
    # connector (more cases: tests/connectors/test_connector_cli.py)
    ("connector-kinds-extra", ["connector", "kinds", "--bogus"], ["--bogus"]),
    ("connector-list-extra", ["connector", "list", "--bogus"], ["--bogus"]),
    ("connector-add-kind", ["connector", "add", "shop", "--kind", "ftp"], ["'ftp'"]),
    ("connector-set-unknown", ["connector", "set", "nobody", "--every", "5"], ["'nobody'"]),
    ("connector-show-unknown", ["connector", "show", "nobody"], ["'nobody'"]),
    ("connector-sync-unknown", ["connector", "sync", "nobody"], ["'nobody'"]),
    ("connector-runs-unknown", ["connector", "runs", "--run", "99"], ["99"]),
    ("connector-reset-unknown", ["connector", "reset", "nobody"], ["'nobody'"]),
    ("connector-remove-unknown", ["connector", "remove", "nobody"], ["'nobody'"]),
    ("connector-queue-extra", ["connector", "queue", "--bogus"], ["--bogus"]),
    ("connector-resolve-unknown", ["connector", "resolve", "99", "wmA"], ["99"]),
    ("connector-dismiss-unknown", ["connector", "dismiss", "99"], ["99"]),
    ("connector-matches-contact", ["connector", "matches", "--contact", "x"], ["'x'"]),
    ("connector-undo-unknown", ["connector", "undo", "99"], ["99"]),
    # contact-card
    ("contact-card-unknown", ["contact-card", "nobody"], ["'nobody'"]),
    ("contact-card-empty-note", ["contact-card", "nobody", "--note", ""],
     ["note cannot be empty"]),
    # rewards
    ("reward-pools-extra", ["reward", "pools", "--bogus"], ["--bogus"]),
    ("reward-pool-add-bad-amount", ["reward", "pool-add", "w", "--kind", "red_packet",
                                    "--amount", "0.999"], ["'0.999'"]),
    ("reward-pool-add-too-small", ["reward", "pool-add", "w", "--kind", "red_packet",
                                   "--amount", "0.5", "--budget", "100"], ["100 to 20,000"]),
    ("reward-pool-show-unknown", ["reward", "pool-show", "nobody"], ["'nobody'"]),
    ("reward-pool-status-unknown", ["reward", "pool-status", "nobody", "paused"],
     ["'nobody'"]),
    ("reward-codes-no-file", ["reward", "codes", "nobody", "@tmp/none.txt"], ["none.txt"]),
    ("reward-link-unknown", ["reward", "link", "nobody", "1", "--public-url",
                             "https://x.example"], ["'nobody'"]),
    ("reward-claim-unknown", ["reward", "claim", "nobody", "1"], ["unknown contact 1"]),
    ("reward-pay-config-bad-env", ["reward", "pay-config", "--mch-key-env", "NO_SUCH_VAR_X"],
     ["NO_SUCH_VAR_X"]),
    ("reward-pay-not-set-up", ["reward", "pay"], ["mch_id"]),
    ("reward-retry-unknown", ["reward", "retry", "nobody"], ["'nobody'"]),
    ("reward-claims-unknown-contact", ["reward", "claims", "--contact", "wm-nobody"],
     ["'wm-nobody'"]),
    # the chat sidebar
    ("sidebar-url-not-web", ["sidebar", "url", "ftp://example.com"], ["ftp://example.com"]),
    ("sidebar-sessions-extra", ["sidebar", "sessions", "--bogus"], ["--bogus"]),
    ("sidebar-end-unknown", ["sidebar", "end", "nobody"], ["nobody"]),
    # quick replies
    ("replies-list-extra", ["replies", "list", "--bogus"], ["--bogus"]),
    ("replies-add-nothing", ["replies", "add", "--category", "售后", "--title", "退换"],
     ["--text"]),
    ("replies-show-unknown", ["replies", "show", "99"], ["99"]),
    ("replies-set-unknown", ["replies", "set", "99", "--title", "x"], ["99"]),
    ("replies-remove-unknown", ["replies", "remove", "99"], ["99"]),
    ("replies-import-missing", ["replies", "import", "@tmp/none.csv"], ["none.csv"]),
    ("replies-export-bad-kind", ["replies", "export", "@tmp/out.pdf"], [".pdf"]),
    # transfer (more cases: tests/transfers/test_cli_transfers.py)
    ("transfer-list-departed-unconfigured", ["transfer", "list-departed"],
     ["WeCom is not configured"]),
    ("transfer-show-unknown", ["transfer", "show", "nobody"], ["'nobody'"]),
    ("transfer-plan-unknown", ["transfer", "plan", "nobody", "--to", "lisi"], ["'nobody'"]),
    ("transfer-run-unknown", ["transfer", "run", "99"], ["99"]),
    ("transfer-status-unknown", ["transfer", "status", "--status", "lost"], ["'lost'"]),
    ("doctor-timeout-nan", ["doctor", "--timeout", "nan"], ["--timeout", "'nan'"]),
    ("doctor-timeout-negative", ["doctor", "--timeout", "-1"], ["--timeout", "'-1'"]),
    ("doctor-missing-folder", ["--db", "/nonexistent/dir/x.db", "doctor"], ["/nonexistent/dir"]),
    ("sandbox-port-range", ["sandbox", "--port", "70000"], ["--port 70000"]),
    ("sandbox-port-negative", ["sandbox", "--port", "-1"], ["--port -1"]),
    ("sandbox-port-text", ["sandbox", "--port", "x"], ["--port", "'x'"]),
    ("sandbox-latency", ["sandbox", "--latency", "-1"], ["--latency"]),
    ("sandbox-rate-limit", ["sandbox", "--rate-limit", "0"], ["--rate-limit 0"]),
    ("sandbox-group-capacity", ["sandbox", "--group-capacity", "-3"], ["--group-capacity -3"]),
    ("sandbox-error-rate", ["sandbox", "--error-rate", "2"], ["error_rate"]),
    ("sandbox-token", ["sandbox", "--token", "bad token!"], ["'bad token!'"]),
    # risk
    ("risk-no-action", ["risk"], ["ACTION"]),
    ("risk-words-no-action", ["risk", "words"], ["ACTION"]),
    ("risk-words-import-no-file", ["risk", "words", "import"], ["FILE"]),
    ("risk-words-import-missing-file", ["risk", "words", "import", "@tmp/nope.txt"],
     ["nope.txt", "cannot read"]),
    ("risk-words-import-folder", ["risk", "words", "import", "@tmp/folder.csv"],
     ["folder.csv"]),
    ("risk-words-import-binary", ["risk", "words", "import", "@tmp/binary.csv"],
     ["binary.csv, line 1", "UTF-8"]),
    ("risk-words-import-bad-line", ["risk", "words", "import", "@tmp/words.txt"],
     ["words.txt, line 3", "'[坏'"]),
    ("risk-words-import-empty-category", ["risk", "words", "import", "@tmp/words.txt",
                                          "--category", " "], ["--category"]),
    ("risk-words-list-empty-category", ["risk", "words", "list", "--category", ""],
     ["--category"]),
    ("risk-words-list-postgres-down", ["--db", SOME_PG, "risk", "words", "list"],
     ["127.0.0.1:1"]),
    ("risk-words-remove-nothing", ["risk", "words", "remove"], ["--category"]),
    ("risk-words-remove-unknown-category", ["risk", "words", "remove", "--category", "涉政"],
     ["'涉政'"]),
    ("risk-test-no-text", ["risk", "test"], ["TEXT"]),
    ("risk-dnc-add-unknown", ["risk", "dnc", "add", "999"], ["999"]),
    ("risk-dnc-remove-not-a-number", ["risk", "dnc", "remove", "abc"], ["abc"]),
    ("risk-dnc-list-extra", ["risk", "dnc", "list", "x"], ["unrecognized"]),
    ("risk-rules-bogus", ["risk", "rules", "--bogus"], ["unrecognized"]),
    ("risk-set-quiet-hours-bad-time", ["risk", "set", "quiet-hours", "25:00", "08:00"],
     ["25:00"]),
    ("risk-set-staff-cap-negative", ["risk", "set", "staff-cap", "-5"], ["-5"]),
    ("risk-events-unknown-rule", ["risk", "events", "--rule", "nope"], ["nope"]),
    ("risk-summary-no-days", ["risk", "summary", "--days", "0"], ["days"]),
    # campaigns
    ("campaign-create-unknown-channel", ["campaign", "create", "双十二", "--channel", "nope",
                                         "--text", "hi", "--segment", "x"], ["nope"]),
    ("campaign-preview-unknown", ["campaign", "preview", "没有这个"], ["没有这个"]),
    ("campaign-results-unknown", ["campaign", "results", "没有这个"], ["没有这个"]),
    ("campaign-launch-unknown", ["campaign", "launch", "没有这个"], ["没有这个"]),
    ("campaign-pause-unknown", ["campaign", "pause", "没有这个"], ["没有这个"]),
    ("campaign-resume-unknown", ["campaign", "resume", "没有这个"], ["没有这个"]),
    ("campaign-cancel-unknown", ["campaign", "cancel", "没有这个"], ["没有这个"]),
    ("campaign-remind-unknown", ["campaign", "remind", "没有这个"], ["没有这个"]),
    ("campaign-list-extra", ["campaign", "list", "x"], ["unrecognized"]),
    ("campaign-send-both-modes", ["campaign", "send", "--until-done", "--forever"],
     ["--forever"]),
    # robots and e-mail
    ("robot-add-bad-url", ["robot", "add", "a", "ftp://example.com/hook"], ["ftp://"]),
    ("robot-list-extra", ["robot", "list", "x"], ["unrecognized"]),
    ("robot-remove-unknown", ["robot", "remove", "没有这个"], ["没有这个"]),
    ("robot-test-unknown", ["robot", "test", "没有这个"], ["没有这个"]),
    ("robot-webhook-bad-timeout", ["robot", "webhook", "--timeout", "abc"], ["'abc'"]),
    ("email-configure-bad-port", ["email", "configure", "--port", "abc"], ["abc"]),
    ("email-show-extra", ["email", "show", "x"], ["unrecognized"]),
    ("email-test-no-address", ["email", "test", "--subject", "hi"], ["--to"]),
    # leaderboards
    ("leaderboard-list-extra", ["leaderboard", "list", "x"], ["unrecognized"]),
    ("leaderboard-add-bad-metric", ["leaderboard", "add", "m", "--metric", "gmv",
                                    "--dimension", "store", "--period", "today"], ["'gmv'"]),
    ("leaderboard-add-window-backwards", ["leaderboard", "add", "m", "--metric", "orders",
                                          "--dimension", "store", "--start", "2026-11-30",
                                          "--end", "2026-11-01"], ["2026-11-01", "2026-11-30"]),
    ("leaderboard-add-unknown-store", ["leaderboard", "add", "m", "--metric", "orders",
                                       "--dimension", "store", "--period", "today",
                                       "--store", "NOPE"], ["'NOPE'"]),
    ("leaderboard-set-unknown", ["leaderboard", "set", "nobody", "--top", "5"], ["'nobody'"]),
    ("leaderboard-show-unknown", ["leaderboard", "show", "nobody"], ["'nobody'"]),
    ("leaderboard-show-top-zero", ["leaderboard", "show", "nobody", "--top", "0"], ["--top"]),
    ("leaderboard-remove-unknown", ["leaderboard", "remove", "nobody"], ["'nobody'"]),
    ("leaderboard-snapshot-unknown", ["leaderboard", "snapshot", "nobody"], ["'nobody'"]),
    ("leaderboard-export-bad-kind", ["leaderboard", "export", "nobody", "@tmp/out.pdf"],
     [".pdf"]),
]


def _expand(argv: list[str], db: Path) -> list[str]:
    tmp = str(db.parent)
    argv = [a.replace("@db", str(db)).replace("@tmp", tmp) for a in argv]
    return argv if argv[:1] == ["--db"] else ["--db", str(db), *argv]


@pytest.mark.parametrize("argv, fragments", [pytest.param(a, f, id=i) for i, a, f in CASES])
def test_bad_input_is_one_line_and_stores_nothing(capsys, db, argv, fragments):
    before = fingerprint(db)
    code, out, err = run(capsys, _expand(argv, db))
    assert_one_line_error(code, out, err, *fragments)
    assert fingerprint(db) == before


def test_every_command_and_action_has_a_bad_input_case():
    """The table keeps up with the CLI: each (sub-)command appears in some case."""
    from siyu.cli import build_parser, plugin_commands

    covered = {" ".join(argv[2:] if argv[:1] == ["--db"] else argv) for _, argv, _ in CASES}
    parser = build_parser(plugin_commands())
    missing = []
    for path in _command_paths(parser):
        if not any(c == path or c.startswith(path + " ") for c in covered):
            missing.append(path)
    assert missing == []


def _command_paths(parser, prefix=""):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}".strip()
                children = list(_command_paths(sub, path))
                yield from children or [path]


def test_a_new_database_file_is_not_created_by_a_rejected_init(capsys, tmp_path):
    path = tmp_path / "new.db"
    code, out, err = run(capsys, ["init", "--db", path, "--name", " "])
    assert_one_line_error(code, out, err, "--name")
    assert not path.exists()


def test_an_unreadable_import_file_is_one_line(capsys, db, monkeypatch):
    """PermissionError (simulated: the tests may run as root, who reads every file)."""
    target = db.parent / "stores.csv"
    real = Path.read_bytes

    def read_bytes(self):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, out, err = run(capsys, ["--db", db, "import", "contacts", target])
    assert_one_line_error(code, out, err, "stores.csv", "Permission denied")


def test_a_zip_in_a_folder_that_cannot_be_written_is_refused_first(capsys, db, monkeypatch):
    monkeypatch.setattr("siyu.plugins.livecodes.commands.os.access", lambda *a, **k: False)
    code, out, err = run(capsys, ["--db", db, "livecode", "stores", db.parent / "stores.csv",
                                  "--zip", db.parent / "qr.zip"])
    assert_one_line_error(code, out, err, "--zip", "not writable")


def test_a_sandbox_port_in_use_is_one_line(capsys, db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, ["--db", db, "sandbox", "--port", port])
    assert_one_line_error(code, out, err, f"127.0.0.1:{port}", "--port")


# -- on both engines: rejected changes leave no rows -------------------------------------------


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
    finally:
        engine.dispose()


@pytest.mark.parametrize("argv, fragments, table", [
    (["livecode", "create", "海报", "--member", "a", "--welcome-json", "{bad"],
     ["--welcome-json"], "live_code"),
    (["livecode", "create", "海报", "--member", "a", "--tag", "/x"], ["'/x'"], "live_code"),
    (["livecode", "create", "海报", "--member", "a", "--member", "a"], ["twice"], "live_code"),
    (["groupcode", "create", "社群码", "--chat", "wr1", "--warn-at", "190", "--rotate-at",
      "150"], ["warn_at 190"], "live_group_code"),
    (["user", "add", "bob", "--role", "admin", "--password", "short"], ["password"],
     "app_user"),
], ids=["welcome-json", "tag", "member-twice", "thresholds", "password"])
def test_rejected_changes_store_no_row(capsys, db_url, argv, fragments, table):
    assert main(["--db", db_url, "init"]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, ["--db", db_url, *argv])
    assert_one_line_error(code, out, err, *fragments)
    assert _count(db_url, table) == 0


# -- against the WeCom sandbox: validation comes before any WeCom call ------------------------


@pytest.fixture
def wired(db_url):
    """A workspace configured against a fresh sandbox, with one store and two of the
    sandbox's staff who may add customers."""
    with wired_workspace(db_url) as (ws, sandbox, _base):
        staff = sorted(u for u, s in sandbox.world.staff.items()
                       if s.activated and s.contact_permission and not s.resigned)[:2]
        ws.stores.upsert("SH001", "上海店")
        for userid in staff:
            ws.staff.upsert(userid, userid, store="SH001")
        yield ws, sandbox, staff


def test_store_codes_with_a_bad_zip_create_nothing_in_wecom(capsys, tmp_path, wired):
    ws, sandbox, staff = wired
    stores = tmp_path / "stores.csv"
    stores.write_text(f"门店,员工\nSH001,{staff[0]}\n", encoding="utf-8")
    ways = len(sandbox.world.contact_ways)
    code, out, err = run(capsys, ["--db", ws.url, "livecode", "stores", stores, "--zip",
                                  tmp_path / "missing" / "qr.zip"])
    assert_one_line_error(code, out, err, "--zip", "missing")
    assert len(sandbox.world.contact_ways) == ways
    assert _count(ws.url, "live_code") == 0

    code, out, _ = run(capsys, ["--db", ws.url, "livecode", "stores", stores, "--zip",
                                tmp_path / "qr.zip"])
    assert code == 0 and "1 store codes created" in out
    assert zipfile.is_zipfile(tmp_path / "qr.zip")


def test_bad_live_code_options_reach_neither_wecom_nor_the_database(capsys, wired):
    ws, sandbox, staff = wired
    ways = len(sandbox.world.contact_ways)
    for argv, fragment in (
            (["--welcome-json", "{bad"], "--welcome-json"),
            (["--welcome", "你好 {nickname"], "--welcome"),
            ([f"--member={staff[1]}:x"], "weight")):
        code, out, err = run(capsys, ["--db", ws.url, "livecode", "create", "海报", "--member",
                                      staff[0], *argv])
        assert_one_line_error(code, out, err, fragment)
    assert len(sandbox.world.contact_ways) == ways
    assert _count(ws.url, "live_code") == 0


def test_updating_a_code_with_a_bad_member_changes_nothing(capsys, wired):
    ws, _sandbox, staff = wired
    code, out, _ = run(capsys, ["--db", ws.url, "livecode", "create", "海报", "--member",
                                f"{staff[0]}:3", "--strategy", "weighted"])
    assert code == 0, out
    from siyu.plugins.livecodes import api

    code_id = int(api.list_codes(ws)["id"].iloc[0])
    code, out, err = run(capsys, ["--db", ws.url, "livecode", "update", code_id, "--member",
                                  f"{staff[1]}:lots"])
    assert_one_line_error(code, out, err, f"'{staff[1]}:lots'")
    members = api.get_code(ws, code_id)["members"]
    assert [(m["userid"], m["weight"]) for m in members] == [(staff[0], 3)]


# -- a real process: the same one line, no traceback ------------------------------------------


@pytest.mark.parametrize("argv, fragment", [
    (["livecode", "create", "海报", "--member", "zhangsan", "--welcome-json", "{bad"],
     "--welcome-json"),
    (["--db", "postgresql://nobody@127.0.0.1:1/x", "livecode", "list"], "127.0.0.1:1"),
], ids=["welcome-json", "postgres-down"])
def test_a_real_process_prints_one_line(db, argv, fragment):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env["SIYU_LANGUAGE"] = "en"  # what they read; zh: test_cli_language.py
    result = subprocess.run([sys.executable, "-m", "siyu", *_expand(argv, db)], env=env,
                            cwd=db.parent, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result.returncode, result.stdout, result.stderr, fragment)
