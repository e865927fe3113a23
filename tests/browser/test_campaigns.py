"""The Campaigns page in Chromium: an operator composes a campaign to a saved segment, sees
who will actually receive it, launches it, and watches the results fill as the sandbox's
staff confirm the WeCom mass messages; and an operator reminds the staff who have not
confirmed a campaign's mass messages yet."""

from __future__ import annotations

import siyu
from siyu.core.errors import NotFound
from siyu.plugins.wecom.channel import poll_results
from siyu.plugins.wecom.sandbox.crowd import confirm_all, gather

from .conftest import login_as, screenshot, shown_text, visit, wait_until

NAME = "双十二预热"
TEXT = "双十二会员日，{staff}为您准备了专属券"
REMIND = "周末活动"


def _digits(text: str) -> str:
    return text.replace(",", "")


def test_compose_preview_launch_and_watch_results(page, sandbox_console):
    console, sandbox = sandbox_console
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        gather(sandbox, ws, customers=300, staff=3)
        ws.segments.create("全部好友", {"friend": {}})
        selected = ws.segments.count("全部好友")
    login_as(page, console, "operator")
    visit(page, console, "campaigns", ready=".siyu-campaign-preview button")

    page.locator(".siyu-campaign-name input").fill(NAME)
    page.locator(".siyu-campaign-segment select").select_option(label="全部好友")
    page.locator(".siyu-campaign-text textarea").fill(TEXT)
    page.locator(".siyu-campaign-holdout input").fill("10")
    page.locator(".siyu-campaign-holdout input").press("Enter")
    page.locator(".siyu-campaign-preview button").click()

    with siyu.open(str(console.db), load_entry_points=False) as ws:
        def saved_preview():
            try:
                return ws.campaigns.preview(NAME)
            except NotFound:  # the console has not saved it yet
                return None

        preview = wait_until(saved_preview, page=page, timeout=60)
    assert preview["selected"] == selected
    assert preview["reasons"]["holdout"] > 0
    will = f"{preview['will_receive']:,}"
    wait_until(lambda: will in shown_text(page.locator(".siyu-campaign-will")), page=page,
               timeout=30)
    breakdown = shown_text(page.locator(".siyu-campaign-breakdown"))
    assert _digits(str(preview["reasons"]["holdout"])) in _digits(breakdown)
    samples = shown_text(page.locator(".siyu-campaign-samples"))
    assert "双十二会员日" in samples and "{staff}" not in samples
    screenshot(page, "preview")

    launch = page.locator(".siyu-campaign-launch button")
    wait_until(lambda: launch.is_enabled(), page=page)
    launch.click()
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        wait_until(lambda: ws.campaigns.get(NAME).status == "sending", timeout=30)
        report = ws.campaigns.drain()  # a sender process would
        assert report.statuses == {"pending": preview["will_receive"]}, set(
            ws.campaigns.deliveries(NAME)["reason"])
        texts = {t.text["content"] for t in sandbox.world.tasks.values()}
        for text in texts:
            confirm_all(sandbox, text)
        poll_results(ws)  # the scheduler's wecom.mass_results job would
        assert ws.campaigns.counts(NAME)["sent"] == preview["will_receive"]

    page.locator(".siyu-campaign-refresh button").click()
    sent = f"{preview['will_receive']:,}"
    wait_until(lambda: sent in shown_text(page.locator(".siyu-campaign-results")),
               page=page, timeout=30)
    results = shown_text(page.locator(".siyu-campaign-results"))
    assert "NaN" not in results
    screenshot(page, "results")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "results-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page is {width}px wide at 390px"


def test_an_operator_reminds_the_staff_who_have_not_confirmed(page, sandbox_console):
    console, sandbox = sandbox_console
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        ws.users.set_language("operator", "zh_CN")
        gather(sandbox, ws, customers=60, staff=3)
        ws.campaigns.create(REMIND, channel="wecom", text="周末到店，{staff}送您咖啡券",
                            spec={"friend": {}})
        ws.campaigns.launch(REMIND)
        ws.campaigns.drain()  # a sender process would; the tasks now wait for the staff
        msgids = set(ws.campaigns.deliveries(REMIND)["provider_id"])
    assert len(msgids) == 3
    login_as(page, console, "operator")
    visit(page, console, "campaigns", ready=".siyu-campaign-remind button")

    button = page.locator(".siyu-campaign-remind button")
    assert button.inner_text().strip() == "提醒员工发送"
    button.click()

    toasts = page.locator(".notyf__message")
    wait_until(lambda: any(f"已提醒员工发送活动 {REMIND}：共发出 3 条提醒" in t
                           for t in toasts.all_inner_texts()), page=page, timeout=30)
    with sandbox.world.lock:
        assert [len(sandbox.world.tasks[m].reminders) for m in sorted(msgids)] == [1, 1, 1]
    page.set_viewport_size({"width": 1440, "height": 900})
    screenshot(page, "reminded")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(".siyu-campaign-remind").first.scroll_into_view_if_needed()
    screenshot(page, "reminded-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page is {width}px wide at 390px"
