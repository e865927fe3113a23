"""Mass messages through the wecom channel, driven by the outbox and confirmed by simulated
staff in the sandbox; and reconciliation after a crash."""

import siyu
from siyu.core.messaging import outbox
from siyu.core.records import OutgoingMessage
from siyu.plugins.wecom.channel import poll_results, reconcile
from siyu.plugins.wecom.sync import sync


class Deliveries:
    def __init__(self):
        self.seen = []

    @siyu.hookimpl
    def on_delivery(self, ws, delivery, status, delivery_id):
        self.seen.append((delivery.id, status, delivery.reason))


def _confirm_everything(sandbox):
    for msgid, task in list(sandbox.world.tasks.items()):
        for userid, sender in task.senders.items():
            if sender.status != 2:
                sandbox.people.staff_confirms_mass_send(msgid, userid)


def test_a_campaign_makes_one_task_per_owner_and_results_come_back(wired, wait):
    ws, sandbox = wired.ws, wired.sandbox
    sync(ws)
    recorder = Deliveries()
    ws.pm.register(recorder, name="deliveries")
    try:
        ws.campaigns.create("双十二", channel="wecom", text="双十二预告，{staff}为您服务",
                            spec={"friend": {}})
        ws.campaigns.launch("双十二")
        report = ws.campaigns.drain()
        owners = set(ws.contacts.df(active=True)["owner"].dropna())
        assert report.batches == len(owners)
        assert len(sandbox.world.tasks) == len(owners)
        assert set(report.statuses) == {"pending"}
        frame = ws.campaigns.deliveries("双十二")
        assert frame["provider_id"].nunique() == len(owners)
        _confirm_everything(sandbox)
        changed = poll_results(ws)
        assert changed == report.handled
        counts = ws.campaigns.counts("双十二")
        assert counts == {"sent": report.handled}
        delivered = {d.external_userid for d in sandbox.world.deliveries}
        assert len(delivered) == report.handled
        wait(lambda: len(recorder.seen) >= 2 * report.handled)
        assert sorted(s for _i, s, _r in recorder.seen) == (["pending"] * report.handled
                                                             + ["sent"] * report.handled)
        assert poll_results(ws) == 0  # nothing changes twice
    finally:
        ws.pm.unregister(recorder)


def test_the_receive_cap_skips_the_second_message(wired):
    ws, sandbox = wired.ws, wired.sandbox
    sandbox.world.limits.receive_cap = "day"
    sync(ws)
    for name in ("第一条", "第二条"):
        ws.campaigns.create(name, channel="wecom", text=name, spec={"friend": {}})
    ws.campaigns.launch("第一条")
    ws.campaigns.drain()
    # siyu's own ledger: the second launch skips whoever has had today's message already.
    ws.settings.set("wecom.receive_cap", "day")
    preview = ws.campaigns.preview("第二条")
    assert preview["will_receive"] == 0
    assert preview["reasons"] == {"receive quota": preview["selected"]}


def test_wecom_refusing_a_customer_fails_that_delivery_only(wired):
    ws, sandbox = wired.ws, wired.sandbox
    sync(ws)
    ws.campaigns.create("拒收", channel="wecom", text="hi", spec={"friend": {}})
    ws.campaigns.launch("拒收")
    victim = ws.contacts.df(active=True).iloc[0]
    customer = sandbox.world.customers[victim["external_userid"]]
    customer.follows.clear()  # no member can reach them any more
    ws.campaigns.drain()
    frame = ws.campaigns.deliveries("拒收").set_index("contact_id")
    assert frame.loc[int(victim["id"]), "status"] == "failed"
    assert (frame.drop(int(victim["id"]))["status"] == "pending").all()


def test_reconcile_finds_tasks_wecom_has_and_siyu_never_recorded(wired):
    ws, sandbox = wired.ws, wired.sandbox
    sync(ws)
    ws.campaigns.create("对账", channel="wecom", text="对账测试", spec={"friend": {}})
    ws.campaigns.launch("对账")
    [(cid, channel)] = outbox.sending_campaigns(ws)
    claimed = outbox.claim(ws, cid, channel, worker="dead")
    batch = outbox.messages(ws, claimed.batch_id)
    # The sender called WeCom and died before storing anything.
    frame = ws.contacts.df()
    contacts = dict(zip(frame["id"].astype(int), frame["external_userid"], strict=True))
    answer = wired.service.client.add_msg_template(
        external_userid=[contacts[m.contact_id] for m in batch], sender=batch[0].sender,
        text="对账测试")
    found = reconcile(ws, batch)
    assert {r.provider_id for r in found.values()} == {answer["msgid"]}
    assert set(found) == {m.delivery_id for m in batch}
    assert reconcile(ws, batch) == found  # now known locally, same answer
    with ws.engine.begin() as conn:
        conn.execute(outbox.B.update().values(lease_until=outbox.utcnow()))
    assert outbox.recover(ws) == 1
    ws.campaigns.drain()
    assert len(sandbox.world.tasks) == len(set(ws.contacts.df(active=True)["owner"].dropna()))


def test_a_lost_answer_is_reconciled_not_resent(wired):
    ws, sandbox = wired.ws, wired.sandbox
    sync(ws)
    ws.campaigns.create("丢应答", channel="wecom", text="丢应答", spec={"friend": {}})
    ws.campaigns.launch("丢应答")
    wired.service.client.get_groupmsg_list_v2("single", 0, 1)  # holds a token now
    [(cid, channel)] = outbox.sending_campaigns(ws)
    sandbox.faults.lost_answer_rate = 1.0
    batches = 0
    while (claimed := outbox.claim(ws, cid, channel, worker="t")):
        assert outbox.send_batch(ws, claimed) == []  # every outcome unknown
        batches += 1
    sandbox.faults.lost_answer_rate = 0.0
    tasks = len(sandbox.world.tasks)
    assert tasks == batches >= 1  # WeCom created them all
    assert outbox.recover(ws) == batches  # leases were cut short: due at once
    assert len(sandbox.world.tasks) == tasks  # nothing sent twice
    assert set(ws.campaigns.counts("丢应答")) == {"pending"}


def test_other_channels_are_not_answered(wired):
    message = OutgoingMessage(1, "1:x", 1, "sms", "x")
    assert wired.ws.hook.send(ws=wired.ws, channel="sms", batch=[message]) is None
