"""The world of the customer-card tests: a shop whose customer 王小明 has a bit of
everything a card shows — follows (one ended), an owner chosen by hand, a transfer WeCom
reported and one the customer refused, tags, orders (paid, partly refunded, cancelled), a
live code, a group chat, campaign messages (sent, blocked, skipped) and a place on the
do-not-contact list — beside an imported contact and one with a hostile name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from siyu.plugins.risk import dnc
from siyu.storage.models import Campaign, ContactField, Delivery

HOSTILE = "<script>alert(1)</script>"


def at(day: int, hour: int = 2, minute: int = 0) -> datetime:
    """2026-11-<day> <hour>:<minute> UTC (10:00 in Shanghai for hour 2)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@dataclass
class Shop:
    ws: object
    contact_id: int
    other_id: int
    hostile_id: int


def _table(ws, name):
    return next(t for m in ws.model_sets.values() for t in m.tables if t.name == name)


def _people(ws):
    ws.stores.upsert("SH001", "上海南京西路店", city="上海")
    for userid, name in (("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五")):
        ws.staff.upsert(userid, name, store="SH001")
    contact, _ = ws.contacts.upsert(
        "wm001", name="王小明", phone="13800000001", member_id="M001", city="上海", gender="男",
        store="SH001", source_channel="抖音", remark="老客户", unionid="un001",
        added_at=at(1), notify=False)
    other, _ = ws.contacts.upsert(None, name="导入客户", phone="13900000002",
                                  added_at=at(3), notify=False)
    hostile, _ = ws.contacts.upsert("wm666", name=HOSTILE, phone="13700000003", remark=HOSTILE,
                                    added_at=at(4), notify=False)
    with ws.engine.begin() as conn:
        conn.execute(ContactField.__table__.insert(), [
            {"contact_id": contact.id, "name": "会员等级", "value": "金卡"},
            {"contact_id": contact.id, "name": "生日", "value": "1990-05-01"}])
    return contact, other, hostile


def _follows(ws, contact_id):
    ws.follows.added(contact_id, "zhangsan", at=at(1), state="lc:spring", remark="VIP")
    ws.follows.added(contact_id, "lisi", at=at(2))
    ws.follows.deleted(contact_id, "lisi", at=at(6), by="customer")
    ws.follows.added(contact_id, "wangwu", at=at(7))
    ws.contacts.set_owner(contact_id, "wangwu")  # audited: contact.owner, was zhangsan


def _journey(ws, contact_id):
    with ws.engine.begin() as conn:
        conn.execute(_table(ws, "live_code").insert().values(
            name="春季海报", state="lc:spring", created_at=at(1), updated_at=at(1)))
        conn.execute(_table(ws, "wecom_group_chat").insert().values(
            chat_id="wrVIP", name="VIP 客户群", owner="zhangsan"))
        plan = conn.execute(_table(ws, "transfer_plan").insert().values(
            kind="onjob", handover="wangwu", successors="lisi", created_at=at(9))
        ).inserted_primary_key[0]
        conn.execute(_table(ws, "transfer_item").insert().values(
            plan_id=plan, kind="onjob", external_userid="wm001", contact_id=contact_id,
            handover="wangwu", takeover="lisi", status="refused", reason="customer_refused",
            requested_at=at(9), updated_at=at(10)))
    events = [
        ("contact.added", at(1), {"userid": "zhangsan", "state": "lc:spring"}),
        ("group.member_joined", at(2, 3), {"chat_id": "wrVIP", "member": "wm001", "scene": 1}),
        ("contact.follow_removed", at(6), {"userid": "lisi", "by": "customer"}),
        ("contact.transferred", at(8), {"from": "zhangsan", "to": "wangwu", "kind": "onjob"}),
    ]
    for n, (kind, when, payload) in enumerate(events):
        ws.events.record(kind, dedupe_key=f"card-test:{n}", contact_id=contact_id,
                         occurred_at=when, source="wecom", payload=payload)


def _orders(ws):
    ws.orders.upsert("tmall", "T1", amount_fen=19900, paid_at=at(2, 4), contact="wm001",
                     store="SH001", staff="zhangsan")
    ws.orders.upsert("tmall", "T2", amount_fen=10000, paid_at=at(3, 4), contact="wm001",
                     status="partially_refunded", refunded_fen=2500, store="SH001")
    ws.orders.upsert("jd", "J3", amount_fen=5000, paid_at=at(4, 4), contact="wm001",
                     status="cancelled")


def _campaigns(ws, contact_id):
    with ws.engine.begin() as conn:
        ids = [conn.execute(Campaign.__table__.insert().values(
            name=name, channel="wecom", status="done", audience={"targets": []},
            content={"text": "hi"}, created_at=at(5), updated_at=at(5))).inserted_primary_key[0]
            for name in ("双11预热", "双11返场", "会员日", "A/B 测试")]
        rows = [
            {"campaign_id": ids[0], "status": "sent", "sender": "zhangsan", "sent_at": at(5),
             "updated_at": at(5)},
            {"campaign_id": ids[1], "status": "blocked", "reason": "sensitive word: 稳赚",
             "updated_at": at(11)},
            {"campaign_id": ids[2], "status": "skipped", "reason": "do not contact",
             "updated_at": at(12)},
            {"campaign_id": ids[3], "status": "skipped", "reason": "holdout", "updated_at": at(12)},
        ]
        conn.execute(Delivery.__table__.insert(), [
            {"recipient": f"contact:{contact_id}", "contact_id": contact_id, "reason": "",
             "sender": None, "sent_at": None, **row} for row in rows])


def build_shop(ws) -> Shop:
    """The shop described in this module's docstring, in ``ws``."""
    contact, other, hostile = _people(ws)
    ws.tags.create("渠道/抖音")
    ws.tags.create("会员/金卡")
    ws.tags.tag(["wm001"], ["渠道/抖音", "会员/金卡"])
    _follows(ws, contact.id)
    _journey(ws, contact.id)
    _orders(ws)
    _campaigns(ws, contact.id)
    dnc.add(ws, [contact.id], reason="投诉")
    return Shop(ws, contact.id, other.id, hostile.id)
