"""The campaign composer in Chromium: an operator composes an A/B test (two variants, 50/50)
with a 10% holdout and a link attachment, sees who will receive it, schedules it for
tomorrow 10:00 and finds that time, in the workspace timezone, in the list; an analyst
drafts and previews but finds no way to send; the fields follow the channel (targets for
group robots, a subject for e-mail); hostile names stay text; the composer fits a phone.

The console runs with ``TZ=UTC`` while the workspace keeps its own timezone
(Asia/Shanghai), so a time read in the wrong zone shows up as 18:00 instead of 10:00.
Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

import siyu
from siyu.plugins.robots.store import add_robot

from .conftest import (
    Console,
    login_as,
    new_workspace,
    screenshot,
    serve_console,
    shown_text,
    visit,
    wait_until,
)
from .test_hostile_names import IMG, MARKER, SVG, Watch, shows

SEGMENT = "全部好友"
ROBOT = "门店群机器人"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
#: A template-looking string: it must reach the page as it is, never as 49.
BRACES = "{{7*7}}"
LONG_NAME = "双十二会员日全国门店联合大促预热活动第一波老客回流专属福利" * 3


@pytest.fixture(scope="module")
def composer_console(tmp_path_factory) -> Iterator[Console]:
    """A console on the sample business (3,000 WeCom customers with owners) with the
    segment :data:`SEGMENT` and the group robot :data:`ROBOT`, speaking its default
    language (Chinese) and running with ``TZ=UTC``."""
    folder = tmp_path_factory.mktemp("composer")
    db = new_workspace(folder / "shop.db", sample=True)
    with siyu.open(str(db), load_entry_points=False) as ws:
        ws.segments.create(SEGMENT, {"friend": {}})
        add_robot(ws, ROBOT, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test-key")
    with serve_console(db, environ={"TZ": "UTC", "SIYU_LANGUAGE": None}) as running:
        yield running


def unique(prefix: str) -> str:
    """A campaign name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def open_composer(page, console: Console, role: str) -> None:
    """Sign in as ``role`` and open the Campaigns page on a laptop screen."""
    page.set_viewport_size(DESKTOP)
    login_as(page, console, role)
    visit(page, console, "campaigns", ready=".siyu-campaign-preview button")


def fill_basics(page, name: str, text: str) -> None:
    """Name, segment and message of a WeCom campaign."""
    page.locator(".siyu-campaign-name input").fill(name)
    page.locator(".siyu-campaign-segment select").select_option(label=SEGMENT)
    page.locator(".siyu-campaign-text textarea").fill(text)
    page.locator(".siyu-campaign-text textarea").blur()


def turn_on_ab(page) -> None:
    """Tick the A/B test box and wait for its two variant rows."""
    page.locator(".siyu-campaign-ab input").check()
    wait_until(lambda: page.locator(".siyu-campaign-variant").count() == 2, page=page)


def set_input(locator, value: str) -> None:
    """Type ``value`` into an input and commit it (Enter, then leave the field)."""
    locator.fill(value)
    locator.press("Enter")
    locator.blur()


def add_link(page, title: str, url: str, description: str) -> None:
    """Add a link attachment through the attachment form."""
    page.locator(".siyu-campaign-attachment-kind select").select_option(label="链接")
    page.locator(".siyu-campaign-attachment-link-title input").fill(title)
    page.locator(".siyu-campaign-attachment-link-url input").fill(url)
    page.locator(".siyu-campaign-attachment-link-desc input").fill(description)
    page.locator(".siyu-campaign-attachment-link-desc input").blur()
    page.locator(".siyu-campaign-attachment-add button").click()


def preview(page, console: Console, name: str) -> dict:
    """Click "save and preview"; wait until the page shows what the service previews."""
    page.locator(".siyu-campaign-preview button").click()
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        wait_until(lambda: name in set(ws.campaigns.list()["name"]), page=page, timeout=30)
        expected = ws.campaigns.preview(name)
    will = f"{expected['will_receive']:,}"
    wait_until(lambda: will in shown_text(page.locator(".siyu-campaign-will")), page=page,
               timeout=30)
    return expected


def schedule_for(page, day: str, at: str) -> None:
    """Choose "schedule", then the day (set through the date picker, as its calendar does)
    and the time (typed into the time picker's hour and minute fields)."""
    page.locator(".siyu-campaign-when button", has_text="定时发送").click()
    page.locator(".siyu-campaign-day input.form-control").wait_for(state="visible")
    page.locator(".siyu-campaign-day input.flatpickr-input").last.evaluate(
        "(el, day) => el._flatpickr.setDate(day, true)", day)
    hour, minute = at.split(":")
    page.locator(".siyu-campaign-time input.form-control").click()
    page.locator(".siyu-campaign-time .flatpickr-hour").fill(hour)
    page.locator(".siyu-campaign-time .flatpickr-hour").press("Tab")
    page.locator(".siyu-campaign-time .flatpickr-minute").fill(minute)
    page.locator(".siyu-campaign-time .flatpickr-minute").press("Enter")
    page.locator(".siyu-page-title").click()  # closes the picker
    launch = page.locator(".siyu-campaign-launch button")
    wait_until(lambda: launch.inner_text().strip() == f"定时于 {day} {at} 发送", page=page)


