"""``siyu hooks``, ``siyu contacts``, ``siyu orders upsert`` and ``siyu identity``, against a
real SQLite workspace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import siyu
from siyu.cli import main
from siyu.core import dispatch


class Flaky:
    """Fails on its first delivery, then succeeds."""

    __name__ = "flaky"

    def __init__(self):
        self.calls = 0

    @siyu.hookimpl
    def on_contact_added(self, contact, via, delivery_id):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("CRM is down")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "siyu.db")


def test_hooks_list_shows_a_failed_delivery_and_retry_delivers_it(capsys, db, monkeypatch):
    monkeypatch.setattr(dispatch, "MAX_ATTEMPTS", 1)
    flaky = Flaky()
    monkeypatch.setattr("siyu.cli._open", lambda url, **kw: siyu.open(
        url, plugins=[flaky], load_entry_points=False))
    with siyu.open(db, plugins=[flaky], load_entry_points=False) as ws:
        ws.contacts.upsert("wm_1")
        [failed] = ws.hooks.df(status="failed", plugin="flaky")["id"]
    code, out, _ = run(capsys, "--db", db, "hooks", "list")
    assert code == 0
    assert "flaky.on_contact_added" in out and "RuntimeError: CRM is down" in out
    assert f"{failed:>7}  failed" in out
    code, out, _ = run(capsys, "--db", db, "hooks", "retry", str(failed))
    assert (code, out.strip()) == (0, f"delivery {failed} delivered")
    code, out, _ = run(capsys, "--db", db, "hooks", "list", "--status", "done",
                       "--plugin", "flaky")
    assert "done (1 shown)" in out


def test_orders_upsert_creates_then_updates_with_a_refund(capsys, db):
    code, out, _ = run(capsys, "--db", db, "orders", "upsert", "tmall", "T1", "--amount",
                       "199.90", "--paid-at", "2026-11-11T20:05")
    assert code == 0 and "created: paid, 19990 fen" in out
    code, out, _ = run(capsys, "--db", db, "orders", "upsert", "tmall", "T1", "--amount",
                       "199.90", "--paid-at", "2026-11-11T20:05", "--refunded-fen", "990")
    assert "updated: partially_refunded, 19990 fen, refunded 990 fen" in out
    code, out, _ = run(capsys, "--db", db, "orders", "upsert", "tmall", "T1", "--amount",
                       "199.90", "--paid-at", "2026-11-11T20:05", "--refunded-fen", "990")
    assert "unchanged" in out


def test_contacts_follows_owner_and_rule(capsys, db):
    with siyu.open(db, load_entry_points=False) as ws:
        ws.staff.upsert("zhangsan", "张三")
        ws.staff.upsert("lisi", "李四")
        contact, _ = ws.contacts.upsert("wm_1")
        with ws.session() as s:
            for staff, minute in (("zhangsan", 0), ("lisi", 5)):
                ws.follows.added(contact.id, staff, state="lc:1", session=s,
                                 at=datetime(2026, 12, 1, 10, minute, tzinfo=UTC))
    code, out, _ = run(capsys, "--db", db, "contacts", "follows", "wm_1")
    assert code == 0 and "zhangsan (张三)" in out and "lisi (李四)" in out
    assert [line for line in out.splitlines() if "owner" in line][0].startswith("zhangsan")
    code, out, _ = run(capsys, "--db", db, "contacts", "owner", "wm_1", "lisi")
    assert "now owned by lisi" in out
    code, out, _ = run(capsys, "--db", db, "contacts", "follows", "wm_1")
    assert [line for line in out.splitlines() if "owner" in line][0].startswith("lisi")
    assert "owner (chosen)" in out
    code, out, _ = run(capsys, "--db", db, "contacts", "owner-rule", "last")
    assert out.startswith("owner rule: last")
    code, out, _ = run(capsys, "--db", db, "contacts", "owner-rule")
    assert out.strip() == "owner rule: last"


def test_identity_order_shows_and_sets(capsys, db):
    code, out, _ = run(capsys, "--db", db, "identity", "order")
    assert out.strip() == "identity order: external_userid, unionid, phone, member_id"
    code, out, _ = run(capsys, "--db", db, "identity", "order", "phone,unionid")
    assert out.strip() == "identity order: phone, unionid"
