"""The Segments page, driven through its Python objects on both engines: a spec built with
the builder's widgets, the count and sample that follow each edit (debounced, off the event
loop in a browser session), problems shown in place of a count, saving with versions,
duplicating, deleting, downloads that mask phones by role, and a page that speaks Chinese.
"""

from __future__ import annotations

import html as html_text
import threading
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import panel as pn
import pytest
from bokeh.model import Model
from ui_text import english_hits, visible_texts

from siyu.apps.pages import live
from siyu.apps.pages.segment_fields import Menus, param_field
from siyu.apps.pages.segment_tree import rule_menu
from siyu.apps.pages.segments import SegmentsPage, copy_name
from siyu.core.errors import PermissionDenied
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.core.records import SegmentParam as P

ADMIN = Principal("root", "admin")
OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")
VIP = "客户等级/VIP"
TWICE_IN_90 = {"all": [{"tag": {"tags": [VIP]}},
                       {"orders": {"min_count": 2, "within_days": 90}}]}


def ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


@pytest.fixture
def shop(sample_world):
    """Five contacts: wm_a, wm_b, wm_c are VIP; wm_a and wm_c (VIP) and wm_d (not) ordered
    twice in the last 90 days, wm_b once (and once long before)."""
    ws = sample_world
    for key, owner, store, city, phone in [
            ("wm_a", "zhangsan", "SH001", "上海", "13800000001"),
            ("wm_b", "lisi", "SH001", "上海", "13800000002"),
            ("wm_c", "wangwu", "BJ001", "北京", "13800000003"),
            ("wm_d", "wangwu", "BJ001", "北京", "13800000004"),
            ("wm_e", "zhangsan", "SH001", "广州", "13800000005")]:
        ws.contacts.upsert(key, name=f"客{key[-1]}", owner=owner, store=store, city=city,
                           phone=phone, source_channel="抖音", added_at=ago(120))
    ws.tags.tag(["wm_a", "wm_b", "wm_c"], [VIP], create=True)
    ws.tags.tag(["wm_d"], ["兴趣/母婴"], create=True)
    orders = [("wm_a", 10), ("wm_a", 40), ("wm_b", 20), ("wm_b", 200), ("wm_c", 5),
              ("wm_c", 60), ("wm_c", 80), ("wm_d", 30), ("wm_d", 31)]
    for i, (who, days) in enumerate(orders):
        ws.orders.upsert("shop", f"o{i}", amount_fen=9900, paid_at=ago(days), contact=who)
    return ws


def page_for(ws, principal=ANALYST) -> SegmentsPage:
    return SegmentsPage(ws.as_user(principal))


def build_vip_twice(page: SegmentsPage) -> list[int | None]:
    """Build 'VIP + ordered twice in 90 days' with the widgets; the count after each step."""
    counts = []
    tag = page.builder.add_rule("tag")
    tag.field("tags").widget.value = [VIP]
    counts.append(page.outcome.count)
    orders = page.builder.add_rule("orders")
    orders.field("min_count").widget.value = 2
    orders.field("within_days").widget.value = 90
    counts.append(page.outcome.count)
    return counts


def card_value(page: SegmentsPage) -> str:
    text = str(page.count_card.object)
    return text.split('class="siyu-kpi-value">')[1].split("<")[0]


def card_note(page: SegmentsPage) -> str:
    text = str(page.count_card.object)
    return text.split('class="siyu-kpi-note">')[1].split("<")[0]


# -- registration ---------------------------------------------------------------------------

def test_the_page_is_registered_for_readers_of_data(shop):
    spec = shop.pages()["segments"]
    assert spec.permission == "data.read"
    assert str(spec.title) == "Segments"
    with use_language("zh_CN"):
        assert str(spec.title) == "人群"
    page = spec.factory(shop.as_user(ANALYST))
    assert isinstance(page, SegmentsPage)
    assert isinstance(pn.panel(page.__panel__()).get_root(), Model)


def test_a_role_without_data_read_cannot_build_it(shop, monkeypatch):
    from siyu.core import permissions

    monkeypatch.setitem(permissions.ROLES, "analyst", frozenset({"console.view"}))
    with pytest.raises(PermissionDenied):
        page_for(shop)


# -- building -------------------------------------------------------------------------------

