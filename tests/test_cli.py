"""The `siyu` command: what a user types and what they see."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

import siyu
from siyu import hookimpl
from siyu.cli import main
from siyu.core.errors import ValidationError
from siyu.core.plugins import get_plugin_manager
from siyu.core.records import CommandSpec
from siyu.samples import generate, sample_path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The CLI reads these; a developer's shell must not change what the tests see."""
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "shop.db")


def run(capsys, *argv):
    """Run `siyu argv…`; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("siyu: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def siyu_subprocess(*argv, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env["SIYU_LANGUAGE"] = "en"  # what they read; zh: test_cli_language.py
    return subprocess.run([sys.executable, "-m", "siyu", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


# -- basics ---------------------------------------------------------------------------------


def test_version_prints_the_package_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"siyu {siyu.__version__}"


def test_python_dash_m_siyu_runs_the_command(tmp_path):
    result = siyu_subprocess("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"siyu {siyu.__version__}"


def test_no_command_is_a_usage_error(capsys):
    code, _, err = run(capsys)
    assert code == 2
    assert "COMMAND" in err


def test_malformed_database_url_is_one_line_without_traceback(tmp_path):
    result = siyu_subprocess("--db", "postgresql://user@:notaport/db", "init", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("siyu: error: malformed database URL")


def test_a_file_that_is_not_a_database_is_one_line(capsys, tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("shopping list\n" * 200)
    code, _, err = run(capsys, "--db", junk, "init")
    assert_one_line_error(code, err, "not a database")


def test_ctrl_c_exits_130_with_one_line(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("siyu.cli.cmd_plugins", interrupted)
    code, _, err = run(capsys, "plugins")
    assert code == 130
    assert err.strip() == "siyu: interrupted"


# -- init and db ----------------------------------------------------------------------------


def test_init_creates_the_database_and_stores_settings(capsys, db):
    code, out, _ = run(capsys, "--db", db, "init", "--name", "鲜花铺", "--timezone", "Asia/Urumqi")
    assert code == 0
    assert "Created workspace '鲜花铺'" in out
    assert db in out
    with siyu.open(db, load_entry_points=False, migrate=False) as ws:
        assert ws.name == "鲜花铺"
        assert ws.timezone.key == "Asia/Urumqi"


def test_init_accepts_db_after_the_command_and_keeps_settings(capsys, db):
    run(capsys, "init", "--db", db, "--name", "鲜花铺")
    code, out, _ = run(capsys, "init", "--db", db)
    assert code == 0
    assert "Updated workspace '鲜花铺'" in out
    assert "Asia/Shanghai" in out


def test_init_rejects_an_unknown_timezone_before_creating_anything(capsys, db):
    code, _, err = run(capsys, "--db", db, "init", "--timezone", "Mars/Olympus")
    assert_one_line_error(code, err, "'Mars/Olympus'")
    assert not os.path.exists(db)


def test_db_status_of_a_missing_file_creates_nothing(capsys, db):
    code, out, _ = run(capsys, "--db", db, "db", "status")
    assert code == 0
    assert "siyu init" in out
    assert not os.path.exists(db)


def test_db_status_lists_pending_migrations_without_applying_them(capsys, db):
    sqlite3.connect(db).execute("CREATE TABLE notes (x)").connection.close()
    code, out, _ = run(capsys, "--db", db, "db", "status")
    assert code == 0
    assert "pending migrations: 0001_core" in out
    code, out, _ = run(capsys, "--db", db, "db", "status")
    assert "0001_core" in out


def test_db_upgrade_applies_then_reports_up_to_date(capsys, db):
    code, out, _ = run(capsys, "--db", db, "db", "upgrade")
    assert code == 0
    assert "Applied" in out and "0001_core" in out
    _, out, _ = run(capsys, "--db", db, "db", "upgrade")
    assert "up to date" in out
    _, out, _ = run(capsys, "--db", db, "db", "status")
    assert "up to date" in out


def test_database_url_comes_from_the_environment(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SIYU_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    code, _, _ = run(capsys, "init")
    assert code == 0
    assert (tmp_path / "env.db").exists()


# -- plugins --------------------------------------------------------------------------------


def test_plugins_lists_builtins_with_their_hooks(capsys):
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    lines = out.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("default_segments")))
    assert "built-in" in lines[first]
    assert lines[first + 1].strip().startswith("hooks: ")
    assert "segment" in lines[first + 1]


def test_plugins_marks_disabled_ones(capsys, monkeypatch):
    monkeypatch.setenv("SIYU_DISABLE_PLUGINS", "default_segments")
    _, out, _ = run(capsys, "plugins")
    line = next(line for line in out.splitlines() if line.startswith("default_segments"))
    assert line.endswith("(disabled)")


def test_plugins_reports_a_plugin_that_failed_to_load(capsys, monkeypatch):
    pm = get_plugin_manager(load_entry_points=False)
    pm.load_errors["acme_crm"] = "ModuleNotFoundError: No module named 'acme'"
    monkeypatch.setattr("siyu.cli.get_plugin_manager", lambda: pm)
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("acme_crm"))
    assert "failed to load: ModuleNotFoundError: No module named 'acme'" in line


class GreetingPlugin:
    """A plugin that adds `siyu hello` (and, when asked, a clashing `demo`)."""

    def __init__(self, name="hello"):
        self.name = name

    @hookimpl
    def register_commands(self):
        def configure(parser):
            parser.add_argument("who")

        def run(ws, args):
            if args.who == "nobody":
                raise ValidationError("nobody to greet; name someone")
            print(f"hello {args.who} from {ws.name}")
            return 3

        return [CommandSpec(self.name, "say hello", configure, run)]


def with_plugin(monkeypatch, plugin):
    monkeypatch.setattr("siyu.cli.get_plugin_manager",
                        lambda: get_plugin_manager(plugins=[plugin], load_entry_points=False))


def test_plugin_commands_become_sub_commands(capsys, monkeypatch, db):
    with_plugin(monkeypatch, GreetingPlugin())
    code, out, _ = run(capsys, "--db", db, "hello", "张三")
    assert code == 3
    assert out.strip() == "hello 张三 from siyu"


def test_an_error_in_a_plugin_command_is_one_line(capsys, monkeypatch, db):
    with_plugin(monkeypatch, GreetingPlugin())
    code, _, err = run(capsys, "--db", db, "hello", "nobody")
    assert_one_line_error(code, err, "nobody to greet")


def test_a_plugin_command_may_not_shadow_a_builtin(capsys, monkeypatch):
    with_plugin(monkeypatch, GreetingPlugin(name="demo"))
    code, _, err = run(capsys, "--help")
    assert_one_line_error(code, err, "'demo'", "built-in", "SIYU_DISABLE_PLUGINS=")


# -- import ---------------------------------------------------------------------------------


def write_contacts(tmp_path, rows, header="外部联系人ID,昵称,手机号,性别", encoding="utf-8-sig"):
    path = tmp_path / "members.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


def test_import_contacts_reads_an_operator_export(capsys, tmp_path, db):
    path = write_contacts(tmp_path, ["wm001,小雨,+86 138-0000-0001,女",
                                     "wm002,阿杰,139 0000 0002,男"], encoding="gbk")
    code, out, _ = run(capsys, "--db", db, "import", "contacts", path)
    assert code == 0
    assert "2 new" in out.splitlines()[-1]
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.contacts.get("wm001").phone == "13800000001"


def test_import_with_bad_rows_writes_nothing_and_names_each_line(capsys, tmp_path, db):
    path = write_contacts(tmp_path, ["wm001,小雨,13800000001,女", "wm002,阿杰,123,男"])
    code, out, err = run(capsys, "--db", db, "import", "contacts", path)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("line 3: ") and "'123'" in lines[0]
    assert lines[-1].startswith("siyu: error: ")
    assert "Traceback" not in err
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.contacts.count() == 0


def test_import_can_skip_bad_rows(capsys, tmp_path, db):
    path = write_contacts(tmp_path, ["wm001,小雨,13800000001,女", "wm002,阿杰,123,男"])
    code, out, _ = run(capsys, "--db", db, "import", "contacts", path, "--skip-bad-rows")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("line 3: ")
    assert "1 new" in lines[-1] and "1 bad row skipped" in lines[-1]


def test_import_lists_at_most_fifty_problems(capsys, tmp_path, db):
    path = write_contacts(tmp_path, [f"wm{i:03d},客户{i},12345,女" for i in range(60)])
    code, _, err = run(capsys, "--db", db, "import", "contacts", path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 52
    assert lines[50] == "... and 10 more"


def test_import_maps_unrecognised_columns(capsys, tmp_path, db):
    path = write_contacts(tmp_path, ["C-1,小雨,13800000001"], header="客户编号,昵称,手机号")
    code, out, _ = run(capsys, "--db", db, "import", "contacts", path,
                       "--map", "客户编号=external_userid")
    assert code == 0, out
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.contacts.get("C-1").name == "小雨"


def test_import_names_unrecognised_columns_and_suggests_map(capsys, tmp_path, db):
    path = write_contacts(tmp_path, ["wm001,小雨,金卡,100"],
                          header="外部联系人ID,昵称,会员等级,积分")
    code, out, _ = run(capsys, "--db", db, "import", "contacts", path)
    assert code == 0, out
    *_, hint, summary = out.strip().splitlines()
    assert hint.startswith("2 unrecognised columns not imported: '会员等级', '积分'; to import "
                           "one, add --map COLUMN=FIELD (e.g. --map 会员等级=FIELD); fields: "
                           "external_userid, ")
    assert summary.startswith("contacts from members.csv: 1 row, 1 new")
    assert summary.endswith("; 2 unrecognised columns not imported: '会员等级', '积分'")


def test_import_reads_the_owner_column_the_readme_names(capsys, tmp_path, db):
    with siyu.open(db, load_entry_points=False) as ws:
        ws.staff.upsert("zhangsan", "张三")
    path = write_contacts(tmp_path, ["wm001,小雨,zhangsan"], header="外部联系人ID,昵称,负责人/导购")
    code, out, _ = run(capsys, "--db", db, "import", "contacts", path)
    assert code == 0, out
    assert "not imported" not in out
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.contacts.df().set_index("external_userid").loc["wm001", "owner"] == "zhangsan"


def test_import_mapping_to_an_unknown_field_is_one_line_and_writes_nothing(capsys, tmp_path,
                                                                           db):
    path = write_contacts(tmp_path, ["wm001,小雨,金卡"], header="外部联系人ID,昵称,会员等级")
    code, _, err = run(capsys, "--db", db, "import", "contacts", path, "--map", "会员等级=level")
    assert_one_line_error(code, err, "会员等级=level", "unknown field", "member_id")
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.contacts.count() == 0


def test_import_rejects_a_malformed_mapping(capsys, tmp_path, db):
    path = write_contacts(tmp_path, ["wm001,小雨,13800000001,女"])
    code, _, err = run(capsys, "--db", db, "import", "contacts", path, "--map", "客户编号")
    assert code == 2
    assert "COLUMN=FIELD" in err


def test_import_of_a_missing_file_is_one_line(capsys, tmp_path, db):
    code, _, err = run(capsys, "--db", db, "import", "orders", tmp_path / "nope.csv")
    assert_one_line_error(code, err, "nope.csv")


def test_import_orders_uses_the_given_source(capsys, tmp_path, db):
    run(capsys, "--db", db, "import", "contacts",
        write_contacts(tmp_path, ["wm001,小雨,13800000001,女"]))
    orders = tmp_path / "orders.csv"
    orders.write_text("订单号,外部联系人ID,金额,支付时间,状态\n"
                      "T1,wm001,199.00,2026-11-01 10:00,已支付\n", encoding="gbk")
    code, out, _ = run(capsys, "--db", db, "import", "orders", orders, "--source", "erp")
    assert code == 0
    assert "1 new" in out
    with siyu.open(db, load_entry_points=False) as ws:
        frame = ws.orders.df(source="erp")
        assert frame["amount_fen"].tolist() == [19900]


# -- demo -----------------------------------------------------------------------------------


def test_demo_creates_a_sample_business_and_shows_a_summary(capsys, db):
    code, out, _ = run(capsys, "demo", "--no-serve", "--db", db)
    assert code == 0
    summary = {}
    for line in out.splitlines():
        if line.startswith("  ") and len(line.split()) >= 2:
            summary.setdefault(line.split()[0], line.split()[1])
    assert summary["stores"] == "8"
    assert summary["staff"] == "24"
    assert summary["contacts"] == "3,000"
    assert summary["revenue"].startswith("¥")
    # Every order the sample's 7,981 rows stored, not only the paid ones; by status.
    assert summary["orders"] == "7,981"
    table = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert table["orders"].endswith("(7,660 paid, 321 refunded)")
    assert table["refunds"].endswith("(321 orders)")
    assert "contacts per channel (top 5)" in out
    assert f"siyu.open({db!r})" in out
    with siyu.open(db, load_entry_points=False) as ws:
        assert ws.contacts.count() == 3000
        assert ws.orders.summary()["orders"] > 7000


def test_demo_summary_counts_every_order_by_status(capsys, ws):
    from siyu.cli import _print_summary

    for n, (status, refunded) in enumerate([
            ("paid", None), ("paid", None), ("partially_refunded", 500),
            ("refunded", None), ("cancelled", None)]):
        ws.orders.upsert("pos", f"T{n}", amount_fen=10_000, paid_at="2026-11-01T10:00",
                         status=status, refunded_fen=refunded)
    _print_summary(ws, ws.url)
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    # The parts add up to every order stored (the old summary counted paid ones only).
    assert rows["orders"].split()[1] == "5"
    assert rows["orders"].endswith("(2 paid, 1 partly refunded, 1 refunded, 1 cancelled)")
    # Revenue: paid and partly refunded orders, less their refunds; refunds: every refund.
    assert rows["revenue"].split()[1] == "¥295.00"
    assert rows["refunds"].split()[1] == "¥105.00"
    assert rows["refunds"].endswith("(2 orders)")


def test_demo_refuses_to_overwrite_a_database_with_data(capsys, db):
    with siyu.open(db, load_entry_points=False) as ws:
        ws.stores.upsert("SH001", "上海店")
    code, _, err = run(capsys, "demo", "--no-serve", "--db", db)
    assert_one_line_error(code, err, db, "--force")
    with siyu.open(db, load_entry_points=False) as ws:
        assert [s.code for s in ws.stores.list()] == ["SH001"]


def test_demo_force_replaces_the_file(capsys, db):
    with siyu.open(db, load_entry_points=False) as ws:
        ws.stores.upsert("XX999", "旧门店")
    code, _, _ = run(capsys, "demo", "--no-serve", "--db", db, "--force")
    assert code == 0
    with siyu.open(db, load_entry_points=False) as ws:
        assert "XX999" not in {s.code for s in ws.stores.list()}
        assert len(ws.stores.list()) == 8


# -- the bundled samples ----------------------------------------------------------------------


def test_bundled_samples_are_what_the_generator_writes(tmp_path):
    generate.generate(tmp_path)
    for name in ("stores.csv", "staff.csv", "contacts.csv", "orders.csv"):
        assert (tmp_path / name).read_bytes() == sample_path(name).read_bytes(), name


def test_samples_look_like_real_exports():
    contacts = sample_path("contacts.csv").read_bytes()
    assert contacts.startswith(b"\xef\xbb\xbf")  # Excel's UTF-8 BOM
    orders = sample_path("orders.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        orders.decode("utf-8")
    assert orders.decode("gbk").startswith("订单号,")
    total = sum(sample_path(n).stat().st_size for n in
                ("stores.csv", "staff.csv", "contacts.csv", "orders.csv"))
    assert total < 1_000_000


def test_user_commands_manage_console_users(capsys, db):
    code, out, _ = run(capsys, "user", "add", "ada", "--role", "admin", "--password",
                       "long-enough", "--db", db)
    assert code == 0 and "ada" in out
    code, _, err = run(capsys, "user", "add", "bob", "--role", "admin", "--password", "short",
                       "--db", db)
    assert code == 2 and "at least 8" in err
    assert run(capsys, "user", "role", "ada", "analyst", "--db", db)[0] == 0
    assert run(capsys, "user", "disable", "ada", "--db", db)[0] == 0
    code, out, _ = run(capsys, "user", "list", "--db", db)
    assert "ada  analyst (disabled)" in out


def test_demo_services_start_connect_and_stop_and_a_failing_one_stops_the_others(db):
    import argparse

    import siyu
    from siyu.cli import _start_demo_services
    from siyu.core.records import DemoService

    stopped = []

    class Starts:
        @siyu.hookimpl
        def start_demo(self, ws):
            return DemoService("acme", lambda port: [f"acme on {port}"],
                               lambda: stopped.append("acme"))

    class Fails:
        @siyu.hookimpl
        def start_demo(self, ws):
            raise RuntimeError("no sandbox today")

    args = argparse.Namespace(no_sandbox=False)
    ws = siyu.open(db, plugins=[Starts()], load_entry_points=False, disable=["wecom"])
    try:
        (service,) = _start_demo_services(ws, args)
        assert service.connect(5006) == ["acme on 5006"]
        assert _start_demo_services(ws, argparse.Namespace(no_sandbox=True)) == []
    finally:
        ws.close()
    ws = siyu.open(db, plugins=[Starts(), Fails()], load_entry_points=False,
                   disable=["wecom"])
    try:
        with pytest.raises(Exception, match="no sandbox today"):
            _start_demo_services(ws, args)
        assert stopped == ["acme"]
    finally:
        ws.close()
