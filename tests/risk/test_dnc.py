"""The do-not-contact list: skipped at launch (and counted in the preview), blocked at send
time when added after the launch, listed with phones masked, changed only by roles that may
write data, all or nothing."""

from __future__ import annotations

import pytest

from siyu.core.errors import NotFound, PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.risk import dnc
from tests.risk.conftest import launch, send_due

HOSTILE = "<img src=x onerror=alert(1)>"


def analyst(ws):
    return ws.as_user(Principal("ana", "analyst"))


def test_listed_contacts_are_skipped_at_launch_and_counted_in_the_preview(rws, clock,
                                                                          rehearsal):
    assert dnc.add(rws, [1, 3, 5], reason="投诉") == 3
    rws.campaigns.create("双十二", channel="rehearsal", text="hi",
                         spec={"city": {"cities": ["上海"]}}, sender="zhangsan")
    preview = rws.campaigns.preview("双十二", now=clock.now)
    assert preview["selected"] == 100
    assert preview["reasons"] == {"do not contact": 3}
    assert preview["will_receive"] == 97
    rws.campaigns.launch("双十二", now=clock.now)
    skipped = rws.campaigns.deliveries("双十二", status="skipped")
    assert sorted(skipped["contact_id"]) == [1, 3, 5]
    assert set(skipped["reason"]) == {"do not contact"}
    send_due(rws, clock.now)
    assert rws.campaigns.counts("双十二") == {"sent": 97, "skipped": 3}
    assert {m.contact_id for m in rehearsal.sent}.isdisjoint({1, 3, 5})


def test_a_contact_added_after_the_launch_is_blocked_when_sent(rws, clock, rehearsal):
    launch(rws, "会员日", now=clock.now)
    dnc.add(rws, [7], reason=HOSTILE)
    send_due(rws, clock.now)
    assert rws.campaigns.counts("会员日") == {"sent": 99, "blocked": 1}
    blocked = rws.campaigns.deliveries("会员日", status="blocked")
    assert list(blocked["contact_id"]) == [7]
    [reason] = blocked["reason"]
    assert "dnc" in reason and HOSTILE in reason
    assert 7 not in {m.contact_id for m in rehearsal.sent}


def test_adding_twice_keeps_one_entry_and_removing_lets_them_receive_again(rws, clock):
    assert dnc.add(rws, [9, 11]) == 2
    assert dnc.add(rws, ["9", 11, 13]) == 1
    assert sorted(dnc.list(rws)["contact_id"]) == [9, 11, 13]
    assert dnc.remove(rws, [9, 11, 15]) == 2
    assert list(dnc.list(rws)["contact_id"]) == [13]
    launch(rws, "回归", now=clock.now)
    assert rws.campaigns.counts("回归") == {"queued": 99, "skipped": 1}


def test_an_unknown_contact_changes_nothing(rws):
    dnc.add(rws, [1])
    with pytest.raises(NotFound, match="999"):
        dnc.add(rws, [3, 999])
    with pytest.raises(NotFound, match="998"):
        dnc.remove(rws, [1, 998])
    with pytest.raises(ValidationError, match="abc"):
        dnc.add(rws, [3, "abc"])
    with pytest.raises(ValidationError, match="reason"):
        dnc.add(rws, [3], reason="x" * 201)
    assert list(dnc.list(rws)["contact_id"]) == [1]


def test_the_list_masks_phones_unless_revealed_by_a_role_that_may(ws):
    ws.contacts.upsert("wm1", name="王女士", phone="13812345678")
    contact_id = int(ws.contacts.df()["id"][0])
    dnc.add(ws, [contact_id], reason="要求不再联系")
    frame = dnc.list(ws)
    assert frame.loc[0, "phone"] == "138****5678"
    assert frame.loc[0, "name"] == "王女士" and frame.loc[0, "reason"] == "要求不再联系"
    assert frame.loc[0, "added_by"] == "local"
    assert str(frame["added_at"].dt.tz) == "Asia/Shanghai"
    assert dnc.list(ws, reveal_pii=True).loc[0, "phone"] == "13812345678"
    with pytest.raises(PermissionDenied):
        dnc.list(analyst(ws), reveal_pii=True)
    assert dnc.list(analyst(ws)).loc[0, "phone"] == "138****5678"


def test_an_analyst_may_read_the_list_but_not_change_it(ws):
    ws.contacts.upsert("wm1", name="客")
    with pytest.raises(PermissionDenied):
        dnc.add(analyst(ws), [1])
    dnc.add(ws, [1])
    with pytest.raises(PermissionDenied):
        dnc.remove(analyst(ws), [1])
    assert dnc.count(analyst(ws)) == 1


def test_changes_are_audited(ws):
    ws.contacts.upsert("wm1", name="客")
    dnc.add(ws, [1], reason="投诉")
    dnc.remove(ws, [1])
    actions = list(ws.audit_log.df()["action"])
    assert "risk.dnc.add" in actions and "risk.dnc.remove" in actions
