"""The claim page in Chromium on a phone: a customer opens the link, claims, sees the amount;
a second tap is refused with the reason and still shows what was won."""

from __future__ import annotations

from pathlib import Path

import pytest

import siyu

from .conftest import screenshot

SHOTS = Path("/tmp/shots")


@pytest.fixture
def claim_site(tmp_path):
    from siyu.apps.server import serve_in_background
    from siyu.plugins.rewards import pools

    ws = siyu.open(f"sqlite:///{tmp_path / 'claim.db'}", load_entry_points=False)
    ws.set_language("zh_CN")
    ws.contacts.upsert("wm0001", name="客户")
    pools.create(ws, "welcome", kind="red_packet", title="新人红包", amount_fen=888,
                 budget_fen=8880)
    with serve_in_background(ws, secret="p" * 40) as server:
        yield ws, server.url.rstrip("/")
    ws.close()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"claim_{name}.png"), full_page=True)
    screenshot(page, name)


def test_a_customer_claims_on_a_phone(page, context, claim_site):
    from siyu.plugins.rewards import pools
    from siyu.plugins.rewards.tokens import claim_url, make_token

    ws, base = claim_site
    url = claim_url(base, make_token(ws, pools.get(ws, "welcome").id, 1))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    second_tab = context.new_page()  # the same link opened twice, before claiming
    second_tab.goto(url)
    assert "新人红包" in page.locator("h1").inner_text()
    shot(page, "390_offer")
    page.locator(".siyu-claim-button").click()
    page.locator(".siyu-claim-won .amount").wait_for(state="visible")
    assert page.locator(".siyu-claim-won .amount").inner_text() == "¥8.88"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "390_won")
    second_tab.set_viewport_size({"width": 390, "height": 844})
    second_tab.locator(".siyu-claim-button").click()
    second_tab.locator(".siyu-claim-won").wait_for(state="visible")
    assert "你已经领取过了" in second_tab.locator(".siyu-claim").inner_text()
    shot(second_tab, "390_second_claim")
    page.goto(url)
    assert "你已领取" in page.locator("h1").inner_text()
    assert pools.summary(ws, "welcome")["claims"] == 1
