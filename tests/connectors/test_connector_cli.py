"""``siyu connector kinds|add|set|list|show|sync|runs|reset|remove`` end to end against a
shop API on loopback: what each prints, secrets shown only as set, the exit code of a failed
sync, and bad input as one ``siyu: error: …`` line with nothing stored."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from siyu.cli import main
from siyu.plugins import connectors
from siyu.storage.models import Order
from tests.connectors.rest_shop import Fault, RestShop

TOKEN = "tk-cli-58e1d0c6a9"
MAPS = ["--map", "orders.external_id=order_id", "--map", "orders.amount_fen=amount_fen",
        "--map", "orders.paid_at=created_at", "--map", "orders.status=status"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The CLI reads these; a developer's shell must not change what the tests see."""
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)


@pytest.fixture
def cli(ws, capsys):
    """Run ``siyu --db <ws> connector argv…``; (exit code, stdout, stderr)."""
    capsys.readouterr()

    def run(*argv):
        code = main(["--db", ws.url, "connector", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture
def shop():
    with RestShop(30, 10, token=TOKEN) as running:
        yield running


def add_shop(cli, shop, *extra, name="shop"):
    return cli("add", name, "--kind", "rest", "--set", f"base_url={shop.url}",
               "--set", "orders_path=/page/orders", "--set", "page_size=10",
               "--set", "backoff=0.01", "--set", "retries=1",
               "--set-env", "token=SHOP_TOKEN", *MAPS, *extra)


def rows(out: str) -> list[list[str]]:
    """A table as printed, split into cells (none of the tests' cells hold spaces)."""
    return [line.split() for line in out.strip().splitlines()]


def order_count(ws) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Order)).scalar_one()


