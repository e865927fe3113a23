"""The Customer card page in Chromium, in Chinese: an operator searches, picks a customer
among two and reads the card (phone masked); a link with ``?contact=`` opens a card at once.
Screenshots at 1440 and 390 px wide go to ``/tmp/shots/customer_*.png``."""

from __future__ import annotations

from pathlib import Path

import pytest

import siyu
from tests.customers.world import HOSTILE, build_shop

from .conftest import login_as, new_workspace, serve_console, shown_text, wait_until

SHOTS = Path("/tmp/shots")


@pytest.fixture
def card_console(tmp_path):
    """A console speaking its default language (Chinese) on the customer-card tests' shop."""
    db = new_workspace(tmp_path / "shop.db")
    with siyu.open(str(db), load_entry_points=False) as ws:
        shop = build_shop(ws)
    with serve_console(db, environ={"SIYU_LANGUAGE": None}) as running:
        yield running, shop


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"customer_{name}.png"), full_page=True)


def shows(page, selector: str, text: str, timeout: float = 60) -> None:
    wait_until(lambda: text in shown_text(page.locator(selector)), page=page,
               timeout=timeout)


def search(page, term: str) -> None:
    box = page.locator(".siyu-customer-search input")
    box.fill(term)
    box.press("Enter")


def test_an_operator_finds_a_customer_and_reads_the_card(page, card_console):
    console, shop = card_console
    page.set_viewport_size({"width": 1440, "height": 900})
    login_as(page, console, "operator")
    page.goto(f"{console.url}/customer")
    page.locator(".siyu-customer-search input").wait_for(state="visible")
    assert "客户详情" in shown_text(page.locator("nav.siyu-nav"))
    search(page, "客户")  # 导入客户 by name, 王小明 by the remark 老客户
    shows(page, ".siyu-customer-results", "导入客户")
    page.locator(".siyu-customer-results .tabulator-row", has_text="王小明").first.click()
    shows(page, ".siyu-customer-title", "王小明")
    shows(page, ".siyu-customer-title", "免打扰")
    profile = shown_text(page.locator(".siyu-customer-profile"))
    assert "138****0001" in profile and "13800000001" not in profile
    shows(page, ".siyu-customer-order-kpis", "¥274.00")
    shows(page, ".siyu-customer-orders", "部分退款")
    shows(page, ".siyu-customer-timeline", "经活码「春季海报」由 张三 (zhangsan) 添加")
    shows(page, ".siyu-customer-history", "客户拒绝")
    shows(page, ".siyu-customer-risk", "双11返场")
    assert f"contact={shop.contact_id}" in page.url  # the address names the card shown
    shot(page, "1440")


def test_a_link_opens_a_card_that_fits_a_phone(page, card_console):
    console, shop = card_console
    page.set_viewport_size({"width": 390, "height": 844})
    login_as(page, console, "operator")
    page.goto(f"{console.url}/customer?contact={shop.contact_id}")
    shows(page, ".siyu-customer-title", "王小明")
    shows(page, ".siyu-customer-timeline", "春季海报")
    shows(page, ".siyu-customer-orders", "T2")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the card is {width} px wide at 390 px"
    shot(page, "390")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{console.url}/customer?contact={shop.hostile_id}")
    shows(page, ".siyu-customer-title", HOSTILE)  # shown as text, not run
    shows(page, ".siyu-customer-profile", HOSTILE)
    assert dialogs == []
