"""Simulated customers in the sandbox against the real receiver and processor."""

import httpx


def add_code(wired, state="lc:1", users=3):
    return wired.service.client.add_contact_way(2, 2, user=wired.staff_ids(users),
                                                state=state)["config_id"]


def test_scan_stores_the_contact_assigns_the_owner_and_sends_the_welcome(wired, wait):
    ws, sandbox = wired.ws, wired.sandbox
    config_id = add_code(wired)
    outcome = sandbox.people.scan_contact_way(config_id)
    wait(lambda: ws.contacts.count() == 1)
    contact = ws.contacts.df().iloc[0]
    assert contact["external_userid"] == outcome.external_userid
    assert contact["owner"] == outcome.userid
    wait(lambda: sandbox.world.welcomes)
    assert sandbox.world.welcomes[0].external_userid == outcome.external_userid
    assert sandbox.world.welcomes[0].text == "欢迎来到私域!"
    added = ws.events.df(kind="contact.added")
    assert added.iloc[0]["payload"]["state"] == "lc:1"


def test_replayed_callbacks_change_nothing_twice(wired, wait):
    ws, sandbox = wired.ws, wired.sandbox
    sandbox.faults.duplicate_rate = 1.0
    config_id = add_code(wired)
    for _ in range(3):
        sandbox.people.scan_contact_way(config_id)
    wait(lambda: ws.contacts.count() == 3)
    wait(lambda: len(sandbox.world.welcomes) == 3)
    assert len(ws.events.df(kind="contact.added")) == 3
    assert len(sandbox.world.welcomes) == 3


def test_customer_deleting_staff_marks_the_contact_removed(wired, wait):
    ws, sandbox = wired.ws, wired.sandbox
    outcome = sandbox.people.scan_contact_way(add_code(wired))
    wait(lambda: ws.contacts.count() == 1)
    sandbox.people.customer_deletes_staff(outcome.external_userid, outcome.userid)
    wait(lambda: len(ws.events.df(kind="contact.removed")) == 1)
    removed = ws.events.df(kind="contact.removed")
    assert removed.iloc[0]["payload"]["by"] == "customer"
    assert ws.contacts.count(active=False) == 1


def test_forged_callback_is_rejected_and_logged(wired, wait):
    import time

    ws = wired.ws
    answer = httpx.post(f"{wired.base}/wecom/callback",
                        params={"msg_signature": "0" * 40, "timestamp": str(int(time.time())),
                                "nonce": "x"},
                        content="<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")
    assert (answer.status_code, answer.text) == (403, "invalid signature")
    (counted,) = wired.service.rejections()  # counted per reason, not an event row each
    assert (counted.reason, counted.total, counted.sample_ip) == ("invalid signature", 1,
                                                                  "127.0.0.1")
    assert len(ws.events.df(kind="wecom.callback_rejected")) == 0
    assert ws.contacts.count() == 0


def test_url_verification_echoes_the_plaintext(wired, wait):
    result = wired.sandbox.verify_callback_url()
    assert result["ok"], result


def test_faults_lose_no_event_and_process_none_twice(wired, wait):
    ws, sandbox = wired.ws, wired.sandbox
    config_id = add_code(wired)
    sandbox.faults.set(error_rate=0.2, busy_rate=0.1, duplicate_rate=0.5, revoke_after=0.5)
    outcomes = [sandbox.people.scan_contact_way(config_id) for _ in range(20)]
    wait(lambda: len(ws.events.df(kind="contact.added")) == 20, timeout=60)
    stored = set(ws.contacts.df()["external_userid"])
    assert stored == {o.external_userid for o in outcomes}
    assert sandbox.faults.injected["duplicate"] > 0
    welcomed = [w.external_userid for w in sandbox.world.welcomes]
    assert len(welcomed) == len(set(welcomed))  # never greeted twice


def test_callbacks_stored_while_processing_is_down_are_applied_later(wired, wait):
    ws, sandbox = wired.ws, wired.sandbox
    wired.service.processor.stop()
    outcome = sandbox.people.scan_contact_way(add_code(wired))
    assert ws.contacts.count() == 0
    from siyu.plugins.wecom.status import callback_counts
    assert callback_counts(ws)["pending"] == 1
    wired.service.processor.start()
    wait(lambda: ws.contacts.count() == 1)
    assert ws.contacts.get(outcome.external_userid).external_userid == outcome.external_userid


def test_group_joins_and_quits_are_tracked_from_chat_events(wired, wait):
    from siyu.plugins.wecom.models import WeComGroupMember

    ws, sandbox = wired.ws, wired.sandbox
    config_id = next(iter(sandbox.world.join_ways))
    joined = sandbox.people.scan_join_way(config_id)
    wait(lambda: len(ws.events.df(kind="group.member_joined")) >= 1)
    chat_id = ws.events.df(kind="group.member_joined").iloc[0]["payload"]["chat_id"]
    with ws.engine.connect() as conn:
        members = {m.member_id: m for m in conn.execute(
            WeComGroupMember.__table__.select().where(WeComGroupMember.chat_id == chat_id))}
    assert joined.external_userid in members
    assert members[joined.external_userid].left_at is None
    sandbox.people.quit_group(chat_id, joined.external_userid)
    wait(lambda: len(ws.events.df(kind="group.member_left")) == 1)
    with ws.engine.connect() as conn:
        left = conn.execute(WeComGroupMember.__table__.select().where(
            WeComGroupMember.chat_id == chat_id,
            WeComGroupMember.member_id == joined.external_userid)).first()
    assert left.left_at is not None


def test_admin_tag_changes_are_mirrored(wired, wait):
    ws, sandbox = wired.ws, wired.sandbox
    sandbox.people.admin_adds_tags("会员等级", ["黑金"])
    wait(lambda: "会员等级/黑金" in ws.tags.names())
    frame = ws.tags.df().set_index("name")
    assert frame.loc["黑金", "source"] == "wecom"
