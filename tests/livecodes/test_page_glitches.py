"""Glitches of the live-code pages, each pinned by a test that failed before its fix, and the
pages in Chinese: no English left on them.

(a) after Create the whole form starts over; (b) ``weighted`` and ``schedule`` show the fields
they need and create the code with them; (c) recent arrivals follow the chosen code and clear
when none is; (d) the staff-code choice has the code it shows as its value; (e) report charts
have no legend over the bars, no ``1.2e+5`` ticks, and a lone code is not one huge bar.
"""

from datetime import time

import pandas as pd
import panel as pn
from bokeh.models import CustomJSTickFormatter, HBar, Legend
from ui_text import english_words, visible_texts

from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.livecodes import api, group_api
from siyu.plugins.livecodes.group_pages import GroupCodesPage
from siyu.plugins.livecodes.pages import LiveCodesPage
from siyu.plugins.livecodes.report_pages import LiveCodeReportsPage, growth_chart

from .conftest import group_chats

OPERATOR = Principal("amy", "operator")
#: What the welcome placeholders are called: typed as they are, in any language.
PLACEHOLDERS = ("{nickname}", "{staff}", "{store}")
#: File formats the download buttons name.
FORMATS = ("PNG", "SVG")




# -- (a) the form starts over after Create ----------------------------------------------------

def test_create_resets_the_whole_form_to_its_defaults(wired):
    wired.hire("s1", "s2", "bk")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    page.code_name.value = "全表单"
    page.members.value = ["s1", "s2"]
    page.strategy.value = "weighted"
    page.weight_inputs["s1"].value = 3
    page.channel.value = "poster"
    page.tags.value = "渠道/海报"
    page.backup.value = ["bk"]
    page.daily_cap.value = 5
    page.welcome.value = "你好"
    page.create_button.clicks += 1
    assert api.list_codes(wired.ws)["name"].tolist() == ["全表单"]
    assert (page.code_name.value, page.members.value, page.strategy.value,
            page.channel.value, page.tags.value, page.backup.value, page.daily_cap.value,
            page.welcome.value) == ("", [], "round_robin", "", "", [], 0, "")
    assert page.weights_box.objects == [] and page.slots_box.objects == []
    assert not page.weights_box.visible and not page.slots_box.visible
    page.members.value = ["s1"]  # a member chosen again starts from the default weight
    assert page.weight_inputs["s1"].value == 1


def test_save_resets_the_form_too(wired):
    wired.hire("s1", "s2")
    code = api.create_code(wired.ws, "改", ["s1"], strategy="weighted", channel="poster")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    page.code.value = code["id"]
    page.edit()
    assert (page.strategy.value, page.channel.value) == ("weighted", "poster")
    page.save()
    assert (page.code_name.value, page.members.value, page.strategy.value,
            page.channel.value) == ("", [], "round_robin", "")
    assert page.save_button.disabled


def test_the_group_code_form_starts_over_after_create(wired):
    first, second = group_chats(wired, "重置一群", "重置二群")
    page = GroupCodesPage(wired.ws.as_user(OPERATOR))
    page.code_name.value = "重置群码"
    page.chats.value, page.pool.value = [first], [second]
    page.auto_create.value = False
    page.room_name.value, page.room_start.value = "重置群", 4
    page.warn_at.value, page.rotate_at.value = 140, 150
    page.tags.value = "渠道/社群"
    page.create_button.clicks += 1
    assert group_api.list_group_codes(wired.ws)["name"].tolist() == ["重置群码"]
    assert (page.code_name.value, page.chats.value, page.pool.value, page.auto_create.value,
            page.room_name.value, page.room_start.value, page.warn_at.value,
            page.rotate_at.value, page.tags.value) == ("", [], [], True, "", 1, 180, 190, "")


# -- (b) the strategies' own fields -----------------------------------------------------------

def test_weighted_shows_a_weight_per_member_and_creates_the_code_with_them(wired):
    wired.hire("w1", "w2")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    page.code_name.value = "按权重"
    page.members.value = ["w1", "w2"]
    assert not page.weights_box.visible
    page.strategy.value = "weighted"
    assert page.weights_box.visible and not page.slots_box.visible
    assert list(page.weight_inputs) == ["w1", "w2"]
    assert page.weight_inputs["w1"].label == "Weight of 员工w1"
    page.weight_inputs["w1"].value, page.weight_inputs["w2"].value = 3, 1
    page.create_button.clicks += 1
    (code_id,) = api.list_codes(wired.ws)["id"]
    code = api.get_code(wired.ws, int(code_id))
    assert code["strategy"] == "weighted"
    assert [(m["userid"], m["weight"]) for m in code["members"]] == [("w1", 3), ("w2", 1)]


