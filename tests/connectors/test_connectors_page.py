"""The Connectors page, built in Python as the console builds it for a signed-in user, on both
engines: an operator adds a REST connector through the form's widgets and runs it against a
local shop; bad input is a notification and stores nothing; secrets are never sent back to
the browser; an analyst sees connectors and runs but no control that changes them."""

from __future__ import annotations

import json

import panel as pn
import pytest
import sqlalchemy as sa
from bokeh.document import Document
from bokeh.model import Model
from sqlmodel import select

from siyu.core.permissions import Principal
from siyu.plugins import connectors
from siyu.plugins.connectors import store
from siyu.plugins.connectors.models import MAX_PROBLEMS, Connector, ConnectorRun
from siyu.plugins.connectors.pages import ConnectorsPage, as_setting, schedule_text
from tests.connectors.rest_shop import RestShop
from tests.ui_text import visible_texts

OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")
ADMIN = Principal("root", "admin")
TOKEN = "tok-7f3a9c-page-secret"
N_ORDERS, N_MEMBERS = 250, 40
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def shop():
    with RestShop(N_ORDERS, N_MEMBERS, seed=5, token=TOKEN) as running:
        yield running


def render(page):
    return pn.panel(page.__panel__()).get_root()


def document_json(page) -> str:
    """Everything the browser gets of the page: its Bokeh document as JSON."""
    doc = Document()
    doc.add_root(render(page))
    return json.dumps(doc.to_json(deferred=False), ensure_ascii=False)


def button_labels(page) -> set[str]:
    """The labels of every button the page sends to the browser."""
    from bokeh.models import Button

    return {m.label for m in render(page).references() if isinstance(m, Button)}


def input_widgets(page) -> list[str]:
    """The text, password and number fields and checkboxes the page sends to the browser."""
    from bokeh.models import Checkbox, NumericInput, PasswordInput, TextInput

    return [type(m).__name__ for m in render(page).references()
            if isinstance(m, TextInput | PasswordInput | NumericInput | Checkbox)]


def fill_rest(page, url: str, *, name: str = "shop", token: str = TOKEN) -> None:
    """Fill the form as an operator would for the local shop: orders and members, paged by
    page number, the token in a header; the mapping's prefilled rows corrected."""
    form = page.form
    form.name_input.value = name
    form.title_input.value = "天猫旗舰店"
    form.kind.value = "rest"
    fields = form.fields.widgets
    fields["base_url"].value = url
    fields["orders_path"].value = "/page/orders"
    fields["members_path"].value = "/page/members"
    fields["token"].value = token
    form.entities.value = ["orders", "members"]
    orders = form.mappings["orders"]
    assert [row.pair() for row in orders.rows] == [
        ("external_id", "order_id"), ("amount", "amount"), ("paid_at", "paid_at")]
    orders.rows[1].target.value = "amount_fen"
    orders.rows[1].path.value = "amount_fen"
    orders.rows[2].path.value = "created_at"
    orders.add_button.clicks += 1
    orders.rows[-1].target.value = "member_id"
    orders.rows[-1].path.value = "member_id"
    members = form.mappings["members"]
    assert [row.pair() for row in members.rows] == [("member_id", "member_id")]
    members.add_row("name", "name")
    level = members.add_row()
    level.target.value = "field:"
    assert level.custom.visible
    level.custom.value = "会员等级"
    level.path.value = "level"
    form.every.value = 30


def run_and_wait(page):
    job = page.run_now()
    assert job is not None and page.run_button.disabled and page.progress.visible
    assert job.wait(120), "the sync did not end"
    page.poll()
    assert page.job is None and not page.progress.visible
    return job


def test_the_page_is_registered_for_data_read(ws):
    spec = ws.pages()["connectors"]
    assert (str(spec.title), spec.icon, spec.permission, spec.order) == (
        "Data connectors", "refresh", "data.read", 58)
    page = spec.factory(ws.as_user(OPERATOR))
    assert isinstance(page, ConnectorsPage)
    assert isinstance(render(page), Model)


