"""The Customer card page, built in Python as the console builds it for a signed-in user:
search, open a card, read every section in words; phones masked by role; names escaped;
Chinese for a Chinese-speaking user."""

from __future__ import annotations

from ui_text import english_hits, visible_texts

from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.customers import pages
from siyu.plugins.customers.pages import CustomerCardPage

from .world import HOSTILE

ADMIN = Principal("root", "admin")
OPERATOR = Principal("otto", "operator")
ANALYST = Principal("ann", "analyst")


def table(page, name):
    """The rows a card table shows, as dicts of its column titles."""
    return page.view.tables[name][0].value.to_dict("records")


def shows_table(page, name) -> bool:
    table_, _empty, holder = page.view.tables[name]
    return list(holder.objects) == [table_]


def test_the_page_is_registered_for_roles_that_read_data(shop):
    spec = shop.ws.pages()["customer"]
    assert (spec.permission, str(spec.title)) == ("data.read", "Customer card")
    assert isinstance(spec.factory(shop.ws.as_user(ANALYST)), CustomerCardPage)


def test_an_operator_opens_a_card_with_every_section(shop):
    page = CustomerCardPage(shop.ws.as_user(OPERATOR), contact=shop.contact_id)
    view = page.view
    assert "王小明" in view.title.object and "Do not contact" in view.title.object
    profile = str(view.profile.object)
    assert "138****0001" in profile and "13800000001" not in profile
    for text in ("M001", "上海南京西路店 (SH001)", "male", "2026-11-01 10:00", "会员等级",
                 "金卡", "un001"):
        assert text in profile, text
    assert "Owner: 王五 (wangwu) · friend since 2026-11-07 10:00 · chosen by a user" in \
        view.owner.object
    assert "会员/金卡" in view.tags.object and "渠道/抖音" in view.tags.object
    kpis = str(view.kpis.objects[0].object)
    for text in ("¥274.00", "¥137.00", "2 paid", "¥25.00 refunded", "2026-11-02",
                 "2026-11-03"):
        assert text in kpis, text
    assert [r["Staff member"] for r in table(page, "followers")] == [
        "张三 (zhangsan)", "李四 (lisi)", "王五 (wangwu)"]
    assert table(page, "followers")[1]["Ended"] == "2026-11-06 10:00 by the customer"
    assert table(page, "followers")[2]["Owner"] == "yes, chosen by a user"
    assert [(r["From"], r["To"], r["How"], r["State"]) for r in table(page, "history")] == [
        ("张三 (zhangsan)", "王五 (wangwu)", "chosen by a user", "—"),
        ("王五 (wangwu)", "李四 (lisi)", "transfer", "refused by the customer"),
        ("张三 (zhangsan)", "王五 (wangwu)", "transfer", "taken over")]
    assert table(page, "history")[0]["By"] == "—"  # an operator does not read the audit log
    assert [(r["Order number"], r["Amount"], r["Refunded"], r["Status"], r["Store"])
            for r in table(page, "orders")] == [
        ("J3", "¥50.00", "¥0.00", "cancelled", "—"),
        ("T2", "¥100.00", "¥25.00", "partially refunded", "上海南京西路店 (SH001)"),
        ("T1", "¥199.00", "¥0.00", "paid", "上海南京西路店 (SH001)")]
    timeline = table(page, "timeline")
    assert (timeline[0]["Time"], timeline[0]["What happened"]) == ("2026-11-08 10:00",
                                                                   "Transferred")
    assert timeline[-1]["Details"] == "Added by 张三 (zhangsan) through live code 春季海报"
    assert [(r["Kind"], r["Campaign"], r["Reason"]) for r in table(page, "risk")][1:] == [
        ("Message skipped", "会员日", "on the do-not-contact list"),
        ("Message blocked", "双11返场", "sensitive word: 稳赚")]
    assert all(shows_table(page, name) for name in page.view.tables)


def test_an_admin_sees_the_phone_and_who_chose_the_owner(shop):
    page = CustomerCardPage(shop.ws.as_user(ADMIN), contact="wm001")
    assert "13800000001" in page.view.profile.object
    assert table(page, "history")[0]["By"] == "local"


def test_searching_lists_matches_and_opens_the_only_one(shop):
    page = CustomerCardPage(shop.ws.as_user(ANALYST))
    assert page.card is None and page.view.empty in page.view._layout.objects
    page.search.value = "M001"
    found = page.run_search()
    assert found["id"].tolist() == [shop.contact_id]
    assert page.card.contact_id == shop.contact_id
    assert table_rows(page) == [{"ID": str(shop.contact_id), "Customer": "王小明",
                                 "Phone": "138****0001", "Member ID": "M001",
                                 "Owner": "王五 (wangwu)", "External user ID": "wm001",
                                 "Added at": "2026-11-01 10:00"}]