def test_schedule_shows_a_time_slot_per_member_and_creates_the_code_with_them(wired):
    wired.hire("d1", "d2")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    page.code_name.value = "按时段"
    page.members.value = ["d1", "d2"]
    page.strategy.value = "schedule"
    assert page.slots_box.visible and not page.weights_box.visible
    day, night = page.slot_inputs["d1"], page.slot_inputs["d2"]
    day.days.value, day.start.value, day.end.value = [0, 1, 2, 3, 4], time(9), "18:00"
    night.start.value, night.end.value = "22:00", "06:00"  # past midnight, every day
    page.create_button.clicks += 1
    (code_id,) = api.list_codes(wired.ws)["id"]
    code = api.get_code(wired.ws, int(code_id))
    assert code["strategy"] == "schedule"
    assert [m["slots"] for m in code["members"]] == [
        [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
        [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "22:00", "end": "06:00"}]]


def test_a_schedule_member_without_a_weekday_is_a_notification(wired, notes):
    wired.hire("d1")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    page.code_name.value, page.members.value = "没排班", ["d1"]
    page.strategy.value = "schedule"
    page.slot_inputs["d1"].days.value = []
    assert page.create() is None
    assert notes.messages("error") == ["choose at least one weekday for 员工d1"]
    assert api.list_codes(wired.ws).empty


def test_edit_loads_weights_and_time_slots_and_save_keeps_them(wired):
    wired.hire("e1", "e2", "e3")
    slot = {"days": [5, 6], "start": "10:00", "end": "20:00"}
    late = {"days": [0], "start": "20:00", "end": "23:00"}
    code = api.create_code(wired.ws, "排班", [{"userid": "e1", "slots": [slot, late]}, "e2"],
                           strategy="schedule")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    page.code.value = code["id"]
    page.edit()
    assert page.slots_box.visible
    fields = page.slot_inputs["e1"]
    assert (fields.days.value, fields.start.value, fields.end.value) == (
        [5, 6], "10:00", "20:00")
    always = page.slot_inputs["e2"]  # no slot: every day, all day
    assert (always.days.value, always.start.value, always.end.value) == (
        list(range(7)), "00:00", "00:00")
    page.members.value = ["e1", "e2", "e3"]
    page.slot_inputs["e1"].end.value = "21:00"
    page.save()
    saved = {m["userid"]: m["slots"] for m in api.get_code(wired.ws, code["id"])["members"]}
    assert saved == {"e1": [{**slot, "end": "21:00"}, late], "e2": [],
                     "e3": [{"days": list(range(7)), "start": "09:00", "end": "18:00"}]}


# -- (c) recent arrivals follow the chosen code -----------------------------------------------

def test_recent_arrivals_follow_the_chosen_code_and_clear_when_none_is(wired):
    first_staff, second_staff, third_staff = wired.hire("r1", "r2", "r3")
    first = api.create_code(wired.ws, "一号", [first_staff], welcome={"text": "你好"})
    second = api.create_code(wired.ws, "二号", [second_staff], welcome={"text": "你好"})
    gone = api.create_code(wired.ws, "三号", [third_staff], welcome={"text": "你好"})
    wired.scan(first["config_id"])
    wired.scan(second["config_id"])
    wired.scan(gone["config_id"])
    api.delete_code(wired.ws, gone["id"])
    page = LiveCodesPage(wired.ws)

    def staff_shown():
        return page.arrivals.value["Staff"].tolist() if page.arrivals.visible else []

    assert page.code.value == first["id"] and staff_shown() == ["员工r1"]
    assert page.table.selection == [0]  # the table shows which code is chosen
    page.table.selection = [1]
    assert page.code.value == second["id"] and staff_shown() == ["员工r2"]
    page.code.value = first["id"]
    assert page.table.selection == [0] and staff_shown() == ["员工r1"]
    page.table.selection = [1]  # the second code's row, clicked again, chooses it again
    assert page.code.value == second["id"] and staff_shown() == ["员工r2"]
    page.table.selection = [2]  # a deleted code cannot be chosen: nothing stays on show
    assert page.code.value is None and staff_shown() == []
    assert page.no_arrivals.visible and "Choose a live code" in page.no_arrivals.object
    assert page.qr.object is None and not page.preview.visible


def test_arrivals_say_what_to_do_when_the_code_has_none_yet(wired):
    api.create_code(wired.ws, "新码", wired.hire("n1"))
    page = LiveCodesPage(wired.ws)
    assert not page.arrivals.visible and page.no_arrivals.visible
    assert "No customer has arrived through this code yet." in page.no_arrivals.object


def test_no_codes_yet_says_to_create_the_first(wired):
    page = LiveCodesPage(wired.ws)
    assert page.no_codes.visible and not page.table.visible
    assert "Create the first live code" in page.no_codes.object
    with use_language("zh_CN"):
        assert "创建第一个渠道活码" in LiveCodesPage(wired.ws).no_codes.object


# -- (d) the staff-code choice is the code it shows ------------------------------------------

def test_the_staff_code_choice_is_the_code_inviting_into_the_group_code(wired):
    staff = wired.hire("i1")
    (chat,) = group_chats(wired, "邀请群")
    group = group_api.create_group_code(wired.ws, "邀请群码", [chat])
    api.create_code(wired.ws, "门店一", staff, welcome={"text": "你好"})
    inviting = api.create_code(wired.ws, "门店二", staff, welcome={"text": "你好"})
    group_api.invite_to_group(wired.ws, inviting["id"], group["id"])
    page = GroupCodesPage(wired.ws)
    assert "门店二" in page.invited.object
    assert page.staff_code.value == inviting["id"]
    label = next(k for k, v in page.staff_code.options.items() if v == page.staff_code.value)
    assert "门店二" in label
    page.uninvite()  # the code stays chosen, ready to invite again
    assert page.staff_code.value == inviting["id"]


