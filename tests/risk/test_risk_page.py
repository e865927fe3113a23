"""The Risk center page, built in Python as the console builds it for a signed-in user: it
speaks Chinese, escapes what data it shows, offers changes only to roles that may make them,
and its actions change the workspace."""

from __future__ import annotations

import pytest

from siyu.core.errors import PermissionDenied
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.risk import dnc, events, journal, limits, words
from siyu.plugins.risk.pages import RiskCenterPage, highlight
from siyu.plugins.risk.screen import Match
from siyu.storage.types import utcnow
from tests.ui_text import english_hits, visible_texts

ADMIN = Principal("root", "admin")
OPERATOR = Principal("op", "operator")
ANALYST = Principal("ana", "analyst")
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def shop(ws):
    """Two contacts, a word list, one on the do-not-contact list, one risk event."""
    ws.contacts.upsert("wm1", name="王女士", phone="13812345678")
    ws.contacts.upsert("wm2", name="李先生")
    words.import_words(ws, "[引流]\n加微信\nVX\n[广告法]\n全网最低价\n")
    dnc.add(ws, [1], reason="投诉")
    journal.write(ws, [journal.event_row(
        at=utcnow(), rule="dnc", decision="blocked", delivery_id=7, campaign_id=None,
        contact_id=1, staff="zhangsan", text="双十二会员日", reason=HOSTILE)])
    return ws


def test_the_page_speaks_chinese(shop):
    with use_language("zh_CN"):
        page = RiskCenterPage(shop.as_user(ADMIN))
        texts = []
        for tab in (page, page.rules, page.words, page.tester, page.events, page.dnc,
                    page.summary):
            texts += visible_texts(tab)
        title = str(shop.pages()["risk"].title)
    assert title == "风控中心"
    hits = english_hits(texts, allow=["zhangsan", "UTF-8"])
    assert not hits, "\n".join(f"{word!r} in {text!r}" for word, text in hits)


def test_highlight_marks_every_match_and_escapes_the_rest():
    text = f"加微信{HOSTILE}全网最低价"
    matches = [Match("加微信", "引流", 0, 3, ""), Match("微信", "x", 1, 3, ""),
               Match("全网最低价", "广告法", 31, 36, "")]
    out = str(highlight(text, matches))
    assert out.count("<mark") == 2
    assert '<mark class="siyu-risk-hit">加微信</mark>' in out
    assert '<mark class="siyu-risk-hit">全网最低价</mark>' in out
    assert HOSTILE not in out and "&lt;img src=x onerror=alert(1)&gt;" in out


def test_the_tester_highlights_listed_words(shop):
    page = RiskCenterPage(shop.as_user(ANALYST))
    page.tester.text.value = f"扫码加 V-X 领取 {HOSTILE}"
    found = page.tester.test()
    assert [m.word for m in found] == ["VX"]
    shown = str(page.tester.result.object)
    assert '<mark class="siyu-risk-hit">V-X</mark>' in shown and HOSTILE not in shown
    assert page.tester.matches.visible and len(page.tester.matches.value) == 1


def test_an_analyst_sees_everything_and_changes_nothing(shop):
    page = RiskCenterPage(shop.as_user(ANALYST))
    for widget in (page.words.add_button, page.words.import_button, page.dnc.add_button,
                   page.dnc.remove_button, page.rules.quiet_save, page.rules.cap_save):
        assert widget.disabled
    assert not page.tester.button.disabled
    assert list(page.dnc.table.value.iloc[:, 2]) == ["138****5678"]  # phone masked
    assert set(page.words.words.value["Source"]) == {"added by hand"}  # not "manual"


