"""Live codes in a real browser: an operator creates a code on the Live codes page, sees its
QR code, a customer scans it in the WeCom sandbox, and the customer card shows the new
contact with the code's channel tag.

The console (``siyu serve``) and the sandbox WeCom it calls and that posts callbacks to it
come from the ``sandbox_console`` fixture in ``conftest.py``; screenshots of every step are
saved under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import siyu
from siyu.plugins.livecodes import api

from .conftest import login_as, screenshot, shown_text, visit, wait_until

MEMBERS = {"zhangsan": "张三", "lisi": "李四"}
NAME, CHANNEL, TAG = "浏览器海报", "海报", "渠道/浏览器海报"


def choose(page, widget: str, label: str) -> None:
    """Pick ``label`` in the multi-choice widget with CSS class ``widget``."""
    page.locator(f".{widget} input.choices__input--cloned").fill(label)
    page.locator(f".{widget} .choices__list--dropdown .choices__item--choice",
                 has_text=label).first.click()
    wait_until(lambda: label in shown_text(page.locator(f".{widget} .choices__list--multiple")),
               page=page)


def test_a_code_created_in_the_console_routes_a_scan_to_a_tagged_contact(page,
                                                                         sandbox_console):
    console, sandbox = sandbox_console
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        for userid, name in MEMBERS.items():
            ws.staff.upsert(userid, name)
    login_as(page, console, "operator")
    visit(page, console, "livecodes", ready=".siyu-livecodes-create-button button")

    page.locator(".siyu-livecodes-name input").fill(NAME)
    for userid, name in MEMBERS.items():
        choose(page, "siyu-livecodes-members", f"{name} ({userid})")
    page.locator(".siyu-livecodes-channel input").fill(CHANNEL)
    page.locator(".siyu-livecodes-tags input").fill(TAG)
    page.locator(".siyu-livecodes-welcome textarea").fill("{nickname} 你好，我是{staff}")
    screenshot(page, "form")
    page.locator(".siyu-livecodes-create-button button").click()

    qr = page.locator(".siyu-livecodes-qr-image img")
    wait_until(lambda: (qr.get_attribute("src") or "").startswith("data:image/png"),
               timeout=30, page=page)
    assert qr.evaluate("img => img.naturalWidth") > 0
    wait_until(lambda: NAME in shown_text(page.locator(".siyu-livecodes-table")), page=page)
    # the tables were first drawn empty: what they show now is text, not NaN or 1.0
    table = shown_text(page.locator(".siyu-livecodes-table"))
    assert "NaN" not in table and CHANNEL in table
    wait_until(lambda: all(name in shown_text(page.locator(".siyu-livecodes-preview-table"))
                           for name in MEMBERS.values()), page=page)
    assert "NaN" not in shown_text(page.locator(".siyu-livecodes-preview-table"))
    screenshot(page, "created")
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        codes = api.list_codes(ws)
        assert codes["name"].tolist() == [NAME]
        code = api.get_code(ws, int(codes["id"].iloc[0]))
    assert code["config_id"] in sandbox.world.contact_ways
    assert (code["channel"], code["tags"]) == (CHANNEL, [TAG])

    outcome = sandbox.people.scan_contact_way(code["config_id"], name="扫码客户")

    assert outcome.userid in MEMBERS
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        def tagged():
            adds = api.adds_df(ws)
            return len(adds) == 1 and adds["welcome"].iloc[0] == "sent" and TAG in [
                t for t in ws.tags.of(ws.contacts.get(outcome.external_userid).id)]
        wait_until(tagged, timeout=30)
    visit(page, console, "contacts", ready=".siyu-contacts-table .tabulator-row")
    page.locator(".siyu-contacts-open-input input").fill(outcome.external_userid)
    page.locator(".siyu-contacts-open button").click()

    card = page.locator(".siyu-customer-card")
    wait_until(lambda: TAG in card.locator(".siyu-tag").all_inner_texts(), page=page)
    shown = shown_text(card)
    assert "扫码客户" in shown
    assert f"{MEMBERS[outcome.userid]} ({outcome.userid})" in shown
    assert CHANNEL in shown
    screenshot(page, "customer-card")
    welcome = [w for w in sandbox.world.welcomes if w.external_userid == outcome.external_userid]
    assert [w.text for w in welcome] == [f"扫码客户 你好，我是{MEMBERS[outcome.userid]}"]