def test_without_an_invite_the_staff_code_choice_is_the_first_it_shows(wired):
    staff = wired.hire("i2")
    (chat,) = group_chats(wired, "无邀请群")
    group_api.create_group_code(wired.ws, "无邀请", [chat])
    first = api.create_code(wired.ws, "门店甲", staff, welcome={"text": "你好"})
    api.create_code(wired.ws, "门店乙", staff, welcome={"text": "你好"})
    page = GroupCodesPage(wired.ws.as_user(OPERATOR))
    assert page.staff_code.value == first["id"]
    page.invite()  # no "choose a staff live code first": the code shown is the one used
    assert group_api.get_group_code(wired.ws, page.code.value)["invited_by"] == [first["id"]]


# -- (e) report charts ------------------------------------------------------------------------

def report_frame(*rows):
    return pd.DataFrame([{"code_id": i, "code": name, "adds": adds, "removals": removals,
                          "net_growth": adds - removals}
                         for i, (name, adds, removals) in enumerate(rows, 1)])


def test_the_report_chart_keeps_its_legend_below_the_bars_and_reads_large_numbers():
    chart = growth_chart(report_frame(("海报A", 120_000, 30_000), ("海报B", 5_000, 100)))
    assert chart.toolbar_location is None
    assert not [item for item in chart.center if isinstance(item, Legend)]
    (legend,) = [item for item in chart.below if isinstance(item, Legend)]
    assert [item.label.value for item in legend.items] == ["Adds", "Removals"]
    # the count axis: 12万 / 120K, never 1.200e+5
    assert all(isinstance(axis.formatter, CustomJSTickFormatter) for axis in chart.xaxis)
    assert chart.x_range.start == 0 and chart.x_range.end > 120_000


def test_a_single_code_is_a_slim_bar_not_the_whole_chart():
    chart = growth_chart(report_frame(("唯一", 3, 1)))
    factors = list(chart.y_range.factors)
    assert factors == ["1 · 唯一"]
    bars = [r.glyph for r in chart.renderers if isinstance(r.glyph, HBar)]
    assert len(bars) == 2
    for bar in bars:  # pixels per bar, at most (the whole height shared by the codes)
        assert bar.height * chart.height / len(factors) <= 60
    assert chart.height <= 200


# -- the pages in Chinese -----------------------------------------------------------------------

def chinese_page_texts(page_class, ws):
    with use_language("zh_CN"):
        page = page_class(ws)
        return page, visible_texts(page)


def test_the_live_codes_page_in_chinese_has_no_english_words(wired):
    staff = wired.hire("z1", "z2")
    code = api.create_code(wired.ws, "中文码", staff, welcome={"text": "你好"})
    wired.scan(code["config_id"])
    with use_language("zh_CN"):
        page = LiveCodesPage(wired.ws.as_user(OPERATOR))
        page.members.value = ["z1", "z2"]  # the strategies' per-member fields too
        texts = visible_texts(page)
        assert english_words(texts, allow=[*PLACEHOLDERS, *FORMATS]) == []
        assert page.table.value["状态"].tolist() == ["启用"]
        assert page.table.value["分配方式"].tolist() == ["轮流分配"]
        assert page.arrivals.value["欢迎语"].tolist() == ["已发送"]


def test_the_group_codes_page_in_chinese_has_no_english_words(wired):
    staff = wired.hire("g1")
    chat_ids = group_chats(wired, "中文群")
    group = group_api.create_group_code(wired.ws, "中文群码", chat_ids)
    live = api.create_code(wired.ws, "中文门店码", staff, welcome={"text": "你好"})
    group_api.invite_to_group(wired.ws, live["id"], group["id"])
    page, texts = chinese_page_texts(GroupCodesPage, wired.ws.as_user(OPERATOR))
    known = group_api.known_groups(wired.ws)  # the sandbox corp's groups: data
    assert english_words(texts, allow=[*known["chat_id"], *known["name"], *FORMATS]) == []
    assert page.groups.value["角色"].tolist() == ["使用中"]


def test_the_reports_page_in_chinese_has_no_english_words(wired):
    code = api.create_code(wired.ws, "中文报表码", wired.hire("p1"), welcome={"text": "你好"})
    wired.scan(code["config_id"])
    page, texts = chinese_page_texts(LiveCodeReportsPage, wired.ws)
    assert page.chart.visible
    assert english_words(texts) == []
    assert "净增长" in page.kpis.object
    with use_language("zh_CN"):
        assert list(page.export().columns)[:3] == ["渠道活码", "ID", "渠道"]


def test_every_page_renders_in_chinese(wired):
    wired.hire("k1")
    for page_class in (LiveCodesPage, GroupCodesPage, LiveCodeReportsPage):
        with use_language("zh_CN"):
            pn.panel(page_class(wired.ws).__panel__()).get_root()
