"""Reminding staff to confirm a campaign's WeCom mass messages: ``remind_unconfirmed`` and
``siyu campaign remind``, against the sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from siyu.cli import main
from siyu.core.errors import NotFound, ValidationError
from siyu.plugins.wecom.remind import ACTION, last_reminded, remind_unconfirmed
from siyu.plugins.wecom.sync import sync
from siyu.storage.types import utcnow

DAY = 24 * 3600


@pytest.fixture
def synced(wired):
    sync(wired.ws)
    return wired


def group_campaign(ws, name: str, members: list[str]) -> dict[str, str]:
    """Launch and send a ``wecom_group`` campaign; its tasks as member → msgid."""
    ws.campaigns.create(name, channel="wecom_group", text=name, targets=members)
    ws.campaigns.launch(name)
    ws.campaigns.drain()
    frame = ws.campaigns.deliveries(name)
    return dict(zip(frame["recipient"], frame["provider_id"], strict=True))


def counts(reminded=0, already_confirmed=0, limit_reached=0, failed=0) -> dict[str, int]:
    return {"reminded": reminded, "already_confirmed": already_confirmed,
            "limit_reached": limit_reached, "failed": failed}


def test_only_the_tasks_nobody_confirmed_are_reminded(synced):
    ws, sandbox = synced.ws, synced.sandbox
    tasks = group_campaign(ws, "提醒", ["zhangsan", "lisi"])
    sandbox.people.staff_confirms_mass_send(tasks["zhangsan"], "zhangsan")  # not polled yet
    assert remind_unconfirmed(ws, "提醒") == counts(reminded=1, already_confirmed=1)
    assert len(sandbox.world.tasks[tasks["lisi"]].reminders) == 1
    assert sandbox.world.tasks[tasks["zhangsan"]].reminders == []
    audit = ws.audit_log.df(action=ACTION)
    assert list(audit["target"]) == [tasks["lisi"]]
    assert audit.iloc[0]["detail"] == {"campaign": "提醒", "sender": "lisi"}
    assert set(last_reminded(ws, list(tasks.values()))) == {tasks["lisi"]}


def test_at_most_three_reminders_a_task_within_24_hours(synced):
    ws, sandbox = synced.ws, synced.sandbox
    tasks = group_campaign(ws, "三次", ["lisi"])
    for _ in range(3):
        assert remind_unconfirmed(ws, "三次") == counts(reminded=1)
    assert remind_unconfirmed(ws, "三次") == counts(limit_reached=1)
    task = sandbox.world.tasks[tasks["lisi"]]
    assert len(task.reminders) == 3  # the fourth was not even asked for
    sandbox.clock.advance(DAY + 60)
    later = utcnow() + timedelta(seconds=DAY + 60)
    assert remind_unconfirmed(ws, "三次", now=later) == counts(reminded=1)
    assert len(task.reminders) == 4


def test_reminders_sent_elsewhere_count_through_wecoms_answer(synced):
    ws, sandbox = synced.ws, synced.sandbox
    tasks = group_campaign(ws, "别处提醒", ["lisi"])
    for _ in range(3):  # e.g. from the WeCom admin console
        synced.service.client.remind_groupmsg_send(tasks["lisi"])
    assert remind_unconfirmed(ws, "别处提醒") == counts(limit_reached=1)
    assert ws.audit_log.df(action=ACTION).empty
    assert len(sandbox.world.tasks[tasks["lisi"]].reminders) == 3


def test_settled_and_customer_campaigns(synced):
    ws, sandbox = synced.ws, synced.sandbox
    from siyu.plugins.wecom.channel import poll_results

    ws.campaigns.create("私聊提醒", channel="wecom", text="私聊提醒", spec={"friend": {}})
    ws.campaigns.launch("私聊提醒")
    ws.campaigns.drain()
    owners = ws.campaigns.deliveries("私聊提醒")["provider_id"].nunique()
    assert remind_unconfirmed(ws, "私聊提醒") == counts(reminded=owners)
    for task in list(sandbox.world.tasks.values()):
        for userid in task.senders:
            sandbox.people.staff_confirms_mass_send(task.msgid, userid)
    poll_results(ws)
    assert remind_unconfirmed(ws, "私聊提醒") == counts(already_confirmed=owners)


def test_a_failed_reminder_is_counted(synced):
    ws, sandbox = synced.ws, synced.sandbox
    tasks = group_campaign(ws, "已取消", ["lisi"])
    synced.service.client.cancel_groupmsg_send(tasks["lisi"])
    assert remind_unconfirmed(ws, "已取消") == counts(failed=1)
    assert sandbox.world.tasks[tasks["lisi"]].reminders == []


def test_only_wecom_campaigns_can_be_reminded(synced):
    ws = synced.ws
    ws.campaigns.create("网络钩子", channel="webhook", text="hi", spec={"friend": {}})
    with pytest.raises(ValidationError, match="webhook"):
        remind_unconfirmed(ws, "网络钩子")
    with pytest.raises(NotFound):
        remind_unconfirmed(ws, "没有这个活动")


def test_the_cli_reminds_and_names_bad_campaigns(synced, db_url, capsys):
    ws = synced.ws
    group_campaign(ws, "命令行", ["zhangsan", "lisi"])
    code = main(["--lang", "en", "campaign", "--db", db_url, "remind", "命令行"])
    out, _err = capsys.readouterr()
    assert code == 0
    assert out.strip() == ("2 tasks reminded, 0 already confirmed, 0 skipped (3 reminders in "
                           "the last 24 hours), 0 failed")
    code = main(["--lang", "en", "campaign", "--db", db_url, "remind", "命令行", "--json"])
    out, _err = capsys.readouterr()
    assert code == 0 and json.loads(out) == counts(reminded=2)
    ws.campaigns.create("钩子", channel="webhook", text="hi", spec={"friend": {}})
    code = main(["--lang", "en", "campaign", "--db", db_url, "remind", "钩子"])
    _out, err = capsys.readouterr()
    assert code == 2 and "sent through webhook" in err
