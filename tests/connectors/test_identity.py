"""Identity resolution of connector syncs: members linked to the contacts they already are,
conflicts and unmatched buyers queued, resolved by hand and undone."""

from __future__ import annotations

import types

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import NotFound, ValidationError
from siyu.core.permissions import Principal
from siyu.core.plugins import hookimpl
from siyu.core.records import ConnectorSetting, ConnectorSpec, SourcePage
from siyu.plugins import connectors
from siyu.plugins.connectors import identity
from siyu.storage.models import Contact, ContactStats, Order

#: What the fake source serves, per entity; tests fill it.
SOURCE: dict[str, list[dict]] = {"members": [], "orders": []}
CHANGED: list[dict] = []


def _read(settings, entity, cursor):
    done = (cursor or {}).get("done", 0)
    rows = SOURCE[entity][done:]
    if rows:
        yield SourcePage(rows, {"done": done + len(rows)})


def _plugin():
    module = types.ModuleType("memory_source")

    @hookimpl
    def register_connectors():
        return [ConnectorSpec("memory", "In memory", _read,
                              settings=(ConnectorSetting("label", "Label"),))]

    @hookimpl
    def on_order_changed(ws, order, changes, delivery_id):
        CHANGED.append({"order": order.external_id, **changes})

    module.register_connectors = register_connectors
    module.on_order_changed = on_order_changed
    return module


MAPPING = {"members": {"member_id": "no", "name": "name", "phone": "mobile",
                       "unionid": "unionid"},
           "orders": {"external_id": "order", "amount_fen": "fen", "paid_at": "at",
                      "member_id": "member", "buyer_phone": "mobile"}}


@pytest.fixture
def crm(db_url):
    SOURCE["members"], SOURCE["orders"] = [], []
    CHANGED.clear()
    ws = siyu.open(db_url, plugins=[_plugin()], load_entry_points=False)
    connectors.add(ws, "crm", "memory", mapping=MAPPING, entities="members,orders")
    yield ws
    ws.close()


def contact(ws, **values) -> int:
    return ws.contacts.upsert(values.pop("external_userid", None), **values)[0].id


def member_of(ws, contact_id: int) -> str | None:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(Contact.member_id).where(Contact.id == contact_id)
                            ).scalar()


def count_contacts(ws) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Contact)).scalar()


def test_a_member_is_linked_to_the_wecom_contact_with_its_unionid(crm):
    wechat = contact(crm, external_userid="wmA", name="微信昵称", unionid="oU-1")
    SOURCE["members"] = [{"no": "M1", "name": "王芳", "mobile": "13800000001",
                          "unionid": "oU-1"}]
    run = connectors.sync(crm, "crm", "members", progress=False).runs[0]
    assert (run.status, run.created, run.updated, run.queued) == ("ok", 0, 1, 0)
    assert count_contacts(crm) == 1
    assert member_of(crm, wechat) == "M1"
    assert crm.contacts.get(wechat).name == "王芳"
    made = identity.links(crm)
    assert made[["contact_id", "how", "matched_by", "member_id"]].values.tolist() == [
        [wechat, "auto", "unionid", "M1"]]


def test_a_member_whose_keys_point_at_two_contacts_waits_for_a_person(crm):
    by_phone = contact(crm, external_userid="wmA", phone="13800000001")
    by_union = contact(crm, external_userid="wmB", unionid="oU-2")
    SOURCE["members"] = [{"no": "M2", "name": "李强", "mobile": "13800000001",
                          "unionid": "oU-2"},
                         {"no": "M3", "name": "新会员", "mobile": "13900000003",
                          "unionid": None}]
    run = connectors.sync(crm, "crm", "members", progress=False).runs[0]
    assert (run.created, run.queued) == (1, 1)          # M3 is new; M2 is queued
    waiting = identity.queue(crm)
    assert waiting[["entity", "reason", "member_id", "candidates"]].values.tolist() == [
        ["members", "conflict", "M2", [by_phone, by_union]]]
    assert "different contacts" in waiting["detail"][0]

    link = identity.resolve(crm, int(waiting["id"][0]), by_union)
    assert member_of(crm, by_union) == "M2" and member_of(crm, by_phone) is None
    assert crm.contacts.get(by_union).name == "李强"   # the member's fields stored
    assert identity.queue(crm).empty

    identity.undo(crm, link)
    assert member_of(crm, by_union) is None
    assert identity.queue(crm)["member_id"].tolist() == ["M2"]   # open again
    with pytest.raises(ValidationError, match="undone already"):
        identity.undo(crm, link)


def test_a_contact_that_is_already_another_member_is_not_taken_over(crm):
    holder = contact(crm, external_userid="wmA", phone="13800000001", member_id="OLD-1")
    SOURCE["members"] = [{"no": "M4", "name": "x", "mobile": "13800000001", "unionid": ""}]
    run = connectors.sync(crm, "crm", "members", progress=False).runs[0]
    assert run.queued == 1 and member_of(crm, holder) == "OLD-1"
    assert "already member OLD-1" in identity.queue(crm)["detail"][0]


def test_an_undone_automatic_match_is_queued_not_made_again(crm):
    wechat = contact(crm, external_userid="wmA", unionid="oU-5")
    SOURCE["members"] = [{"no": "M5", "name": "赵", "mobile": "", "unionid": "oU-5"}]
    connectors.sync(crm, "crm", "members", progress=False)
    identity.undo(crm, int(identity.links(crm)["id"][0]))
    assert member_of(crm, wechat) is None
    connectors.reset(crm, "crm", "members")
    run = connectors.sync(crm, "crm", "members", progress=False).runs[0]
    assert run.queued == 1 and member_of(crm, wechat) is None
    assert "undid" in identity.queue(crm)["detail"][0]


