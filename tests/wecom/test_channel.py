"""Mass messages through the wecom channel, confirmed by simulated staff in the sandbox."""

import siyu
from siyu.plugins.wecom.channel import poll_results
from siyu.plugins.wecom.sync import sync


class Deliveries:
    def __init__(self):
        self.seen = []

    @siyu.hookimpl
    def on_delivery(self, ws, delivery):
        self.seen.append(delivery)


def test_send_groups_by_owner_and_results_come_back_as_deliveries(wired):
    ws, sandbox = wired.ws, wired.sandbox
    sync(ws)
    recorder = Deliveries()
    ws.pm.register(recorder, name="deliveries")
    try:
        frame = ws.contacts.df(active=True)
        batch = [{"contact_id": int(cid), "text": "双十二预告", "delivery_id": f"d{cid}"}
                 for cid in frame["id"]]
        results = ws.hook.send(ws=ws, channel="wecom", batch=batch)
        assert len(results) == len(batch)
        msgids = {r["provider_id"] for r in results if r["status"] == "pending"}
        owners = set(frame["owner"].dropna())
        assert len(msgids) == len(owners)
        for msgid in msgids:
            task = sandbox.world.tasks[msgid]
            for userid in task.senders:
                sandbox.people.staff_confirms_mass_send(msgid, userid)
        changed = poll_results(ws)
        assert changed == len(recorder.seen) > 0
        assert {d["status"] for d in recorder.seen} <= {"sent", "not_friend",
                                                       "already_received"}
        sent = [d for d in recorder.seen if d["status"] == "sent"]
        delivered = {d.external_userid for d in sandbox.world.deliveries}
        assert {d["external_userid"] for d in sent} == delivered
        assert poll_results(ws) == 0  # nothing changes twice
    finally:
        ws.pm.unregister(recorder)


def test_contacts_without_owner_fail_with_a_reason(wired):
    ws = wired.ws
    contact, _ = ws.contacts.upsert("wm-no-owner")
    [result] = ws.hook.send(ws=ws, channel="wecom", batch=[{"contact_id": contact.id,
                                                             "text": "hi"}])
    assert result["status"] == "failed" and "owner" in result["reason"]


def test_other_channels_are_not_answered(wired):
    assert wired.ws.hook.send(ws=wired.ws, channel="sms", batch=[]) is None


def test_receive_cap_reached_is_already_received(wired):
    ws, sandbox = wired.ws, wired.sandbox
    sandbox.world.limits.receive_cap = "day"
    sync(ws)
    recorder = Deliveries()
    ws.pm.register(recorder, name="deliveries")
    try:
        target = ws.contacts.df(active=True).iloc[:1]
        batch = [{"contact_id": int(target["id"].iloc[0]), "text": "第一条"}]
        for text in ("第一条", "第二条"):
            batch[0]["text"] = text
            [result] = ws.hook.send(ws=ws, channel="wecom", batch=batch)
            for userid in sandbox.world.tasks[result["provider_id"]].senders:
                sandbox.people.staff_confirms_mass_send(result["provider_id"], userid)
            poll_results(ws)
        assert [d["status"] for d in recorder.seen] == ["sent", "already_received"]
    finally:
        ws.pm.unregister(recorder)
