"""Mass messages to customer groups through the ``wecom_group`` channel: campaigns addressed
to staff members, driven by the outbox, confirmed by simulated staff in the sandbox, and
reconciled after a crash."""

from __future__ import annotations

import pytest

import siyu
from siyu.core.errors import ValidationError
from siyu.core.messaging import outbox
from siyu.plugins.wecom.channel import poll_results
from siyu.plugins.wecom.group_channel import reconcile, targets
from siyu.plugins.wecom.sync import sync


class Deliveries:
    def __init__(self):
        self.seen = []

    @siyu.hookimpl
    def on_delivery(self, ws, delivery, status, delivery_id):
        self.seen.append((delivery.recipient, status))


def group_tasks(sandbox, text: str) -> list:
    with sandbox.world.lock:
        return [t for t in sandbox.world.tasks.values()
                if t.chat_type == "group" and (t.text or {}).get("content") == text]


def confirm(sandbox, text: str, userid: str) -> None:
    for task in group_tasks(sandbox, text):
        if userid in task.senders:
            sandbox.people.staff_confirms_mass_send(task.msgid, userid)


def launch(ws, name: str, members: list[str], text: str | None = None) -> None:
    ws.campaigns.create(name, channel="wecom_group", text=text or name, targets=members)
    ws.campaigns.launch(name)


def statuses(ws, name: str) -> dict[str, tuple[str, str]]:
    frame = ws.campaigns.deliveries(name)
    return {r.recipient: (r.status, r.reason) for r in frame.itertuples()}


@pytest.fixture
def synced(wired):
    sync(wired.ws)
    return wired


def test_targets_are_the_active_staff_with_their_groups(synced):
    found = targets(synced.ws)
    assert found == {"lisi": "lisi, 1 customer group", "wangwu": "wangwu, 0 customer groups",
                     "zhangsan": "zhangsan, 1 customer group"}


def test_unknown_members_are_named(synced):
    with pytest.raises(ValidationError, match="ghost") as caught:
        synced.ws.campaigns.create("没有这个人", channel="wecom_group", text="hi",
                                   targets=["zhangsan", "ghost"])
    assert "zhangsan" not in str(caught.value).split(";")[0]
    with pytest.raises(ValidationError, match="targets"):
        synced.ws.campaigns.create("要分群", channel="wecom_group", text="hi",
                                   spec={"friend": {}})


def test_one_task_per_member_and_confirmation_makes_it_sent(synced, wait):
    ws, sandbox = synced.ws, synced.sandbox
    recorder = Deliveries()
    ws.pm.register(recorder, name="deliveries")
    try:
        launch(ws, "周末群发", ["zhangsan", "lisi"])
        report = ws.campaigns.drain()
        assert report.statuses == {"pending": 2}
        tasks = group_tasks(sandbox, "周末群发")
        assert sorted(list(t.senders)[0] for t in tasks) == ["lisi", "zhangsan"]
        frame = ws.campaigns.deliveries("周末群发")
        assert set(frame["provider_id"]) == {t.msgid for t in tasks}
        assert poll_results(ws) == 0  # nobody confirmed yet
        confirm(sandbox, "周末群发", "zhangsan")
        assert poll_results(ws) == 1
        assert statuses(ws, "周末群发") == {"zhangsan": ("sent", ""), "lisi": ("pending", "")}
        confirm(sandbox, "周末群发", "lisi")
        assert poll_results(ws) == 1
        assert ws.campaigns.counts("周末群发") == {"sent": 2}
        assert poll_results(ws) == 0  # nothing changes twice
        chats = {d.chat_id for d in sandbox.deliveries}
        assert chats == {c.chat_id for c in sandbox.world.group_chats.values()}
        wait(lambda: len(recorder.seen) >= 4)
        assert sorted(recorder.seen) == [("lisi", "pending"), ("lisi", "sent"),
                                         ("zhangsan", "pending"), ("zhangsan", "sent")]
    finally:
        ws.pm.unregister(recorder)


