"""Storing group robots: adding, listing, removing, who may, the audit trail, the channels
the plugin registers and its tables."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from siyu.core.errors import NotFound, PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.robots import add_robot, remove_robot, robot_rows, robots
from siyu.plugins.robots.store import targets

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/0d8c0a2e-5c4b-4d2e-9f7e-1234567890ab"


def test_add_list_and_remove(ws):
    row = add_robot(ws, " 运营群 ", WECOM)
    assert row["name"] == "运营群" and row["kind"] == "wecom" and row["created_by"] == "local"
    assert row["url"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…"
    add_robot(ws, "dev", FEISHU, kind="feishu", secret="SECabc")
    assert [(r["name"], r["kind"], r["signed"]) for r in robot_rows(ws)] == [
        ("dev", "feishu", True), ("运营群", "wecom", False)]
    frame = robots(ws)
    assert list(frame["name"]) == ["dev", "运营群"]
    assert str(frame["created_at"].dt.tz) == "Asia/Shanghai"
    assert "0d8c0a2e" not in frame.to_string() and "SECabc" not in frame.to_string()
    remove_robot(ws, "dev")
    assert [r["name"] for r in robot_rows(ws)] == ["运营群"]


def test_names_are_unique(ws):
    add_robot(ws, "ops", WECOM)
    with pytest.raises(ValidationError, match="a robot named 'ops' exists already"):
        add_robot(ws, "ops", FEISHU, kind="feishu")


@pytest.mark.parametrize(("url", "message"), [
    ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
     "plain http:// is accepted only for 127.0.0.1 and localhost"),
    ("ftp://example.com/hook", "is not an https:// URL"),
    ("qyapi.weixin.qq.com/cgi-bin/webhook/send", "is not an https:// URL"),
    ("https://", "is not an https:// URL"),
    ("https://example.com:99999/x", "is not a URL"),
    ("https://example.com/a b", "may not hold spaces"),
    ("", "give the webhook URL"),
], ids=["http", "ftp", "no-scheme", "no-host", "bad-port", "space", "empty"])
def test_bad_urls_are_refused(lite, url, message):
    with pytest.raises(ValidationError, match=message):
        add_robot(lite, "ops", url)
    assert robot_rows(lite) == []


def test_local_http_is_accepted_for_test_receivers(ws):
    add_robot(ws, "a", "http://127.0.0.1:8080/cgi-bin/webhook/send?key=x")
    add_robot(ws, "b", "http://localhost/hook")
    assert len(robot_rows(ws)) == 2


def test_bad_names_kinds_and_secrets_are_refused(ws):
    with pytest.raises(ValidationError, match="give the robot a name"):
        add_robot(ws, "  ", WECOM)
    with pytest.raises(ValidationError, match="longer than 50 characters"):
        add_robot(ws, "x" * 51, WECOM)
    with pytest.raises(ValidationError, match="control character"):
        add_robot(ws, "a\nb", WECOM)
    with pytest.raises(ValidationError, match="unknown robot kind 'slack'"):
        add_robot(ws, "ops", WECOM, kind="slack")
    with pytest.raises(ValidationError, match="WeCom robots are not signed"):
        add_robot(ws, "ops", WECOM, secret="SECabc")
    assert robot_rows(ws) == []


def test_removing_an_unknown_robot_names_the_known_ones(ws):
    with pytest.raises(NotFound, match="no robot is set up yet"):
        remove_robot(ws, "ops")
    add_robot(ws, "ops", WECOM)
    add_robot(ws, "dev", WECOM)
    with pytest.raises(NotFound, match="no robot named 'opps'; the robots are dev, ops"):
        remove_robot(ws, "opps")


def test_only_admins_change_robots_every_role_lists_them(ws):
    add_robot(ws, "ops", WECOM)
    for role in ("operator", "analyst"):
        user = ws.as_user(Principal("u", role))
        with pytest.raises(PermissionDenied):
            add_robot(user, "dev", WECOM)
        with pytest.raises(PermissionDenied):
            remove_robot(user, "ops")
        assert [r["name"] for r in robot_rows(user)] == ["ops"]


def test_changes_are_audited_without_the_key(ws):
    add_robot(ws, "ops", WECOM)
    remove_robot(ws, "ops")
    log = ws.audit_log.df(action="robot.*")
    assert list(log["action"]) == ["robot.remove", "robot.add"]
    assert set(log["target"]) == {"ops"}
    assert "7xxx" not in str(list(log["detail"]))
    assert log["detail"].iloc[1]["url"].endswith("key=693a…")


def test_the_channels_are_registered(ws):
    robot, webhook = ws.channels["robot"], ws.channels["webhook"]
    assert (robot.recipients, robot.batch_size, robot.text_limit) == ("targets", 20, 2048)
    assert (robot.max_attachments, robot.placeholders) == (0, ())
    assert (webhook.recipients, webhook.batch_size, webhook.placeholders) == (
        "contacts", 100, None)
    assert str(robot.title) == "Group robot" and str(webhook.title) == "Signed webhook"
    add_robot(ws, "ops", WECOM)
    add_robot(ws, "飞书群", FEISHU, kind="feishu")
    assert robot.targets(ws) == {"ops": "ops (WeCom)", "飞书群": "飞书群 (Feishu)"}
    assert targets(ws) == robot.targets(ws)


def test_other_channels_are_not_answered(lite):
    from siyu.plugins.robots import plugin

    assert plugin.send(lite, "sms", []) is None


def test_the_tables_have_their_own_migration_history(ws):
    assert "robots" in ws.model_sets
    names = sa.inspect(ws.engine).get_table_names()
    assert {"robot", "robot_send", "alembic_version_robots"} <= set(names)