def test_the_widgets_build_the_spec_and_the_count_follows_each_rule(shop):
    page = page_for(shop)
    assert page.outcome.empty and card_value(page) == "—"

    counts = build_vip_twice(page)

    assert page.spec() == TWICE_IN_90
    assert counts == [3, 2]
    assert card_value(page) == "2"
    assert counts[-1] == shop.segments.count(TWICE_IN_90)
    shown = page.sample.value.iloc[:, 1].tolist()  # customer names
    assert shown == ["客a", "客c"]
    assert '"min_count": 2' in html_text.unescape(str(page.json_view.object))


def test_groups_nest_with_any_and_not(shop):
    page = page_for(shop)
    page.builder.add_rule("tag").field("tags").widget.value = [VIP]
    group = page.builder.add_group()
    group.mode.value = "any"
    group.negate.value = True
    group.add_rule("city").field("cities").widget.value = ["北京"]
    group.add_rule("owner").field("staff").widget.value = ["lisi"]

    assert page.spec() == {"all": [{"tag": {"tags": [VIP]}},
                                   {"not": {"any": [{"city": {"cities": ["北京"]}},
                                                    {"owner": {"staff": ["lisi"]}}]}}]}
    assert page.outcome.count == 1  # wm_a: VIP, not in 北京, not lisi's

    page.builder.remove(group)
    assert page.spec() == {"all": [{"tag": {"tags": [VIP]}}]}
    assert page.outcome.count == 3


def test_a_saved_spec_loads_into_the_builder_as_it_was(shop):
    spec = {"any": [{"not": {"tag": {"tags": [VIP], "match": "none"}}},
                    {"all": [{"city": {"cities": ["上海"]}},
                             {"orders": {"min_count": 2, "since": "2026-01-01"}}]}]}
    shop.segments.create("nested", spec)
    page = page_for(shop)

    page.open("nested")

    assert page.spec() == spec
    assert page.name_input.value == "nested" and page.loaded == "nested"
    assert page.save_button.label == "Save new version"


@pytest.mark.parametrize("param, widget, given, expected", [
    (P("tags", "list", "tag", choices_from="tags"), pn.widgets.MultiChoice, [VIP], [VIP]),
    (P("r", "ints", "score", minimum=1, maximum=5), pn.widgets.MultiChoice, [5, 4], [4, 5]),
    (P("codes", "list", "codes"), pn.widgets.TextInput, "a, b，c", ["a", "b", "c"]),
    (P("match", "choice", "match", default="any", choices=(("any", "Any"), ("all", "All"))),
     pn.widgets.Select, "all", "all"),
    (P("days", "int", "days", minimum=1, maximum=365), pn.widgets.IntInput, 90, 90),
    (P("since", "date", "since"), pn.widgets.DatePicker, date(2026, 11, 25), "2026-11-25"),
    (P("flag", "bool", "flag", default=True), pn.widgets.Checkbox, False, False),
    (P("group", "str", "group", choices_from="tag_groups", strict=True), pn.widgets.Select,
     "客户等级", "客户等级"),
    (P("kind", "str", "kind", choices_from="event_kinds"), pn.widgets.AutocompleteInput,
     "livecode.*", "livecode.*"),
    (P("note", "str", "note"), pn.widgets.TextInput, " hi ", "hi"),
])
def test_each_parameter_type_gets_its_widget(shop, param, widget, given, expected):
    field = param_field(param, Menus(shop), css_class="p")

    assert type(field.widget) is widget
    assert field.value() is None  # empty or the default: left out of the spec
    field.widget.value = given
    assert field.value() == expected


def test_menus_offer_the_workspace_values_with_names(shop):
    menus = Menus(shop)
    assert menus.options("staff")["张三 (zhangsan)"] == "zhangsan"
    assert menus.options("stores")["上海南京西路店 (SH001)"] == "SH001"
    assert VIP in menus.options("tags").values()
    field = param_field(P("days", "int", "days", minimum=1, maximum=30), menus, css_class="p")
    assert (field.widget.start, field.widget.end) == (1, 30)


def test_the_rule_menu_is_grouped_by_family(shop):
    menu = rule_menu(shop.segments.rules())
    assert list(menu)[:4] == ["Tags", "Attributes", "Journey", "Orders"]
    assert menu["Orders"]["Orders"] == "orders"
    assert "tag" in menu["Tags"].values()


# -- problems -------------------------------------------------------------------------------