def test_an_empty_page_says_how_to_add_a_connector(ws):
    page = ConnectorsPage(ws.as_user(OPERATOR))
    assert page.list_empty.visible and not page.list_table.visible
    assert "Add one with the form below" in page.list_empty.object
    assert page.run_button.disabled and page.edit_button.disabled
    analyst = ConnectorsPage(ws.as_user(ANALYST))
    assert "An operator or administrator adds them" in analyst.list_empty.object


def test_an_operator_adds_a_rest_connector_from_the_form_and_runs_it(ws, shop, notes):
    page = ConnectorsPage(ws.as_user(OPERATOR))
    fill_rest(page, shop.url)
    page.form.save_button.clicks += 1
    assert not notes.messages("error")
    assert notes.messages("success") == [
        "connector shop saved: it syncs orders, members, every 30 minutes"]
    info = store.get(ws, "shop")
    # only what differs from the kind's defaults is stored; the token apart
    assert info.settings == {"base_url": shop.url, "orders_path": "/page/orders",
                             "members_path": "/page/members"}
    assert info.secrets_set == ("token",)
    assert info.mapping == {
        "orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                   "paid_at": "created_at", "member_id": "member_id"},
        "members": {"member_id": "member_id", "name": "name", "field:会员等级": "level"}}
    assert (info.title, info.every_minutes, info.enabled) == ("天猫旗舰店", 30, True)
    # the form starts over, the token gone from it; the new connector is chosen
    assert page.form.editing is None and page.form.name_input.value == ""
    assert page.form.fields.widgets["token"].value == ""
    assert page.chosen.value == "shop"
    row = page.list_table.value.iloc[0]
    assert (row["Connector"], row["Kind"], row["Syncs"], row["Schedule"], row["Enabled"],
            row["Last run"]) == ("shop", "REST API", "orders, members", "every 30 minutes",
                                 "Yes", "—")
    assert page.history_empty.visible

    run_and_wait(page)
    result = str(page.result.object)
    assert f"members: finished, 1 pages, {N_MEMBERS} records: {N_MEMBERS} new" in result
    assert f"orders: finished, 3 pages, {N_ORDERS} records: {N_ORDERS} new" in result
    assert notes.messages("success")[-1] == (
        f"connector shop synced: {N_ORDERS + N_MEMBERS} records, {N_ORDERS + N_MEMBERS} new, "
        "0 updated, 0 skipped")
    assert not notes.messages("error")
    runs = page.history.value
    assert runs["Entity"].tolist() == ["orders", "members"]
    assert runs["Status"].tolist() == ["finished", "finished"]
    assert runs["Records"].tolist() == [str(N_ORDERS), str(N_MEMBERS)]
    assert runs["New"].tolist() == [str(N_ORDERS), str(N_MEMBERS)]
    assert page.list_table.value.iloc[0]["Last run"] == "finished"
    assert page.problems_empty.visible
    assert ws.orders.summary()["orders"] == N_ORDERS
    details = dict(zip(page.details.value["Setting"], page.details.value["Value"],
                       strict=True))
    assert details["Read up to (orders)"] == '{"page": 3}' and details["Token"] == "set"
    assert not page.run_button.disabled