def assert_one_line_error(code, out, err, *fragments):
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("siyu: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_kinds_lists_each_kind_and_its_settings(cli):
    code, out, err = cli("kinds")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert any(line.startswith("rest  REST API: ") for line in lines)
    assert any(line.startswith("sql  SQL database: ") for line in lines)
    assert "    base_url (required)  e.g. https://erp.example.com/api" in lines
    assert "    token (secret)  the API token (write-only)" in lines
    assert "    pagination (default page)  how the API pages: page, offset, cursor, link or " \
           "updated_since" in lines


def test_add_list_show_sync_runs_set_reset_remove(cli, ws, shop):
    code, out, err = add_shop(cli, shop, "--every", 30, "--title", "商城")
    assert (code, out, err) == (0, "connector shop (rest) added: syncs orders\n", "")

    code, out, _ = cli("list")
    assert code == 0
    assert rows(out) == [
        ["name", "kind", "entities", "every_minutes", "enabled", "last_status",
         "last_started_at"],
        ["shop", "rest", "orders", "30", "True"]]

    code, out, _ = cli("show", "shop")
    assert code == 0 and TOKEN not in out
    lines = out.splitlines()
    assert lines[:2] == ["shop (rest) 商城", "syncs: orders; every 30 minutes; enabled"]
    assert f"    base_url = {shop.url}" in lines
    assert "    token = (secret, set)" in lines
    assert "    external_id ← order_id" in lines and "orders mapping:" in lines
    shown = json.loads(cli("show", "shop", "--json")[1])
    assert shown["secrets_set"] == ["token"] and "token" not in shown["settings"]
    assert TOKEN not in json.dumps(shown) and shown["cursors"] == {}

    code, out, err = cli("sync", "shop", "--no-progress")
    assert (code, err) == (0, "")
    assert out == ("shop · orders: finished, 4 pages, 30 records: 30 new, 0 updated, "
                   "0 unchanged, 0 skipped\n")
    assert order_count(ws) == 30
    assert json.loads(cli("show", "shop", "--json")[1])["cursors"] == {"orders": {"page": 4}}
    assert "orders stands at: {\"page\": 4}" in cli("show", "shop")[1]

    code, out, _ = cli("sync", "shop", "--json")
    assert code == 0
    (again,) = json.loads(out)
    assert (again["status"], again["created"], again["records"], again["run"]) == (
        "ok", 0, 0, 2)

    code, out, _ = cli("runs", "shop")
    table = rows(out)
    assert code == 0 and table[0][:4] == ["id", "connector", "entity", "status"]
    assert [row[:4] for row in table[1:]] == [["2", "shop", "orders", "ok"],
                                              ["1", "shop", "orders", "ok"]]
    history = json.loads(cli("runs", "--json")[1])
    assert [(r["id"], r["created"], r["records"]) for r in history] == [(2, 0, 0), (1, 30, 30)]

    code, out, _ = cli("set", "shop", "--disable", "--every", 0)
    assert (code, out) == (0, "connector shop changed\n")
    info = connectors.get(ws, "shop")
    assert (info.enabled, info.every_minutes, info.secrets_set) == (False, 0, ("token",))
    assert rows(cli("list")[1])[1][3:6] == ["0", "False", "ok"]
    assert "by hand only; disabled" in cli("show", "shop")[1]

    code, out, _ = cli("reset", "shop")
    assert (code, out) == (0, "connector shop will read its source from the start\n")
    assert connectors.get(ws, "shop").cursors == {}
    code, out, _ = cli("sync", "shop", "--no-progress")
    assert code == 0 and "30 records: 0 new, 0 updated, 30 unchanged" in out

    code, out, _ = cli("remove", "shop")
    assert (code, out) == (0, "connector shop removed\n")
    assert cli("list")[1].startswith("no connectors; add one with `siyu connector add")
    assert order_count(ws) == 30  # what it stored stays


def test_runs_run_lists_the_records_a_run_skipped(cli, ws, shop):
    for code in range(1, 21):
        ws.stores.upsert(f"S{code:03d}", f"门店{code}")
    assert add_shop(cli, shop, "--map", "orders.store=store_id")[0] == 0
    code, out, _ = cli("sync", "shop", "--no-progress")
    unknown = [(i + 1, o["store_id"]) for i, o in enumerate(shop.rows("orders", 0, 30))
               if int(o["store_id"][1:]) > 20]
    assert unknown and code == 0
    lines = out.splitlines()
    assert lines[0].endswith(f"{30 - len(unknown)} new, 0 updated, 0 unchanged, "
                             f"{len(unknown)} skipped")
    assert lines[1] == "see why with: siyu connector runs --run 1"
    code, out, _ = cli("runs", "--run", 1)
    table = rows(out)
    assert code == 0 and table[0] == ["record", "field", "value", "reason"]
    assert [(int(r[0]), r[1], r[2]) for r in table[1:]] == [
        (record, "store", store) for record, store in unknown]
    assert all(" ".join(r[3:]) == f"unknown store '{r[2]}'; add it first" for r in table[1:])
    problems = json.loads(cli("runs", "shop", "--run", 1, "--json")[1])
    assert [(p["record"], p["value"]) for p in problems] == unknown
    assert order_count(ws) == 30 - len(unknown)


def test_a_failed_sync_exits_1_and_says_why(cli, ws):
    with RestShop(30, 10, token=TOKEN, faults=[Fault("500", page=2, times=None)]) as shop:
        add_shop(cli, shop)
        code, out, err = cli("sync", "shop", "--no-progress")
        assert code == 1 and err == ""
        assert out == (f"shop · orders: failed, 1 pages, 10 records: 10 new, 0 updated, "
                       f"0 unchanged, 0 skipped — {shop.url}/page/orders?page=2&page_size=10 "
                       f"answered 500 (after 1 retry)\n")
        code, out, _ = cli("sync", "shop", "--json")
        assert code == 1
        (run,) = json.loads(out)
        assert run["status"] == "failed" and run["error"].endswith("answered 500 (after 1 retry)")
        code, out, _ = cli("runs", "--run", run["run"])
        assert code == 0
        assert out.splitlines()[0].endswith("answered 500 (after 1 retry)")
        assert "no record was skipped" in out
        assert rows(cli("list")[1])[1][5] == "failed"
        shop.faults.clear()
        code, out, _ = cli("sync", "shop", "--no-progress")
        assert code == 0 and "20 new" in out
    assert order_count(ws) == 30


def test_a_wrong_token_fails_the_sync_without_showing_it(cli, ws, monkeypatch):
    monkeypatch.setenv("SHOP_TOKEN", "wrong-token-3b7f")
    with RestShop(30, 10, token=TOKEN) as shop:
        add_shop(cli, shop)
        code, out, err = cli("sync", "shop", "--no-progress")
    assert code == 1 and "answered 401" in out
    assert "wrong-token-3b7f" not in out + err
    assert "wrong-token-3b7f" not in cli("runs", "--json")[1] + cli("show", "shop")[1]


def test_a_running_sync_refuses_a_second_one(cli, ws, shop):
    from siyu.plugins.connectors.models import Connector, ConnectorRun

    add_shop(cli, shop)
    with ws.session() as s:
        connector_id = s.execute(sa.select(Connector.id)).scalar_one()
        s.add(ConnectorRun(connector_id=connector_id, entity="orders", status="running"))
    code, out, err = cli("sync", "shop", "--no-progress")
    assert_one_line_error(code, out, err, "'shop' is syncing orders already (run 1")
    assert order_count(ws) == 0


def test_config_file_gives_settings_and_mapping_and_options_win(cli, ws, shop, tmp_path):
    config = tmp_path / "shop.json"
    config.write_text(json.dumps({
        "settings": {"base_url": "http://wrong.example", "orders_path": "/page/orders",
                     "members_path": "/page/members", "page_size": 10, "backoff": 0.01},
        "mapping": {"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                               "paid_at": "created_at", "member_id": "member_id"},
                    "members": {"member_id": "member_id", "name": "name",
                                "field:会员等级": "level"}},
        "entities": "orders,members", "title": "ERP", "every_minutes": 15},
        ensure_ascii=False), encoding="utf-8")
    code, out, _ = cli("add", "erp", "--kind", "rest", "--config", config,
                       "--set", f"base_url={shop.url}", "--set-env", "token=SHOP_TOKEN",
                       "--map", "orders.status=status")
    assert (code, out) == (0, "connector erp (rest) added: syncs orders, members\n")
    info = connectors.get(ws, "erp")
    assert info.settings["base_url"] == shop.url and info.secrets_set == ("token",)
    assert (info.title, info.every_minutes, info.entities) == ("ERP", 15,
                                                               ("orders", "members"))
    assert info.mapping["orders"]["status"] == "status"
    assert info.mapping["members"]["field:会员等级"] == "level"
    code, out, _ = cli("sync", "erp", "--no-progress")
    assert code == 0
    assert out.splitlines() == [
        "erp · members: finished, 2 pages, 10 records: 10 new, 0 updated, 0 unchanged, "
        "0 skipped",
        "erp · orders: finished, 4 pages, 30 records: 30 new, 0 updated, 0 unchanged, "
        "0 skipped"]
    code, out, _ = cli("sync", "erp", "--entity", "members", "--json")
    assert [r["entity"] for r in json.loads(out)] == ["members"]


def test_set_changes_the_mapping_and_keeps_the_token(cli, ws, shop):
    add_shop(cli, shop)
    code, out, _ = cli("set", "shop", "--map", "orders.external_id=order_id",
                       "--map", "orders.amount_fen=amount_fen",
                       "--map", "orders.paid_at=updated_at", "--set", "page_size=15")
    assert code == 0
    info = connectors.get(ws, "shop")
    assert info.mapping["orders"] == {"external_id": "order_id", "amount_fen": "amount_fen",
                                      "paid_at": "updated_at"}
    assert info.settings["page_size"] == "15" and info.secrets_set == ("token",)
    code, out, _ = cli("sync", "shop", "--no-progress")
    assert code == 0 and "3 pages, 30 records: 30 new" in out


# -- bad input ------------------------------------------------------------------------------


def _add(*extra):
    return ("add", "shop", "--kind", "rest", "--set", "base_url=https://erp.example.com",
            "--set", "orders_path=/orders", *MAPS, *extra)


BAD = [
    ("map-without-dot", _add("--map", "external_id=order_id"),
     ["--map takes ENTITY.FIELD=PATH", "'external_id'"]),
    ("map-without-equals", _add("--map", "orders.external_id"),
     ["--map takes KEY=VALUE", "'orders.external_id'"]),
    ("set-without-equals", _add("--set", "page_size"),
     ["--set takes KEY=VALUE, got 'page_size'"]),
    ("set-env-without-equals", _add("--set-env", "SHOP_TOKEN"),
     ["--set-env takes KEY=VALUE, got 'SHOP_TOKEN'"]),
    ("missing-env-var", _add("--set-env", "token=NO_SUCH_VARIABLE_X1"),
     ["environment variable NO_SUCH_VARIABLE_X1 is not set"]),
    ("unknown-kind", ("add", "shop", "--kind", "soap", *MAPS), ["no connector kind 'soap'"]),
    ("unknown-setting", _add("--set", "pagesize=5"),
     ["rest connectors have no setting 'pagesize'"]),
    ("bad-pagination", _add("--set", "pagination=pages"), ["pagination 'pages'"]),
    ("unknown-field", _add("--map", "orders.price=price"), ["orders have no field 'price'"]),
    ("bad-path", _add("--map", "orders.paid_at=a..b"), ["path 'a..b'"]),
    ("bad-name", ("add", "Shop!", "--kind", "rest", *MAPS), ["connector name 'Shop!'"]),
    ("unknown-connector-show", ("show", "nope"), ["no connector named 'nope'"]),
    ("unknown-connector-sync", ("sync", "nope"), ["no connector named 'nope'"]),
    ("unknown-connector-set", ("set", "nope", "--disable"), ["no connector named 'nope'"]),
    ("unknown-connector-reset", ("reset", "nope"), ["no connector named 'nope'"]),
    ("unknown-connector-remove", ("remove", "nope"), ["no connector named 'nope'"]),
    ("unknown-run", ("runs", "--run", "99"), ["no run 99"]),
]


@pytest.mark.parametrize(("argv", "fragments"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_one_line_and_stores_nothing(cli, ws, argv, fragments):
    code, out, err = cli(*argv)
    assert_one_line_error(code, out, err, *fragments)
    assert connectors.configured(ws) == []


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "is not JSON"),
    ("[1, 2]", "must be a JSON object with some of: entities, every_minutes, mapping, "
               "settings, title"),
    ('{"settings": {}, "schedule": 5}', "must be a JSON object with some of"),
    (b"\xff\xfe{", "is not JSON"),
])
def test_a_config_file_that_is_not_a_json_object_is_one_line(cli, ws, tmp_path, content,
                                                              fragment):
    config = tmp_path / "bad.json"
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content, encoding="utf-8")
    code, out, err = cli(*_add("--config", config))
    assert_one_line_error(code, out, err, str(config), fragment)
    assert connectors.configured(ws) == []


def test_a_missing_config_file_is_one_line(cli, ws, tmp_path):
    missing = tmp_path / "nowhere.json"
    code, out, err = cli(*_add("--config", missing))
    assert_one_line_error(code, out, err, f"cannot read {missing}")
    assert connectors.configured(ws) == []


def test_set_with_nothing_to_change_is_one_line(cli, ws, shop):
    add_shop(cli, shop)
    code, out, err = cli("set", "shop")
    assert_one_line_error(code, out, err, "nothing to change")


def test_a_second_add_of_the_same_name_is_one_line(cli, ws, shop):
    assert add_shop(cli, shop)[0] == 0
    code, out, err = add_shop(cli, shop)
    assert_one_line_error(code, out, err, "a connector named 'shop' exists already")
    assert len(connectors.configured(ws)) == 1


def test_an_unknown_action_or_missing_kind_is_a_usage_error(cli, ws):
    code, _out, err = cli("frobnicate")
    assert code == 2 and "invalid choice: 'frobnicate'" in err
    code, _out, err = cli("add", "shop")
    assert code == 2 and "--kind" in err
    assert connectors.configured(ws) == []