def table_rows(page):
    return page.results.value.to_dict("records")


def test_a_row_picked_among_several_opens_its_card(shop):
    page = CustomerCardPage(shop.ws.as_user(ADMIN))
    page.search.value = "客户"  # one name, and 王小明's remark 老客户
    page.run_search()
    assert [r["Customer"] for r in table_rows(page)] == ["导入客户", "王小明"]
    assert page.card is None
    page.results.selection = [1]
    assert page.card.contact_id == shop.contact_id


def test_nothing_found_says_how_to_search(shop):
    page = CustomerCardPage(shop.ws.as_user(ANALYST))
    page.search.value = "nobody at all"
    page.run_search()
    assert page.found.objects == [page.no_results] and page.card is None


def test_a_phone_probe_or_an_unknown_contact_is_a_notification(shop, notes):
    page = CustomerCardPage(shop.ws.as_user(ANALYST))
    page.search.value = "13800000001"
    assert page.run_search() is None
    assert "last four digits" in notes.messages("error")[0]
    assert page.open("wm-nobody") is None
    assert "unknown contact 'wm-nobody'" in notes.messages("error")[1]
    assert page.card is None


def test_the_address_opens_a_contact(shop, monkeypatch):
    monkeypatch.setattr(pages, "url_contact", lambda: str(shop.contact_id))
    page = CustomerCardPage(shop.ws.as_user(ANALYST))
    assert page.card.contact_id == shop.contact_id


def test_a_contact_without_orders_or_follows_shows_empty_states(shop):
    page = CustomerCardPage(shop.ws.as_user(ADMIN), contact=shop.other_id)
    assert not any(shows_table(page, name) for name in ("followers", "history", "orders",
                                                        "risk"))
    assert "No owner" in page.view.owner.object and "No tags" in page.view.tags.object
    assert shows_table(page, "timeline")


def test_hostile_names_stay_text(shop):
    page = CustomerCardPage(shop.ws.as_user(ADMIN), contact=shop.hostile_id)
    for pane in (page.view.title, page.view.profile):
        assert HOSTILE not in pane.object and "&lt;script&gt;" in pane.object
    page.search.value = "wm666"
    page.run_search()
    assert table_rows(page)[0]["Customer"] == HOSTILE  # a table cell: text


def test_the_page_speaks_chinese(shop):
    with use_language("zh_CN"):
        page = CustomerCardPage(shop.ws.as_user(ADMIN), contact=shop.contact_id)
        page.search.value = "王"
        page.run_search()
        texts = visible_texts(page)
        cells = visible_texts(page.view, cells=True)
        title = str(shop.ws.pages()["customer"].title)
    assert title == "客户详情"
    data = ["王小明", "zhangsan", "lisi", "wangwu", "wecom", "tmall", "jd", "lc:spring",
            "VIP", "M001", "wm001", "un001", "SH001", "customer_refused", "local", "J3", "T1",
            "T2", "sensitive word: 稳赚",
            "UnionID"]  # WeChat's own name for the id, as WeCom writes it in Chinese too
    hits = english_hits(texts + cells, allow=data)
    assert not hits, "\n".join(f"{word!r} in {text!r}" for word, text in hits)


def test_an_operator_writes_a_note_that_joins_the_timeline(shop, notes):
    from siyu.plugins.customers import notes as customer_notes

    page = CustomerCardPage(shop.ws.as_user(OPERATOR), contact=shop.contact_id)
    page.view.note_input.value_input = "只在周末联系 <b>VIP</b>"
    page.view.add_note()
    [note] = customer_notes.listing(shop.ws, shop.contact_id)
    assert (note["text"], note["by"]) == ("只在周末联系 <b>VIP</b>", "otto")
    assert any("只在周末联系 <b>VIP</b>" in row["Details"] for row in table(page, "timeline"))
    assert page.view.note_input.value_input == ""
    page.view.note_input.value_input = "   "
    page.view.add_note()
    assert "a note cannot be empty" in notes.messages("error")[-1]
    assert len(customer_notes.listing(shop.ws, shop.contact_id)) == 1


def test_an_analyst_cannot_write_notes(shop):
    page = CustomerCardPage(shop.ws.as_user(ANALYST), contact=shop.contact_id)
    assert page.view.note_input.disabled and page.view.note_button.disabled
