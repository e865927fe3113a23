"""Segments on both engines: every rule family, the combinators, checking with paths,
saved segments with versions, snapshots, exports and the incremental stats."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from siyu.core.errors import ImportFailed, NotFound, PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.core.segments import S, SegmentError
from siyu.storage.models import ContactEventStats, ContactStats

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture
def shop(sample_world):
    """Six contacts with tags, orders and events at known times before NOW."""
    ws = sample_world
    people = {  # external_userid: fields
        "wm_a": dict(name="阿梅", city="上海", owner="zhangsan", store="SH001",
                     source_channel="douyin", gender=2, added_at=days_ago(200)),
        "wm_b": dict(name="白杨", city="上海", owner="lisi", store="SH001",
                     source_channel="tmall", gender=1, added_at=days_ago(100)),
        "wm_c": dict(name="陈晨", city="北京", owner="wangwu", store="BJ001",
                     source_channel="douyin", gender=2, added_at=days_ago(50)),
        "wm_d": dict(name="丁一", city="北京", owner="wangwu", store="BJ001",
                     source_channel="jd", gender=0, added_at=days_ago(10)),
        "wm_e": dict(name="鄂尔", city="广州", owner="zhangsan", store="SH001",
                     source_channel="douyin", gender=1, added_at=days_ago(5)),
        "wm_f": dict(name="方芳", city="上海", phone="13800000006", added_at=days_ago(400)),
    }
    for key, fields in people.items():
        ws.contacts.upsert(key, **fields)
    ws.contacts.remove("wm_f")
    ws.tags.tag(["wm_a", "wm_b"], ["客户等级/VIP"], create=True)
    ws.tags.tag(["wm_a", "wm_c"], ["兴趣/美妆"], create=True)
    ws.tags.tag(["wm_d"], ["兴趣/母婴"], create=True)
    orders = [("wm_a", 5, 10000), ("wm_a", 40, 20000), ("wm_a", 80, 30000),
              ("wm_b", 45, 5000), ("wm_b", 60, 5000), ("wm_c", 20, 50000),
              ("wm_d", 300, 900)]
    for i, (who, ago, fen) in enumerate(orders):
        ws.orders.upsert("shop", f"o{i}", amount_fen=fen, paid_at=days_ago(ago), contact=who)
    ws.orders.upsert("shop", "refunded", amount_fen=99900, paid_at=days_ago(3),
                     contact="wm_e", status="refunded")
    for i, (who, kind, ago) in enumerate([("wm_a", "group.joined", 10),
                                          ("wm_a", "group.joined", 70),
                                          ("wm_b", "group.joined", 90),
                                          ("wm_c", "livecode.scanned", 2),
                                          ("wm_d", "livecode.added", 30)]):
        ws.events.record(kind, dedupe_key=f"e{i}", contact_id=ws.contacts.get(who).id,
                         occurred_at=days_ago(ago))
    return ws


def members(ws, spec) -> list[str]:
    ids = set(ws.segments.df(spec, now=NOW, columns=["external_userid"])["external_userid"])
    return sorted(ids)


RULE_CASES = [
    (S.tag("客户等级/VIP"), ["wm_a", "wm_b"]),
    (S.tag("客户等级/VIP", "兴趣/美妆", match="all"), ["wm_a"]),
    (S.tag("客户等级/VIP", match="none"), ["wm_c", "wm_d", "wm_e", "wm_f"]),
    (S.tag(group="兴趣"), ["wm_a", "wm_c", "wm_d"]),
    (S.owner("wangwu"), ["wm_c", "wm_d"]),
    (S.store("SH001"), ["wm_a", "wm_b", "wm_e"]),
    (S.region("华北"), ["wm_c", "wm_d"]),
    (S.channel("douyin", "jd"), ["wm_a", "wm_c", "wm_d", "wm_e"]),
    (S.city("北京"), ["wm_c", "wm_d"]),
    (S.gender("female"), ["wm_a", "wm_c"]),
    (S.added(within_days=60), ["wm_c", "wm_d", "wm_e"]),
    (S.added(since="2026-01-01", until=days_ago(60).date().isoformat()), ["wm_a", "wm_b"]),
    (S.friend(), ["wm_a", "wm_b", "wm_c", "wm_d", "wm_e"]),
    (S.friend(False), ["wm_f"]),
    (S.event("group.joined"), ["wm_a", "wm_b"]),
    (S.event("group.joined", within_days=30), ["wm_a"]),
    (S.event("group.joined", min_count=2), ["wm_a"]),
    (S.event("group.joined", min_count=2, within_days=30), []),
    (S.event("group.joined", since=days_ago(95), until=days_ago(60)), ["wm_a", "wm_b"]),
    (S.event("livecode.*"), ["wm_c", "wm_d"]),
    (S.orders(), ["wm_a", "wm_b", "wm_c", "wm_d"]),
    (S.orders(within_days=30), ["wm_a", "wm_c"]),
    (S.orders(min_count=2, within_days=90), ["wm_a", "wm_b"]),
    (S.orders(min_count=2, within_days=90) & ~S.orders(within_days=30), ["wm_b"]),
    (S.orders(min_total_fen=50000), ["wm_a", "wm_c"]),
    (S.orders(min_total_fen=20000, within_days=60), ["wm_a", "wm_c"]),
    (S.orders(max_count=1), ["wm_c", "wm_d", "wm_e", "wm_f"]),
    (S.orders(min_count=0, within_days=30), ["wm_a", "wm_b", "wm_c", "wm_d", "wm_e", "wm_f"]),
    (S.orders(min_count=3, within_days=81), ["wm_a"]),
    (S.orders(min_count=3, within_days=79), []),
    (S.orders(min_count=4, within_days=365), []),
    (S.orders(min_count=2, since=days_ago(61).isoformat()), ["wm_a", "wm_b"]),
    (S.orders(max_count=1, within_days=90), ["wm_c", "wm_d", "wm_e", "wm_f"]),
    (S.orders(min_avg_fen=20000), ["wm_a", "wm_c"]),
    (S.orders(max_avg_fen=5000), ["wm_b", "wm_d"]),
    (S.orders(last_order_until=days_ago(100).isoformat()), ["wm_d"]),
    (S.orders(first_order_since=days_ago(50).isoformat()), ["wm_c"]),
    (S.orders(until=days_ago(100).isoformat()), ["wm_d"]),
    (S.channel("douyin") & ~S.orders(), ["wm_e"]),
    (S.city("上海") | S.owner("wangwu"), ["wm_a", "wm_b", "wm_c", "wm_d", "wm_f"]),
    (~(S.city("上海") | S.city("北京")), ["wm_e"]),
]


@pytest.mark.parametrize("spec, expected", RULE_CASES, ids=[json.dumps(s.to_dict(), default=str,
                                                                        ensure_ascii=False)
                                                             for s, _e in RULE_CASES])
def test_rule(shop, spec, expected):
    assert members(shop, spec) == expected
    assert shop.segments.count(spec, now=NOW) == len(expected)
    assert shop.segments.count(json.dumps(spec.to_dict(), default=str), now=NOW) == len(expected)


def test_rfm_scores_match_quintiles_computed_in_pandas(shop):
    frame = shop.segments.rfm(now=NOW)
    assert sorted(frame["contact_id"]) == sorted(shop.contacts.get(k).id
                                                 for k in ("wm_a", "wm_b", "wm_c", "wm_d"))
    stats = frame.sort_values("contact_id")

    def ntile(order_by):
        ranked = stats.sort_values([order_by, "contact_id"]).reset_index(drop=True)
        n = len(ranked)
        bucket = [min(5, 1 + (i * 5) // n) for i in range(n)]  # n=4 → 1, 2, 3, 4
        return dict(zip(ranked["contact_id"], bucket, strict=True))

    for column, by in (("r", "last_order_at"), ("f", "orders"), ("m", "revenue_fen")):
        assert dict(zip(stats["contact_id"], stats[column], strict=True)) == ntile(by), column
    top = stats.loc[stats["m"] == stats["m"].max(), "contact_id"].tolist()
    got = shop.segments.df(S.rfm(m=[int(stats["m"].max())]), now=NOW, columns=["id"])
    assert got["id"].tolist() == top
    per_store = shop.segments.rfm(per_store=True, now=NOW)
    assert set(per_store.loc[per_store["store"] == "BJ001", "r"]) == {1, 2}


def test_segment_membership_and_cycles(shop):
    ws = shop
    ws.segments.create("VIP", S.tag("客户等级/VIP"))
    ws.segments.create("VIP沪", S.segment("VIP") & S.city("上海"), description="上海的 VIP")
    assert members(ws, "VIP沪") == ["wm_a", "wm_b"]
    assert members(ws, ~S.segment("VIP沪")) == ["wm_c", "wm_d", "wm_e", "wm_f"]
    with pytest.raises(SegmentError, match="refers back to itself"):
        ws.segments.save("VIP", S.segment("VIP沪"))
    with pytest.raises(SegmentError, match="cannot contain itself"):
        ws.segments.save("VIP", S.segment("VIP") | S.city("北京"))
    with pytest.raises(ValidationError, match="VIP沪"):
        ws.segments.delete("VIP")
    assert ws.segments.get("VIP").version == 1  # nothing saved half-way


def test_checking_names_every_problem_with_its_path(shop):
    ws = shop
    with pytest.raises(SegmentError) as caught:
        ws.segments.count({"all": [S.city("上海").to_dict(), {"tag": {"tags": ["客户等级/VIPP"]}},
                                   {"orders": {"within_days": -3}}, {"ordrs": {}},
                                   {"any": []}, {"orders": {"min_count": "2"}},
                                   {"event": {"kind": "x", "within_days": 3, "bogus": 1}}]})
    problems = dict(caught.value.problems)
    assert problems["all[2].orders.within_days"] == "must be a positive integer, got -3"
    assert "'客户等级/VIP'" in problems["all[1].tag.tags"]
    assert "unknown rule 'ordrs'" in problems["all[3].ordrs"]
    assert "did you mean 'orders'?" in problems["all[3].ordrs"]
    assert problems["all[4].any"] == "needs at least one rule"
    assert problems["all[5].orders.min_count"] == "must be an integer, got '2'"
    assert "unknown field" in problems["all[6].event.bogus"]
    assert str(caught.value).startswith("all[1].tag.tags: unknown tag")


@pytest.mark.parametrize("spec, message", [
    ({"not": [1]}, "expected a rule or a group"),
    ({"city": {"cities": ["上海"]}, "tag": {}}, "exactly one key"),
    ({"added": {}}, "give within_days, since or until"),
    ({"added": {"since": "2026-02-01", "until": "2026-01-01"}}, "since must be before until"),
    ({"orders": {"min_count": 3, "max_count": 1}}, "min_count is more than max_count"),
    ({"rfm": {"r": [6]}}, "must be between 1 and 5, got 6"),
    ({"gender": {"gender": "x"}}, "must be one of"),
    ({"segment": {"name": "没有"}}, "unknown segment '没有'"),
    ("{not json", "not valid JSON"),
])
def test_bad_specs(shop, spec, message):
    with pytest.raises(SegmentError, match=message):
        shop.segments.count(spec)


def test_values_stay_bound_parameters(shop):
    hostile = "' OR 1=1 --"
    assert shop.segments.count(S.city(hostile)) == 0
    assert shop.segments.count(S.channel(hostile) | S.event(hostile)) == 0
    explained = shop.segments.explain(S.city(hostile) & S.orders(min_count=2, within_days=90),
                                      now=NOW)
    assert hostile not in explained["sql"] and hostile in explained["params"].values()
    assert explained["plan"]


def test_versions_restore_and_concurrent_saves(shop):
    ws = shop
    ws.segments.create("复购", S.orders(min_count=2))
    assert ws.segments.count("复购") == 2
    assert ws.segments.get("复购").last_count == 2
    saved = ws.segments.save("复购", S.orders(min_count=3), note="更严格")
    assert saved.version == 2 and saved.last_count is None
    assert ws.segments.count("复购") == 1
    history = ws.segments.versions("复购")
    assert history["version"].tolist() == [2, 1]
    assert history["note"].tolist()[0] == "更严格"
    restored = ws.segments.restore("复购", 1)
    assert restored.version == 3 and ws.segments.count("复购") == 2
    with pytest.raises(NotFound):
        ws.segments.restore("复购", 9)
    stale = ws.segments.get("复购")
    ws.segments.save("复购", S.orders(min_count=4))
    with pytest.raises(ValidationError, match="changed by someone else"):
        ws.segments._write_version(stale, S.orders(min_count=5).to_dict(), "", "")
    copy = ws.segments.duplicate("复购", "复购副本")
    assert copy.version == 1 and copy.spec == ws.segments.get("复购").spec
    with pytest.raises(ValidationError, match="exists already"):
        ws.segments.create("复购", S.friend())
    assert ws.segments.list()["name"].tolist() == ["复购", "复购副本"]
    ws.segments.delete("复购副本")
    with pytest.raises(NotFound):
        ws.segments.get("复购副本")


def test_snapshot_freezes_members(shop):
    ws = shop
    ws.segments.create("沪", S.city("上海") & S.friend())
    snap = ws.segments.snapshot("沪")
    before = ws.segments.snapshot_members(snap.id)
    assert snap.members == 2 and len(before) == 2 and snap.version == 1
    ws.contacts.upsert("wm_new", city="上海")
    assert ws.segments.count("沪") == 3
    assert ws.segments.snapshot_members(snap.id) == before


def test_export_masks_phones_unless_allowed_and_is_audited(shop, tmp_path):
    ws = shop
    spec = S.city("上海")
    analyst = ws.as_user(Principal("ana", "analyst"))
    path = analyst.segments.export(spec, tmp_path / "沪.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert "138****0006" in text and "13800000006" not in text
    with pytest.raises(PermissionDenied):
        analyst.segments.export(spec, tmp_path / "x.csv", reveal_pii=True)
    full = ws.segments.export(spec, tmp_path / "沪.xlsx", reveal_pii=True)
    assert "13800000006" in pd.read_excel(full, dtype=str)["phone"].tolist()
    with pytest.raises(ValidationError, match=".csv or .xlsx"):
        ws.segments.export(spec, tmp_path / "x.txt")
    exports = ws.audit_log.df(action="segment.export")
    assert len(exports) == 2 and set(exports["actor"]) == {"ana", "local"}


def test_analyst_builds_but_cannot_write_data(shop):
    analyst = shop.as_user(Principal("ana", "analyst"))
    analyst.segments.create("A", S.friend())
    assert analyst.segments.count("A") == 5
    with pytest.raises(PermissionDenied):
        analyst.segments.rebuild_stats()


def _stats(ws):
    with ws.engine.connect() as conn:
        orders = sorted(tuple(r) for r in conn.execute(sa.select(ContactStats.__table__)))
        events = sorted(tuple(r) for r in conn.execute(sa.select(ContactEventStats.__table__)))
    return orders, events


def test_incremental_stats_equal_a_full_recompute(shop, tmp_path):
    ws = shop
    rng = random.Random(7)
    people = [ws.contacts.get(k).id for k in ("wm_a", "wm_b", "wm_c", "wm_d", "wm_e")]
    for _step in range(60):
        action = rng.choice(["new", "refund", "partial", "move", "cancel", "event"])
        number = f"r{rng.randrange(15)}"
        amount = 1000 * rng.randrange(1, 20)
        if action == "event":
            ws.events.record(rng.choice(["a.b", "c.d"]), dedupe_key=f"rand{rng.randrange(40)}",
                             contact_id=rng.choice(people), occurred_at=days_ago(rng.random()
                                                                                  * 300))
            continue
        try:
            ws.orders.upsert("rand", number, amount_fen=amount,
                             paid_at=days_ago(rng.random() * 300),
                             contact=rng.choice(people),
                             status={"new": "paid", "refund": "refunded", "partial": "paid",
                                     "move": "paid", "cancel": "cancelled"}[action],
                             refunded_fen=amount // 2 if action == "partial" else None)
        except ValidationError:
            pass
    # and a re-import of some of them through the orders import
    csv = tmp_path / "orders.csv"
    rows = [{"订单号": f"r{i}", "金额": f"{i * 3 + 1}.50",
             "支付时间": f"2026-{rng.randrange(1, 12):02d}-0{rng.randrange(1, 9)} 10:00",
             "外部联系人ID": rng.choice(["wm_a", "wm_c", "wm_f", "wm_e"]),
             "订单状态": rng.choice(["paid", "paid", "已退款"])}
            for i in [*range(0, 15, 2), *range(100, 130)]]  # updates and new orders
    pd.DataFrame(rows).to_csv(csv, index=False)
    ws.imports.orders(csv, source="rand", progress=False)
    incremental = _stats(ws)
    assert len(incremental[0]) >= 4
    counts = ws.segments.rebuild_stats()
    assert _stats(ws) == incremental
    assert counts["contacts_with_orders"] == len(incremental[0])


def test_plugin_rules_compile_through_the_segment_hook(shop):
    """The live-code and WeCom plugins contribute rules the way a third party would."""
    from siyu.plugins.livecodes.models import LiveCode, LiveCodeAdd
    from siyu.plugins.wecom.models import WeComGroupChat, WeComGroupMember

    ws = shop
    a, c = ws.contacts.get("wm_a").id, ws.contacts.get("wm_c").id
    with ws.session() as s:
        s.add(LiveCode(id=7, name="抖音直播码", state="lc:7"))
        s.flush()
        s.add(LiveCodeAdd(code_id=7, state="lc:7", contact_id=a, at=days_ago(40)))
        s.add(LiveCodeAdd(code_id=7, state="lc:7", contact_id=c, at=days_ago(2)))
        s.add(WeComGroupChat(chat_id="wr1", name="会员福利群"))
        s.flush()
        s.add(WeComGroupMember(chat_id="wr1", member_id="wm_a", contact_id=a, type=2))
        s.add(WeComGroupMember(chat_id="wr1", member_id="wm_c", contact_id=c, type=2,
                               left_at=days_ago(1)))
    assert set(ws.segments.rules()) >= {"livecode", "group"}
    assert members(ws, S.rule("livecode", codes=["抖音直播码"])) == ["wm_a", "wm_c"]
    assert members(ws, S.rule("livecode", codes=["抖音直播码"], within_days=7)) == ["wm_c"]
    assert members(ws, S.rule("group", groups=["会员福利群"])) == ["wm_a"]
    assert members(ws, S.rule("group", groups=["会员福利群"], still_in=False)) == ["wm_a",
                                                                                  "wm_c"]
    with pytest.raises(SegmentError, match="livecode.codes: unknown live code '抖音直播'"):
        ws.segments.count(S.rule("livecode", codes=["抖音直播"]))


def test_bought_products_and_categories_from_order_lines(shop, tmp_path):
    ws = shop
    lines = tmp_path / "lines.csv"
    pd.DataFrame([{"订单号": "o0", "商品名称": "氨基酸洁面乳", "类目": "护肤", "数量": "2",
                   "小计": "100.00"},
                  {"订单号": "o0", "商品名称": "防晒霜", "类目": "护肤", "数量": "1",
                   "小计": "0"},
                  {"订单号": "o5", "商品名称": "口红", "类目": "彩妆", "数量": "", "小计": ""},
                  {"订单号": "o6", "商品名称": "纸尿裤", "类目": "母婴", "数量": "3",
                   "小计": "9.00"}]).to_csv(lines, index=False, encoding="utf-8-sig")
    report = ws.imports.order_lines(lines, source="shop", progress=False)
    assert report.created == 4
    again = ws.imports.order_lines(lines, source="shop", progress=False)  # replaces, no dupes
    assert again.created == 4 and len(ws.orders.lines(source="shop")) == 4
    assert members(ws, S.rule("bought", categories=["护肤"])) == ["wm_a"]
    assert members(ws, S.rule("bought", products=["口红", "纸尿裤"])) == ["wm_c", "wm_d"]
    assert members(ws, S.rule("bought", categories=["母婴"], within_days=90)) == []
    ws.orders.set_lines("shop", "o3", [{"product": "洁面乳", "category": "护肤",
                                        "quantity": 1, "amount_fen": 5000}])
    assert members(ws, S.rule("bought", categories=["护肤"])) == ["wm_a", "wm_b"]
    assert members(ws, S.rule("bought", categories=["护肤"], within_days=30)) == ["wm_a"]
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{"订单号": "nope", "商品": "x"}, {"订单号": "o1", "商品": "",
                                                  "数量": "-1"}]).to_csv(bad, index=False)
    with pytest.raises(ImportFailed) as caught:
        ws.imports.order_lines(bad, source="shop", progress=False)
    reasons = " ".join(p.reason for p in caught.value.problems)
    assert "no order 'nope' from source 'shop'" in reasons
    assert "needs a product or SKU" in reasons and "quantity '-1'" in reasons
    assert len(ws.orders.lines(source="shop")) == 5  # nothing half-written
    with pytest.raises(SegmentError, match="give products, SKUs or categories"):
        ws.segments.count(S.rule("bought"))


def test_custom_fields_imported_with_contacts(shop, tmp_path):
    ws = shop
    path = tmp_path / "members.csv"
    pd.DataFrame([{"外部联系人ID": "wm_a", "会员等级": "金卡", "生日": "1990-05-01",
                   "备注": "x"},
                  {"外部联系人ID": "wm_b", "会员等级": "银卡", "生日": "", "备注": ""},
                  {"外部联系人ID": "wm_new", "会员等级": "金卡会员", "生日": "1988-01-02",
                   "备注": ""}]).to_csv(path, index=False, encoding="utf-8-sig")
    report = ws.imports.contacts(path, custom_fields=["会员等级", "生日"], progress=False)
    assert report.created == 1 and not report.ignored_columns
    assert members(ws, S.rule("field", name="会员等级", equals=["金卡"])) == ["wm_a"]
    assert members(ws, S.rule("field", name="会员等级", contains="金卡")) == ["wm_a", "wm_new"]
    assert members(ws, S.rule("field", name="生日")) == ["wm_a", "wm_new"]
    # a re-import with an emptied cell removes that field; True keeps every other column
    pd.DataFrame([{"外部联系人ID": "wm_a", "会员等级": "", "星座": "金牛"}]).to_csv(
        path, index=False)
    ws.imports.contacts(path, custom_fields=True, progress=False)
    assert members(ws, S.rule("field", name="会员等级")) == ["wm_b", "wm_new"]
    assert members(ws, S.rule("field", name="星座", equals=["金牛"])) == ["wm_a"]
    with pytest.raises(SegmentError, match="unknown field '会员'.*'会员等级'"):
        ws.segments.count(S.rule("field", name="会员"))


def test_an_import_of_new_orders_folds_them_into_the_stats(shop, tmp_path):
    """New orders of buyers with stored stats (and of new buyers) are merged without a
    recompute; the result equals a full rebuild, the three most recent times included."""
    ws = shop
    csv = tmp_path / "new.csv"
    rows = [("n1", "wm_a", "2026-11-29 09:00", "paid"),
            ("n2", "wm_a", "2025-01-01 09:00", "paid"),
            ("n3", "wm_a", "2026-11-20 09:00", "已退款"),
            ("n4", "wm_f", "2026-06-01 09:00", "paid"),
            ("n5", "wm_f", "2026-06-02 09:00", "paid"),
            ("n6", "wm_d", "2026-11-28 08:00", "paid")]
    pd.DataFrame([{"订单号": n, "外部联系人ID": who, "金额": "10.00", "支付时间": at,
                   "订单状态": status} for n, who, at, status in rows]).to_csv(csv, index=False)
    ws.imports.orders(csv, source="pos", progress=False)
    incremental = _stats(ws)
    ws.segments.rebuild_stats()
    rebuilt = _stats(ws)
    assert rebuilt == incremental
    assert members(ws, S.orders(min_count=2, since="2026-11-01")) == ["wm_a"]
    assert members(ws, S.orders(min_count=3, since="2026-10-20")) == ["wm_a"]
    assert members(ws, S.orders(min_count=2, since="2026-05-31")) == ["wm_a", "wm_b", "wm_f"]


def test_folding_new_orders_keeps_every_microsecond(shop):
    """The vectorised merge keeps times exact: a time just past a whole second (stored to the
    microsecond) is not rounded through floating point to the microsecond before it."""
    from siyu.core.segments import stats

    ws = shop
    base = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    new = []
    with stats.suspended():
        for i, who in enumerate(["wm_a", "wm_a", "wm_f", "wm_d", "wm_a"]):
            paid = base + timedelta(seconds=i, microseconds=1 + 7 * i)
            order, _ = ws.orders.upsert("us", f"u{i}", amount_fen=100, paid_at=paid,
                                        contact=who)
            new.append({"contact_id": order.contact_id, "paid_at": paid, "net_fen": 100})
    with ws.engine.begin() as conn:
        stats.add_new_orders(conn, pd.DataFrame(new))
    incremental = _stats(ws)
    ws.segments.rebuild_stats()
    assert _stats(ws) == incremental


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_folding_random_batches_equals_a_rebuild(shop, seed):
    """Random batches of new orders (ties, times before and after the stored ones, contacts
    with no stats yet) merged into stored stats of every length give what a rebuild gives."""
    import random

    from siyu.core.segments import stats

    ws = shop
    rng = random.Random(seed)
    who = ["wm_a", "wm_b", "wm_c", "wm_d", "wm_e"]
    times = [days_ago(d) for d in (1, 2, 2, 3, 10, 30, 31, 90, 200)]
    serial = iter(range(10_000))
    for _round in range(4):
        batch = []
        with stats.suspended():
            for _ in range(rng.randint(1, 9)):
                paid = rng.choice(times)
                order, _ = ws.orders.upsert("rnd", f"r{next(serial)}", paid_at=paid,
                                            amount_fen=rng.randint(1, 999),
                                            contact=rng.choice(who))
                batch.append({"contact_id": order.contact_id, "paid_at": paid,
                              "net_fen": order.amount_fen})
        with ws.engine.begin() as conn:
            stats.add_new_orders(conn, pd.DataFrame(batch))
        incremental = _stats(ws)
        ws.segments.rebuild_stats()
        assert _stats(ws) == incremental


def test_single_new_orders_shift_the_recent_times_like_a_rebuild(shop):
    ws = shop
    for i, (who, ago) in enumerate([("wm_a", 1), ("wm_a", 60), ("wm_a", 90), ("wm_a", 500),
                                    ("wm_b", 50), ("wm_f", 7), ("wm_f", 9), ("wm_a", 1)]):
        ws.orders.upsert("one", f"s{i}", amount_fen=100 + i, paid_at=days_ago(ago),
                         contact=who)
    ws.orders.upsert("one", "s-refunded", amount_fen=100, paid_at=days_ago(0),
                     contact="wm_b", status="refunded")
    incremental = _stats(ws)
    ws.segments.rebuild_stats()
    assert _stats(ws) == incremental


@pytest.mark.parametrize("n", [1, 3, 5, 7, 23])
def test_rfm_rule_matches_the_window_scores_for_every_group_size(sample_world, n):
    """The rule finds groups by their boundary rows; the DataFrame ranks every contact with
    NTILE: both agree for every score set, whatever n % 5 is, ties included."""
    ws = sample_world
    for i in range(n):
        ws.contacts.upsert(f"wm{i}")
        for k in range(1 + i % 3):  # frequency ties
            ws.orders.upsert("t", f"{i}-{k}", amount_fen=100 * (i % 4), contact=f"wm{i}",
                             paid_at=days_ago(i % 5 + k))
    scores = ws.segments.rfm(now=NOW).set_index("contact_id")
    for spec in ({"r": [5]}, {"f": [1, 2]}, {"m": [2, 4]}, {"r": [3, 4, 5], "f": [1]},
                 {"m": [1, 2, 3, 4, 5]}, {"r": [1], "f": [5], "m": [3]}):
        expected = scores.index[np.logical_and.reduce(
            [scores[k].isin(v) for k, v in spec.items()])].tolist()
        got = ws.segments.df(S.rfm(**spec), columns=["id"])["id"].tolist()
        assert sorted(got) == sorted(expected), spec
