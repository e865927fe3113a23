"""The console in a real browser: signing in and out, roles, errors, and the built-in pages.

Every test drives ``siyu serve`` (started by the fixtures in ``conftest.py``) with headless
Chromium and checks what a user sees. Screenshots of every page visited are saved under
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re

import pytest

import siyu
from siyu.apps.auth import LOGIN_ERRORS

from .conftest import (
    USERS,
    login,
    login_as,
    nav_titles,
    screenshot,
    shown_text,
    visit,
    wait_for_shell,
    wait_until,
)

PAGER = re.compile(r"Page (\d+) of (\d+) · ([\d,]+) contacts")

#: Each built-in page, its navigation title, and a selector that shows its content is drawn.
PAGES = {
    "overview": ("Overview", ".siyu-chart-contacts canvas"),
    "contacts": ("Contacts", ".siyu-contacts-table .tabulator-row"),
    "tags": ("Tags", ".siyu-tags-table .tabulator-row"),
    "jobs": ("Jobs", ".siyu-jobs-scheduler p"),
    "hooks": ("Hooks", ".siyu-hooks-dispatcher p"),
    "plugins": ("Plugins", ".siyu-plugins-table .tabulator-row"),
    "audit": ("Audit log", ".siyu-audit-table .tabulator-row"),
}


def pager_text(page) -> str:
    """The contacts pager's "Page 1 of N · M contacts" text."""
    return shown_text(page.locator(".siyu-contacts-pager-text")).strip()


#: The page kit's tables name each column after its label (English here: the tests' console
#: runs with SIYU_LANGUAGE=en), found from the page's column list by key.
TABLE_COLUMNS = {"siyu-contacts-table": "siyu.apps.pages.contacts",
                 "siyu-tags-table": "siyu.apps.pages.tags"}


def column(page, table: str, key: str) -> list[str]:
    """The texts of column ``key`` of the table with CSS class ``table``, top to bottom."""
    import importlib

    from siyu.core.i18n import use_language

    cols = importlib.import_module(TABLE_COLUMNS[table]).COLS
    with use_language("en"):
        field = next(col.title for col in cols if col.key == key)
    cells = page.locator(f".{table} .tabulator-row .tabulator-cell[tabulator-field='{field}']")
    return [text.strip() for text in cells.all_inner_texts()]


# -- signing in -----------------------------------------------------------------------------

def test_a_wrong_password_and_an_unknown_user_get_the_same_message(page, console):
    name, _ = USERS["operator"]
    login(page, console.url, name, "not-the-password")
    assert page.url.startswith(f"{console.url}/login")
    wrong_password = page.locator(".errormessage").inner_text().strip()
    screenshot(page, "wrong-password")

    login(page, console.url, "nobody-by-this-name", "not-the-password")
    assert page.url.startswith(f"{console.url}/login")
    unknown_user = page.locator(".errormessage").inner_text().strip()
    screenshot(page, "unknown-user")

    assert wrong_password == unknown_user == LOGIN_ERRORS["failed"]
    assert not [c for c in page.context.cookies() if c["name"] == "siyu_session"]


def test_the_right_password_signs_in_and_shows_the_user_name(page, console):
    response = login_as(page, console, "admin")

    assert response.status == 200
    assert page.url == f"{console.url}/overview"
    wait_for_shell(page)
    assert page.locator(".siyu-user-name").first.inner_text() == USERS["admin"][0]
    screenshot(page, "signed-in")


def test_a_forged_session_cookie_lands_on_the_login_page(page, console):
    page.context.add_cookies([{"name": "siyu_session", "value": "admin", "url": console.url},
                              {"name": "is_guest", "value": "1", "url": console.url}])

    page.goto(f"{console.url}/overview")

    assert page.url.startswith(f"{console.url}/login")
    assert page.locator("input[name=password]").is_visible()
    assert page.locator(".siyu-user-name").count() == 0
    screenshot(page, "login")


def test_signing_out_ends_the_session(page, console):
    login_as(page, console, "admin")
    wait_for_shell(page)

    with page.expect_navigation():
        page.locator(".siyu-user a[href='/logout']").click()
    screenshot(page, "signed-out")
    page.goto(f"{console.url}/contacts")

    assert page.url.startswith(f"{console.url}/login")
    assert not [c for c in page.context.cookies() if c["name"] == "siyu_session"]


def test_a_session_cookie_copied_before_signing_out_no_longer_opens_pages(browser, page,
                                                                           console):
    login_as(page, console, "admin")
    wait_for_shell(page)
    copied = [c for c in page.context.cookies() if c["name"] == "siyu_session"]
    with page.expect_navigation():
        page.locator(".siyu-user a[href='/logout']").click()

    other = browser.new_context()
    try:
        other.add_cookies(copied)
        replay = other.new_page()
        replay.goto(f"{console.url}/overview")
        assert replay.url.startswith(f"{console.url}/login")
    finally:
        other.close()


# -- roles and errors -----------------------------------------------------------------------

def test_an_analyst_sees_no_jobs_or_audit_log_in_the_navigation(page, console):
    login_as(page, console, "analyst")
    wait_for_shell(page)
    screenshot(page, "analyst")

    titles = nav_titles(page)

    assert {"Overview", "Contacts", "Tags", "Plugins"} <= set(titles)
    assert "Jobs" not in titles
    assert "Audit log" not in titles


@pytest.mark.parametrize("name", ["audit", "jobs"])
def test_an_analyst_opening_a_forbidden_page_directly_gets_403(page, console, name):
    login_as(page, console, "analyst")

    response = page.goto(f"{console.url}/{name}")

    assert response.status == 403
    assert page.locator(".siyu-nav").count() == 0
    screenshot(page, f"{name}-forbidden")


