"""The claim ledger: budgets, per-contact and daily limits, coupon codes and lucky shares
handed out once, windows and eligibility — enforced by the database, so they hold when many
processes claim at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import NotFound, ValidationError
from siyu.plugins.rewards import pools
from siyu.plugins.rewards.claims import ClaimRefused, claim
from siyu.plugins.rewards.models import RewardClaim, RewardItem, RewardPayout, RewardPool
from siyu.storage.types import utcnow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def rws(db_url):
    """A workspace with the rewards plugin and 50 contacts (ids 1-50)."""
    ws = siyu.open(db_url, load_entry_points=False)
    for i in range(1, 51):
        ws.contacts.upsert(f"wm{i:04d}", name=f"客户{i}")
    yield ws
    ws.close()


def refused(ws, pool, contact, **kwargs) -> str:
    with pytest.raises(ClaimRefused) as caught:
        claim(ws, pool, contact, **kwargs)
    return caught.value.reason


def ledger(ws):
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(RewardClaim.__table__)).all()


def test_a_fixed_pool_pays_until_its_budget_and_one_claim_per_contact(rws):
    pools.create(rws, "welcome", kind="red_packet", amount_fen=888, budget_fen=888 * 3)
    granted = [claim(rws, "welcome", c) for c in (1, 2, 3)]
    assert [g.amount_fen for g in granted] == [888, 888, 888]
    assert refused(rws, "welcome", 4) == "budget"
    assert refused(rws, "welcome", 1) == "limit"
    summary = pools.summary(rws, "welcome")
    assert (summary["spent_fen"], summary["claims"]) == (888 * 3, 3)
    with rws.engine.connect() as conn:
        payouts = conn.execute(sa.select(RewardPayout.__table__)).all()
    assert sorted(p.claim_id for p in payouts) == sorted(g.id for g in granted)
    assert len({p.billno for p in payouts}) == 3 and all(len(p.billno) <= 28 for p in payouts)
    assert all(p.status == "pending" for p in payouts)


def test_daily_limits_count_days_in_the_workspace_timezone(rws):
    pools.create(rws, "daily", kind="red_packet", amount_fen=100, budget_fen=10_000,
                 contact_limit=3, daily_limit=1)
    day = utcnow().replace(hour=1, minute=0)  # 09:00 in Shanghai
    claim(rws, "daily", 1, now=day)
    assert refused(rws, "daily", 1, now=day + timedelta(hours=2)) == "daily_limit"
    claim(rws, "daily", 1, now=day + timedelta(hours=16))  # 01:00 the next local day
    claim(rws, "daily", 1, now=day + timedelta(days=2))
    assert refused(rws, "daily", 1, now=day + timedelta(days=3)) == "limit"
    assert [r.seq for r in ledger(rws)] == [1, 2, 3]


def test_random_amounts_stay_in_range_and_lucky_shares_add_up(rws):
    import random

    pools.create(rws, "rand", kind="red_packet", mode="random", min_fen=100, max_fen=500,
                 budget_fen=100_000)
    amounts = [claim(rws, "rand", c, rng=random.Random(c)).amount_fen for c in range(1, 21)]
    assert all(100 <= a <= 500 for a in amounts) and len(set(amounts)) > 1
    pools.create(rws, "lucky", kind="red_packet", mode="lucky", budget_fen=10_000, shares=10)
    shares = [claim(rws, "lucky", c).amount_fen for c in range(1, 11)]
    assert sum(shares) == 10_000 and all(100 <= s <= 20_000 for s in shares)
    assert refused(rws, "lucky", 11) == "sold_out"
    assert pools.summary(rws, "lucky")["spent_fen"] == 10_000


def test_coupon_codes_are_each_issued_once_and_expire(rws):
    pools.create(rws, "c20", kind="coupon", amount_fen=2000, threshold_fen=10_000,
                 coupon_days=30)
    assert pools.add_codes(rws, "c20", ["CODE0001", "CODE0002"]) == 2
    first, second = claim(rws, "c20", 1), claim(rws, "c20", 2)
    assert {first.code, second.code} == {"CODE0001", "CODE0002"}
    assert first.expires_at - first.claimed_at == timedelta(days=30)
    assert refused(rws, "c20", 3) == "sold_out"
    with rws.engine.connect() as conn:  # no payout for a coupon
        assert conn.execute(sa.select(sa.func.count()).select_from(
            RewardPayout.__table__)).scalar_one() == 0


@pytest.mark.parametrize("codes, problem", [
    (["DUPE0001", "DUPE0001"], "more than once"),
    (["ok-code1", "bad code"], "'bad code'"),
    (["CODE0001"], "has these codes already"),
])
def test_bad_coupon_files_store_nothing(rws, codes, problem):
    pools.create(rws, "c", kind="coupon", amount_fen=500)
    pools.add_codes(rws, "c", ["CODE0001"])
    with pytest.raises(ValidationError, match=problem):
        pools.add_codes(rws, "c", codes)
    assert pools.summary(rws, "c")["items"] == 1


@pytest.mark.parametrize("kwargs, problem", [
    ({"kind": "red_packet", "amount_fen": 99, "budget_fen": 1000}, "100 to 20,000"),
    ({"kind": "red_packet", "amount_fen": 20_001, "budget_fen": 100_000}, "100 to 20,000"),
    ({"kind": "red_packet", "amount_fen": 100, "budget_fen": 0}, "budget"),
    ({"kind": "red_packet", "mode": "lucky", "budget_fen": 500, "shares": 10}, "cannot be split"),
    ({"kind": "red_packet", "mode": "random", "min_fen": 500, "max_fen": 200,
      "budget_fen": 1000}, "below the smallest"),
    ({"kind": "voucher"}, "unknown kind"),
    ({"kind": "coupon", "amount_fen": 0}, "face value"),
])
def test_bad_pools_are_refused_with_the_reason(rws, kwargs, problem):
    with pytest.raises(ValidationError, match=problem):
        pools.create(rws, "bad", **kwargs)
    with pytest.raises(NotFound):
        pools.get(rws, "bad")


def test_windows_pauses_and_eligibility(rws):
    now = utcnow()
    pools.create(rws, "later", kind="red_packet", amount_fen=100, budget_fen=1000,
                 starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    assert refused(rws, "later", 1) == "not_started"
    assert refused(rws, "later", 1, now=now + timedelta(hours=3)) == "ended"
    rws.tags.create("会员/金卡")
    rws.tags.tag([5], ["会员/金卡"])
    pools.create(rws, "gold", kind="red_packet", amount_fen=100, budget_fen=1000,
                 tag="会员/金卡")
    assert refused(rws, "gold", 1) == "not_eligible"
    assert claim(rws, "gold", 5).amount_fen == 100
    pools.set_status(rws, "gold", "paused")
    assert refused(rws, "gold", 6) == "paused"
    assert len(ledger(rws)) == 1


def test_the_database_refuses_what_python_might_get_wrong(rws):
    """The constraints themselves: over budget, over a limit, an item given twice."""
    pools.create(rws, "p", kind="red_packet", amount_fen=100, budget_fen=100)
    granted = claim(rws, "p", 1)
    with rws.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.update(RewardPool).values(spent_fen=RewardPool.spent_fen + 100))
    with rws.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.insert(RewardClaim).values(
            pool_id=granted.pool_id, contact_id=1, seq=2, contact_limit=1, amount_fen=0,
            claimed_at=utcnow(), source=""))
    with rws.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.insert(RewardClaim).values(
            pool_id=granted.pool_id, contact_id=1, seq=1, contact_limit=1, amount_fen=0,
            claimed_at=utcnow(), source=""))
    pools.create(rws, "c", kind="coupon", amount_fen=100)
    pools.add_codes(rws, "c", ["AAAA1", "AAAA2"])
    taken = claim(rws, "c", 1)
    with rws.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.update(RewardItem).where(RewardItem.code == "AAAA2")
                     .values(claim_id=taken.id))


def test_a_claim_notifies_on_reward_claimed_once_with_the_ledger_row(db_url):
    seen = []

    class Listener:
        @siyu.hookimpl
        def on_reward_claimed(self, ws, claim, delivery_id):
            seen.append((claim.id, claim.amount_fen, claim.contact_id, delivery_id))

    ws = siyu.open(db_url, load_entry_points=False, plugins=[Listener()])
    try:
        ws.contacts.upsert("wm0001", name="客户")
        pools.create(ws, "w", kind="red_packet", amount_fen=300, budget_fen=3000)
        granted = claim(ws, "w", "wm0001")
        assert [s[:3] for s in seen] == [(granted.id, 300, granted.contact_id)]
    finally:
        ws.close()


def _run_workers(url: str, pool: str, processes: int, threads: int, attempts: int,
                 contacts: int) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-m", "tests.rewards.claim_worker", url, pool,
                               str(threads), str(attempts), str(contacts), str(seed)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for seed in range(processes)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check_exact(ws, pool_name: str, packets: int, amount: int, limit: int, attempts: int,
                 results: list[dict]) -> None:
    granted = sum(r.get("granted", 0) for r in results)
    assert sum(sum(r.values()) for r in results) == attempts
    assert granted == packets
    summary = pools.summary(ws, pool_name)
    assert summary["spent_fen"] == summary["budget_fen"] == packets * amount
    rows = ledger(ws)
    assert len(rows) == packets
    per_contact: dict[int, int] = {}
    for row in rows:
        per_contact[row.contact_id] = per_contact.get(row.contact_id, 0) + 1
    assert max(per_contact.values()) <= limit
    with ws.engine.connect() as conn:
        payouts = conn.execute(sa.select(RewardPayout.claim_id)).scalars().all()
    assert sorted(payouts) == sorted(r.id for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_many_processes_and_threads_claim_exactly_the_pool(db_url):
    """4 processes × 32 threads make 20,000 attempts on 1,000 red packets, many from the same
    contacts: exactly 1,000 granted, the budget exactly spent, nobody over their limit, and
    one payout per ledger row."""
    ws = siyu.open(db_url, load_entry_points=False)
    try:
        for i in range(1, 601):
            ws.contacts.upsert(f"wm{i:04d}", name=f"客户{i}")
        pools.create(ws, "burst", kind="red_packet", amount_fen=200, budget_fen=200 * 1000,
                     contact_limit=2)
        results = _run_workers(db_url, "burst", processes=4, threads=32,
                               attempts=20_000 // 128 + 1, contacts=600)
        extra = sum(sum(r.values()) for r in results) - 20_000
        _check_exact(ws, "burst", 1000, 200, 2, 20_000 + extra, results)
    finally:
        ws.close()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_concurrent_processes_claim_exactly_the_pool_on_sqlite(db_url):
    ws = siyu.open(db_url, load_entry_points=False)
    try:
        for i in range(1, 201):
            ws.contacts.upsert(f"wm{i:04d}", name=f"客户{i}")
        pools.create(ws, "burst", kind="red_packet", amount_fen=200, budget_fen=200 * 300,
                     contact_limit=2)
        results = _run_workers(db_url, "burst", processes=4, threads=4, attempts=150,
                               contacts=200)
        _check_exact(ws, "burst", 300, 200, 2, 4 * 4 * 150, results)
    finally:
        ws.close()


@pytest.mark.parametrize("name", ["' OR 1=1 --", "<img src=x onerror=alert(1)>", "x" * 65])
def test_hostile_pool_names_are_refused(rws, name):
    with pytest.raises(ValidationError, match="pool name"):
        pools.create(rws, name, kind="red_packet", amount_fen=100, budget_fen=1000)
    assert pools.listing(rws).empty
