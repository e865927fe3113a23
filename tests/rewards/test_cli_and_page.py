"""``siyu reward`` end to end on a SQLite file, and the Rewards console page built in Python:
pools created, codes loaded, a claim link made and claimed, the ledger shown; read-only for
roles that may not pay."""

from __future__ import annotations

import json

from siyu.cli import main
from siyu.core.permissions import Principal
from siyu.plugins.rewards import claims, pools
from siyu.plugins.rewards.pages import RewardsPage
from siyu.plugins.rewards.tokens import read_token

OPERATOR, ANALYST = Principal("otto", "operator"), Principal("ann", "analyst")


def test_the_command_runs_a_pool_from_start_to_claim(tmp_path, capsys):
    import siyu

    db = str(tmp_path / "cli.db")
    with siyu.open(f"sqlite:///{db}", load_entry_points=False) as ws:
        ws.contacts.upsert("wm0001", name="客户")
    run = lambda *argv: main(["--db", db, "reward", *argv])  # noqa: E731
    assert run("pool-add", "welcome", "--kind", "red_packet", "--amount", "8.88",
               "--budget", "88.80", "--title", "新人红包") == 0
    assert run("pool-add", "c20", "--kind", "coupon", "--amount", "20", "--threshold", "100",
               "--days", "30") == 0
    (tmp_path / "codes.txt").write_text("SAVE0001\nSAVE0002\n", encoding="utf-8")
    assert run("codes", "c20", str(tmp_path / "codes.txt")) == 0
    assert run("claim", "welcome", "wm0001") == 0
    assert run("claim", "c20", "1") == 0
    capsys.readouterr()
    assert run("link", "welcome", "1", "--public-url", "https://scrm.example.com") == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://scrm.example.com/r/claim?t=")
    with siyu.open(f"sqlite:///{db}", load_entry_points=False) as ws:
        assert read_token(ws, link.split("t=")[1]).contact_id == 1
    assert run("claims", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted((r["pool"], r["amount_fen"]) for r in rows) == [("c20", 2000),
                                                                  ("welcome", 888)]
    assert run("pool-show", "welcome") == 0
    assert "spent_fen: 8.88" in capsys.readouterr().out
    assert run("pools") == 0
    assert "新人红包" in capsys.readouterr().out


def test_the_page_creates_a_pool_and_shows_claims(ws, notes):
    ws.contacts.upsert("wm0001", name="客户")
    page = RewardsPage(ws.as_user(OPERATOR))
    page.f_name.value = "welcome"
    page.f_title.value = "新人红包"
    page.f_kind.value = "red_packet"
    page.f_mode.value = "fixed"
    page.f_amount.value = "8.88"
    page.f_budget.value = "100"
    page.create()
    assert pools.get(ws, "welcome").amount_fen == 888
    claims.claim(ws, "welcome", 1)
    page.refresh()
    assert list(page.pool_rows["name"]) == ["welcome"]
    assert list(page.claim_rows["amount_fen"]) == [888]
    page.pool_table.selection = [0]
    page.link_contact.value = "wm0001"
    page.make_link()
    assert "/r/claim?t=" in page.link_out.value
    page.status_select.value = "paused"
    page.change_status()
    assert pools.get(ws, "welcome").status == "paused"
    page.f_name.value = "bad"
    page.f_amount.value = "8.888"
    page.create()
    assert "8.888" in notes.messages("error")[-1]


def test_an_analyst_sees_but_cannot_change_pools(ws):
    page = RewardsPage(ws.as_user(ANALYST))
    assert page.create_button.disabled and page.status_button.disabled
    assert page.codes_button.disabled and page.link_button.disabled
