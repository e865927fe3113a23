"""The Transfers page in Chromium, in Chinese: an operator picks a departing member, sees
their customers and customer group, gives them to two successors and executes; the records
tab shows each customer waiting for the takeover. Screenshots at 1440 and 390 px wide go to
``/tmp/shots/transfers_*.png``."""

from __future__ import annotations

from pathlib import Path

import pytest

import siyu

from .conftest import login_as, new_workspace, serve_console, shown_text, wait_until

SHOTS = Path("/tmp/shots")


@pytest.fixture
def transfer_console(tmp_path):
    """A console speaking its default language (Chinese), configured for a sandbox in this
    process and synced from it (zhangsan has three customers and owns VIP 客户群)."""
    from siyu.plugins.wecom.config import save_config
    from siyu.plugins.wecom.sandbox.server import Sandbox
    from siyu.plugins.wecom.sync import sync

    with Sandbox(seed=7) as sandbox:
        db = new_workspace(tmp_path / "wecom.db")
        with siyu.open(str(db), load_entry_points=False) as ws:
            save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret,
                        token=sandbox.token, encoding_aes_key=sandbox.encoding_aes_key,
                        base_url=sandbox.base_url)
            sync(ws)
            for userid, name in (("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五")):
                ws.staff.upsert(userid, name)
        with serve_console(db, environ={"SIYU_LANGUAGE": None}) as running:
            sandbox.set_callback_url(f"{running.url}/wecom/callback")
            yield running, sandbox


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"transfers_{name}.png"), full_page=True)


def choose(page, widget: str, label: str) -> None:
    page.locator(f".{widget} input.choices__input--cloned").fill(label)
    page.locator(f".{widget} .choices__list--dropdown .choices__item--choice",
                 has_text=label).first.click()
    wait_until(lambda: label in shown_text(page.locator(f".{widget} .choices__list--multiple")),
               page=page)


def open_tab(page, title: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".siyu-transfers-tabs .bk-tab", has_text=title).first.click()


def test_an_operator_hands_a_members_customers_to_two_successors(page, transfer_console):
    console, sandbox = transfer_console
    page.set_viewport_size({"width": 1440, "height": 900})
    login_as(page, console, "operator")
    page.goto(f"{console.url}/transfers")
    page.locator(".siyu-transfers-show button").first.wait_for(state="visible")
    page.locator(".siyu-transfers-member select").select_option(label="张三 (zhangsan)")
    page.locator(".siyu-transfers-show button").click()
    wait_until(lambda: "陈静" in shown_text(page.locator(".siyu-transfers-customers")),
               page=page, timeout=60)
    assert "VIP 客户群" in shown_text(page.locator(".siyu-transfers-groups"))
    for label in ("李四 (lisi)", "王五 (wangwu)"):
        choose(page, "siyu-transfers-successors", label)
    page.locator(".siyu-transfers-message input").fill("您好，后续将由我的同事为您服务")
    shot(page, "1440_new")
    page.locator(".siyu-transfers-plan-run button").click()
    wait_until(lambda: "等待接替 3" in shown_text(page.locator(".siyu-transfers-result")),
               page=page, timeout=60)
    assert len([t for t in sandbox.world.transfers if t.status == 2]) == 3

    open_tab(page, "继承记录")
    wait_until(lambda: shown_text(page.locator(".siyu-transfers-items"))
               .count("等待 24 小时后接替") == 3, page=page, timeout=60)
    shot(page, "1440_records")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{console.url}/transfers")  # as a phone opens it: the sidebar folded away
    page.locator(".siyu-transfers-show button").first.wait_for(state="visible")
    page.locator(".siyu-transfers-member select").select_option(label="张三 (zhangsan)")
    page.locator(".siyu-transfers-show button").click()
    wait_until(lambda: "陈静" in shown_text(page.locator(".siyu-transfers-customers")),
               page=page, timeout=60)
    groups = page.locator(".siyu-transfers-groups")
    groups.scroll_into_view_if_needed()  # on a phone the groups are below the customers
    wait_until(lambda: "VIP 客户群" in shown_text(groups), page=page, timeout=60)
    check_width(page, "new")
    shot(page, "390_new")
    open_tab(page, "继承记录")
    wait_until(lambda: "等待 24 小时后接替" in shown_text(page.locator(".siyu-transfers-items")),
               page=page, timeout=60)
    check_width(page, "records")
    shot(page, "390_records")


def check_width(page, tab: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the {tab} tab is {width} px wide at 390 px"
