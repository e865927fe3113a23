"""``siyu contact-card CONTACT [--json]``: the card as text and as JSON; an unknown contact
is one line on standard error."""

from __future__ import annotations

import json

import pytest

from siyu.cli import main

from .world import build_shop


@pytest.fixture
def cli(ws, db_url, capsys, monkeypatch):
    """Run ``siyu --db <the shop> contact-card argv…``; (exit code, stdout, stderr)."""
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    build_shop(ws)

    def run(*argv):
        code = main(["--db", db_url, "--lang", "en", "contact-card", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_the_card_prints_as_text(cli):
    code, out, _ = cli("wm001")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "王小明"
    assert "  Phone             13800000001" in lines  # the CLI acts as local (admin)
    assert "  会员等级          金卡" in lines
    assert "Owner: 王五 (wangwu)" in lines
    assert "Tags: 会员/金卡, 渠道/抖音" in lines
    assert ("Orders: 3 (2 paid) · revenue ¥274.00 · average ¥137.00 · first 2026-11-02 12:00 "
            "· last 2026-11-03 12:00") in lines
    assert any(line.startswith("2026-11-01 10:00  Added") and "live code 春季海报" in line
               for line in lines)
    assert any("Message blocked" in line and "双11返场" in line for line in lines)


def test_the_card_prints_as_json(cli):
    code, out, _ = cli("1", "--json")
    card = json.loads(out)
    assert code == 0 and card["profile"]["external_userid"] == "wm001"
    assert card["order_totals"]["revenue_fen"] == 27400
    assert [t["kind"] for t in card["timeline"]][-1] == "contact.added"


def test_an_unknown_contact_is_one_line(cli):
    code, out, err = cli("wm-nobody")
    assert code == 2 and out == ""
    assert err.strip() == ("siyu: error: unknown contact 'wm-nobody': give a contact id (as "
                           "the Contacts page shows it) or a WeCom external userid (wm…)")
