"""The segment builder in Chromium: an analyst builds "VIP + ordered twice in 90 days" from
the menus, watches the count change after each rule, saves it, and the saved segment counts
the same from the notebook API (``ws.segments.count(name)``).

Screenshots at 1440 and 390 px go to ``test-artifacts/screenshots/segments/``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import siyu

from .conftest import SCREENSHOTS, login_as, shown_text, wait_for_shell, wait_until

VIP = "客户等级/VIP"
TAG_ONLY = {"all": [{"tag": {"tags": [VIP]}}]}
TWICE_IN_90 = {"all": [{"tag": {"tags": [VIP]}},
                       {"orders": {"min_count": 2, "within_days": 90}}]}
FOLDER = SCREENSHOTS / "segments"
#: How long a count may take to arrive (debounce + the query on a shared test machine).
COUNT_TIMEOUT = 20.0


def shot(page, label: str) -> Path:
    """Save the whole page as ``test-artifacts/screenshots/segments/<label>.png`` (scrolled
    to the top first: the console's header is sticky)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    path = FOLDER / f"{label}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def shown_count(page) -> str:
    """The number on the count card ("—" while there is none)."""
    return shown_text(page.locator(".siyu-segment-count .siyu-kpi-value")).strip()


def wait_for_count(page, expected: int) -> None:
    """Wait until the count card shows ``expected`` (thousands separated)."""
    def shows() -> bool:
        shown = shown_count(page)
        assert shown == f"{expected:,}", f"the card shows {shown!r}, not {expected:,}"
        return True

    wait_until(shows, timeout=COUNT_TIMEOUT, page=page)


def add_rule(page, title: str, name: str):
    """Pick the rule titled ``title`` from the root group's menu and add it; return the
    new rule's box."""
    group = page.locator(".siyu-segment-depth-0").first
    group.locator(".siyu-segment-rule-menu select").first.select_option(label=title)
    group.locator(".siyu-segment-add-rule button").first.click()
    rule = page.locator(f".siyu-segment-rule-{name}").last
    rule.wait_for(state="visible")
    return rule


def choose(rule, param: str, value: str) -> None:
    """Pick ``value`` from the menu (MultiChoice) of ``param`` in ``rule``."""
    field = rule.locator(f".siyu-segment-param-{param}").first
    field.locator("input[type=search]").first.click()
    field.locator(f".choices__item--choice[data-value='{value}']").first.click()
    field.locator("input[type=search]").first.press("Escape")


def type_number(rule, param: str, value: int) -> None:
    """Type ``value`` into the number field of ``param`` in ``rule``."""
    box = rule.locator(f".siyu-segment-param-{param} input").first
    box.fill(str(value))
    box.press("Enter")


def test_an_analyst_builds_saves_and_the_notebook_counts_the_same(page, console):
    name = f"VIP复购-{uuid.uuid4().hex[:6]}"
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        expected_tag = ws.segments.count(TAG_ONLY)
        expected_both = ws.segments.count(TWICE_IN_90)
    assert expected_tag != expected_both  # the second rule must change the count

    page.set_viewport_size({"width": 1440, "height": 900})
    login_as(page, console, "analyst")
    page.goto(f"{console.url}/segments")
    wait_for_shell(page)
    page.locator(".siyu-segment-rule-menu select").first.wait_for(state="visible")
    assert shown_count(page) == "—"
    shot(page, "1440-empty")

    tag = add_rule(page, "Tags", "tag")
    choose(tag, "tags", VIP)
    wait_for_count(page, expected_tag)

    orders = add_rule(page, "Orders", "orders")
    type_number(orders, "min_count", 2)
    type_number(orders, "within_days", 90)
    wait_for_count(page, expected_both)
    page.locator(".siyu-segment-sample .tabulator-row").first.wait_for(state="visible")
    shot(page, "1440-built")

    page.locator(".siyu-segment-name input").first.fill(name)
    page.locator(".siyu-segment-save button").first.click()
    page.locator(".siyu-segments-list .tabulator-row").filter(has_text=name).first.wait_for(
        state="visible")
    shown = int(shown_count(page).replace(",", ""))
    # Counted by name once saved: the list shows the count too.
    page.locator(".siyu-segments-list .tabulator-row").filter(
        has_text=f"{expected_both:,}").first.wait_for(state="visible")
    shot(page, "1440-saved")

    with siyu.open(str(console.db), load_entry_points=False) as ws:
        saved = ws.segments.get(name)
        assert saved.spec == TWICE_IN_90
        assert saved.owner == "analyst"
        assert ws.segments.count(name) == shown == expected_both

    # On a phone: the saved segment opened from the list, counted again.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator(".siyu-segments-list .tabulator-row").filter(has_text=name).first.click()
    page.locator(".siyu-segment-rule-orders").first.wait_for(state="visible")
    wait_for_count(page, expected_both)
    page.locator(".siyu-segment-sample .tabulator-row").first.wait_for(state="visible")
    page.locator(".siyu-segment-versions .tabulator-row").first.wait_for(state="visible")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    shot(page, "390-opened")


def test_problems_show_instead_of_a_count_and_phones_stay_masked(page, console):
    page.set_viewport_size({"width": 390, "height": 844})
    login_as(page, console, "analyst")
    page.goto(f"{console.url}/segments")
    page.locator(".siyu-segment-rule-menu select").first.wait_for(state="visible")
    orders = add_rule(page, "Orders", "orders")
    type_number(orders, "min_count", 3)
    type_number(orders, "max_count", 1)

    problems = page.locator(".siyu-segment-problem-list").first
    problems.wait_for(state="visible", timeout=COUNT_TIMEOUT * 1000)
    assert "min_count is more than max_count" in shown_text(problems)
    assert shown_count(page) == "—"
    assert page.locator(".siyu-segment-reveal").count() == 0  # analysts get masked phones
    shot(page, "390-problem")