def tomorrow_in(ws) -> str:
    """Tomorrow's date in the workspace timezone, ``YYYY-MM-DD``."""
    return (datetime.now(ws.timezone).date() + timedelta(days=1)).isoformat()


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_an_operator_schedules_an_ab_test_with_holdout_and_link(page, composer_console):
    console = composer_console
    name = unique("会员日AB")
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        day, tz = tomorrow_in(ws), ws.timezone
    open_composer(page, console, "operator")

    fill_basics(page, name, "会员日专享，{staff}为您准备了礼券")
    set_input(page.locator(".siyu-campaign-holdout input"), "10")
    turn_on_ab(page)
    shares = page.locator(".siyu-campaign-variant-share input")
    assert [shares.nth(i).input_value() for i in range(2)] == ["50", "50"]
    variant_b = page.locator(".siyu-campaign-variant-text textarea").nth(1)
    variant_b.fill("B版：满299减50，")
    variant_b.blur()
    page.locator(".siyu-campaign-variant").nth(1).locator(
        ".siyu-campaign-chip-staff button").click()
    wait_until(lambda: variant_b.input_value() == "B版：满299减50，{staff}", page=page)
    shows(page, ".siyu-campaign-variant-total", "占比合计 100%")
    add_link(page, "会员日福利", "https://shop.example.cn/vip", "老客专享")
    shows(page, ".siyu-campaign-attachments", "会员日福利", "https://shop.example.cn/vip")
    shows(page, ".siyu-campaign-attachment-count", "附件 1/9")

    expected = preview(page, console, name)
    assert set(expected["variants"]) == {"A", "B"} and expected["reasons"]["holdout"] > 0
    shows(page, ".siyu-campaign-will", "版本 A", "版本 B", f"{expected['selected']:,}")
    shows(page, ".siyu-campaign-breakdown", "对照组", f"{expected['reasons']['holdout']:,}")
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        campaign = ws.campaigns.get(name)
    assert campaign.holdout_pct == 10
    assert [(v["name"], v["share"]) for v in campaign.variants] == [("A", 50), ("B", 50)]
    assert campaign.variants[0]["content"] is None
    assert campaign.variants[1]["content"]["text"] == "B版：满299减50，{staff}"
    link = {"msgtype": "link", "link": {"title": "会员日福利", "desc": "老客专享",
                                         "url": "https://shop.example.cn/vip"}}
    assert campaign.content["attachments"] == [link]
    assert campaign.variants[1]["content"]["attachments"] == [link]
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "composed")

    schedule_for(page, day, "10:00")
    launch = page.locator(".siyu-campaign-launch button")
    wait_until(lambda: launch.is_enabled(), page=page)
    launch.click()
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        wait_until(lambda: ws.campaigns.get(name).status == "scheduled", page=page,
                   timeout=30)
        scheduled_at = ws.campaigns.get(name).scheduled_at
    assert scheduled_at.astimezone(tz) == datetime.fromisoformat(f"{day}T10:00").replace(
        tzinfo=tz)
    shown_at = f"{day} 10:00"
    row = page.locator(".siyu-campaigns-list .tabulator-row", has_text=name)
    wait_until(lambda: shown_at in shown_text(row), page=page)
    assert "已定时" in shown_text(row)
    shows(page, ".siyu-campaign-scheduled", name, shown_at)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "scheduled")

    page.locator(".siyu-campaign-scheduled-row", has_text=name).locator(
        ".siyu-campaign-scheduled-cancel button").click()
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        wait_until(lambda: ws.campaigns.get(name).status == "cancelled", page=page,
                   timeout=30)
    wait_until(lambda: "已取消" in shown_text(row), page=page)


def test_an_analyst_drafts_and_previews_but_cannot_send(page, composer_console):
    console = composer_console
    name = unique("分析草稿")
    open_composer(page, console, "analyst")

    assert page.locator(".siyu-campaign-launch").count() == 0
    assert page.locator(".siyu-campaign-when").count() == 0
    shows(page, ".siyu-campaign-send-note", "运营人员")
    fill_basics(page, name, "分析师起草的消息")
    expected = preview(page, console, name)
    assert expected["will_receive"] > 0
    assert page.locator(".siyu-campaign-launch").count() == 0
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        assert ws.campaigns.get(name).status == "draft"
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "analyst")