def test_problems_show_with_their_place_instead_of_a_count(shop):
    page = page_for(shop)
    build_vip_twice(page)
    orders = page.builder.rules()[1]

    orders.field("within_days").widget.value = -3

    assert page.outcome.count is None
    assert card_value(page) == "—"
    assert page.problems.visible
    assert "<code>all[1].orders.within_days</code>" in str(page.problems.object)
    assert orders.problems.visible and "-3" in str(orders.problems.object)
    assert not page.builder.rules()[0].problems.visible
    assert page.sample_box.objects == []  # no sample, no empty state either

    orders.field("within_days").widget.value = 90
    assert page.outcome.count == 2 and not page.problems.visible


def test_an_empty_group_is_a_problem_and_an_empty_builder_asks_for_a_rule(shop):
    page = page_for(shop)
    assert "Add a rule" in card_note(page)
    page.builder.add_rule("tag").field("tags").widget.value = [VIP]
    page.builder.add_group()
    assert page.outcome.problems == [("all[1].all", "needs at least one rule")]


# -- saving ---------------------------------------------------------------------------------

def test_saving_creates_the_segment_then_new_versions(shop, notes):
    page = page_for(shop)
    build_vip_twice(page)
    page.name_input.value = "VIP 复购"
    page.description_input.value = "季度回访"
    assert page.save_button.label == "Save as new segment"

    page.save()

    saved = shop.segments.get("VIP 复购")
    assert (saved.version, saved.spec, saved.description) == (1, TWICE_IN_90, "季度回访")
    assert page.library.names() == ["VIP 复购"]
    assert page.library.rows["last_count"].tolist() == [2]  # counted by name once saved
    assert page.save_button.label == "Save new version"

    page.builder.rules()[1].field("within_days").widget.value = 30
    page.note_input.value = "30 天"
    page.save()

    versions = shop.segments.versions("VIP 复购")
    assert versions["version"].tolist() == [2, 1]
    assert versions["note"].iloc[0] == "30 天"
    assert page.versions.table.value.shape[0] == 2
    assert notes.messages("success")[-1] == "Saved VIP 复购 as version 2."

    page.versions.choice.value = "1"
    page.versions.restore.clicks += 1
    assert shop.segments.get("VIP 复购").version == 3
    assert page.spec() == TWICE_IN_90


def test_saving_an_unchanged_segment_says_so(shop, notes):
    shop.segments.create("same", TWICE_IN_90)
    page = page_for(shop)
    page.open("same")
    page.save()
    assert shop.segments.get("same").version == 1
    assert "stays at version 1" in notes.messages("success")[-1]


def test_a_taken_name_or_no_rule_is_refused_with_a_message(shop, notes):
    shop.segments.create("taken", TWICE_IN_90)
    page = page_for(shop)
    page.name_input.value = "taken"
    page.save()
    assert "add at least one rule" in notes.messages("error")[-1]
    page.builder.add_rule("tag").field("tags").widget.value = [VIP]
    page.save()
    assert "exists already" in notes.messages("error")[-1]
    assert shop.segments.get("taken").version == 1


def test_duplicate_and_delete(shop, notes):
    shop.segments.create("base", TWICE_IN_90)
    shop.segments.create("uses base", {"segment": {"name": "base"}})
    page = page_for(shop)
    page.open("base")

    page.duplicate()
    assert page.loaded == "base (copy)"
    assert shop.segments.get("base (copy)").spec == TWICE_IN_90

    page.open("base")
    page.ask_delete()
    assert page.confirm_row.visible
    page.delete()
    assert "used by" in notes.messages("error")[-1]
    assert "base" in page.library.names()

    page.open("base (copy)")
    page.ask_delete()
    page.delete()
    assert "base (copy)" not in page.library.names()
    assert page.loaded is None and page.builder.is_empty()


def test_copy_names_do_not_collide():
    assert copy_name("a", []) == "a (copy)"
    assert copy_name("a", ["a (copy)", "a (copy 2)"]) == "a (copy 3)"


# -- downloads and roles --------------------------------------------------------------------

def test_an_analyst_is_not_offered_phones_in_full_and_gets_them_masked(shop):
    page = page_for(shop)
    build_vip_twice(page)

    assert page.reveal is None
    texts = visible_texts(page)
    assert "Phone numbers in full" not in texts
    frame = page.export_frame()
    assert frame["Phone"].tolist() == ["138****0001", "138****0003"]
    entry = shop.audit_log.df(action="segment.export")
    assert entry["actor"].tolist() == ["ann"]


def test_an_operator_is_not_offered_phones_in_full_either(shop):
    assert page_for(shop, OPERATOR).reveal is None


