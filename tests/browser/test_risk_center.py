"""The Risk center in Chromium, in Chinese: an operator tests a text and sees the listed
words highlighted, puts a customer on the do-not-contact list, and — once a sender has tried
to send them a campaign message — sees the blocked message among the risk events. Word lists
and the reason typed carry an HTML payload; it is shown as text and never runs.

Screenshots at 1366×900 and 390×844 go to ``/tmp/shots/risk_*.png`` (and, on failure, to
``test-artifacts/screenshots/``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import siyu
from siyu.plugins.risk import words
from tests.campaigns.conftest import Rehearsal, add_contacts

from .conftest import login_as, new_workspace, serve_console, shown_text, wait_until

HOSTILE = "<img src=x onerror=alert(1)>"
#: Runs only if it reaches HTML unescaped: sets a marker instead of opening a dialog.
MARKER = "<img src=y onerror=window.__xss=1>"
SHOTS = Path("/tmp/shots")
CAMPAIGN = "双十二预热"
#: Contact 顾客2 (id 3) lives in 上海, the campaign's audience.
CONTACT_ID = 3


@pytest.fixture
def risk_console(tmp_path):
    """A console speaking its default language on 20 contacts, a word list with a hostile
    category and word, and a campaign to 上海 launched (not sent yet)."""
    db = new_workspace(tmp_path / "shop.db")
    with siyu.open(str(db), plugins=[Rehearsal()], load_entry_points=False) as ws:
        add_contacts(ws, 20)
        ws.staff.upsert("zhangsan", "张三")
        words.import_words(ws, f"[引流]\n加微信\n[{HOSTILE}]\n{HOSTILE}\n")
        ws.campaigns.create(CAMPAIGN, channel="rehearsal", text="双十二会员日专属券",
                            spec={"city": {"cities": ["上海"]}}, sender="zhangsan")
        ws.campaigns.launch(CAMPAIGN)
    with serve_console(db, environ={"SIYU_LANGUAGE": None}) as console:
        yield console


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"risk_{name}.png"), full_page=True)


def open_tab(page, title: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # the header stays on top of what scrolls under it
    page.locator(".siyu-risk-tabs .bk-tab", has_text=title).first.click()


def test_an_operator_tests_a_text_lists_a_contact_and_sees_the_blocked_message(
        page, risk_console):
    dialogs: list[str] = []
    page.on("dialog", lambda box: (dialogs.append(box.message), box.dismiss()))
    page.set_viewport_size({"width": 1366, "height": 900})
    login_as(page, risk_console, "operator")
    page.goto(f"{risk_console.url}/risk")
    page.locator(".siyu-risk-rule-cards .siyu-risk-rule").first.wait_for(state="visible")
    rules = shown_text(page.locator(".siyu-risk-rule-cards"))
    assert "免打扰名单" in rules and "员工每日发送上限" in rules
    assert page.locator(".siyu-risk-quiet-save button").is_disabled()  # settings: admin
    shot(page, "rules")

    open_tab(page, "文本检测")
    page.locator(".siyu-risk-test-text textarea").fill(f"扫码加微信领取 {HOSTILE}")
    page.locator(".siyu-risk-test-button button").click()
    hits = page.locator(".siyu-risk-test-result mark.siyu-risk-hit")
    wait_until(lambda: hits.count() == 2, page=page, timeout=30)
    assert hits.nth(0).inner_text() == "加微信"
    # the listed payload, highlighted as text (a match neither starts nor ends with a
    # character normalisation drops, such as < and >)
    assert hits.nth(1).inner_text() == "img src=x onerror=alert(1"
    result = shown_text(page.locator(".siyu-risk-test-result"))
    assert HOSTILE in result and "发现 2 个敏感词" in result
    shot(page, "tester")

    open_tab(page, "词库")
    categories = page.locator(".siyu-risk-categories")
    wait_until(lambda: HOSTILE in shown_text(categories), page=page, timeout=30)
    shot(page, "words")

    open_tab(page, "免打扰")
    page.locator(".siyu-risk-dnc-ids textarea").fill(str(CONTACT_ID))
    page.locator(".siyu-risk-dnc-reason input").fill(f"投诉 {HOSTILE}{MARKER}")
    page.locator(".siyu-risk-dnc-add button").click()
    table = page.locator(".siyu-risk-dnc-table")
    wait_until(lambda: "顾客2" in shown_text(table), page=page, timeout=30)
    assert HOSTILE in shown_text(table)
    shot(page, "dnc")

    with siyu.open(str(risk_console.db), plugins=[Rehearsal()],
                   load_entry_points=False) as ws:
        report = ws.campaigns.drain()  # a sender process would
        assert report.statuses == {"sent": 9, "blocked": 1}

    open_tab(page, "拦截与暂缓")
    events = page.locator(".siyu-risk-events-table")
    wait_until(lambda: "顾客2" in shown_text(events), page=page, timeout=30)
    shown = shown_text(events)
    assert "免打扰名单" in shown and "已拦截" in shown and CAMPAIGN in shown
    assert HOSTILE in shown and "双十二会员日专属券" in shown
    shot(page, "events")

    open_tab(page, "每日汇总")
    summary = page.locator(".siyu-risk-summary-table")
    wait_until(lambda: "免打扰名单：已拦截" in shown_text(summary), page=page, timeout=30)
    shot(page, "summary")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{risk_console.url}/risk")  # as a phone opens it: the sidebar folded away
    page.locator(".siyu-risk-rule-cards .siyu-risk-rule").first.wait_for(state="visible")
    for title, name in (("规则", "rules"), ("词库", "words"), ("文本检测", "tester"),
                        ("免打扰", "dnc"), ("拦截与暂缓", "events"), ("每日汇总", "summary")):
        open_tab(page, title)
        if name == "tester":
            page.locator(".siyu-risk-test-text textarea").fill(f"扫码加微信领取 {HOSTILE}")
            page.locator(".siyu-risk-test-button button").click()
            hits.first.wait_for(state="visible")
        page.wait_for_timeout(800)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the {name} tab is {width}px wide at 390px"
        shot(page, f"{name}-phone")

    assert not dialogs, dialogs
    assert page.evaluate("window.__xss === undefined")
