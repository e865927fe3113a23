"""``siyu risk dnc|rules|set|events|summary``: what each prints, and that bad input is one line
on standard error with nothing written."""

from __future__ import annotations

import json

import pytest

import siyu
from siyu.cli import main
from siyu.plugins.risk import dnc, limits
from tests.campaigns.conftest import add_contacts

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def db(tmp_path, monkeypatch):
    """A SQLite workspace file with 10 contacts (ids 1–10)."""
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "shop.db"
    with siyu.open(str(path), load_entry_points=False) as ws:
        add_contacts(ws, 10)
    return str(path)


def run(capsys, *argv):
    """Run `siyu argv…` in this process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def stored(db):
    with siyu.open(db, load_entry_points=False) as ws:
        return (sorted(dnc.list(ws)["contact_id"]), limits.quiet_hours(ws),
                limits.staff_daily_cap(ws))


def test_dnc_add_list_and_remove(capsys, db):
    code, out, _ = run(capsys, "--db", db, "risk", "dnc", "add", "2", "3", "--reason", HOSTILE)
    assert code == 0 and "added 2 contacts" in out
    code, out, _ = run(capsys, "--db", db, "risk", "dnc", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["contact_id", "name", "phone", "reason", "added_at",
                                "added_by"]
    assert len(lines) == 3 and HOSTILE in out and "顾客1" in out
    code, out, _ = run(capsys, "--db", db, "risk", "dnc", "list", "--json")
    assert sorted(row["contact_id"] for row in json.loads(out)) == [2, 3]
    code, out, _ = run(capsys, "--db", db, "risk", "dnc", "remove", "3")
    assert code == 0 and "removed 1 contact" in out
    assert stored(db)[0] == [2]


@pytest.mark.parametrize(("argv", "fragment"), [
    (["dnc", "add", "2", "999"], "999"),
    (["dnc", "add", "2", "abc"], "'abc' is not a contact id"),
    (["dnc", "remove", "2", "999"], "999"),
    (["set", "quiet-hours", "25:00", "08:00"], "25:00"),
    (["set", "quiet-hours", "22:00"], "START END"),
    (["set", "quiet-hours", "08:00", "08:00"], "same time"),
    (["set", "staff-cap", "lots"], "lots"),
    (["events", "--rule", "nope"], "nope"),
    (["events", "--since", "yesterday"], "yesterday"),
    (["events", "--limit", "0"], "--limit"),
    (["summary", "--days", "0"], "days"),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, db, argv, fragment):
    run(capsys, "--db", db, "risk", "dnc", "add", "1")
    run(capsys, "--db", db, "risk", "set", "quiet-hours", "22:00", "08:00")
    before = stored(db)
    code, out, err = run(capsys, "--db", db, "risk", *argv)
    assert code == 2 and out == ""
    assert err.startswith("siyu: error: ") and fragment in err and len(err.splitlines()) == 1
    assert stored(db) == before


def test_rules_show_every_rule_and_the_settings(capsys, db):
    code, out, _ = run(capsys, "--db", db, "risk", "rules")
    assert code == 0
    for name in ("sensitive_words", "dnc", "staff_cap", "quiet_hours"):
        assert name in out
    assert "quiet hours: off" in out and "staff daily cap: off" in out
    run(capsys, "--db", db, "risk", "set", "quiet-hours", "22:00", "08:00")
    run(capsys, "--db", db, "risk", "set", "staff-cap", "40")
    code, out, _ = run(capsys, "--db", db, "risk", "rules")
    assert "quiet hours: 22:00–08:00" in out and "staff daily cap: 40" in out
    code, out, _ = run(capsys, "--db", db, "risk", "rules", "--json")
    settings = json.loads(out)["settings"]
    assert settings == {"risk.quiet_hours": {"start": "22:00", "end": "08:00"},
                        "risk.staff_daily_cap": 40}


def test_settings_can_be_cleared(capsys, db):
    run(capsys, "--db", db, "risk", "set", "quiet-hours", "22:00", "08:00")
    run(capsys, "--db", db, "risk", "set", "staff-cap", "40")
    code, out, _ = run(capsys, "--db", db, "risk", "set", "quiet-hours", "off")
    assert code == 0 and "quiet hours: off" in out
    code, out, _ = run(capsys, "--db", db, "risk", "set", "staff-cap", "off")
    assert code == 0 and "staff daily cap: off" in out
    assert stored(db)[1:] == (None, None)


def test_events_and_summary(capsys, db):
    code, out, _ = run(capsys, "--db", db, "risk", "events")
    assert code == 0 and out.strip() == "no risk events"
    with siyu.open(db, load_entry_points=False) as ws:
        from siyu.plugins.risk import journal
        from siyu.storage.types import utcnow

        journal.write(ws, [journal.event_row(
            at=utcnow(), rule="dnc", decision="blocked", delivery_id=41, campaign_id=None,
            contact_id=1, staff="zhangsan", text="双十二", reason=HOSTILE)])
    code, out, _ = run(capsys, "--db", db, "risk", "events", "--rule", "dnc")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["at", "rule", "decision"]
    assert "blocked" in lines[1] and HOSTILE in lines[1] and "顾客0" in lines[1]
    code, out, _ = run(capsys, "--db", db, "risk", "events", "--rule", "staff_cap")
    assert out.strip() == "no risk events"
    code, out, _ = run(capsys, "--db", db, "risk", "events", "--json")
    [event] = json.loads(out)
    assert (event["rule"], event["decision"], event["delivery_id"]) == ("dnc", "blocked", 41)
    code, out, _ = run(capsys, "--db", db, "risk", "summary", "--days", "3")
    lines = out.splitlines()
    assert lines[0].split() == ["day", "sent", "blocked", "held", "skipped", "dnc:blocked"]
    assert len(lines) == 4 and lines[-1].split()[1:] == ["0", "1", "0", "0", "1"]


def test_the_cli_speaks_chinese(capsys, db):
    code, out, _ = run(capsys, "--lang", "zh_CN", "--db", db, "risk", "rules")
    assert "免打扰名单" in out and "免打扰时段：关闭" in out
    code, _, err = run(capsys, "--lang", "zh_CN", "--db", db, "risk", "dnc", "add", "999")
    assert "没有 ID 为 999 的客户" in err