def test_an_unknown_url_answers_404_without_a_traceback(page, console):
    login_as(page, console, "admin")

    response = page.goto(f"{console.url}/no-such-page")

    assert response.status == 404
    body = page.content()
    assert "Traceback" not in body and 'File "' not in body
    screenshot(page, "not-found")


def test_a_page_that_raises_shows_the_error_card_inside_the_console(page, broken_console):
    login_as(page, broken_console, "admin")

    visit(page, broken_console, "broken", ready=".siyu-error-card")

    card = shown_text(page.locator(".siyu-error-card"))
    assert "Broken report could not be shown" in card
    assert "the sales feed is unreachable" in card
    assert "Traceback" not in page.content()
    assert "Overview" in nav_titles(page)


# -- the pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(PAGES))
def test_every_built_in_page_opens_for_an_admin(page, console, name):
    title, ready = PAGES[name]
    login_as(page, console, "admin")

    response = visit(page, console, name, ready=ready)

    assert response.status == 200
    current = page.locator("nav.siyu-nav a.siyu-nav-current")
    assert current.inner_text().strip() == title
    assert page.locator(".siyu-error-card").count() == 0


def test_the_overview_shows_how_many_contacts_are_active(page, console):
    with siyu.open(str(console.db), load_entry_points=False) as ws:
        active = ws.contacts.count(active=True)
    login_as(page, console, "admin")

    visit(page, console, "overview", ready=".siyu-kpi-contacts_active")

    kpi = shown_text(page.locator(".siyu-kpi-contacts_active"))
    assert f"{active:,}" in kpi


def test_the_contacts_table_pages_through_100000_contacts(page, big_console):
    login_as(page, big_console, "admin")
    visit(page, big_console, "contacts", ready=".siyu-contacts-table .tabulator-row")
    first_page = PAGER.fullmatch(pager_text(page))
    assert first_page, pager_text(page)
    assert first_page.group(1) == "1"
    assert first_page.group(3) == "100,000"
    page_size = len(column(page, "siyu-contacts-table", "name"))
    assert column(page, "siyu-contacts-table", "name")[0] == "客户000001"

    page.locator(".siyu-contacts-pager-next button").click()

    wait_until(lambda: pager_text(page).startswith("Page 2 of"), page=page)
    assert PAGER.fullmatch(pager_text(page)).group(2, 3) == first_page.group(2, 3)
    wait_until(lambda: column(page, "siyu-contacts-table", "name")[:1] == [
        f"客户{page_size + 1:06d}"], page=page)
    names = column(page, "siyu-contacts-table", "name")
    assert names == [f"客户{i:06d}" for i in range(page_size + 1, 2 * page_size + 1)]
    screenshot(page, "contacts-page-2")


def test_a_tag_created_on_the_tags_page_shows_on_the_customer_card(page, console):
    tag, contact = "活动/浏览器测试", "42"
    login_as(page, console, "admin")
    visit(page, console, "tags", ready=".siyu-tags-table .tabulator-row")

    page.locator(".siyu-tags-new-name input").fill(tag)
    page.locator(".siyu-tags-create button").click()
    wait_until(lambda: "浏览器测试" in column(page, "siyu-tags-table", "name"), page=page)
    page.locator(".siyu-tags-contacts textarea").fill(contact)
    page.locator(".siyu-tags-apply button").click()
    wait_until(lambda: ["1"] == [n for g, t, n in zip(
        column(page, "siyu-tags-table", "group"), column(page, "siyu-tags-table", "name"),
        column(page, "siyu-tags-table", "contacts"), strict=True)
        if (g, t) == ("活动", "浏览器测试")], page=page)
    screenshot(page, "tags-after-tagging")

    visit(page, console, "contacts", ready=".siyu-contacts-table .tabulator-row")
    page.locator(".siyu-contacts-open-input input").fill(contact)
    page.locator(".siyu-contacts-open button").click()

    card_tags = page.locator(".siyu-customer-card .siyu-tag")
    wait_until(lambda: tag in card_tags.all_inner_texts(), page=page)
    screenshot(page, "customer-card")


# -- closing tabs ---------------------------------------------------------------------------

#: What ``siyu serve`` printed when a tab closed while the server wrote to it.
CLOSED_TAB_NOISE = ("Traceback", "WebSocketClosedError", "never retrieved",
                    "connection was closed", "closed while the console was writing")


def test_closing_tabs_while_pages_update_leaves_the_log_quiet(context, console):
    """Tabs closed while loading and just after (while Panel still pushes, e.g. the busy
    spinner turning off): the server log stays free of tracebacks and closed-socket
    warnings."""
    before = len(console.lines)
    login_as(context.new_page(), console, "admin")
    for name, delay in (("overview", 0), ("contacts", 300), ("tags", 600), ("jobs", 900)):
        tab = context.new_page()
        tab.goto(f"{console.url}/{name}", wait_until="commit")
        tab.wait_for_timeout(400)  # usually mid-load: the document is still being sent
        tab.close()
        tab = context.new_page()
        tab.goto(f"{console.url}/{name}")
        wait_for_shell(tab)
        tab.wait_for_timeout(delay)  # within the spinner's half second after loading
        tab.close()
    still_open = context.new_page()
    still_open.goto(f"{console.url}/overview")
    wait_for_shell(still_open)  # the server still serves, and has read the closes

    output = "".join(console.lines[before:])
    assert not [word for word in CLOSED_TAB_NOISE if word in output], output
