"""The Connectors page in Chromium: an operator configures a REST connector from the console
against a local shop (:class:`~tests.connectors.rest_shop.RestShop`), runs it and sees the run
finish with the right counts, at 1440 and 390 px wide; the token is in nothing the browser
holds. An analyst sees the connectors and their runs, and no control that changes them.
Screenshots go to ``/tmp/shots/connectors_*.png``."""

from __future__ import annotations

from pathlib import Path

import pytest

import siyu
from siyu.plugins import connectors
from tests.connectors.rest_shop import RestShop

from .conftest import login_as, new_workspace, serve_console, shown_text, wait_until

SHOTS = Path("/tmp/shots")
TOKEN = "tok-4b1e-browser-secret"
N_ORDERS, N_MEMBERS = 250, 40
#: Every value the page's inputs hold, shadow roots included, and what BokehJS keeps of each
#: model (the values the server sent).
ALL_VALUES_JS = """() => {
  const out = [];
  const walk = (root) => root.querySelectorAll('*').forEach((el) => {
    if (el.shadowRoot) walk(el.shadowRoot);
    if (typeof el.value === 'string') out.push(el.value);
  });
  walk(document);
  for (const doc of (window.Bokeh ? window.Bokeh.documents : [])) {
    for (const model of doc.all_models) {
      for (const prop of model) {
        try { out.push(JSON.stringify(prop.get_value())); } catch (e) { /* not JSON */ }
      }
    }
  }
  return out.join('\\n');
}"""


@pytest.fixture(scope="module")
def connector_console(tmp_path_factory):
    """A console (English) next to a running shop, with one connector, ``seeded``, that has
    run once already."""
    folder = tmp_path_factory.mktemp("connectors")
    with RestShop(N_ORDERS, N_MEMBERS, seed=5, token=TOKEN) as shop:
        db = new_workspace(folder / "connectors.db")
        with siyu.open(str(db), load_entry_points=False) as ws:
            connectors.add(ws, "seeded", "rest", title="<b>旗舰店</b>",
                           settings={"base_url": shop.url, "orders_path": "/page/orders",
                                     "token": TOKEN},
                           mapping={"orders": {"external_id": "order_id",
                                               "amount_fen": "amount_fen",
                                               "paid_at": "created_at"}})
            connectors.sync(ws, "seeded", progress=False)
        with serve_console(db) as running:
            yield running, shop


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no table row highlighted under the pointer
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"connectors_{name}.png"), full_page=True)


def type_into(page, css: str, text: str, nth: int = 0) -> None:
    """Type ``text`` into the input of the widget ``css`` and leave it (the value is sent)."""
    field = page.locator(f"{css} input").nth(nth)
    field.fill(text)
    field.press("Tab")


def chosen_option(page, css: str) -> str:
    """The text of the option the menu ``css`` shows."""
    return page.locator(f"{css} select").evaluate(
        "el => el.selectedIndex < 0 ? '' : el.options[el.selectedIndex].text")