def test_the_fields_follow_the_channel(page, composer_console):
    console = composer_console
    name = unique("机器人通知")
    open_composer(page, console, "operator")
    channel = page.locator(".siyu-campaign-channel select")
    segment, targets = page.locator(".siyu-campaign-segment"), page.locator(
        ".siyu-campaign-targets")
    chips = page.locator(".siyu-campaign-text-chips .siyu-campaign-chip")

    assert segment.is_visible() and not targets.is_visible()
    assert not page.locator(".siyu-campaign-subject").is_visible()
    wait_until(lambda: chips.count() == 1, page=page)  # WeCom fills {staff} only

    channel.select_option(label="电子邮件")
    page.locator(".siyu-campaign-subject input").wait_for(state="visible")
    wait_until(lambda: chips.count() == 3, page=page)
    wait_until(lambda: not page.locator(".siyu-campaign-attachments-editor").is_visible(),
               page=page)
    page.locator(".siyu-campaign-chip-nickname button").click()
    text = page.locator(".siyu-campaign-text textarea")
    wait_until(lambda: text.input_value() == "{nickname}", page=page)

    channel.select_option(label="群机器人")
    targets.locator("input").first.wait_for(state="visible")
    wait_until(lambda: not segment.is_visible(), page=page)
    wait_until(lambda: not page.locator(".siyu-campaign-testing").is_visible(), page=page)
    wait_until(lambda: chips.count() == 0, page=page)
    page.locator(".siyu-campaign-name input").fill(name)
    text.fill("今晚 8 点直播，记得来")
    text.blur()
    targets.locator("input.choices__input--cloned").click()
    page.locator(".siyu-campaign-targets .choices__list--dropdown .choices__item",
                 has_text=ROBOT).first.click()
    expected = preview(page, console, name)
    assert expected["selected"] == 1
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        campaign = ws.campaigns.get(name)
    assert campaign.channel == "robot" and campaign.audience == {"targets": [ROBOT]}
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "robot")


def test_hostile_names_in_the_composer_are_shown_as_text(page, composer_console):
    console = composer_console
    name = f"{IMG} {BRACES} {LONG_NAME}"
    watch = Watch(page)
    open_composer(page, console, "operator")

    fill_basics(page, name, f"{SVG}{MARKER} {BRACES}")
    turn_on_ab(page)
    names = page.locator(".siyu-campaign-variant-name input")
    for i, variant in enumerate((IMG[:40], BRACES)):
        set_input(names.nth(i), variant)
    variant_text = page.locator(".siyu-campaign-variant-text textarea").nth(0)
    variant_text.fill(f"{IMG} {BRACES}")
    variant_text.blur()
    add_link(page, IMG, "https://shop.example.cn/x", SVG)
    shows(page, ".siyu-campaign-attachments", IMG)
    preview(page, console, name)
    watch.check("the preview")

    shows(page, ".siyu-campaign-will", f"版本 {IMG[:40]}", f"版本 {BRACES}")
    shows(page, ".siyu-campaign-samples", "{7*7}")
    samples = shown_text(page.locator(".siyu-campaign-samples"))
    assert "49" not in samples and (IMG in samples or SVG in samples)
    row = page.locator(".siyu-campaigns-list .tabulator-row", has_text=BRACES)
    wait_until(lambda: IMG in shown_text(row), page=page)
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        schedule_day = tomorrow_in(ws)
    schedule_for(page, schedule_day, "09:30")
    launch = page.locator(".siyu-campaign-launch button")
    wait_until(lambda: launch.is_enabled(), page=page)
    launch.click()
    shows(page, ".siyu-campaign-scheduled", name, f"{schedule_day} 09:30")
    watch.check("scheduling")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "hostile")

    page.set_viewport_size(PHONE)
    wait_until(lambda: page_width(page) <= PHONE["width"], page=page)


def test_the_composer_fits_a_phone(browser, composer_console):
    console = composer_console
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    try:
        page = context.new_page()
        page.screenshot_prefix = "composer"
        login_as(page, console, "operator")
        page.goto(f"{console.url}/campaigns")
        page.locator(".siyu-campaign-preview button").wait_for(state="visible")
        turn_on_ab(page)
        page.locator(".siyu-campaign-attachment-kind select").select_option(label="小程序")
        page.locator(".siyu-campaign-sender button", has_text="指定员工发送").click()
        page.locator(".siyu-campaign-sender-staff select").wait_for(state="visible")
        page.locator(".siyu-campaign-when button", has_text="定时发送").click()
        page.locator(".siyu-campaign-day").wait_for(state="visible")
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "phone")
        width = page_width(page)
        assert width <= PHONE["width"], f"the page is {width}px wide at 390px"
        for selector in (".siyu-campaign-variant", ".siyu-campaign-day",
                         ".siyu-campaign-attachment-mini-appid", ".siyu-campaign-sender"):
            box = page.locator(selector).first.bounding_box()
            assert box and box["x"] + box["width"] <= PHONE["width"], (selector, box)
    finally:
        context.close()
