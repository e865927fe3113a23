"""Sending through the ``robot`` channel to real HTTP robots on 127.0.0.1: the bodies each
provider gets, the per-robot rate limit held across workspaces, and what failures mean."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import NotFound, PermissionDenied
from siyu.core.permissions import Principal
from siyu.core.records import OutgoingMessage
from siyu.plugins.robots import add_robot, robot_rows, test_robot, transport
from siyu.plugins.robots import channel as robot_channel
from siyu.storage.types import utcnow

from .servers import closed_port


def message(n: int, robot: str = "ops", text: str = "", **kwargs) -> OutgoingMessage:
    return OutgoingMessage(delivery_id=n, key=f"7:{robot}:{n}", campaign_id=7, channel="robot",
                           recipient=robot, text=text or f"第 {n} 条", **kwargs)


def send(ws, batch):
    return ws.hook.send(ws=ws, channel="robot", batch=batch)


def summary(results):
    return [(r.status, r.retry) for r in results]


def last(ws, name):
    return next(row for row in robot_rows(ws) if row["name"] == name)


def test_a_batch_reaches_its_robots(ws, fake):
    add_robot(ws, "ops", fake.url("k-ops"))
    add_robot(ws, "dev", fake.url("k-dev"))
    results = send(ws, [message(1, "ops"), message(2, "dev"),
                        message(3, "ops", "**早报**", extra={"format": "markdown"})])
    assert summary(results) == [("sent", False)] * 3
    assert [(c["key"], c["body"]) for c in fake.received] == [
        ("k-ops", {"msgtype": "text", "text": {"content": "第 1 条"}}),
        ("k-dev", {"msgtype": "text", "text": {"content": "第 2 条"}}),
        ("k-ops", {"msgtype": "markdown", "markdown": {"content": "**早报**"}})]
    assert fake.received[0]["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert last(ws, "ops")["last_sent_at"] is not None and last(ws, "ops")["last_error"] is None


def test_feishu_and_dingtalk_robots_get_their_formats_signed(ws, fake):
    add_robot(ws, "飞书", fake.url("fs-1", "feishu"), kind="feishu", secret="SECfs")
    add_robot(ws, "钉钉", fake.url("dt-1", "dingtalk"), kind="dingtalk", secret="SECdt")
    add_robot(ws, "plain", fake.url("dt-2", "dingtalk"), kind="dingtalk")
    results = send(ws, [message(1, "飞书"), message(2, "钉钉"), message(3, "plain")])
    assert summary(results) == [("sent", False)] * 3
    feishu, dingtalk, plain = fake.received
    assert feishu["body"]["msg_type"] == "text" and feishu["body"]["content"] == {
        "text": "第 1 条"}
    assert {"timestamp", "sign"} <= set(feishu["body"])
    assert dingtalk["body"] == {"msgtype": "text", "text": {"content": "第 2 条"}}
    assert {"timestamp", "sign", "access_token"} == set(dingtalk["query"])
    assert set(plain["query"]) == {"access_token"}


# -- the rate limit ----------------------------------------------------------------------------


def test_the_limit_holds_across_workspaces_on_one_database(tmp_path, fake):
    """Two Workspace objects on one SQLite file stand in for two sender processes."""
    url = "sqlite:///" + str(tmp_path / "x.db")
    with siyu.open(url, load_entry_points=False) as first, \
            siyu.open(url, load_entry_points=False) as second:
        add_robot(first, "ops", fake.url("k-ops"))
        one = send(first, [message(n) for n in range(1, 16)])
        two = send(second, [message(n) for n in range(16, 31)])
    assert summary(one) == [("sent", False)] * 15
    assert summary(two) == [("sent", False)] * 5 + [("failed", True)] * 10
    assert "20 messages in the last minute, the most a WeCom robot takes" in two[5].reason
    assert "tried again later" in two[5].reason
    assert len(fake.calls("k-ops")) == 20  # the full window was never called
    assert all(c["body"]["text"]["content"] != "第 21 条" for c in fake.received)


def test_the_limit_holds_for_senders_running_at_once(db_url, fake):
    with siyu.open(db_url, load_entry_points=False) as setup:
        add_robot(setup, "ops", fake.url("k-ops"))
    results: list = []
    errors: list = []

    def sender(start):
        try:
            with siyu.open(db_url, load_entry_points=False) as ws:
                results.extend(send(ws, [message(n) for n in range(start, start + 15)]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(start,)) for start in (1, 101)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.status == "sent" for r in results) == 20
    assert all(r.retry for r in results if r.status != "sent")
    assert len(fake.calls("k-ops")) == 20


def test_each_robot_has_its_own_window(ws, fake):
    add_robot(ws, "ops", fake.url("k-ops"))
    add_robot(ws, "dev", fake.url("k-dev"))
    send(ws, [message(n, "ops") for n in range(20)])
    assert summary(send(ws, [message(99, "ops"), message(100, "dev")])) == [
        ("failed", True), ("sent", False)]


def test_old_calls_leave_the_window(ws, fake):
    add_robot(ws, "ops", fake.url("k-ops"))
    old = utcnow() - timedelta(seconds=61)
    with ws.engine.begin() as conn:
        conn.execute(robot_channel.SEND.insert(), [{"robot": "ops", "sent_at": old}] * 20)
        conn.execute(robot_channel.SEND.insert(),
                     [{"robot": "ops", "sent_at": old - timedelta(minutes=20)}] * 3)
    assert summary(send(ws, [message(1)])) == [("sent", False)]
    with ws.engine.connect() as conn:  # the rows older than ten minutes were pruned
        assert conn.execute(sa.select(sa.func.count()).select_from(robot_channel.SEND)
                            ).scalar() == 21


def test_the_provider_s_rate_limit_answer_is_retried(ws, fake):
    add_robot(ws, "low", fake.url("low"))
    results = send(ws, [message(n, "low") for n in range(1, 5)])
    assert summary(results) == [("sent", False)] * 2 + [("failed", True)] * 2
    assert "over the provider's rate limit (code 45009: api freq out of limit)" in \
        results[2].reason
    assert len(fake.calls("low")) == 3  # after the refusal the robot was left alone
    assert "45009" in last(ws, "low")["last_error"]


# -- failures ----------------------------------------------------------------------------------


def test_a_server_error_is_retried_and_a_refusal_is_not(ws, fake):
    add_robot(ws, "broken", fake.url("broken"))
    add_robot(ws, "gone", fake.url("gone"))
    add_robot(ws, "invalid", fake.url("invalid"))
    broken, gone, invalid = send(ws, [message(1, "broken"), message(2, "gone"),
                                      message(3, "invalid")])
    assert (broken.status, broken.retry) == ("failed", True)
    assert "robot broken: HTTP 502" in broken.reason
    assert (gone.status, gone.retry) == ("failed", False)
    assert gone.reason == "robot gone: HTTP 404: not found"
    assert (invalid.status, invalid.retry) == ("failed", False)
    assert invalid.reason == "robot invalid: refused (code 93000): invalid webhook url, hint: [x]"
    assert last(ws, "invalid")["last_error"] == invalid.reason
    assert last(ws, "invalid")["last_error_at"] is not None


def test_a_timeout_is_retried(ws, fake, monkeypatch):
    monkeypatch.setattr(robot_channel, "TIMEOUT_S", 0.3)
    add_robot(ws, "slow", fake.url("slow"))
    add_robot(ws, "ops", fake.url("k-ops"))
    slow, again, ops = send(ws, [message(1, "slow"), message(2, "slow"), message(3, "ops")])
    assert (slow.status, slow.retry) == ("failed", True)
    assert "no answer within the timeout (ReadTimeout)" in slow.reason
    assert (again.status, again.retry) == ("failed", True)  # not called again in this batch
    assert ops.status == "sent"
    assert len(fake.calls("slow")) == 1


def test_a_robot_nobody_listens_on_is_retried(ws):
    add_robot(ws, "down", f"http://127.0.0.1:{closed_port()}/cgi-bin/webhook/send?key=k")
    [result] = send(ws, [message(1, "down")])
    assert (result.status, result.retry) == ("failed", True)
    assert "robot down: cannot connect" in result.reason


def test_unknown_robots_and_unsendable_texts_fail_without_a_call(ws, fake):
    add_robot(ws, "ops", fake.url("k-ops"))
    results = send(ws, [message(1, "ghost"), message(2, "ops", "字" * 683),
                        message(3, "ops", attachments=({"msgtype": "image"},))])
    assert summary(results) == [("failed", False)] * 3
    assert results[0].reason == "no robot named 'ghost'; add it with `siyu robot add`"
    assert "the text has 2049 bytes; a WeCom robot takes at most 2048 bytes" in \
        results[1].reason
    assert "group robots send text only" in results[2].reason
    assert fake.received == []


def test_a_batch_out_of_time_hands_the_rest_back(ws, fake, monkeypatch):
    monkeypatch.setattr(transport, "BATCH_BUDGET_S", 0)
    add_robot(ws, "ops", fake.url("k-ops"))
    [result] = send(ws, [message(1)])
    assert (result.status, result.retry) == ("failed", True)
    assert "not tried: the batch ran out of time" in result.reason
    assert fake.received == []


# -- the test message --------------------------------------------------------------------------


def test_a_test_message(ws, fake):
    add_robot(ws, "ops", fake.url("k-ops"))
    result = test_robot(ws, "ops")
    assert result.status == "sent"
    assert fake.received[0]["body"]["text"]["content"].startswith("Test message from siyu")
    assert test_robot(ws, "ops", "# hi", markdown=True).status == "sent"
    assert fake.received[1]["body"]["msgtype"] == "markdown"
    assert list(ws.audit_log.df(action="robot.test")["target"]) == ["ops", "ops"]
    with pytest.raises(NotFound, match="no robot named 'dev'; the robots are ops"):
        test_robot(ws, "dev")
    with pytest.raises(PermissionDenied):
        test_robot(ws.as_user(Principal("op", "operator")), "ops")


def test_a_failed_test_message_says_why(ws, fake):
    add_robot(ws, "invalid", fake.url("invalid"))
    result = test_robot(ws, "invalid", "hi")
    assert (result.status, result.reason) == (
        "failed", "robot invalid: refused (code 93000): invalid webhook url, hint: [x]")