def test_group_and_customer_tasks_are_polled_side_by_side(synced):
    ws, sandbox = synced.ws, synced.sandbox
    launch(ws, "群里见", ["zhangsan"])
    ws.campaigns.create("私聊见", channel="wecom", text="私聊见", spec={"friend": {}})
    ws.campaigns.launch("私聊见")
    ws.campaigns.drain()
    customers = ws.campaigns.counts("私聊见")["pending"]
    for task in list(sandbox.world.tasks.values()):
        for userid in task.senders:
            sandbox.people.staff_confirms_mass_send(task.msgid, userid)
    assert poll_results(ws) == customers + 1
    assert ws.campaigns.counts("群里见") == {"sent": 1}
    assert ws.campaigns.counts("私聊见") == {"sent": customers}


def test_a_member_without_groups_or_not_active_fails_with_a_reason(synced):
    ws = synced.ws
    launch(ws, "无群", ["wangwu", "lisi"])
    ws.staff.upsert("lisi", "lisi", status="resigned")  # after launch, before sending
    ws.campaigns.drain()
    found = statuses(ws, "无群")
    assert found["wangwu"][0] == "failed" and "owns no customer group" in found["wangwu"][1]
    assert found["lisi"][0] == "failed" and "not an active staff member" in found["lisi"][1]
    assert "lisi" not in targets(ws)


def test_receive_caps_of_groups_decide_sent_or_skipped(synced):
    ws, sandbox = synced.ws, synced.sandbox
    sandbox.limits.receive_cap = "day"
    for name in ("第一条", "第二条", "第三条"):
        launch(ws, name, ["zhangsan"])
        ws.campaigns.drain()
        confirm(sandbox, name, "zhangsan")
        poll_results(ws)
        if name == "第一条":  # a second group, which has had nothing today
            sandbox.people.staff_creates_group("zhangsan", "老客户群")
    assert statuses(ws, "第一条") == {"zhangsan": ("sent", "")}
    status, reason = statuses(ws, "第二条")["zhangsan"]
    assert status == "sent"
    assert reason == "1 of 2 customer groups received it (1 at their receive cap, 0 no " \
                     "longer there)"
    assert statuses(ws, "第三条") == {"zhangsan": ("skipped", "receive quota")}


def test_reconcile_finds_a_task_wecom_has_and_siyu_never_recorded(synced):
    ws, sandbox = synced.ws, synced.sandbox
    launch(ws, "对账", ["zhangsan", "lisi"], text="群发对账")
    [(cid, channel)] = outbox.sending_campaigns(ws)
    claimed = outbox.claim(ws, cid, channel, worker="dead")
    batch = outbox.messages(ws, claimed.batch_id)
    # The sender called WeCom for zhangsan and died before storing anything.
    answer = synced.service.client.add_msg_template(chat_type="group", sender="zhangsan",
                                                    text="群发对账")
    found = reconcile(ws, batch)
    [zhangsan] = [m for m in batch if m.recipient == "zhangsan"]
    assert {i: r.provider_id for i, r in found.items()} == {
        zhangsan.delivery_id: answer["msgid"]}
    assert reconcile(ws, batch) == found  # now known locally, same answer
    with ws.engine.begin() as conn:
        conn.execute(outbox.B.update().values(lease_until=outbox.utcnow()))
    assert outbox.recover(ws) == 1
    ws.campaigns.drain()  # lisi's message goes out now, zhangsan's is not sent again
    tasks = group_tasks(sandbox, "群发对账")
    assert sorted(list(t.senders)[0] for t in tasks) == ["lisi", "zhangsan"]
    assert set(ws.campaigns.deliveries("对账")["provider_id"]) == {t.msgid for t in tasks}


def test_a_lost_answer_is_reconciled_not_resent(synced):
    ws, sandbox = synced.ws, synced.sandbox
    launch(ws, "丢应答", ["zhangsan", "lisi"])
    synced.service.client.get_groupmsg_list_v2("group", 0, 1)  # holds a token now
    [(cid, channel)] = outbox.sending_campaigns(ws)
    sandbox.faults.lost_answer_rate = 1.0
    claimed = outbox.claim(ws, cid, channel, worker="t")
    assert outbox.send_batch(ws, claimed) == []  # every outcome unknown
    sandbox.faults.lost_answer_rate = 0.0
    assert len(group_tasks(sandbox, "丢应答")) == 2  # WeCom created them
    assert outbox.recover(ws) == 1
    assert len(group_tasks(sandbox, "丢应答")) == 2  # nothing sent twice
    assert ws.campaigns.counts("丢应答") == {"pending": 2}
