"""The public claim page over real HTTP: a signed link shows the offer, a claim shows what
was won, a second claim is refused with the reason, forged and expired links and floods are
turned away, and the ledger stays exact."""

from __future__ import annotations

import re
import time

import httpx
import pytest
import sqlalchemy as sa

import siyu
from siyu.plugins.rewards import claim_page, pools
from siyu.plugins.rewards.models import RewardClaim
from siyu.plugins.rewards.tokens import claim_url, make_token, read_token


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setattr(claim_page.ClaimHandler, "by_token", claim_page.RateLimiter(20))
    monkeypatch.setattr(claim_page.ClaimHandler, "by_address", claim_page.RateLimiter(120))
    from siyu.apps.server import serve_in_background

    ws = siyu.open(f"sqlite:///{tmp_path / 'r.db'}", load_entry_points=False)
    ws.set_language("zh_CN")
    for i in (1, 2):
        ws.contacts.upsert(f"wm000{i}", name=f"客户{i}")
    pools.create(ws, "welcome", kind="red_packet", title="新人红包 <b>", amount_fen=888,
                 budget_fen=888 * 10)
    pools.create(ws, "c20", kind="coupon", title="满百减二十", amount_fen=2000,
                 threshold_fen=10_000, coupon_days=30)
    pools.add_codes(ws, "c20", ["SAVE2020"])
    with serve_in_background(ws, secret="c" * 40) as server:
        yield ws, server.url.rstrip("/")
    ws.close()


def link(ws, base, pool, contact, **kwargs):
    pool_id = pools.get(ws, pool).id
    return claim_url(base, make_token(ws, pool_id, contact, **kwargs))


def count(ws):
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(
            RewardClaim.__table__)).scalar_one()


def test_a_customer_claims_a_red_packet_once(site):
    ws, base = site
    url = link(ws, base, "welcome", 1)
    offer = httpx.get(url)
    assert offer.status_code == 200
    assert "新人红包 &lt;b&gt;" in offer.text and "¥8.88" in offer.text
    token = re.search(r'name="t" value="([^"]+)"', offer.text).group(1)
    won = httpx.post(f"{base}/r/claim", data={"t": token})
    assert won.status_code == 200 and "¥8.88" in won.text and "微信零钱" in won.text
    again = httpx.post(f"{base}/r/claim", data={"t": token})
    assert again.status_code == 409 and "你已经领取过了" in again.text
    assert "¥8.88" in again.text  # what they won is still shown
    assert count(ws) == 1
    assert "你已领取" in httpx.get(url).text


def test_a_coupon_claim_shows_the_code_and_a_qr(site):
    ws, base = site
    url = link(ws, base, "c20", 2)
    token = url.split("t=")[1]
    won = httpx.post(f"{base}/r/claim", data={"t": token})
    assert "SAVE2020" in won.text and "有效期至" in won.text
    assert '<img src="data:image/svg+xml;' in won.text
    other = link(ws, base, "c20", 1).split("t=")[1]
    gone = httpx.post(f"{base}/r/claim", data={"t": other})
    assert gone.status_code == 409 and "已经被领完了" in gone.text


def test_forged_expired_and_other_workspace_links_are_refused(site):
    ws, base = site
    good = link(ws, base, "welcome", 1).split("t=")[1]
    pool, contact, expires, sig = good.split(".")
    forged = f"{pool}.2.{expires}.{sig}"
    expired = make_token(ws, int(pool), 1, days=-1)
    for token in (forged, expired, "garbage", ""):
        answer = httpx.post(f"{base}/r/claim", data={"t": token})
        assert answer.status_code == 400 and "链接无效或已过期" in answer.text
    assert read_token(ws, expired) is None and read_token(ws, good) is not None
    assert count(ws) == 0


def test_a_flood_from_one_token_is_slowed_down(site):
    ws, base = site
    url = link(ws, base, "welcome", 1)
    statuses = [httpx.get(url).status_code for _ in range(25)]
    assert statuses[:20] == [200] * 20 and statuses[20:] == [429] * 5


def test_token_expiry_is_checked_against_the_clock(site):
    ws, _base = site
    token = make_token(ws, 1, 1, days=1, now=time.time())
    assert read_token(ws, token, now=time.time() + 86_400 + 1) is None
