"""The Campaigns page's "remind staff to send" button, driven through its Python objects (no
browser) against the WeCom sandbox over HTTP: it shows for a WeCom campaign whose mass
messages wait for staff and for roles that may send, reminds the staff who have not confirmed
(the sandbox records each reminder), and says how it went, WeCom's three reminders a day
included, in the notification area, escaped and in the user's language.

The browser version is in ``tests/browser/test_campaigns.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import siyu
from siyu.apps.safe import SafeNotificationArea
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.core.records import ChannelSpec, SendResult
from siyu.plugins.campaigns import page_remind
from siyu.plugins.campaigns.pages import CampaignsPage
from siyu.plugins.wecom.channel import poll_results
from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.sandbox.crowd import confirm_all, gather
from siyu.plugins.wecom.sandbox.server import Sandbox
from siyu.plugins.wecom.service import wecom
from tests.campaigns.conftest import in_layout

OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")
TEXT = "双十二会员日，{staff}为您准备了专属券"


@dataclass
class Shop:
    """A workspace configured for a running sandbox, with three staff and their customers."""

    ws: Any
    sandbox: Sandbox
    staff: list[str]


@pytest.fixture
def shop(db_url):
    sandbox = Sandbox(populate_world=False).start()
    ws = siyu.open(db_url, load_entry_points=False)
    try:
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url)
        crowd = gather(sandbox, ws, customers=30, staff=3)
        yield Shop(ws, sandbox, crowd.staff)
    finally:
        ws.close()
        sandbox.stop()


def launched(ws, name: str, text: str = TEXT) -> dict[str, str]:
    """Launch and send a ``wecom`` campaign to every friend; its tasks as sender → msgid."""
    ws.campaigns.create(name, channel="wecom", text=text, spec={"friend": {}})
    ws.campaigns.launch(name)
    ws.campaigns.drain()
    frame = ws.campaigns.deliveries(name)
    assert set(frame["status"]) == {"pending"}
    return dict(zip(frame["sender"], frame["provider_id"], strict=False))


def page_for(ws, principal=OPERATOR, *, chosen: str | None = None) -> CampaignsPage:
    with use_language("zh_CN"):
        page = CampaignsPage(ws.as_user(principal))
    if chosen:
        page.chosen.value = chosen
    return page


def reminders(sandbox: Sandbox, tasks: dict[str, str]) -> dict[str, int]:
    """sender → how many reminders the sandbox recorded for their task."""
    with sandbox.world.lock:
        return {sender: len(sandbox.world.tasks[msgid].reminders)
                for sender, msgid in tasks.items()}


# -- reminding -----------------------------------------------------------------------------

def test_a_click_reminds_the_staff_who_have_not_confirmed_and_says_how_many(shop, notes):
    ws, sandbox = shop.ws, shop.sandbox
    tasks = launched(ws, "双十二")
    first = sorted(tasks)[0]
    sandbox.people.staff_confirms_mass_send(tasks[first], first)  # not polled yet
    page = page_for(ws, chosen="双十二")
    button = page.remind.button
    assert button.visible and not button.disabled
    assert in_layout(page.__panel__(), button)

    button.clicks += 1  # what a click in the browser does

    assert reminders(sandbox, tasks) == {s: 0 if s == first else 1 for s in tasks}
    assert notes.messages("success") == [
        "reminded staff to send 双十二: 2 reminders sent, 1 already confirmed"]
    assert not notes.messages("warning") and not notes.messages("error")
    assert button.visible  # two of them are still waiting


def test_a_double_click_reminds_once(shop, notes):
    tasks = launched(shop.ws, "点两下")
    button = page_for(shop.ws, chosen="点两下").remind.button

    button.clicks += 1
    button.clicks += 1  # queued behind the first, handled right after it

    assert set(reminders(shop.sandbox, tasks).values()) == {1}
    assert len(notes.messages("success")) == 1


def test_a_fourth_reminder_in_a_day_is_not_sent_and_the_page_says_why(shop, notes):
    ws, sandbox = shop.ws, shop.sandbox
    tasks = launched(ws, "三次")
    remind = page_for(ws, chosen="三次").remind
    for _ in range(3):
        assert remind.remind()["reminded"] == 3

    with use_language("zh_CN"):
        counts = remind.remind()

    assert counts == {"reminded": 0, "already_confirmed": 0, "limit_reached": 3, "failed": 0}
    assert set(reminders(sandbox, tasks).values()) == {3}
    assert notes.messages("warning") == [
        "活动 三次 有 3 条群发未提醒：企业微信规定每条群发 24 小时内最多提醒 3 次，请稍后再试"]
    assert len(notes.messages("success")) == 3 and not notes.messages("error")


def test_reminders_wecom_refuses_are_shown_as_an_error(shop, notes):
    ws, sandbox = shop.ws, shop.sandbox
    tasks = launched(ws, "已取消")
    cancelled = sorted(tasks)[0]
    wecom(ws).client.cancel_groupmsg_send(tasks[cancelled])

    counts = page_for(ws, chosen="已取消").remind.remind()

    assert counts == {"reminded": 2, "already_confirmed": 0, "limit_reached": 0, "failed": 1}
    assert reminders(sandbox, tasks)[cancelled] == 0
    assert notes.messages("success") == ["reminded staff to send 已取消: 2 reminders sent"]
    assert notes.messages("error") == [
        "WeCom refused to remind the staff of 1 mass message of 已取消; the server log says why"]


def test_when_every_task_is_confirmed_there_is_nothing_to_remind(shop, notes):
    ws, sandbox = shop.ws, shop.sandbox
    tasks = launched(ws, "都确认了", text="都确认了")
    remind = page_for(ws, chosen="都确认了").remind
    assert confirm_all(sandbox, "都确认了") == 3  # WeCom has not reported it yet

    assert remind.remind() == {"reminded": 0, "already_confirmed": 3, "limit_reached": 0,
                               "failed": 0}
    assert set(reminders(sandbox, tasks).values()) == {0}
    [message] = notes.messages("info")
    assert message.startswith("nothing to remind: staff have confirmed every mass message")

    poll_results(ws)  # WeCom reports it: nothing awaits confirmation any more
    remind_page = page_for(ws, chosen="都确认了")
    assert not remind_page.remind.button.visible


def test_the_outcome_is_escaped_in_the_console_notification_area(shop, monkeypatch):
    import panel as pn

    area = SafeNotificationArea()
    monkeypatch.setattr(pn.state, "_notification", area)
    name = '<img src=x onerror="alert(1)">'
    launched(shop.ws, name)

    page_for(shop.ws, chosen=name).remind.remind()

    [sent] = [n.message for n in area.notifications]
    assert "<img" not in sent and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in sent


# -- when the button shows -------------------------------------------------------------------

def test_the_button_shows_only_while_a_wecom_campaign_awaits_its_staff(shop):
    ws = shop.ws
    ws.campaigns.create("草稿", channel="wecom", text=TEXT, spec={"friend": {}})
    launched(ws, "在等确认")
    page = page_for(ws)
    page.chosen.value = "草稿"
    assert not page.remind.button.visible
    page.chosen.value = "在等确认"
    assert page.remind.button.visible
    page.chosen.value = "草稿"
    assert not page.remind.button.visible


class Awaiting:
    """A channel whose messages, like WeCom's, wait for someone to act (``pending``)."""

    @siyu.hookimpl
    def register_channels(self):
        return [ChannelSpec("awaiting", "Awaiting", batch_size=100)]

    @siyu.hookimpl
    def send(self, ws, channel, batch):
        if channel != "awaiting":
            return None
        return [SendResult("pending", provider_id=f"a{m.delivery_id}") for m in batch]


