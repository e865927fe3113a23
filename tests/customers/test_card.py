"""The customer card of the notebook door: every section's content for a customer with a
bit of everything (see conftest), phones masked by role, JSON and frames, unknown contacts,
and hostile names escaped on the page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from siyu.core.errors import NotFound, PermissionDenied
from siyu.core.permissions import Principal
from siyu.plugins import customers

from .world import HOSTILE, at

ADMIN = Principal("root", "admin")
ANALYST = Principal("ann", "analyst")
OPERATOR = Principal("otto", "operator")


def recent(value) -> bool:
    """``value`` is a time of this test run (written with the current time)."""
    return abs(datetime.now(UTC) - value) < timedelta(minutes=5)


def test_the_profile_holds_the_contact_with_its_store_and_custom_fields(shop):
    card = customers.card(shop.ws.as_user(ADMIN), shop.contact_id)
    assert card.profile == {
        "id": shop.contact_id, "name": "王小明", "external_userid": "wm001",
        "unionid": "un001", "phone": "13800000001", "gender": 1, "city": "上海",
        "member_id": "M001", "source_channel": "抖音", "remark": "老客户", "store": "SH001",
        "store_name": "上海南京西路店", "added_at": at(1), "removed_at": None,
        "removed": False, "fields": {"会员等级": "金卡", "生日": "1990-05-01"}}
    assert card.title == "王小明" and not card.phone_masked


def test_an_analyst_sees_the_phone_masked_and_an_admin_in_full(shop):
    analyst = customers.card(shop.ws.as_user(ANALYST), shop.contact_id)
    assert analyst.profile["phone"] == "138****0001" and analyst.phone_masked
    assert "13800000001" not in json.dumps(analyst.to_dict(), ensure_ascii=False)
    operator = customers.card(shop.ws.as_user(OPERATOR), shop.contact_id)
    assert operator.profile["phone"] == "138****0001"
    admin = customers.card(shop.ws.as_user(ADMIN), shop.contact_id)
    assert admin.profile["phone"] == "13800000001"
    masked = customers.card(shop.ws.as_user(ADMIN), shop.contact_id, reveal_pii=False)
    assert masked.profile["phone"] == "138****0001"
    with pytest.raises(PermissionDenied, match="ann"):
        customers.card(shop.ws.as_user(ANALYST), shop.contact_id, reveal_pii=True)


def test_the_owner_and_every_follower_with_who_ended_a_friendship(shop):
    card = customers.card(shop.ws, shop.contact_id)
    assert card.owner == {"userid": "wangwu", "name": "王五", "since": at(7), "pinned": True}
    assert card.followers == [
        {"userid": "zhangsan", "name": "张三", "owner": False, "pinned": False,
         "added_at": at(1), "state": "lc:spring", "remark": "VIP", "deleted_at": None,
         "deleted_by": None},
        {"userid": "lisi", "name": "李四", "owner": False, "pinned": False, "added_at": at(2),
         "state": "", "remark": "", "deleted_at": at(6), "deleted_by": "customer"},
        {"userid": "wangwu", "name": "王五", "owner": True, "pinned": True, "added_at": at(7),
         "state": "", "remark": "", "deleted_at": None, "deleted_by": None}]


def test_the_owner_history_holds_choices_and_transfers_newest_first(shop):
    history = customers.card(shop.ws.as_user(ADMIN), shop.contact_id).owner_history
    chosen, refused, transferred = history
    assert recent(chosen.pop("at"))
    assert chosen == {"from": "zhangsan", "from_name": "张三", "to": "wangwu",
                      "to_name": "王五", "how": "chosen", "status": "", "by": "local",
                      "note": ""}
    assert refused == {"at": at(9), "from": "wangwu", "from_name": "王五", "to": "lisi",
                       "to_name": "李四", "how": "transfer", "status": "refused", "by": "",
                       "note": "customer_refused"}
    assert transferred == {"at": at(8), "from": "zhangsan", "from_name": "张三",
                           "to": "wangwu", "to_name": "王五", "how": "transfer",
                           "status": "taken_over", "by": "", "note": ""}


def test_who_chose_an_owner_is_kept_from_roles_without_the_audit_log(shop):
    history = customers.card(shop.ws.as_user(ANALYST), shop.contact_id).owner_history
    assert [(e["how"], e["by"]) for e in history] == [("chosen", ""), ("transfer", ""),
                                                      ("transfer", "")]


def test_a_takeover_and_its_own_owner_choice_are_one_entry(shop):
    ws = shop.ws
    ws.events.record("contact.transferred", dedupe_key="card-test:takeover",
                     contact_id=shop.contact_id, occurred_at=datetime.now(UTC),
                     payload={"from": "zhangsan", "to": "wangwu"})
    history = customers.card(ws, shop.contact_id).owner_history
    assert [(e["how"], e["status"]) for e in history] == [
        ("transfer", "taken_over"), ("transfer", "refused"), ("transfer", "taken_over")]


def test_a_member_wecom_reports_handed_over_shows_without_a_successor(shop):
    ws = shop.ws
    ws.events.record("contact.transferred_away", dedupe_key="card-test:away",
                     contact_id=shop.contact_id, occurred_at=at(20),
                     payload={"userid": "lisi", "change_type": "del_external_contact"})
    card = customers.card(ws, shop.contact_id)
    assert card.owner_history[1] == {
        "at": at(20), "from": "lisi", "from_name": "李四", "to": "", "to_name": "",
        "how": "transfer", "status": "taken_over", "by": "", "note": ""}
    assert (at(20), "contact.transferred_away",
            "李四 (lisi) handed the customer over by transfer") in set(
        card.timeline.itertuples(index=False, name=None))


def test_tags_by_group_and_name(shop):
    tags = customers.card(shop.ws, shop.contact_id).tags
    assert [(t["group"], t["name"], t["source"]) for t in tags] == [
        ("会员", "金卡", "manual"), ("渠道", "抖音", "manual")]
    assert all(recent(t["tagged_at"]) for t in tags)


def test_orders_newest_first_and_their_totals(shop):
    card = customers.card(shop.ws, shop.contact_id)
    assert list(card.orders.columns) == ["source", "external_id", "amount_fen",
                                         "refunded_fen", "status", "paid_at", "store",
                                         "store_name", "staff"]
    assert card.orders.drop(columns="paid_at").to_dict("records") == [
        {"source": "jd", "external_id": "J3", "amount_fen": 5000, "refunded_fen": 0,
         "status": "cancelled", "store": None, "store_name": None, "staff": None},
        {"source": "tmall", "external_id": "T2", "amount_fen": 10000, "refunded_fen": 2500,
         "status": "partially_refunded", "store": "SH001", "store_name": "上海南京西路店",
         "staff": None},
        {"source": "tmall", "external_id": "T1", "amount_fen": 19900, "refunded_fen": 0,
         "status": "paid", "store": "SH001", "store_name": "上海南京西路店",
         "staff": "zhangsan"}]
    assert list(card.orders["paid_at"]) == [at(4, 4), at(3, 4), at(2, 4)]
    assert card.order_totals == {"orders": 3, "paid_orders": 2, "revenue_fen": 27400,
                                 "refunded_fen": 2500, "average_order_fen": 13700,
                                 "first_order_at": at(2, 4), "last_order_at": at(3, 4)}


def test_the_totals_count_every_order_when_the_card_lists_only_the_newest(shop, monkeypatch):
    from siyu.plugins.customers import reads

    monkeypatch.setattr(reads, "ORDERS_LIMIT", 2)
    card = customers.card(shop.ws, shop.contact_id)
    assert card.orders["external_id"].tolist() == ["J3", "T2"]
    assert (card.order_totals["orders"], card.order_totals["refunded_fen"]) == (3, 2500)


def test_the_timeline_tells_the_journey_newest_first(shop):
    timeline = customers.card(shop.ws, shop.contact_id).timeline
    assert list(timeline.columns) == ["time", "kind", "what"]
    assert list(timeline.itertuples(index=False, name=None)) == [
        (at(8), "contact.transferred", "Transferred from 张三 (zhangsan) to 王五 (wangwu)"),
        (at(6), "contact.follow_removed", "The customer deleted 李四 (lisi)"),
        (at(5), "campaign.sent", "Campaign 双11预热 sent by 张三 (zhangsan) through wecom"),
        (at(4, 4), "order.cancelled", "Order J3 (jd), ¥50.00, cancelled"),
        (at(3, 4), "order.paid", "Order T2 (tmall), ¥100.00, ¥25.00 refunded"),
        (at(2, 4), "order.paid", "Order T1 (tmall), ¥199.00"),
        (at(2, 3), "group.member_joined", "Joined group chat VIP 客户群"),
        (at(1), "contact.added", "Added by 张三 (zhangsan) through live code 春季海报")]


def test_an_imported_contact_starts_its_timeline_when_it_was_added(shop):
    card = customers.card(shop.ws, shop.other_id)
    assert list(card.timeline.itertuples(index=False, name=None)) == [
        (at(3), "contact.added", "Added")]
    assert card.owner is None and card.followers == [] and card.owner_history == []
    assert card.orders.empty and card.order_totals == {
        "orders": 0, "paid_orders": 0, "revenue_fen": 0, "refunded_fen": 0,
        "average_order_fen": None, "first_order_at": None, "last_order_at": None}
    assert card.risk_notes == [] and card.tags == []


def test_risk_notes_are_the_do_not_contact_entry_and_the_messages_held_back(shop):
    notes = customers.card(shop.ws, shop.contact_id).risk_notes
    listed, skipped, blocked = notes
    assert recent(listed.pop("at"))
    assert listed == {"kind": "do_not_contact", "campaign": "", "reason": "投诉",
                      "by": "local"}
    assert skipped == {"at": at(12), "kind": "skipped", "campaign": "会员日",
                       "reason": "do not contact", "by": ""}
    assert blocked == {"at": at(11), "kind": "blocked", "campaign": "双11返场",
                       "reason": "sensitive word: 稳赚", "by": ""}


def test_a_contact_is_found_by_external_userid_or_by_id_given_as_text(shop):
    assert customers.card(shop.ws, "wm001").contact_id == shop.contact_id
    assert customers.card(shop.ws, str(shop.contact_id)).contact_id == shop.contact_id


@pytest.mark.parametrize("contact", [999, 2**40, "99999999999", "wm-nobody", "", True])
def test_an_unknown_contact_is_named_in_the_error(shop, contact):
    with pytest.raises(NotFound, match=r"unknown contact .*contact id"):
        customers.card(shop.ws, contact)


def test_to_dict_is_json_with_iso_times_and_fen(shop):
    data = json.loads(json.dumps(customers.card(shop.ws, shop.contact_id).to_dict()))
    assert data["profile"]["added_at"] == "2026-11-01T02:00:00+00:00"
    assert data["orders"][0] == {"source": "jd", "external_id": "J3", "amount_fen": 5000,
                                 "refunded_fen": 0, "status": "cancelled",
                                 "paid_at": "2026-11-04T04:00:00+00:00", "store": None,
                                 "store_name": None, "staff": None}
    assert data["order_totals"]["revenue_fen"] == 27400
    assert data["timeline"][-1]["kind"] == "contact.added"
    assert set(data) == {"profile", "owner", "followers", "owner_history", "tags", "orders",
                         "order_totals", "timeline", "risk_notes", "phone_masked"}


def test_frames_give_every_section_as_a_dataframe(shop):
    frames = customers.card(shop.ws, shop.contact_id).frames()
    assert {name: len(frame) for name, frame in frames.items()} == {
        "profile": 1, "fields": 2, "followers": 3, "owner_history": 3, "tags": 2,
        "orders": 3, "order_totals": 1, "timeline": 8, "risk_notes": 3}
    assert all(isinstance(frame, pd.DataFrame) for frame in frames.values())
    assert frames["fields"].to_dict("records") == [{"name": "会员等级", "value": "金卡"},
                                                   {"name": "生日", "value": "1990-05-01"}]


def test_find_searches_name_phone_member_id_and_external_userid(shop):
    analyst = shop.ws.as_user(ANALYST)
    by_name = customers.find(analyst, "小明")
    assert by_name[["id", "name", "phone", "member_id", "owner"]].to_dict("records") == [
        {"id": shop.contact_id, "name": "王小明", "phone": "138****0001",
         "member_id": "M001", "owner": "wangwu"}]
    for term in ("M001", "wm001", "0001", "138****0001"):
        assert customers.find(analyst, term)["id"].tolist() == [shop.contact_id], term
    assert customers.find(shop.ws, "13800000001")["phone"].tolist() == ["13800000001"]
    assert customers.find(analyst, "nobody at all").empty
    with pytest.raises(PermissionDenied, match="last four digits"):
        customers.find(analyst, "13800000001")


def test_hostile_names_are_escaped_on_the_page(shop):
    from siyu.plugins.customers.pages import CustomerCardPage

    page = CustomerCardPage(shop.ws.as_user(ADMIN), contact=shop.hostile_id)
    title = str(page.view.title.object)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in title and HOSTILE not in title
    assert HOSTILE not in str(page.view.profile.object)
