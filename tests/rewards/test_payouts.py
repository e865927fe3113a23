"""Paying red-packet claims through the sandbox's WeChat Pay, exactly once: the intent is
committed before the call, an unknown outcome is queried before anything is sent again, a
refusal stays visible with its reason and can be retried."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import ConfigError, ValidationError
from siyu.plugins.rewards import claims, payouts, pools
from siyu.plugins.rewards.models import RewardPayout


@pytest.fixture
def paying(tmp_path):
    """A workspace synced from a sandbox, WeChat Pay set up, and a pool of 8.88 red
    packets."""
    from siyu.plugins.wecom.config import save_config
    from siyu.plugins.wecom.sandbox.server import Sandbox
    from siyu.plugins.wecom.sync import sync

    with Sandbox(seed=7) as sandbox:
        ws = siyu.open(f"sqlite:///{tmp_path / 'pay.db'}", load_entry_points=False)
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url)
        sync(ws)
        payouts.configure(ws, mch_id=sandbox.mch_id, mch_key=sandbox.mch_key,
                          pay_secret=sandbox.pay_secret, sender_name="小思")
        pools.create(ws, "welcome", kind="red_packet", title="新人红包", amount_fen=888,
                     budget_fen=888 * 20)
        yield ws, sandbox
        ws.close()


def customers(ws, n):
    from siyu.storage.models import Contact

    with ws.engine.connect() as conn:
        return list(conn.execute(sa.select(Contact.id).where(
            Contact.external_userid.is_not(None)).order_by(Contact.id).limit(n)).scalars())


def states(ws):
    with ws.engine.connect() as conn:
        return {r.billno: (r.status, r.attempts, r.message) for r in conn.execute(
            sa.select(RewardPayout.__table__))}


def test_claims_are_paid_once_each(paying):
    ws, sandbox = paying
    for contact in customers(ws, 3):
        claims.claim(ws, "welcome", contact)
    report = payouts.pay_due(ws)
    assert (report.paid, report.failed, report.unknown) == (3, 0, 0)
    assert {s for s, _a, _m in states(ws).values()} == {"paid"}
    paid = sandbox.redpacks.paid()
    assert sorted(p.mch_billno for p in paid) == sorted(states(ws))
    assert all(p.total_amount == 888 for p in paid)
    assert payouts.pay_due(ws).paid == 0  # nothing left to pay
    assert len(sandbox.redpacks.paid()) == 3


def test_a_systemerror_is_queried_and_never_paid_twice(paying):
    ws, sandbox = paying
    [contact] = customers(ws, 1)
    claims.claim(ws, "welcome", contact)
    sandbox.faults.set(pay_systemerrors=1)
    assert payouts.pay_due(ws).unknown == 1
    [(status, attempts, _m)] = states(ws).values()
    assert (status, attempts) == ("unknown", 1)
    assert payouts.pay_due(ws).paid == 1  # reconciled by query, not sent again
    [(status, attempts, _m)] = states(ws).values()
    assert (status, attempts) == ("paid", 1)
    assert len(sandbox.redpacks.paid()) == 1


def test_a_refusal_stays_visible_and_a_retry_pays(paying):
    ws, sandbox = paying
    [contact] = customers(ws, 1)
    claims.claim(ws, "welcome", contact)
    sandbox.redpacks.merchant.balance = 100
    assert payouts.pay_due(ws).failed == 1
    [(billno, (status, _a, message))] = states(ws).items()
    assert status == "failed" and message
    ledger = claims.listing(ws)
    assert ledger["payout"].tolist() == ["failed"] and ledger["payout_message"].tolist() == [
        message]
    assert payouts.pay_due(ws).failed == 0  # a failed payout waits for someone to retry
    sandbox.redpacks.merchant.balance = 1_000_000
    assert payouts.retry(ws, billno) == "paid"
    with pytest.raises(ValidationError, match="only a failed payout"):
        payouts.retry(ws, billno)
    assert len(sandbox.redpacks.paid()) == 1


def test_a_customer_without_wecom_cannot_be_paid(paying):
    ws, _sandbox = paying
    member, _new = ws.contacts.upsert(None, name="会员", phone="13800000001")
    claims.claim(ws, "welcome", member.id)
    assert payouts.pay_due(ws).failed == 1
    [(status, _a, message)] = states(ws).values()
    assert status == "failed" and "WeCom" in message


def test_paying_needs_the_merchant_settings(tmp_path):
    ws = siyu.open(f"sqlite:///{tmp_path / 'x.db'}", load_entry_points=False)
    try:
        with pytest.raises(ConfigError, match="mch_id, mch_key, pay_secret"):
            payouts.pay_due(ws)
        with pytest.raises(ValidationError, match="merchant number"):
            payouts.configure(ws, mch_id="not a number!")
        shown = payouts.configure(ws, mch_id="1900000109", mch_key="k" * 32)
        assert shown["mch_key"] is True and "k" * 32 not in str(shown)
    finally:
        ws.close()
