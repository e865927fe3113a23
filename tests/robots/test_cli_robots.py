"""``siyu robot …`` run in this process: add, list, test, remove, the webhook's settings,
errors, and Chinese output."""

from __future__ import annotations

import io
import json

import pytest

import siyu
from siyu.cli import main
from siyu.plugins.robots import webhook_settings

from .conftest import SECRET


@pytest.fixture
def db(tmp_path, monkeypatch):
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return str(tmp_path / "shop.db")


def run(capsys, *argv):
    """Run `siyu argv…` in this process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_test_and_remove(capsys, db, fake):
    code, out, _ = run(capsys, "--db", db, "robot", "add", "ops", fake.url("k-ops"))
    assert (code, out.strip()) == (0, f"added robot ops (wecom): {fake.url('k-ops')}")
    code, out, _ = run(capsys, "--db", db, "robot", "test", "ops", "--text", "你好")
    assert (code, out.strip()) == (0, "sent: robot ops accepted the test message")
    assert fake.received[0]["body"] == {"msgtype": "text", "text": {"content": "你好"}}
    code, out, _ = run(capsys, "--db", db, "robot", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["name", "kind", "url", "signed", "last_sent_at", "last_error"]
    assert lines[1].split()[:4] == ["ops", "wecom", fake.url("k-ops"), "no"]
    assert "+08:00" in lines[1]  # shown in the workspace's timezone
    code, out, _ = run(capsys, "--db", db, "robot", "list", "--json")
    [row] = json.loads(out)
    assert (row["name"], row["signed"], row["last_error"]) == ("ops", False, None)
    code, out, _ = run(capsys, "--db", db, "robot", "remove", "ops")
    assert (code, out.strip()) == (0, "removed robot ops")
    code, out, _ = run(capsys, "--db", db, "robot", "list")
    assert (code, out.strip()) == (0, "no robots; add one with `siyu robot add NAME URL`")


def test_a_failing_test_message_exits_1_with_the_reason(capsys, db, fake):
    run(capsys, "--db", db, "robot", "add", "bad", fake.url("invalid"))
    code, out, err = run(capsys, "--db", db, "robot", "test", "bad")
    assert (code, out) == (1, "")
    assert err.strip() == ("siyu: the test message failed: robot bad: refused (code 93000): "
                           "invalid webhook url, hint: [x]")
    code, out, _ = run(capsys, "--db", db, "robot", "list", "--json")
    assert json.loads(out)[0]["last_error"].startswith("robot bad: refused (code 93000)")


def test_errors_are_one_line(capsys, db, fake):
    code, _, err = run(capsys, "--db", db, "robot", "add", "ops", "http://example.com/hook")
    assert code == 2
    assert err.strip().startswith("siyu: error: 'http://example.com/hook': plain http:// is "
                                  "accepted only for 127.0.0.1 and localhost")
    code, _, err = run(capsys, "--db", db, "robot", "test", "ghost")
    assert code == 2
    assert err.strip() == ("siyu: error: no robot named 'ghost'; no robot is set up yet "
                           "(siyu robot add NAME URL)")
    code, _, err = run(capsys, "--db", db, "robot", "add", "ops", fake.url("k"), "--kind",
                       "slack")
    assert code == 2 and "invalid choice: 'slack'" in err


def test_a_signed_robot_reads_its_secret_from_standard_input(capsys, db, fake, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("SECfeishu\n"))
    code, out, _ = run(capsys, "--db", db, "robot", "add", "飞书群",
                       fake.url("fs", "feishu"), "--kind", "feishu", "--secret-stdin")
    assert code == 0 and "SECfeishu" not in out
    code, out, _ = run(capsys, "--db", db, "robot", "test", "飞书群")
    assert code == 0
    assert {"timestamp", "sign"} <= set(fake.received[0]["body"])


def test_webhook_settings(capsys, db, receiver, monkeypatch):
    code, out, _ = run(capsys, "--db", db, "robot", "webhook")
    assert (code, out.splitlines()) == (0, ["url: not set", "secret: not set",
                                            "timeout: 10 s"])
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    code, out, _ = run(capsys, "--db", db, "robot", "webhook", "--url", receiver.url(),
                       "--secret-stdin", "--timeout", "2.5")
    assert (code, out.splitlines()) == (0, [f"url: {receiver.url()}", "secret: set",
                                            "timeout: 2.5 s"])
    assert SECRET not in out
    code, out, _ = run(capsys, "--db", db, "robot", "webhook", "--new-secret")
    lines = out.splitlines()
    assert code == 0 and lines[1] == "secret: set"
    secret = lines[3].rsplit(" ", 1)[1]
    assert len(secret) == 64
    with siyu.open(db, load_entry_points=False) as ws:
        from siyu.plugins.robots.webhook import load_config

        assert load_config(ws).secret == secret
        assert webhook_settings(ws)["timeout"] == 2.5
    code, _, err = run(capsys, "--db", db, "robot", "webhook", "--timeout", "0")
    assert code == 2 and "--timeout" in err


def test_the_command_speaks_chinese(capsys, db, fake):
    code, out, _ = run(capsys, "--lang", "zh_CN", "--db", db, "robot", "list")
    assert (code, out.strip()) == (0, "还没有机器人；用 `siyu robot add NAME URL` 添加")
    run(capsys, "--db", db, "robot", "add", "bad", fake.url("invalid"))
    code, _, err = run(capsys, "--lang", "zh_CN", "--db", db, "robot", "test", "bad")
    assert code == 1
    assert err.strip() == ("siyu: 测试消息发送失败：机器人 bad：被拒绝（代码 93000）："
                           "invalid webhook url, hint: [x]")
