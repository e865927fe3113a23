"""The Transfers page, built in Python as the console builds it for a signed-in user: it
plans and executes, shows each customer's state with the reason, escapes names, speaks
Chinese and offers changes only to roles that may make them."""

from __future__ import annotations

from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.transfers.pages import TransfersPage, parse_assignments
from tests.ui_text import english_hits, visible_texts

ADMIN = Principal("root", "admin")
ANALYST = Principal("ana", "analyst")
HOSTILE = "<img src=x onerror=alert(1)>"


def test_plan_execute_and_follow_a_transfer_from_the_page(wired, notes):
    ws = wired.ws
    page = TransfersPage(ws.as_user(ADMIN))
    new, listing = page.new, page.list
    new.member.value = "zhangsan"
    leaving = new.show_customers()
    assert len(leaving.customers) == 3 and new.customers.visible and new.groups.visible
    new.successors.value = ["lisi", "wangwu"]
    made = new.make_plan(execute_now=True)
    assert made.planned == 3 and not notes.messages("error")
    assert "waiting 3" in str(new.result.object)
    assert listing.plan.value == made.plan_id
    assert set(listing.items.value["State"]) == {"waiting 24 h for takeover"}
    wired.pass_a_day()
    listing.check_results()
    assert set(listing.items.value["State"]) == {"taken over"}
    assert listing.table.value.iloc[0]["Taken over"] == "3"


def test_a_bad_plan_is_a_notification(wired, notes):
    page = TransfersPage(wired.ws.as_user(ADMIN))
    page.new.member.value = "zhangsan"
    assert page.new.make_plan(execute_now=False) is None
    assert notes.messages("error") == ["choose at least one successor (a staff member who "
                                       "takes the customers over)"]


def test_names_from_the_data_are_escaped(wired):
    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    ws.contacts.upsert(customer, name=HOSTILE)
    ws.staff.upsert("lisi", HOSTILE)
    page = TransfersPage(ws.as_user(ADMIN))
    page.new.member.value = "zhangsan"
    page.new.show_customers()
    assert HOSTILE in set(page.new.customers.value["Customer"])  # a table cell: text
    assert HOSTILE not in page.new.successors.options  # MultiChoice labels: escaped
    assert any("&lt;img" in label for label in page.new.successors.options)


def test_an_analyst_can_look_but_not_transfer(wired):
    page = TransfersPage(wired.ws.as_user(ANALYST))
    assert page.new.plan_button.disabled and page.new.run_button.disabled
    assert page.list.run_button.disabled and page.list.check.disabled


def test_the_page_speaks_chinese(wired):
    ws = wired.ws
    with use_language("zh_CN"):
        page = TransfersPage(ws.as_user(ADMIN))
        page.new.member.value = "zhangsan"
        page.new.show_customers()
        texts = visible_texts(page) + visible_texts(page.new) + visible_texts(page.list)
        title = str(ws.pages()["transfers"].title)
    assert title == "客户继承"
    hits = english_hits(texts, allow=["zhangsan", "lisi", "wangwu", "VIP", "ID",
                                      "wmXXXX"])
    assert not hits, "\n".join(f"{word!r} in {text!r}" for word, text in hits)


def test_assignments_are_read_one_per_line():
    assert parse_assignments("wmA = lisi\n\n12＝wangwu\n") == {"wmA": "lisi", "12": "wangwu"}