def check_width(page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the connectors page ({what}) is {width} px wide at 390 px"


def add_mapping_row(page, entity: str, label: str, path: str) -> None:
    """Add a mapping row to ``entity``'s editor: siyu's field ``label`` from ``path``."""
    rows = page.locator(f".siyu-connector-map-{entity} .siyu-connector-map-row")
    count = rows.count()
    page.locator(f".siyu-connector-map-{entity} .siyu-connector-map-add button").click()
    wait_until(lambda: rows.count() == count + 1, page=page)
    rows.nth(count).locator(".siyu-connector-map-field select").select_option(label=label)
    type_into(page, f".siyu-connector-map-{entity} .siyu-connector-map-path", path, count)


def fill_rest_form(page, url: str, token: str, *, orders=(), members=()) -> None:
    """Fill the add form for a REST connector ``shop`` syncing the test shop's paged orders
    and members: orders by order_id, amount_fen and created_at, members by member_id, and
    the extra ``(field label, source path)`` rows given."""
    type_into(page, ".siyu-connector-name", "shop")
    type_into(page, ".siyu-connector-setting-base_url", url)
    type_into(page, ".siyu-connector-setting-orders_path", "/page/orders")
    type_into(page, ".siyu-connector-setting-members_path", "/page/members")
    type_into(page, ".siyu-connector-setting-token", token)
    page.locator(".siyu-connector-entities label", has_text="members").click()
    rows = page.locator(".siyu-connector-map-orders .siyu-connector-map-row")
    first = page.locator(".siyu-connector-map-members .siyu-connector-map-row")
    wait_until(lambda: rows.count() == 3 and first.count() == 1, page=page)
    rows.nth(1).locator(".siyu-connector-map-field select").select_option(
        label="amount in fen")
    type_into(page, ".siyu-connector-map-orders .siyu-connector-map-path", "amount_fen", 1)
    type_into(page, ".siyu-connector-map-orders .siyu-connector-map-path", "created_at", 2)
    for label, path in orders:
        add_mapping_row(page, "orders", label, path)
    for label, path in members:
        add_mapping_row(page, "members", label, path)


def open_page(page, console) -> None:
    page.goto(f"{console.url}/connectors")
    wait_until(lambda: "seeded" in shown_text(page.locator(".siyu-connectors-table")),
               page=page, timeout=60)


def test_an_operator_configures_and_runs_a_rest_connector(page, connector_console):
    console, shop = connector_console
    page.set_viewport_size({"width": 1440, "height": 900})
    login_as(page, console, "operator")
    open_page(page, console)
    page.locator(".siyu-connector-save button").wait_for(state="visible")

    fill_rest_form(page, shop.url, TOKEN, members=[("name", "name")])
    type_into(page, ".siyu-connector-every", "30")
    shot(page, "1440_form")
    page.locator(".siyu-connector-save button").click()
    wait_until(lambda: "shop" in shown_text(page.locator(".siyu-connectors-table")),
               page=page, timeout=60)
    assert "every 30 minutes" in shown_text(page.locator(".siyu-connectors-table"))
    wait_until(lambda: page.locator(".siyu-connectors-chosen select").input_value() != "",
               page=page)
    page.locator(".siyu-connectors-chosen select").select_option(label="shop")
    wait_until(lambda: "/page/members" in shown_text(page.locator(".siyu-connectors-details")),
               page=page, timeout=30)

    page.locator(".siyu-connectors-run button").click()
    expected = (f"members: finished, 1 pages, {N_MEMBERS} records: {N_MEMBERS} new",
                f"orders: finished, 3 pages, {N_ORDERS} records: {N_ORDERS} new")
    wait_until(lambda: all(line in shown_text(page.locator(".siyu-connectors-result"))
                           for line in expected), page=page, timeout=120)
    wait_until(lambda: shown_text(page.locator(".siyu-connectors-runs")).count("finished")
               == 2, page=page, timeout=30)
    runs = shown_text(page.locator(".siyu-connectors-runs"))
    assert str(N_ORDERS) in runs and str(N_MEMBERS) in runs
    wait_until(lambda: "orders" in chosen_option(page, ".siyu-connectors-run-choice"),
               page=page, timeout=10)
    assert "finished" in shown_text(page.locator(".siyu-connectors-table"))
    assert TOKEN not in page.content()
    assert TOKEN not in page.evaluate(ALL_VALUES_JS)
    shot(page, "1440_runs")

    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, console)
    page.locator(".siyu-connectors-chosen select").select_option(label="shop")
    wait_until(lambda: "finished" in shown_text(page.locator(".siyu-connectors-runs")),
               page=page, timeout=30)
    page.locator(".siyu-connectors-edit button").click()
    wait_until(lambda: "Change connector shop" in shown_text(
        page.locator(".siyu-connector-heading")), page=page, timeout=30)
    wait_until(lambda: "Token (set)" in shown_text(
        page.locator(".siyu-connector-setting-token")), page=page, timeout=10)
    check_width(page, "operator")
    assert TOKEN not in page.content()
    assert TOKEN not in page.evaluate(ALL_VALUES_JS)
    shot(page, "390_operator")


def test_an_analyst_sees_connectors_and_runs_but_cannot_change_them(page, connector_console):
    console, _shop = connector_console
    page.set_viewport_size({"width": 1440, "height": 900})
    login_as(page, console, "analyst")
    open_page(page, console)
    page.locator(".siyu-connectors-chosen select").select_option(label="seeded")
    wait_until(lambda: "finished" in shown_text(page.locator(".siyu-connectors-runs")),
               page=page, timeout=30)
    assert "not change them" in shown_text(page.locator(".siyu-readonly-note"))
    for css in (".siyu-connectors-run", ".siyu-connectors-edit", ".siyu-connectors-reset",
                ".siyu-connectors-remove", ".siyu-connector-form", ".siyu-connector-save"):
        assert page.locator(css).count() == 0, css
    # the title is data: shown as text, not as markup
    assert "<b>旗舰店</b>" in shown_text(page.locator(".siyu-connectors-details"))
    assert TOKEN not in page.content()
    assert TOKEN not in page.evaluate(ALL_VALUES_JS)
    shot(page, "1440_analyst")
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, console)
    wait_until(lambda: "finished" in shown_text(page.locator(".siyu-connectors-runs")),
               page=page, timeout=30)
    check_width(page, "analyst")
    shot(page, "390_analyst")