def test_an_operator_changes_lists_but_not_settings(shop, notes):
    page = RiskCenterPage(shop.as_user(OPERATOR))
    assert page.rules.quiet_save.disabled and page.rules.cap_save.disabled
    page.dnc.ids.value = "2"
    page.dnc.reason.value = HOSTILE
    assert page.dnc.add() == 1
    assert sorted(dnc.list(shop)["contact_id"]) == [1, 2]
    assert "2 contacts on the list" in str(page.rules.cards.object)
    page.words.word.value, page.words.category.value = "二维码", "引流"
    assert page.words.add_word() is True
    assert words.categories(shop)["引流"] == 3
    page.words.file.value = "[涉政]\n敏感词\n".encode()
    page.words.file.filename = "more.txt"
    page.words.category.value = ""
    page.words.import_file()
    assert words.categories(shop)["涉政"] == 1
    assert any("more.txt" in message for message in notes.messages("success"))
    page.rules.quiet_start.value, page.rules.quiet_end.value = "22:00", "08:00"
    with pytest.raises(PermissionDenied):  # the disabled button's action is checked again
        limits.set_quiet_hours(shop.as_user(OPERATOR), "22:00", "08:00")


def test_bad_input_is_a_notification_and_changes_nothing(shop, notes):
    page = RiskCenterPage(shop.as_user(ADMIN))
    page.dnc.ids.value = "2, 999"
    assert page.dnc.add() is None
    page.rules.quiet_start.value, page.rules.quiet_end.value = "23:00", "23:00"
    page.rules.save_quiet_hours()
    errors = notes.messages("error")
    assert any("999" in e for e in errors) and any("same time" in e for e in errors)
    assert list(dnc.list(shop)["contact_id"]) == [1] and limits.quiet_hours(shop) is None


def test_an_admin_sets_quiet_hours_and_the_cap(shop):
    page = RiskCenterPage(shop.as_user(ADMIN))
    page.rules.quiet_start.value, page.rules.quiet_end.value = "21:30", "07:00"
    page.rules.save_quiet_hours()
    page.rules.cap.value = 80
    page.rules.save_cap()
    assert str(limits.quiet_hours(shop)) == "21:30–07:00"
    assert limits.staff_daily_cap(shop) == 80
    cards = str(page.rules.cards.object)
    assert "21:30–07:00" in cards and "80 messages per staff member per day" in cards


def test_the_events_tab_lists_events_by_rule_with_phones_masked(shop):
    page = RiskCenterPage(shop.as_user(OPERATOR))
    table = page.events.table.value
    assert len(table) == 1
    row = table.iloc[0].to_dict()
    assert row["Rule"] == "Do-not-contact list" and row["Decision"] == "Blocked"
    assert row["Reason"] == HOSTILE and row["Phone"] == "138****5678"
    assert row["Contact"] == "王女士 (#1)"
    page.events.rule.value = "staff_cap"
    assert page.events.table.visible is False and page.events.empty.visible


def test_the_summary_tab_shows_the_days_and_a_chart(shop):
    page = RiskCenterPage(shop.as_user(ANALYST))
    page.summary.period.value = 7
    assert len(page.summary.frame) == 7
    [table] = page.summary.table_box.objects
    assert "Do-not-contact list: Blocked" in list(table.value.columns)
    assert table.value.iloc[0]["Blocked"] == "1"  # newest day first
    assert page.summary.chart.object is not None
    assert events.daily_summary(shop, 7)["dnc:blocked"].sum() == 1


def test_the_plugin_registers_its_rules_page_and_job(ws):
    rules = ws.risk_rules
    assert {"sensitive_words", "dnc", "staff_cap", "quiet_hours"} <= set(rules)
    with use_language("zh_CN"):
        assert str(rules["dnc"].title) == "免打扰名单"
        assert str(rules["quiet_hours"].title) == "免打扰时段"
    spec = ws.pages()["risk"]
    assert spec.permission == "data.read"
    assert isinstance(spec.factory(ws.as_user(ANALYST)), RiskCenterPage)
    job = ws.jobs["risk.launch_delays"]
    assert job.trigger == "interval" and job.func(ws) == "0 delays recorded"