def test_no_button_for_messages_awaiting_confirmation_on_other_channels(tmp_path):
    with siyu.open(f"sqlite:///{tmp_path / 'other.db'}", plugins=[Awaiting()],
                   load_entry_points=False) as ws:
        ws.contacts.upsert("wm001", name="客1", city="上海")
        ws.campaigns.create("别的渠道", channel="awaiting", text="hi",
                            spec={"city": {"cities": ["上海"]}})
        ws.campaigns.launch("别的渠道")
        ws.campaigns.drain()
        assert ws.campaigns.counts("别的渠道") == {"pending": 1}

        page = page_for(ws, chosen="别的渠道")

        assert not page.remind.button.visible


def test_an_analyst_gets_no_button(shop):
    launched(shop.ws, "分析师")

    page = page_for(shop.ws, ANALYST, chosen="分析师")

    assert not page.remind.button.visible and page.remind.button.disabled
    assert not in_layout(page.__panel__(), page.remind.button)
    operator = page_for(shop.ws, chosen="分析师")
    assert in_layout(operator.__panel__(), operator.remind.button)


def test_the_button_speaks_chinese(shop):
    launched(shop.ws, "中文")
    with use_language("zh_CN"):
        button = page_for(shop.ws, chosen="中文").remind.button
        assert button.label == "提醒员工发送"


def test_without_the_wecom_plugin_there_is_no_button(shop, monkeypatch):
    monkeypatch.setattr(page_remind, "_remind_module", lambda: None)
    launched(shop.ws, "没有插件")

    page = page_for(shop.ws, chosen="没有插件")

    assert not page.remind.button.visible and page.remind.button.disabled


def test_a_done_campaign_says_how_many_messages_still_await_staff(shop):
    """Handed to WeCom is not received: the status card of a done campaign counts the
    messages staff have not confirmed yet, until WeCom reports them."""
    ws, sandbox = shop.ws, shop.sandbox
    launched(ws, "待确认", text="待确认")
    assert ws.campaigns.get("待确认").status == "done"
    card = page_for(ws, chosen="待确认").progress_cards.objects[0]
    assert "另有 30 条待员工确认" in str(card.object)

    confirm_all(sandbox, "待确认")
    poll_results(ws)
    card = page_for(ws, chosen="待确认").progress_cards.objects[0]
    assert "待员工确认" not in str(card.object)
