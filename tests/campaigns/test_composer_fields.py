"""The composer's rules without a browser: what a channel lets it offer, attachments as
WeCom takes them, variant shares, the sender, the send time in the workspace timezone, and
how the preview's reasons read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from siyu.core.errors import ValidationError
from siyu.core.i18n import use_language
from siyu.core.records import ChannelSpec, RiskRule
from siyu.plugins.campaigns.composer_fields import (
    addresses_targets,
    allowed_placeholders,
    attachment_count,
    attachment_parts,
    clock,
    content_field,
    even_shares,
    fallbacks,
    image_attachment,
    insert_placeholder,
    link_attachment,
    miniprogram_attachment,
    next_variant_name,
    send_time,
    sender_field,
    shares_problem,
    takes_attachments,
    variant_entries,
    wants_subject,
)
from siyu.plugins.campaigns.composer_preview import preview_cards, reason_frame, reason_title
from siyu.plugins.campaigns.pages import launch_label

SHANGHAI = ZoneInfo("Asia/Shanghai")
WECOM = ChannelSpec("wecom", max_attachments=9, placeholders=("staff",))
EMAIL = ChannelSpec("email", max_attachments=0, placeholders=None)
ROBOT = ChannelSpec("robot", max_attachments=0, placeholders=(), recipients="targets",
                    targets=lambda ws: {})
WEBHOOK = ChannelSpec("webhook")


# -- what a channel allows -----------------------------------------------------------------

@pytest.mark.parametrize(("spec", "names"), [
    (WECOM, ["staff"]), (EMAIL, ["nickname", "staff", "store"]), (ROBOT, []), (None, [])])
def test_the_chips_are_the_placeholders_the_channel_fills(spec, names):
    assert allowed_placeholders(spec) == names


def test_only_the_email_channel_asks_for_a_subject():
    assert wants_subject(EMAIL)
    assert not wants_subject(WECOM) and not wants_subject(WEBHOOK) and not wants_subject(None)


def test_a_channel_with_a_subject_flag_is_believed_whatever_its_name():
    newsletter = SimpleNamespace(name="newsletter", subject=True)
    silent_email = SimpleNamespace(name="email", subject=False)

    assert wants_subject(newsletter) and not wants_subject(silent_email)


def test_attachments_are_offered_unless_the_channel_takes_none():
    assert takes_attachments(WECOM) and takes_attachments(WEBHOOK)
    assert not takes_attachments(EMAIL) and not takes_attachments(ROBOT)


def test_robots_address_targets_and_wecom_contacts():
    assert addresses_targets(ROBOT) and not addresses_targets(WECOM)


def test_the_attachment_count_names_the_channel_limit_when_it_has_one():
    with use_language("zh_CN"):
        assert attachment_count(2, 9) == "附件 2/9"
        assert attachment_count(3, None) == "附件 3 个"
    with use_language("en"):
        assert attachment_count(2, 9) == "Attachments 2/9"


# -- placeholders --------------------------------------------------------------------------

def test_a_chip_adds_its_placeholder_at_the_end_of_the_text():
    assert insert_placeholder("你好，", "nickname") == "你好，{nickname}"
    assert insert_placeholder(None, "staff") == "{staff}"


def test_fallbacks_keep_the_filled_values_of_placeholders_the_channel_fills():
    values = {"nickname": " 亲 ", "staff": "", "store": "本店"}

    assert fallbacks(values, ["nickname", "staff"]) == {"nickname": "亲"}


# -- attachments ---------------------------------------------------------------------------

def test_an_image_is_a_wecom_image_with_its_web_address():
    assert image_attachment(" https://img.example.cn/a.png ") == {
        "msgtype": "image", "image": {"pic_url": "https://img.example.cn/a.png"}}


def test_a_link_has_a_title_an_address_and_a_description_when_given():
    assert link_attachment("会员日", "https://shop.example.cn", "  ") == {
        "msgtype": "link", "link": {"title": "会员日", "url": "https://shop.example.cn"}}
    assert link_attachment("会员日", "https://shop.example.cn", "老客专享")["link"][
        "desc"] == "老客专享"


@pytest.mark.parametrize("url", ["", "shop.example.cn", "javascript:alert(1)", "https://"])
def test_an_attachment_address_must_be_a_web_address(url):
    with use_language("en"), pytest.raises(ValidationError, match="not a web address"):
        link_attachment("会员日", url)
    with use_language("zh_CN"), pytest.raises(ValidationError, match="不是网址"):
        image_attachment(url)


def test_a_link_needs_a_title():
    with use_language("zh_CN"), pytest.raises(ValidationError, match="请填写链接标题"):
        link_attachment(" ", "https://shop.example.cn")


def test_a_mini_program_needs_title_appid_and_page():
    card = miniprogram_attachment("领券", "wx1234567890abcdef", "pages/coupon/index")

    assert card == {"msgtype": "miniprogram", "miniprogram": {
        "title": "领券", "appid": "wx1234567890abcdef", "page": "pages/coupon/index"}}
    with pytest.raises(ValidationError, match="wx"):
        miniprogram_attachment("领券", "1234", "pages/coupon/index")
    with pytest.raises(ValidationError):
        miniprogram_attachment("领券", "wx1234567890abcdef", "")


def test_an_attachment_reads_as_its_kind_and_what_it_shows():
    with use_language("zh_CN"):
        assert attachment_parts(link_attachment("会员日", "https://a.cn")) == (
            "链接", "会员日 · https://a.cn")
        assert attachment_parts(image_attachment("https://a.cn/x.png")) == (
            "图片", "https://a.cn/x.png")
        assert attachment_parts({"msgtype": "file", "file": {}}) == ("file", "")


# -- A/B variants --------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "shares"), [
    (2, [50, 50]), (3, [34, 33, 33]), (5, [20, 20, 20, 20, 20]), (0, [])])
def test_shares_are_spread_evenly_and_add_up_to_100(count, shares):
    assert even_shares(count) == shares
    assert sum(shares) in (0, 100)


def test_a_new_variant_takes_the_first_free_letter():
    assert next_variant_name([]) == "A"
    assert next_variant_name(["A", "C"]) == "B"
    assert next_variant_name(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) == "A2"


def test_shares_that_do_not_add_up_to_100_are_named():
    assert shares_problem([50, 50]) is None
    assert shares_problem([33.5, 66.5]) is None
    with use_language("zh_CN"):
        assert shares_problem([50, 40]) == "占比合计 90%，应为 100%"
        assert shares_problem([100]) == "A/B 测试至少需要两个版本"
        assert shares_problem([100, None]) == "每个版本的占比都要大于 0%"


def test_a_variant_with_its_own_text_copies_the_campaign_content():
    content = content_field("主文案", subject="主题",
                            attachments=[link_attachment("券", "https://a.cn")],
                            fallback_values={"nickname": "亲"})

    a, b = variant_entries([(" A ", 50, "  "), ("B", 50, "B 文案 {nickname}")], content)

    assert a == {"name": "A", "share": 50, "content": None}
    assert b["content"] == {**content, "text": "B 文案 {nickname}"}
    assert b["content"]["attachments"] == content["attachments"]


# -- sender and time -----------------------------------------------------------------------

def test_the_sender_is_the_owner_or_a_chosen_staff_member():
    assert sender_field("owner", "zhangsan") == {"policy": "owner"}
    assert sender_field("staff", "zhangsan") == {"policy": "staff", "userid": "zhangsan"}
    with use_language("zh_CN"), pytest.raises(ValidationError, match="请选择发送的员工"):
        sender_field("staff", None)


@pytest.mark.parametrize("value", ["10:00", "10:00:00", time(10, 0)])
def test_a_time_picker_value_is_a_time_of_day(value):
    assert clock(value) == time(10, 0)


def test_a_send_time_is_read_in_the_workspace_timezone():
    at = send_time(date(2026, 12, 5), "10:00", SHANGHAI)

    assert at.astimezone(UTC) == datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def test_a_send_time_needs_a_day_and_a_valid_time():
    with pytest.raises(ValidationError):
        send_time(None, "10:00", SHANGHAI)
    with pytest.raises(ValidationError, match="25:99"):
        send_time(date(2026, 12, 5), "25:99", SHANGHAI)


def test_the_send_button_says_when_it_sends():
    at = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
    with use_language("zh_CN"):
        assert launch_label(None, scheduled=False) == "立即发送"
        assert launch_label(at, scheduled=True) == "定时于 2026-12-05 10:00 发送"
        assert launch_label(None, scheduled=True) == "定时发送"


# -- the preview ---------------------------------------------------------------------------

def test_reasons_read_as_launch_reasons_risk_rule_titles_or_as_stored():
    rules = {"quiet_hours": RiskRule("quiet_hours", title="免打扰时段")}
    with use_language("zh_CN"):
        frame = reason_frame({"holdout": 30, "quiet_hours": 50, "other": 30}, rules)

    assert list(frame["reason"]) == ["免打扰时段", "对照组（不发送）", "other"]
    assert list(frame["n"]) == [50, 30, 30]
    assert reason_title("other", {}) == "other"


def test_the_cards_show_variants_and_who_waits_only_when_there_are_some():
    preview = {"selected": 100, "will_receive": 90, "variants": {"A": 45, "B": 45},
               "reasons": {"holdout": 10}}
    with use_language("zh_CN"):
        plain = preview_cards(preview)
        waiting = preview_cards({**preview, "delayed": {"quiet_hours": 12}})
        single = preview_cards({**preview, "variants": {"": 90}, "delayed": {}})

    assert [label for label, _value in plain] == ["选中", "实际会收到", "版本 A", "版本 B"]
    assert waiting[-1] == ("其中需等待", "12")
    assert [label for label, _value in single] == ["选中", "实际会收到"]