def test_an_operator_adds_a_sql_connector_from_the_form_and_runs_it(ws, tmp_path, notes):
    source = tmp_path / "erp.db"
    engine = sa.create_engine(f"sqlite:///{source}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE sales (id INTEGER PRIMARY KEY, order_no TEXT, "
                             "total TEXT, paid TEXT, updated_at TEXT)"))
        conn.execute(sa.text("INSERT INTO sales VALUES (:id, :no, :total, :paid, :at)"),
                     [{"id": i, "no": f"ERP{i:04d}", "total": f"{i}.50",
                       "paid": "2026-11-11 10:00:00", "at": f"2026-11-11 10:{i % 60:02d}:00"}
                      for i in range(1, 31)])
    engine.dispose()
    page = ConnectorsPage(ws.as_user(OPERATOR))
    form = page.form
    form.kind.value = "sql"
    fields = form.fields.widgets
    assert isinstance(fields["url"], pn.widgets.PasswordInput)
    assert fields["url"].label == "Database URL * (not set)"
    assert fields["cursor_column"].value == "updated_at"
    form.name_input.value = "erp"
    fields["url"].value = f"sqlite:///{source}"
    fields["orders_table"].value = "sales"
    fields["batch_size"].value = "20"
    rows = form.mappings["orders"].rows
    rows[0].path.value, rows[1].path.value, rows[2].path.value = "order_no", "total", "paid"
    form.every.value = 0
    form.save()
    assert not notes.messages("error")
    info = store.get(ws, "erp")
    assert (info.kind, info.settings, info.secrets_set, info.every_minutes) == (
        "sql", {"orders_table": "sales", "batch_size": 20}, ("url",), 0)
    assert page.list_table.value.iloc[0]["Schedule"] == "by hand only"
    run_and_wait(page)
    assert "orders: finished, 2 pages, 30 records: 30 new" in str(page.result.object)
    assert ws.orders.summary()["orders"] == 30


def test_bad_input_is_a_notification_and_stores_nothing(ws, shop, notes):
    page = ConnectorsPage(ws.as_user(OPERATOR))
    fill_rest(page, "ftp://erp.example.com")
    assert page.form.save() is None
    assert notes.messages("error") == [
        "base URL 'ftp://erp.example.com' is not an http:// or https:// address"]
    page.form.fields.widgets["base_url"].value = shop.url
    page.form.mappings["orders"].rows[2].path.value = ""  # paid_at left out
    page.form.save()
    assert notes.messages("error")[-1] == ("the orders mapping has no paid_at (map the "
                                           "source's field to it)")
    page.form.mappings["orders"].rows[2].path.value = "created_at"
    page.form.mappings["orders"].add_row("member_id", "buyer.id")
    page.form.save()
    assert notes.messages("error")[-1] == ("orders: member_id is mapped twice; keep one row "
                                           "for it")
    page.form.mappings["orders"].rows[-1].path.value = ""
    page.form.name_input.value = "Shop!"
    page.form.save()
    assert notes.messages("error")[-1].startswith("connector name 'Shop!': use lower-case")
    page.form.name_input.value = "shop"
    page.form.entities.value = []
    page.form.save()
    assert notes.messages("error")[-1] == ("a connector syncs orders, members or both; name "
                                           "at least one")
    assert store.configured(ws) == [] and not notes.messages("success")
    # what was typed stays for the operator to correct
    assert page.form.fields.widgets["token"].value == TOKEN
    assert page.form.name_input.value == "shop"


def test_editing_shows_whether_a_secret_is_set_and_an_empty_one_is_kept(ws, shop, notes):
    page = ConnectorsPage(ws.as_user(OPERATOR))
    fill_rest(page, shop.url)
    page.form.save()
    page.chosen.value = "shop"
    page.edit_button.clicks += 1
    form = page.form
    token = form.fields.widgets["token"]
    assert form.editing == "shop" and form.name_input.disabled and form.kind.disabled
    assert (token.value, token.label, token.placeholder) == ("", "Token (set)",
                                                             "leave empty to keep")
    assert form.fields.widgets["base_url"].value == shop.url
    assert form.fields.widgets["page_size"].value == "100"
    assert [r.pair() for r in form.mappings["members"].rows] == [
        ("member_id", "member_id"), ("name", "name"), ("field:会员等级", "level")]
    assert form.every.value == 30
    form.fields.widgets["page_size"].value = "50"
    form.fields.widgets["members_path"].value = ""
    form.entities.value = ["orders"]
    form.enabled.value = False
    form.save_button.clicks += 1
    assert not notes.messages("error")
    info = store.get(ws, "shop")
    assert info.settings == {"base_url": shop.url, "orders_path": "/page/orders",
                             "page_size": 50}
    assert info.entities == ("orders",) and not info.enabled
    _spec, settings, _row = store.secrets_of(ws, "shop")
    assert settings["token"] == TOKEN  # left empty: kept
    # a bad change is refused whole: nothing of it is stored
    page.edit()
    page.form.fields.widgets["page_size"].value = "0"
    page.form.fields.widgets["token"].value = "another-token"
    page.form.save()
    assert notes.messages("error")[-1] == "page size 0 is not between 1 and 10000"
    assert store.get(ws, "shop").settings["page_size"] == 50
    assert store.secrets_of(ws, "shop")[1]["token"] == TOKEN


