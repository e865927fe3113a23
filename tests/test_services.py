"""The core services behave as a notebook user expects, on both engines."""

from datetime import UTC, datetime

import pytest

from siyu.core.errors import NotFound, ValidationError


def test_upsert_by_external_userid_creates_once(sample_world):
    ws = sample_world
    first, created = ws.contacts.upsert("wm1", name="小王", owner="zhangsan")
    again, created_again = ws.contacts.upsert("wm1", name="王先生")
    assert created and not created_again and first.id == again.id
    assert ws.contacts.get("wm1").name == "王先生"
    assert ws.contacts.count() == 1


def test_contact_times_are_aware_utc_and_shown_in_workspace_timezone(ws):
    ws.contacts.upsert("wm1", added_at="2026-11-01T09:30")
    contact = ws.contacts.get("wm1")
    assert contact.added_at == datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    shown = ws.contacts.df()["added_at"].iloc[0]
    assert str(shown.tz) == "Asia/Shanghai" and shown.hour == 9


def test_unknown_owner_is_named(ws):
    with pytest.raises(NotFound, match="nobody"):
        ws.contacts.upsert("wm1", owner="nobody")
    assert ws.contacts.count() == 0


def test_bad_gender_is_rejected(ws):
    with pytest.raises(ValidationError, match="gender"):
        ws.contacts.upsert("wm1", gender="x")


def test_unknown_field_is_rejected(ws):
    with pytest.raises(ValidationError, match="nickname"):
        ws.contacts.upsert("wm1", nickname="x")


def test_df_filters_run_in_sql(sample_world):
    ws = sample_world
    ws.contacts.upsert("wm1", owner="zhangsan", source_channel="抖音", city="上海",
                       added_at="2026-10-01")
    ws.contacts.upsert("wm2", owner="lisi", source_channel="天猫", city="北京",
                       added_at="2026-11-01")
    ws.contacts.upsert("wm3", owner="zhangsan", source_channel="天猫",
                       added_at="2026-11-02")
    assert ws.contacts.df(owner="zhangsan")["external_userid"].tolist() == ["wm1", "wm3"]
    assert ws.contacts.df(channel="天猫", city="北京")["external_userid"].tolist() == ["wm2"]
    assert ws.contacts.count(added_since="2026-11-01") == 2
    assert ws.contacts.count(added_until="2026-11-01") == 1
    page = ws.contacts.df(limit=2, offset=1, columns=["external_userid", "owner"])
    assert list(page.columns) == ["external_userid", "owner"]
    assert page["external_userid"].tolist() == ["wm2", "wm3"]


def test_df_rejects_unknown_column(ws):
    with pytest.raises(ValidationError, match="bogus"):
        ws.contacts.df(columns=["bogus"])


def test_remove_is_recorded_once(ws):
    ws.contacts.upsert("wm1")
    ws.contacts.remove("wm1", by="customer")
    removed_at = ws.contacts.get("wm1").removed_at
    ws.contacts.remove("wm1", by="customer")
    assert ws.contacts.get("wm1").removed_at == removed_at
    assert ws.contacts.count(active=True) == 0 and ws.contacts.count(active=False) == 1


def test_tagging_in_bulk_and_filtering(ws):
    for i in range(5):
        ws.contacts.upsert(f"wm{i}")
    ws.tags.create("客户等级/VIP")
    added = ws.tags.tag(["wm0", "wm1", "wm2"], ["客户等级/VIP"])
    assert added == 3
    assert ws.tags.tag(["wm0"], ["客户等级/VIP"]) == 0
    assert ws.contacts.count(tag="客户等级/VIP") == 3
    assert ws.tags.of("wm1") == ["客户等级/VIP"]
    assert ws.tags.untag(["wm1"], ["客户等级/VIP"]) == 1
    assert ws.tags.df().set_index("name").loc["VIP", "contacts"] == 2


def test_unknown_tag_is_an_error_and_nothing_is_tagged(ws):
    ws.contacts.upsert("wm1")
    ws.tags.create("兴趣/护肤")
    with pytest.raises(NotFound, match="兴趣/彩妆"):
        ws.tags.tag(["wm1"], ["兴趣/护肤", "兴趣/彩妆"])
    assert ws.tags.of("wm1") == []


def test_unknown_contact_is_an_error_and_nothing_is_tagged(ws):
    ws.contacts.upsert("wm1")
    ws.tags.create("兴趣/护肤")
    with pytest.raises(NotFound, match="ghost"):
        ws.tags.tag(["wm1", "ghost"], ["兴趣/护肤"])
    assert ws.tags.of("wm1") == []


def test_replayed_event_is_stored_once(ws):
    contact, _ = ws.contacts.upsert("wm1")
    assert ws.events.record("contact.added", dedupe_key="wx:wm1:1", contact_id=contact.id)
    assert not ws.events.record("contact.added", dedupe_key="wx:wm1:1", contact_id=contact.id)
    assert len(ws.events.timeline("wm1")) == 1


def test_orders_are_unique_per_source_and_match_contacts_by_phone(ws):
    ws.contacts.upsert("wm1", phone="13800000001")
    order, created = ws.orders.add("T1", amount_fen=19900, paid_at="2026-11-01",
                                   source="tmall", buyer_phone="138 0000 0001")
    _, again = ws.orders.add("T1", amount_fen=19900, paid_at="2026-11-01", source="tmall")
    _, other_source = ws.orders.add("T1", amount_fen=100, paid_at="2026-11-01", source="jd")
    assert created and not again and other_source
    assert order.contact_id == ws.contacts.get("wm1").id
    assert ws.orders.summary(source="tmall") == {"orders": 1, "buyers": 1,
                                                 "revenue_fen": 19900}


@pytest.mark.parametrize("amount", [-1, 19.9, "100"])
def test_order_amount_must_be_whole_fen(ws, amount):
    with pytest.raises(ValidationError, match="fen"):
        ws.orders.add("T1", amount_fen=amount, paid_at="2026-11-01")


def test_segment_rules_compile_to_sql(sample_world):
    from siyu.core.segments import S

    ws = sample_world
    ws.contacts.upsert("wm1", city="上海", owner="zhangsan")
    ws.contacts.upsert("wm2", city="北京", owner="wangwu")
    ws.orders.add("o1", amount_fen=100, paid_at="2026-11-01", contact="wm2")
    for spec, expected in [(S.city("上海"), ["wm1"]), (S.owner("wangwu"), ["wm2"]),
                           (S.store("SH001"), []), (S.orders(), ["wm2"]),
                           (S.friend(), ["wm1", "wm2"])]:
        got = ws.segments.df(spec, columns=["external_userid"])["external_userid"].tolist()
        assert sorted(got) == expected, spec


def test_concurrent_writers_creating_one_tag_share_it(ws):
    import threading

    names = [f"渠道/并发{i}" for i in range(5)]
    barrier, errors, made = threading.Barrier(6), [], []

    def create():
        barrier.wait()
        try:
            made.extend(ws.tags.create(name).id for name in names)
        except Exception as exc:  # the test reports any writer's failure
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(n for n in ws.tags.names() if "并发" in n) == names
    assert len(set(made)) == len(names)
