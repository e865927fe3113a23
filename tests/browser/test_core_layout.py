"""Built-in pages leave their tables room, measured in Chromium on the sample business (the
tests' console speaks English, whose column headers are the wider ones).

- Contacts: on a 1440 px laptop the table beside the customer card was 80 px short of what
  its columns need ("Added at" was cut, in Chinese; more in English): the card now goes
  below the table and scrolls into view when a row is clicked; a wide screen keeps both
  side by side with every column shown.
- Jobs on a 390 px phone: the pinned job column took 317 of 350 px; long names now wrap.
"""

from __future__ import annotations

from .conftest import login_as, screenshot, wait_until

#: ``sel => {...}``: the first Tabulator inside the element ``sel`` finds (through shadow
#: roots): its frame's width, the width its columns need, its first column's width.
TABLE_JS = """sel => {
    const find = root => {
        for (const el of root.querySelectorAll('*')) {
            if (el.matches(sel)) {
                const t = (el.shadowRoot || el).querySelector('.tabulator');
                if (t) return t;
            }
            if (el.shadowRoot) { const t = find(el.shadowRoot); if (t) return t; }
        }
        return null;
    };
    const table = find(document);
    if (!table) return null;
    const holder = table.querySelector('.tabulator-tableholder');
    const first = [...table.querySelectorAll('.tabulator-header .tabulator-col')]
        .find(col => col.getBoundingClientRect().width > 0);
    const box = table.getBoundingClientRect();
    return {frame: holder.clientWidth, needs: holder.scrollWidth,
            first: first.getBoundingClientRect().width, left: box.left, right: box.right,
            bottom: box.bottom};
}"""


def _open(browser, console, width: int, height: int, name: str, ready: str):
    context = browser.new_context(viewport={"width": width, "height": height},
                                  is_mobile=width < 500, has_touch=width < 500)
    page = context.new_page()
    login_as(page, console, "admin")
    page.goto(f"{console.url}/{name}")
    page.locator(ready).first.wait_for(state="visible", timeout=30_000)
    return context, page


def _table(page, css_class: str) -> dict:
    return wait_until(lambda: page.evaluate(TABLE_JS, f".{css_class}"), timeout=15, page=page)


def test_on_a_laptop_the_card_goes_below_a_table_that_shows_every_column(browser, console):
    context, page = _open(browser, console, 1440, 900, "contacts",
                          ".siyu-contacts-table .tabulator-row")
    try:
        table = _table(page, "siyu-contacts-table")
        assert table["needs"] <= table["frame"] + 1, table
        # A row clicked low on the page brings its card, below the table, into view.
        page.locator(".siyu-contacts-table .tabulator-row").nth(30).click()
        card = page.locator(".siyu-card-profile").first
        wait_until(lambda: card.is_visible(), page=page)
        # Scrolled (smoothly) to the card's top, below the console header.
        wait_until(lambda: 60 <= card.bounding_box()["y"] < 300, timeout=5, page=page)
        screenshot(page, "contacts-1440-card")
        below = page.evaluate("window.scrollY") + card.bounding_box()["y"]
        assert below >= table["bottom"], (below, table)  # table: measured at the top
    finally:
        context.close()


def test_a_wide_screen_shows_every_column_beside_the_card(browser, console):
    context, page = _open(browser, console, 1920, 1000, "contacts?contact=3",
                          ".siyu-contacts-table .tabulator-row")
    try:
        wait_until(lambda: page.locator(".siyu-card-profile").first.is_visible(), page=page)
        table = _table(page, "siyu-contacts-table")
        screenshot(page, "contacts-1920")
        assert table["needs"] <= table["frame"] + 1, table
        card = page.locator(".siyu-card-profile").first.bounding_box()
        assert card["x"] >= table["right"] - 1, (card, table)  # beside it, not below
    finally:
        context.close()


def test_on_a_phone_the_card_goes_below_the_contacts_table(browser, console):
    context, page = _open(browser, console, 390, 844, "contacts?contact=3",
                          ".siyu-contacts-table .tabulator-row")
    try:
        wait_until(lambda: page.locator(".siyu-card-profile").first.is_visible(), page=page)
        table = _table(page, "siyu-contacts-table")
        card = page.locator(".siyu-card-profile").first.bounding_box()
        assert card["y"] >= table["bottom"], (card, table)
    finally:
        context.close()


def test_the_pinned_job_column_leaves_a_phone_room_for_the_others(browser, console):
    context, page = _open(browser, console, 390, 844, "jobs", ".siyu-jobs-table .tabulator-row")
    try:
        table = _table(page, "siyu-jobs-table")
        screenshot(page, "jobs-390")
        assert table["first"] <= 0.5 * table["frame"], table
    finally:
        context.close()