def test_secrets_never_reach_the_browser(ws, shop):
    admin = ws.as_user(ADMIN)
    connectors.add(admin, "shop", "rest",
                   settings={"base_url": shop.url, "orders_path": "/page/orders",
                             "token": TOKEN},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at"}})
    connectors.add(admin, "erp", "sql",
                   settings={"url": "postgresql+psycopg://reader:pa55-w0rd@erp/shop",
                             "orders_table": "orders"},
                   mapping={"orders": {"external_id": "id", "amount": "total",
                                       "paid_at": "paid"}})
    for principal in (ADMIN, OPERATOR, ANALYST):
        page = ConnectorsPage(ws.as_user(principal))
        for name in ("erp", "shop"):
            page.chosen.value = name
            if page.form is not None:
                page.edit()
            sent = document_json(page)
            assert TOKEN not in sent and "pa55-w0rd" not in sent
            assert "reader:" not in sent
    page = ConnectorsPage(ws.as_user(OPERATOR))
    page.chosen.value = "erp"
    page.edit()
    url = page.form.fields.widgets["url"]
    assert (url.value, url.label) == ("", "Database URL * (set)")


def test_an_analyst_sees_connectors_and_runs_but_no_write_controls(ws, shop):
    admin = ws.as_user(ADMIN)
    connectors.add(admin, "shop", "rest",
                   settings={"base_url": shop.url, "orders_path": "/page/orders",
                             "token": TOKEN},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at"}})
    connectors.sync(admin, "shop", progress=False)
    page = ConnectorsPage(ws.as_user(ANALYST))
    assert page.form is None
    assert "Your role can see connectors but not change them." in visible_texts(page)
    assert button_labels(page) == {"Refresh"}
    assert not input_widgets(page)
    assert page.history.value["Records"].tolist() == [str(N_ORDERS)]
    assert page.list_table.value.iloc[0]["Last run"] == "finished"
    assert page.run_now() is None
    page.ask("remove")
    assert not page.confirm_row.visible
    operator = ConnectorsPage(ws.as_user(OPERATOR))
    assert {"Run now", "Edit", "Remove", "Read from the start", "Add connector"} <= \
        button_labels(operator)
    assert input_widgets(operator)


def test_skipped_records_are_listed_with_the_reason(ws, shop):
    admin = ws.as_user(ADMIN)
    for code in ("S001", "S002", "S003"):
        ws.stores.upsert(code, f"门店{code}")
    connectors.add(admin, "shop", "rest",
                   settings={"base_url": shop.url, "orders_path": "/page/orders",
                             "token": TOKEN, "page_size": 1000},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at", "store": "store_id"}})
    page = ConnectorsPage(ws.as_user(OPERATOR))
    run_and_wait(page)
    history = page.history.value.iloc[0]
    skipped = int(history["Skipped"])
    assert 0 < skipped < N_ORDERS and int(history["New"]) == N_ORDERS - skipped
    problems = page.problems.value
    assert skipped > MAX_PROBLEMS and page.problems.visible and len(problems) == MAX_PROBLEMS
    assert (f"{skipped} records were skipped; the first {MAX_PROBLEMS} are listed."
            in str(page.run_error.object))
    first = problems.iloc[0]
    assert first["Field"] == "store" and first["Value"] not in ("S001", "S002", "S003")
    assert first["Reason"] == f"unknown store '{first['Value']}'; add it first"
    assert first["Record"].isdigit()


def test_a_failed_run_says_why(ws, shop, notes):
    admin = ws.as_user(ADMIN)
    connectors.add(admin, "shop", "rest",
                   settings={"base_url": shop.url, "orders_path": "/page/orders",
                             "token": "wrong-token"},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at"}})
    page = ConnectorsPage(ws.as_user(OPERATOR))
    run_and_wait(page)
    assert "orders: failed" in str(page.result.object)
    assert "answered 401" in str(page.result.object)
    warning = notes.messages("warning")[0]
    assert warning.startswith("connector shop did not finish — orders: ")
    assert "answered 401" in warning
    assert page.history.value["Status"].tolist() == ["failed"]
    assert "answered 401" in str(page.run_error.object)
    assert page.list_table.value.iloc[0]["Last run"] == "failed: orders"
    assert "wrong-token" not in str(page.run_error.object)


def test_a_run_refused_because_one_is_going_on_is_an_error(ws, shop, notes):
    admin = ws.as_user(ADMIN)
    connectors.add(admin, "shop", "rest",
                   settings={"base_url": shop.url, "orders_path": "/page/orders"},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at"}})
    with ws.session() as s:  # another process is syncing it right now
        connector_id = s.exec(select(Connector.id).where(Connector.name == "shop")).one()
        s.add(ConnectorRun(connector_id=connector_id, entity="orders"))
    page = ConnectorsPage(ws.as_user(OPERATOR))
    run_and_wait(page)
    assert notes.messages("error")[0].startswith("connector 'shop' is syncing orders already")
    assert "is syncing orders already" in str(page.result.object)
    assert page.list_table.value.iloc[0]["Last run"] == "running"
    assert not page.run_button.disabled


def test_reset_and_remove_ask_first(ws, shop, notes):
    admin = ws.as_user(ADMIN)
    connectors.add(admin, "shop", "rest",
                   settings={"base_url": shop.url, "orders_path": "/page/orders",
                             "token": TOKEN},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at"}})
    connectors.sync(admin, "shop", progress=False)
    page = ConnectorsPage(ws.as_user(OPERATOR))
    page.reset_button.clicks += 1
    assert page.confirm_row.visible and "shop" in page.confirm_text.object
    page.cancel_button.clicks += 1
    assert not page.confirm_row.visible and store.get(ws, "shop").cursors
    page.reset_button.clicks += 1
    page.confirm_button.clicks += 1
    assert store.get(ws, "shop").cursors == {}
    assert notes.messages("success")[-1] == "connector shop will read its source from the start"
    page.remove_button.clicks += 1
    assert "run history" in page.confirm_text.object
    page.confirm_button.clicks += 1
    assert store.configured(ws) == [] and page.chosen.value is None
    assert page.list_empty.visible and page.history_empty.visible
    assert ws.orders.summary()["orders"] == N_ORDERS  # what it stored stays


def test_names_from_the_data_are_escaped(ws, shop):
    connectors.add(ws.as_user(ADMIN), "shop", "rest", title=HOSTILE,
                   settings={"base_url": shop.url, "orders_path": "/page/orders"},
                   mapping={"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                                       "paid_at": "created_at"}})
    page = ConnectorsPage(ws.as_user(OPERATOR))
    assert HOSTILE in set(page.details.value["Value"])  # a table cell: text
    page.ask("remove")
    assert "<img" not in page.confirm_text.object


def test_settings_and_schedules_read_as_people_write_them():
    assert (as_setting(" 500 ", 100), as_setting("1.5", 1.0), as_setting("lots", 100),
            as_setting(" /orders ", ""), as_setting("Token ", "Bearer ")) == (
        500, 1.5, "lots", "/orders", "Token ")
    assert (schedule_text(0), schedule_text(1), schedule_text(90)) == (
        "by hand only", "every 1 minute", "every 90 minutes")
