"""``siyu transfer list-departed|show|plan|run|status``: what each prints, and that bad input
is one line on standard error."""

from __future__ import annotations

import json

import pytest

from siyu.cli import main


@pytest.fixture
def cli(wired, capsys, monkeypatch):
    """Run ``siyu --db <the wired workspace> transfer argv…``; (exit code, stdout, stderr)."""
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv):
        code = main(["--db", wired.url, "transfer", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_list_departed_names_the_resigned_member_and_their_customers(cli):
    code, out, _ = cli("list-departed")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["userid", "name", "customers", "dimission_time"]
    assert lines[1].split()[:3] == ["zhouba", "zhouba", "2"]
    code, out, _ = cli("list-departed", "--json")
    assert [(d["userid"], d["customers"]) for d in json.loads(out)] == [("zhouba", 2)]


def test_show_lists_customers_and_groups(cli, wired):
    code, out, _ = cli("show", "zhangsan")
    assert code == 0
    assert "customers 3, customer groups 1" in out.splitlines()[0]
    assert all(ext in out for ext in wired.customers_of("zhangsan"))
    assert "VIP 客户群" in out


def test_plan_run_and_status(cli, wired):
    code, out, _ = cli("plan", "zhangsan", "--to", "lisi,wangwu")
    assert code == 0
    assert out.splitlines()[0] == "plan 1: 3 customers planned (lisi 2, wangwu 1)"
    assert "siyu transfer run 1" in out
    code, out, _ = cli("run", 1)
    assert (code, out.strip()) == (0, "2 WeCom calls: waiting 3")
    wired.pass_a_day()
    code, out, _ = cli("status", 1, "--refresh")
    lines = out.splitlines()
    assert lines[0] == "refreshed: taken over 3"
    assert lines[1].split()[:3] == ["plan_id", "external_userid", "customer"]
    assert sum("taken_over" in line for line in lines[2:]) == 3
    code, out, _ = cli("status")
    assert out.splitlines()[1].split()[:3] == ["1", "onjob", "zhangsan"]


def test_plan_and_run_at_once_over_100_customers(cli, wired):
    wired.give_customers("zhouba", 150)
    code, out, _ = cli("plan", "zhouba", "--to", "lisi", "--run")
    assert code == 0
    assert out.splitlines()[-1] == "2 WeCom calls: waiting 152"


def test_a_third_transfer_within_90_days_is_one_line(cli, wired):
    customer = wired.customers_of("wangwu")[0]
    for handover, takeover in (("wangwu", "lisi"), ("lisi", "wangwu")):
        code, _out, _err = cli("plan", handover, "--to", takeover, "--customers", customer,
                               "--run")
        assert code == 0
        wired.pass_a_day()
        assert cli("status", "--refresh")[0] == 0
    code, out, err = cli("plan", "wangwu", "--to", "zhangsan")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "third transfer is refused" in lines[0] and customer in lines[0]


@pytest.mark.parametrize(("argv", "fragment"), [
    (["plan", "nobody", "--to", "lisi"], "unknown staff member 'nobody'"),
    (["plan", "zhangsan", "--to", "ghost"], "unknown staff member 'ghost'"),
    (["plan", "zhangsan"], "choose at least one successor"),
    (["plan", "zhangsan", "--to", "lisi", "--assign", "wm1=lisi"], "--assign needs --split"),
    (["plan", "zhangsan", "--split", "manual", "--assign", "nope"], "CUSTOMER=USERID"),
    (["plan", "zhangsan", "--split", "manual", "--assign", "wm_x=lisi"], "wm_x"),
    (["plan", "zhangsan", "--to", "lisi", "--message", "长" * 201], "200"),
    (["run", "99"], "no transfer plan 99"),
    (["status", "--status", "lost"], "unknown status 'lost'"),
])
def test_bad_input_is_one_line_naming_it(cli, argv, fragment):
    code, out, err = cli(*argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("siyu: error: ") and fragment in lines[0]