def test_orders_whose_buyer_matches_nobody_are_queued_and_given_by_hand(crm):
    buyer = contact(crm, external_userid="wmA", name="陈静")
    SOURCE["orders"] = [
        {"order": "O1", "fen": 1000, "at": "2026-11-01 10:00", "member": "M9",
         "mobile": ""},
        {"order": "O2", "fen": 2500, "at": "2026-11-02 10:00", "member": "M9",
         "mobile": ""},
        {"order": "O3", "fen": 700, "at": "2026-11-03 10:00", "member": "", "mobile": ""}]
    run = connectors.sync(crm, "crm", "orders", progress=False).runs[0]
    assert (run.created, run.queued) == (3, 1)          # O3 has nothing to match it by
    waiting = identity.queue(crm)
    assert waiting[["entity", "reason", "member_id", "orders"]].values.tolist() == [
        ["orders", "unmatched", "M9", 2]]

    SOURCE["orders"].append({"order": "O4", "fen": 300, "at": "2026-11-04 10:00",
                             "member": "M9", "mobile": ""})
    connectors.sync(crm, "crm", "orders", progress=False)
    again = identity.queue(crm)
    assert len(again) == 1 and int(again["orders"][0]) == 3 and int(again["seen"][0]) == 2

    link = identity.resolve(crm, int(again["id"][0]), "wmA")
    with crm.engine.connect() as conn:
        owners = dict(conn.execute(sa.select(Order.external_id, Order.contact_id)).all())
        spent = conn.execute(sa.select(ContactStats.revenue_fen)
                             .where(ContactStats.contact_id == buyer)).scalar()
    assert owners == {"O1": buyer, "O2": buyer, "O3": None, "O4": buyer}
    assert spent == 3800
    assert member_of(crm, buyer) == "M9"                # later orders match by themselves
    assert sorted(c["order"] for c in CHANGED) == ["O1", "O2", "O4"]
    assert CHANGED[0]["contact_id"] == [None, buyer]

    identity.undo(crm, link)
    with crm.engine.connect() as conn:
        owners = dict(conn.execute(sa.select(Order.external_id, Order.contact_id)).all())
        spent = conn.execute(sa.select(ContactStats.revenue_fen)
                             .where(ContactStats.contact_id == buyer)).scalar()
    assert set(owners.values()) == {None} and not spent
    assert member_of(crm, buyer) is None


def test_the_identity_order_decides_which_keys_may_match(crm):
    crm.settings.set("identity.order", ["external_userid", "unionid", "member_id"])
    wechat = contact(crm, external_userid="wmA", phone="13800000001")
    SOURCE["members"] = [{"no": "M6", "name": "x", "mobile": "13800000001", "unionid": ""}]
    run = connectors.sync(crm, "crm", "members", progress=False).runs[0]
    assert (run.created, run.queued) == (1, 0) and member_of(crm, wechat) is None


def test_the_queue_masks_phones_for_a_role_without_pii_and_checks_its_input(crm):
    contact(crm, external_userid="wmA", phone="13800000001")
    contact(crm, external_userid="wmB", unionid="oU-7")
    SOURCE["members"] = [{"no": "M7", "name": "x", "mobile": "13800000001",
                          "unionid": "oU-7"}]
    connectors.sync(crm, "crm", "members", progress=False)
    assert identity.queue(crm)["phone"][0] == "13800000001"
    analyst = crm.as_user(Principal("ann", "analyst"))
    assert identity.queue(analyst)["phone"][0] == "138****0001"
    item = int(identity.queue(crm)["id"][0])
    with pytest.raises(siyu.core.errors.PermissionDenied):
        identity.resolve(analyst, item, "wmA")
    with pytest.raises(NotFound):
        identity.resolve(crm, item, "wm-nobody")
    with pytest.raises(NotFound):
        identity.resolve(crm, 999_999, "wmA")
    identity.dismiss(crm, item)
    with pytest.raises(ValidationError, match="dismissed"):
        identity.resolve(crm, item, "wmA")


def test_matching_a_queued_member_gives_it_the_orders_that_waited_for_it(crm):
    by_phone = contact(crm, external_userid="wmA", phone="13800000001")
    by_union = contact(crm, external_userid="wmB", unionid="oU-8")
    SOURCE["members"] = [{"no": "M8", "name": "周", "mobile": "13800000001",
                          "unionid": "oU-8"}]
    SOURCE["orders"] = [{"order": "O8", "fen": 880, "at": "2026-11-08 10:00", "member": "M8",
                         "mobile": ""}]
    runs = connectors.sync(crm, "crm", progress=False).runs
    assert [run.queued for run in runs] == [1, 1]      # the member, then its buyer
    member = identity.queue(crm).query("entity == 'members'")
    link = identity.resolve(crm, int(member["id"].iloc[0]), by_phone)
    assert identity.queue(crm).empty                    # the buyer's item went with it
    with crm.engine.connect() as conn:
        assert conn.execute(sa.select(Order.contact_id)).scalar() == by_phone
    identity.undo(crm, link)
    with crm.engine.connect() as conn:
        assert conn.execute(sa.select(Order.contact_id)).scalar() is None
    assert sorted(identity.queue(crm)["entity"]) == ["members", "orders"]
    assert member_of(crm, by_union) is None  # the other candidate was never touched
