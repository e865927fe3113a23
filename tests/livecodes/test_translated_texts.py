"""Text the live-code pages show that other live-code modules make: the routing preview's
reasons, a group code's warning and an arrival's note, shown in the reader's language.

Reasons are made when shown, in the reader's language. Warnings and arrival notes are
written by callbacks and jobs that do not know who reads them: they are stored as message
keys and values and put into words when shown, so a note written by a process speaking one
language reads in another's; rows written by an older siyu (plain text) show as they are.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from ui_text import english_words, visible_texts

from siyu.core.i18n import default_language, set_default_language, use_language
from siyu.core.permissions import Principal
from siyu.plugins.livecodes import api, engine, group_api, groups
from siyu.plugins.livecodes.engine import ADDS, ARRIVAL_NOTES, note_text, store_notes
from siyu.plugins.livecodes.group_pages import GroupCodesPage
from siyu.plugins.livecodes.groups import GROUPS, WARNING_NOTES, warning_text
from siyu.plugins.livecodes.pages import LiveCodesPage
from siyu.plugins.livecodes.report_pages import LiveCodeReportsPage
from siyu.plugins.livecodes.routing import CodeRules, Counts, Member, plan_members
from siyu.plugins.wecom.errors import explain
from siyu.plugins.wecom.sandbox.testing import wait_until

from .conftest import group_chats

OPERATOR = Principal("amy", "operator")
#: What the welcome placeholders are called, and the file formats the downloads name.
PLACEHOLDERS = ("{nickname}", "{staff}", "{store}")
FORMATS = ("PNG", "SVG")
TZ = ZoneInfo("Asia/Shanghai")


def chinese(function, *args):
    with use_language("zh_CN"):
        return function(*args)


def off_duty_slot(ws):
    """A time slot on a weekday three days from today: its member is off duty now."""
    day = (engine.local_now(ws).weekday() + 3) % 7
    return {"days": [day], "start": "09:00", "end": "10:00"}




def join_scan(wired, config_id):
    """A customer scans a group code; returns once their join is fully applied."""
    outcome = wired.sandbox.people.scan_join_way(config_id, None)
    wait_until(lambda: len(group_api.joins_df(wired.ws)) and wired.settled()
               and outcome.external_userid in set(group_api.joins_df(wired.ws)["member_id"]))
    return outcome


def stored_warning(wired, code_id):
    with wired.ws.engine.connect() as conn:
        return conn.execute(sa.select(GROUPS.c.warning).where(GROUPS.c.id == code_id)).scalar()


def add_arrival(wired, code, userid, reason):
    """An arrival row with ``reason`` as stored (what a callback would have written)."""
    with wired.ws.engine.begin() as conn:
        conn.execute(ADDS.insert().values(
            code_id=code["id"], state=code["state"], contact_id=None, userid=userid,
            at=datetime.now(TZ) - timedelta(minutes=5), welcome="none", reason=reason))


# -- the routing reasons ----------------------------------------------------------------------

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=TZ)  # a Monday


@pytest.mark.parametrize(("rules", "members", "counts"), [
    (CodeRules("round_robin", daily_cap=2, backup=("bk",)),
     [Member("a"), Member("b"), Member("c", slots=({"days": [5, 6], "start": "09:00",
                                                    "end": "18:00"},))],
     {"a": Counts(2, 1)}),
    (CodeRules("round_robin", round_cap=1),
     [Member("a"), Member("b"), Member("c")], {"a": Counts(1, 1)}),
    (CodeRules("weighted"), [Member("a", 3), Member("b", 1)], {"a": Counts(1, 0)}),
    (CodeRules("least_loaded"), [Member("a"), Member("b")], {"a": Counts(2, 0)}),
    (CodeRules("schedule"), [Member("a")], {}),
    (CodeRules("round_robin", daily_cap=1, backup=("bk",)), [Member("a")],
     {"a": Counts(1, 0)}),
    (CodeRules("round_robin", daily_cap=1), [Member("a")], {"a": Counts(1, 0)}),
], ids=["caps-shifts-backup", "rounds", "weighted", "least-loaded", "schedule",
        "backup-serves", "nobody-left"])
def test_every_routing_reason_is_in_the_readers_language(rules, members, counts):
    english = plan_members(rules, members, counts, NOW).reasons
    chinese_reasons = chinese(plan_members, rules, members, counts, NOW).reasons
    assert chinese_reasons.keys() == english.keys()
    assert english_words(chinese_reasons.values()) == []
    assert all(text != english[u] for u, text in chinese_reasons.items() if text)


def test_an_off_duty_reason_names_the_shift_in_the_readers_words():
    slot = {"days": [5, 6], "start": "09:00", "end": "18:00"}
    rules, members = CodeRules("schedule"), [Member("a", slots=(slot,)), Member("b")]
    assert plan_members(rules, members, {}, NOW).reasons["a"] == (
        "off duty (works Sat,Sun 09:00-18:00)")
    assert chinese(plan_members, rules, members, {}, NOW).reasons["a"] == (
        "不在班（上班时间：每周六、日 09:00-18:00）")


# -- stored notes: every key, both languages, old rows ---------------------------------------

#: Values for every placeholder a stored note may have.
VALUES = {"state": "lc:99", "userid": "u1", "errcode": 41051, "msgid": "msg1",
          "group": "一群", "members": 181, "rotate_at": 190, "warn_at": 180, "room": "扩容群7",
          "limit": 200}


@pytest.mark.parametrize("templates", [ARRIVAL_NOTES, WARNING_NOTES],
                         ids=["arrival-notes", "group-code-warnings"])
def test_every_stored_note_reads_in_chinese_and_english(templates):
    for key, template in templates.items():
        values = {name: VALUES[name] for name in VALUES if "{" + name in template.source}
        stored = store_notes([(key, values)], templates, 1000)
        assert stored.startswith("[[")
        english = engine.stored_text(stored, templates)
        if "errcode" in values:
            values = {**values, "explained": explain(values["errcode"])}
        assert english == template.source.format(**values)
        words = chinese(engine.stored_text, stored, templates)
        # WeCom's errcode explanations come from the WeCom plugin, which keeps them English
        assert english_words([words], allow=[explain(41051), "lc:99", "msg1"]) == [], key


def test_notes_are_joined_as_each_language_writes_them():
    stored = store_notes([("no_welcome_code", {}), ("fallback_sent", {"msgid": "m1",
                                                                      "userid": "u1"})],
                         ARRIVAL_NOTES, 500)
    assert note_text(stored) == (
        "WeCom gave no welcome code (the member set a welcome message in the WeCom admin "
        "console, the customer had already chatted, or the 20 s passed); fallback sent as "
        "message task m1 for u1 to confirm")
    assert "；已改为群发任务 m1" in chinese(note_text, stored)


def test_plain_text_written_before_shows_as_it_is():
    for text in ("unknown live-code state 'lc:9': no code has it", "", None,
                 "[[not json", '[["a key no siyu knows", {}]]',
                 '[["fallback_sent", {"msgid": "m1"}]]'):  # a value missing
        assert note_text(text) == text
        assert chinese(note_text, text) == text
        assert chinese(warning_text, text) == text


def test_a_note_too_long_to_store_is_kept_as_english_words():
    notes = [("warn", {"group": "群" * 300, "members": 181, "warn_at": 180,
                       "rotate_at": 190})] * 5
    stored = chinese(store_notes, notes, WARNING_NOTES, 1000)
    assert len(stored) == 1000 and stored.startswith("group 群")
    assert warning_text(stored) == stored


# -- the pages in Chinese -------------------------------------------------------------------


def test_the_live_codes_page_shows_reasons_and_notes_in_chinese(wired):
    staff = wired.hire("a1", "a2", "a3", "bk")
    code = api.create_code(wired.ws, "中文分配", [
        {"userid": "a1"}, {"userid": "a2"},
        {"userid": "a3", "slots": [off_duty_slot(wired.ws)]}], backup=["bk"], daily_cap=1)
    wired.scan(code["config_id"])  # to a1, who reaches the cap; no welcome message: a note
    add_arrival(wired, code, "a2", store_notes(
        [("no_welcome_code", {}), ("fallback_sent", {"msgid": "msg9", "userid": "a2"})],
        ARRIVAL_NOTES, 500))
    with use_language("zh_CN"):
        page = LiveCodesPage(wired.ws.as_user(OPERATOR))
        texts = visible_texts(page, cells=True)
        why = dict(zip(page.preview.value["员工"], page.preview.value["原因"], strict=True))
        notes = page.arrivals.value["说明"].tolist()
    assert english_words(texts, allow=[*PLACEHOLDERS, *FORMATS, *staff, code["state"],
                                       "msg9"]) == []
    assert why == {"员工a2": "轮到该员工", "员工a1": "已达上限：今日新增 1/1",
                   "员工a3": why["员工a3"], "员工bk": "备用：有员工可接待时待命"}
    assert why["员工a3"].startswith("不在班（上班时间：每周")
    assert notes[0].startswith("企业微信没有给出发送欢迎语的凭证")
    assert notes[1] == "该活码没有欢迎语，使用工作区的默认欢迎语"
    # the same rows read in English by an English reader
    shown = LiveCodesPage(wired.ws).arrivals.value["Note"].tolist()
    assert shown[1] == ("this code has no welcome message; the workspace default welcome "
                        "applies")


def test_an_arrival_note_written_before_shows_as_it_was_written(wired):
    staff = wired.hire("o1")
    code = api.create_code(wired.ws, "旧备注", staff)
    add_arrival(wired, code, "o1", "41051: an old note in plain words")
    assert api.adds_df(wired.ws)["reason"].tolist() == ["41051: an old note in plain words"]
    with use_language("zh_CN"):
        page = LiveCodesPage(wired.ws)
    assert page.arrivals.value["说明"].tolist() == ["41051: an old note in plain words"]


def test_the_preview_of_a_paused_code_says_so_in_chinese(wired):
    staff = wired.hire("p1", "pb")
    code = api.create_code(wired.ws, "暂停中", staff[:1], backup=["pb"])
    api.pause_code(wired.ws, code["id"])
    assert set(api.preview(wired.ws, code["id"])["reason"]) == {
        "code is paused; backup staff serve"}
    assert set(chinese(api.preview, wired.ws, code["id"])["reason"]) == {
        "活码已暂停；由备用员工接待"}


def test_a_group_code_warning_written_in_one_language_reads_in_another(wired):
    (chat,) = group_chats(wired, "中文提醒群")
    code = group_api.create_group_code(wired.ws, "中文提醒", [chat], warn_at=2, rotate_at=3,
                                       room_base_name="扩容群", room_base_id=7)
    before = default_language()
    set_default_language("zh_CN")  # the callback that stores the warning speaks Chinese
    try:
        join_scan(wired, code["config_id"])
    finally:
        set_default_language(before)
    assert stored_warning(wired, code["id"]).startswith("[[")
    english = ("group 中文提醒群 has 2 members (warn at 2); it rotates out at 3; the pool has "
               "no fresh group left: add some, or WeCom opens new rooms by itself when every "
               "group is full")
    assert group_api.get_group_code(wired.ws, code["id"])["warning"] == english
    assert group_api.list_group_codes(wired.ws)["warning"].tolist() == [english]
    (payload,) = wired.ws.events.df(kind="groupcode.warning")["payload"]
    assert payload["warning"] == english  # events are data: English words, as before
    with use_language("zh_CN"):
        page = GroupCodesPage(wired.ws.as_user(OPERATOR))
        texts = visible_texts(page, cells=True)
        table_warning = page.table.value["提醒"].iloc[0]
    assert page.warning.visible and "已有 2 人（2 人时提醒）" in page.warning.object
    assert table_warning.startswith("客户群 中文提醒群 已有 2 人")
    known = group_api.known_groups(wired.ws)
    joiners = group_api.joins_df(wired.ws)["member_id"]
    assert english_words(texts, allow=[*known["chat_id"], *known["name"], *joiners,
                                       code["state"], *FORMATS]) == []


def test_a_group_code_warning_written_before_shows_as_it_was_written(wired):
    (chat,) = group_chats(wired, "旧提醒群")
    code = group_api.create_group_code(wired.ws, "旧提醒", [chat])
    with wired.ws.engine.begin() as conn:
        conn.execute(GROUPS.update().where(GROUPS.c.id == code["id"])
                     .values(warning="group 旧提醒群 has 181 members (warn at 180)"))
    assert group_api.get_group_code(wired.ws, code["id"])["warning"] == (
        "group 旧提醒群 has 181 members (warn at 180)")
    with use_language("zh_CN"):
        page = GroupCodesPage(wired.ws)
    assert "group 旧提醒群 has 181 members" in page.warning.object


def test_the_reports_page_in_chinese_shows_no_english_cells(wired):
    staff = wired.hire("r1")
    code = api.create_code(wired.ws, "中文报表", staff, channel="海报")
    wired.scan(code["config_id"])
    with use_language("zh_CN"):
        texts = visible_texts(LiveCodeReportsPage(wired.ws), cells=True)
    assert english_words(texts, allow=[*staff, code["state"]]) == []


def test_the_stored_warning_key_does_not_depend_on_the_writers_language(wired):
    (chat,) = group_chats(wired, "同一群")
    code = group_api.create_group_code(wired.ws, "同一", [chat], warn_at=2, rotate_at=3)
    join_scan(wired, code["config_id"])
    written_in_english = stored_warning(wired, code["id"])
    chinese(groups.check, wired.ws, code["id"])
    assert stored_warning(wired, code["id"]) == written_in_english