def test_an_admin_may_download_phones_in_full(shop):
    page = page_for(shop, ADMIN)
    build_vip_twice(page)
    assert page.reveal is not None
    assert page.export_frame()["Phone"].tolist() == ["138****0001", "138****0003"]
    page.reveal.value = True
    assert page.export_frame()["Phone"].tolist() == ["13800000001", "13800000003"]


def test_names_are_escaped_where_they_become_html(shop):
    hostile = "<img src=x onerror=alert(1)>"
    page = page_for(shop)
    page.builder.add_rule("city").field("cities").widget.value = [hostile]
    assert "<img" not in str(page.json_view.object)
    assert "&lt;img" in str(page.json_view.object)
    page.open("nobody")  # a notification, not a crash


# -- off the event loop ---------------------------------------------------------------------

class FakeDocument:
    """Stands in for a browser session's document: callbacks are kept to run by hand."""

    session_context = SimpleNamespace(request=SimpleNamespace(arguments={}, cookies={},
                                                              headers={}))

    def __init__(self):
        self.timeouts, self.ticks = [], []

    def add_timeout_callback(self, callback, milliseconds):
        self.timeouts.append((callback, milliseconds))

    def add_next_tick_callback(self, callback):
        self.ticks.append(callback)

    def run_timeouts(self):
        due, self.timeouts = self.timeouts, []
        for callback, _ms in due:
            callback()

    def run_ticks(self, expected=1, timeout=10.0):
        deadline = datetime.now() + timedelta(seconds=timeout)
        while len(self.ticks) < expected and datetime.now() < deadline:
            threading.Event().wait(0.01)
        due, self.ticks = self.ticks, []
        for callback in due:
            callback()


@pytest.fixture
def session(monkeypatch):
    doc = FakeDocument()
    monkeypatch.setattr(live, "session_document", lambda: doc)
    return doc


def test_edits_are_counted_once_they_pause_on_a_worker_thread(session):
    shown, threads, state = [], [], {"value": 0}

    def prepare():
        value = state["value"]

        def job():
            threads.append(threading.current_thread().name)
            return value
        return job

    runner = live.Debounced(prepare, shown.append, delay_ms=600)
    for value in (1, 2, 3):
        state["value"] = value
        runner.request()

    assert [ms for _cb, ms in session.timeouts] == [600, 600, 600]
    session.run_timeouts()  # the first two were overtaken: only the last one runs
    session.run_ticks()
    assert shown == [3]
    assert len(threads) == 1 and threads[0].startswith("siyu-page-job")


def test_a_result_overtaken_by_an_edit_is_dropped(session):
    shown, release = [], threading.Event()
    state = {"value": 1}

    def prepare():
        value = state["value"]

        def job():
            release.wait(10)
            return value
        return job

    runner = live.Debounced(prepare, shown.append)
    runner.request()
    session.run_timeouts()  # value 1 is being counted
    state["value"] = 2
    runner.request()
    session.run_timeouts()  # still busy: counted again when the first ends
    release.set()
    session.run_ticks()  # the result for 1 is dropped, 2 starts
    assert shown == []
    session.run_ticks()
    assert shown == [2]


def test_the_page_says_it_is_counting_until_the_count_arrives(shop, session):
    page = page_for(shop)
    page.builder.add_rule("tag").field("tags").widget.value = [VIP]
    assert card_note(page) == "Counting…"
    session.run_timeouts()
    session.run_ticks()
    assert card_value(page) == "3" and card_note(page) == ""


# -- language -------------------------------------------------------------------------------

def test_the_page_speaks_chinese(shop):
    ws = shop.as_user(ADMIN)
    with use_language("zh_CN"):
        page = SegmentsPage(ws)
        build_vip_twice(page)
        page.builder.add_group().add_rule("rfm")
        for name in ("owner", "store", "gender", "friend", "event", "segment"):
            page.builder.add_rule(name)
        page.builder.add_rule("added").field("within_days").widget.value = 30
        page.builder.rules()[1].field("within_days").widget.value = -1  # a problem too
        texts = visible_texts(page)
    # event kinds are codes, as a notebook writes them
    allow = ["RFM", VIP, "zhangsan", "lisi", "wangwu", "contact.added", "livecode.*"]
    hits = english_hits(texts, allow=allow)
    assert not hits, "\n".join(f"{word!r} in {text!r}" for word, text in hits)
