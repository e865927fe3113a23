"""The Campaigns page's composer driven through its Python objects (no browser): each field
reaches the service as ``ws.campaigns.create`` takes it, the form follows the channel,
variants are added and removed with their shares, a changed form must be previewed again,
scheduling reads the workspace timezone, analysts get no send controls, and the page speaks
Chinese.

The browser version is ``tests/browser/test_campaign_composer.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from ui_text import english_hits, visible_texts

import siyu
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.campaigns.pages import CampaignsPage
from siyu.plugins.robots.store import add_robot, remove_robot
from tests.campaigns.conftest import in_layout

OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")
SEGMENT = "上海会员"
ROBOT = "门店群"


@pytest.fixture
def shop(tmp_path):
    """A SQLite workspace: two staff, 40 WeCom customers owned by them (half in 上海), the
    segment :data:`SEGMENT` (上海) and the group robot :data:`ROBOT`."""
    ws = siyu.open(f"sqlite:///{tmp_path / 'shop.db'}", load_entry_points=False)
    ws.stores.upsert("SH001", "上海南京西路店", city="上海")
    ws.staff.upsert("zhangsan", "张三", store="SH001")
    ws.staff.upsert("lisi", "李四", store="SH001")
    for i in range(40):
        ws.contacts.upsert(f"wm{i:03d}", name=f"客{i}", owner=("zhangsan", "lisi")[i % 2],
                           store="SH001", city="上海" if i % 2 else "北京")
    ws.segments.create(SEGMENT, {"city": {"cities": ["上海"]}})
    add_robot(ws, ROBOT, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    yield ws
    ws.close()


def page_for(ws, principal=OPERATOR) -> CampaignsPage:
    with use_language("zh_CN"):
        return CampaignsPage(ws.as_user(principal))


def compose(page: CampaignsPage, name: str, text: str = "会员日，{staff}为您准备了礼券"):
    composer = page.composer
    composer.name_input.value = name
    composer.channel.value = "wecom"
    composer.segment.value = SEGMENT
    composer.text.area.value = text
    return composer


# -- fields reach the service --------------------------------------------------------------

def test_an_ab_test_with_holdout_link_and_fixed_sender_is_saved_as_composed(shop):
    page = page_for(shop)
    composer = compose(page, "会员日AB")
    composer.holdout.value = 10
    composer.sender.value = "staff"
    composer.sender_staff.value = "lisi"
    composer.fallback_inputs["staff"].value = "您的专属顾问"
    composer.variants.enabled.value = True
    composer.variants.rows[1].text.area.value = "B 版：满 299 减 50"
    attachments = composer.attachments
    attachments.kind.value = "link"
    attachments.link_title.value, attachments.link_url.value = "会员日", "https://a.cn/vip"
    attachments.add()

    preview = page.save_and_preview()

    campaign = shop.campaigns.get("会员日AB")
    link = {"msgtype": "link", "link": {"title": "会员日", "url": "https://a.cn/vip"}}
    assert campaign.holdout_pct == 10
    assert campaign.sender == {"policy": "staff", "userid": "lisi"}
    assert campaign.content == {"text": "会员日，{staff}为您准备了礼券", "subject": "",
                                "attachments": [link],
                                "fallbacks": {"staff": "您的专属顾问"}}
    assert [(v["name"], v["share"]) for v in campaign.variants] == [("A", 50), ("B", 50)]
    assert campaign.variants[1]["content"]["text"] == "B 版：满 299 减 50"
    assert set(preview["variants"]) == {"A", "B"}
    assert not page.launch_button.disabled


def test_saving_again_updates_the_draft(shop):
    page = page_for(shop)
    compose(page, "改一改")
    page.save_and_preview()
    page.composer.text.area.value = "第二稿"

    page.save_and_preview()

    assert shop.campaigns.get("改一改").content["text"] == "第二稿"


def test_shares_that_do_not_add_up_are_shown_at_once_and_refused_by_the_service(shop, notes):
    page = page_for(shop)
    composer = compose(page, "占比不对")
    with use_language("zh_CN"):
        composer.variants.enabled.value = True
        composer.variants.rows[0].share.value = 60

    assert "占比合计 110%，应为 100%" in str(composer.variants.total.object)
    with use_language("zh_CN"):
        assert page.save_and_preview() is None
    errors = " ".join(notes.messages("error"))
    assert "100" in errors and "110" in errors
    assert "占比不对" not in set(shop.campaigns.list()["name"])


# -- the form follows the channel ----------------------------------------------------------

def test_a_robot_campaign_goes_to_targets_instead_of_a_segment(shop):
    page = page_for(shop)
    composer = page.composer
    composer.name_input.value = "群通知"
    composer.channel.value = "robot"

    assert composer.targets.visible and not composer.segment.visible
    assert not composer.testing.visible and not composer.sending.visible
    assert list(composer.targets.options.values()) == [ROBOT]
    assert composer.text.names == []
    composer.text.area.value = "今晚直播"
    composer.targets.value = [ROBOT]
    composer.variants.enabled.value = True  # hidden for robots, so not sent

    preview = page.save_and_preview()

    campaign = shop.campaigns.get("群通知")
    assert campaign.audience == {"targets": [ROBOT]} and not campaign.variants
    assert preview["selected"] == 1


def test_a_target_channel_without_targets_says_how_to_add_one(shop):
    remove_robot(shop, ROBOT)
    composer = page_for(shop).composer
    with use_language("zh_CN"):
        composer.channel.value = "robot"

    assert composer.no_targets.visible and composer.targets.options == {}
    assert "siyu robot add" in str(composer.no_targets.object)
    composer.channel.value = "wecom"
    assert not composer.no_targets.visible


def test_an_email_has_a_subject_every_placeholder_and_no_attachments(shop):
    page = page_for(shop)
    composer = compose(page, "邮件通知", text="")
    composer.attachments.kind.value = "image"
    composer.attachments.image_url.value = "https://a.cn/x.png"
    composer.attachments.add()
    composer.channel.value = "email"

    assert composer.subject.visible and not composer.attachments.layout.visible
    assert composer.text.names == ["nickname", "staff", "store"]
    composer.text.insert("nickname")
    composer.subject.value = "会员日"

    fields = composer.fields()

    assert fields["content"]["text"] == "{nickname}"
    assert fields["content"]["subject"] == "会员日"
    assert fields["content"]["attachments"] == []


def test_a_wecom_message_offers_only_the_staff_chip(shop):
    composer = page_for(shop).composer
    composer.channel.value = "wecom"

    assert composer.text.names == ["staff"]
    assert not composer.subject.visible and composer.attachments.layout.visible
    assert composer.attachments.limit == 9


# -- variants and attachments --------------------------------------------------------------

def test_variants_are_added_up_to_five_and_removed_down_to_two_with_even_shares(shop):
    variants = page_for(shop).composer.variants
    variants.enabled.value = True
    assert [r.entry()[:2] for r in variants.rows] == [("A", 50), ("B", 50)]
    assert all(row.remove.disabled for row in variants.rows)

    while variants.add():
        pass

    assert [r.entry()[:2] for r in variants.rows] == [
        ("A", 20), ("B", 20), ("C", 20), ("D", 20), ("E", 20)]
    assert variants.add_button.disabled
    variants.remove(variants.rows[1])
    assert [r.entry()[:2] for r in variants.rows] == [("A", 25), ("C", 25), ("D", 25),
                                                      ("E", 25)]
    assert not variants.add_button.disabled


def test_attachments_stop_at_the_channel_limit(shop):
    attachments = page_for(shop).composer.attachments
    with use_language("zh_CN"):
        attachments.set_limit(2)
        for n in range(2):
            attachments.image_url.value = f"https://a.cn/{n}.png"
            attachments.add()

    assert attachments.add_button.disabled
    assert "附件 2/2" in str(attachments.count.object)
    attachments.remove(0)
    assert [a["image"]["pic_url"] for a in attachments.attachments()] == ["https://a.cn/1.png"]
    assert not attachments.add_button.disabled


def test_a_bad_attachment_is_refused_and_not_added(shop, notes):
    attachments = page_for(shop).composer.attachments
    attachments.image_url.value = "not a url"

    assert attachments.add() is None

    assert attachments.attachments() == []
    assert "not a url" in " ".join(notes.messages("error"))


# -- the preview ---------------------------------------------------------------------------

def test_who_waits_first_is_shown_only_when_the_preview_says(shop):
    view = page_for(shop).preview_view
    preview = {"selected": 10, "will_receive": 8, "reasons": {"holdout": 2},
               "variants": {"": 8}, "samples": [], "blocked_words": []}
    with use_language("zh_CN"):
        view.show(preview)
        assert view.delayed not in view.layout.objects
        view.show({**preview, "delayed": {"holdout": 3}})

    assert view.delayed in view.layout.objects
    assert view.delayed.value.iloc[0].tolist() == ["对照组（不发送）", "3"]
    assert "其中需等待" in str(view.cards.objects[0].object)


# -- sending -------------------------------------------------------------------------------

def test_a_form_changed_after_the_preview_must_be_previewed_again(shop):
    page = page_for(shop)
    compose(page, "先预览")
    page.save_and_preview()
    assert not page.launch_button.disabled

    page.composer.holdout.value = 5

    assert page.launch_button.disabled and page.draft_name is None


def test_scheduling_reads_the_day_and_time_in_the_workspace_timezone(shop):
    page = page_for(shop)
    compose(page, "定时活动")
    page.save_and_preview()
    day = datetime.now(shop.timezone).date() + timedelta(days=2)
    page.when.mode.value = "schedule"
    page.when.day.value = day
    page.when.at.value = "09:30:00"
    with use_language("zh_CN"):
        page._when_changed()
    assert page.launch_button.label == f"定时于 {day} 09:30 发送"

    page.launch()

    campaign = shop.campaigns.get("定时活动")
    assert campaign.status == "scheduled"
    local = datetime(day.year, day.month, day.day, 9, 30, tzinfo=shop.timezone)
    assert campaign.scheduled_at.astimezone(UTC) == local.astimezone(UTC)
    assert page.scheduled.layout.visible and len(page.scheduled.rows.objects) == 1
    assert f"{day} 09:30" in str(page.scheduled.rows.objects[0].objects[0].object)

    page.cancel_scheduled("定时活动")

    assert shop.campaigns.get("定时活动").status == "cancelled"
    assert not page.scheduled.layout.visible


def test_a_time_in_the_past_is_refused(shop, notes):
    page = page_for(shop)
    compose(page, "过去的时间")
    page.save_and_preview()
    page.when.mode.value = "schedule"
    page.when.day.value = date(2020, 1, 1)

    page.launch()

    assert shop.campaigns.get("过去的时间").status == "draft"
    assert "2020" in " ".join(notes.messages("error"))


def test_an_analyst_drafts_and_previews_without_send_controls(shop):
    page = page_for(shop, ANALYST)
    compose(page, "分析草稿")

    preview = page.save_and_preview()

    layout = page.__panel__()
    assert preview["selected"] == 20
    assert not in_layout(layout, page.launch_button)
    assert not in_layout(layout, page.when.layout)
    assert in_layout(layout, page.preview_button)
    assert page.launch_button.disabled
    operator = page_for(shop)
    assert in_layout(operator.__panel__(), operator.launch_button)


# -- language ------------------------------------------------------------------------------

def test_the_composer_speaks_chinese(shop):
    page = page_for(shop)
    with use_language("zh_CN"):
        composer = compose(page, "中文页面")
        composer.variants.enabled.value = True
        composer.sender.value = "staff"
        composer.sender_staff.value = "lisi"
        page.when.mode.value = "schedule"
        page.save_and_preview()
        texts = visible_texts(page)
    allow = ["wecom", "{staff}", "{nickname}", "{store}", "https://", "pages/index/index",
             "wx…", "Asia/Shanghai", "AppID", "zhangsan", "lisi", "p 值", "A/B",
             "siyu robot add", "Webhook"]
    hits = english_hits(texts, allow=allow)
    assert not hits, "\n".join(f"{word!r} in {text!r}" for word, text in hits)
