"""Leaderboards on both engines: the incremental ranking equals the one computed straight
from the orders (``recompute``) after imports, refunds and redeliveries; ties, days in the
workspace timezone, movement since yesterday, snapshots and bad input."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from siyu.core.errors import NotFound, PermissionDenied, ValidationError
from siyu.plugins import leaderboards as lb
from siyu.plugins.leaderboards import aggregate
from siyu.plugins.leaderboards.models import LeaderboardDaily
from siyu.storage.models import HookNotice

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=SHANGHAI)  # a Wednesday


def _shop(ws, stores=6):
    for i in range(stores):
        ws.stores.upsert(f"S{i:02d}", f"门店{i}", region=("华东", "华北", "")[i % 3])
        ws.staff.upsert(f"g{i:02d}", f"导购{i}", store=f"S{i:02d}")


def _same(ws, name, at=NOW):
    ours = lb.ranking(ws, name, at=at)
    oracle = lb.recompute(ws, name, at=at)
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), oracle.reset_index(drop=True))
    return ours


def _import(ws, tmp_path, rows, source="erp", name="o.csv"):
    frame = pd.DataFrame(rows, columns=["订单号", "金额", "支付时间", "门店", "导购",
                                        "状态", "退款金额"])
    frame.to_csv(tmp_path / name, index=False)
    return ws.imports.orders(tmp_path / name, source=source, progress=False)


def _random_orders(n, seed, start=NOW - timedelta(days=40)):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        paid = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 41))
        rows.append([f"E{seed}-{i:05d}", f"{rng.randrange(1, 500)}.{rng.randrange(0, 99):02d}",
                     paid.strftime("%Y-%m-%d %H:%M"), f"S{rng.randrange(6):02d}",
                     f"g{rng.randrange(6):02d}", rng.choice(["已支付", "已支付", "已取消"]),
                     "0"])
    return rows


BOARDS = [("sales-store", "sales_fen", "store", "this_month"),
          ("orders-staff", "orders", "staff", "this_week"),
          ("sales-region", "sales_fen", "region", "today"),
          ("sales-buyer", "sales_fen", "contact", "this_month")]


def test_incremental_ranking_equals_recompute_after_imports_and_refunds(ws, tmp_path):
    _shop(ws)
    for name, metric, dimension, period in BOARDS:
        lb.define(ws, name, metric=metric, dimension=dimension, period=period, top=50)
    _import(ws, tmp_path, _random_orders(300, 1), name="a.csv")
    for name, *_rest in BOARDS:
        _same(ws, name)
    _import(ws, tmp_path, _random_orders(200, 2), source="tmall", name="b.csv")
    for name, *_rest in BOARDS:
        _same(ws, name)
    # refunds and cancellations of counted orders reach the ranking (on_order_changed)
    changed = _random_orders(300, 1)[:40]
    for row in changed[:20]:
        row[5], row[6] = "部分退款", "0.50"
    for row in changed[20:]:
        row[5] = "已取消"
    report = _import(ws, tmp_path, changed, name="c.csv")
    assert report.updated > 0
    for name, *_rest in BOARDS:
        _same(ws, name)


def test_a_board_with_a_window_filters_and_buyers(ws):
    _shop(ws)
    buyer, _ = ws.contacts.upsert("wm1", name="王女士", phone="13800000001")
    ws.orders.upsert("tmall", "T1", amount_fen=5000, paid_at=NOW, store="S00", contact=buyer.id)
    ws.orders.upsert("jd", "J1", amount_fen=9000, paid_at=NOW, store="S01")
    lb.define(ws, "tmall-only", metric="sales_fen", dimension="store", period="window",
              start="2026-11-01", end="2026-11-30", sources=["tmall"])
    lb.define(ws, "s01", metric="orders", dimension="store", period="today", stores="S01")
    lb.define(ws, "buyers", metric="sales_fen", dimension="contact", period="today")
    assert _same(ws, "tmall-only")[["key", "value"]].values.tolist() == [["S00", 5000]]
    assert _same(ws, "s01")[["key", "value"]].values.tolist() == [["S01", 1]]
    assert _same(ws, "buyers")[["key", "name", "value"]].values.tolist() == [
        [str(buyer.id), "王女士", 5000]]


def test_a_refund_delivered_twice_counts_once(ws):
    _shop(ws)
    lb.define(ws, "m", metric="sales_fen", dimension="store", period="this_month")
    order, _ = ws.orders.upsert("tmall", "T1", amount_fen=10000, paid_at=NOW, store="S00")
    ws.orders.upsert("tmall", "T2", amount_fen=8000, paid_at=NOW, store="S01")
    assert lb.ranking(ws, "m", at=NOW)["key"].tolist() == ["S00", "S01"]
    refunded, _ = ws.orders.upsert("tmall", "T1", amount_fen=10000, paid_at=NOW,
                                   refunded_fen=4000)
    ours = _same(ws, "m")
    assert ours[["key", "value", "rank"]].values.tolist() == [["S01", 8000, 1],
                                                             ["S00", 6000, 2]]
    # the same notice again, and again with another id: the bucket is recounted, not moved
    aggregate.order_changed(ws, refunded, {"refunded_fen": [0, 4000]}, "again:0")
    aggregate.order_changed(ws, refunded, {"refunded_fen": [0, 4000]}, "again:0")
    _same(ws, "m")


def test_a_change_before_the_fold_is_not_counted_twice(ws):
    _shop(ws)
    lb.define(ws, "m", metric="sales_fen", dimension="store", period="this_month")
    lb.ranking(ws, "m", at=NOW)  # watermarks exist, at 0
    ws.orders.upsert("tmall", "T1", amount_fen=10000, paid_at=NOW, store="S00")
    ws.orders.upsert("tmall", "T1", amount_fen=10000, paid_at=NOW, status="refunded")
    ws.orders.upsert("tmall", "T2", amount_fen=300, paid_at=NOW, store="S01")
    assert _same(ws, "m")[["key", "value"]].values.tolist() == [["S01", 300]]


def test_ties_share_a_dense_rank(ws):
    _shop(ws)
    lb.define(ws, "m", metric="sales_fen", dimension="store", period="today", top=2)
    for i, fen in enumerate([500, 900, 500, 100, 900]):
        ws.orders.upsert("pos", f"P{i}", amount_fen=fen, paid_at=NOW, store=f"S{i:02d}")
    ours = _same(ws, "m")
    # top 2 places: both 900s share 1st, both 500s share 2nd
    assert ours[["key", "rank"]].values.tolist() == [["S01", 1], ["S04", 1], ["S00", 2],
                                                      ["S02", 2]]
    assert lb.ranking(ws, "m", at=NOW, top=3)["rank"].tolist() == [1, 1, 2, 2, 3]


def test_days_are_the_workspace_timezone_across_midnight(ws):
    _shop(ws)
    lb.define(ws, "today", metric="orders", dimension="store", period="today")
    late = datetime(2026, 11, 18, 23, 30, tzinfo=SHANGHAI)   # 15:30 UTC on the 18th
    early = datetime(2026, 11, 19, 0, 30, tzinfo=SHANGHAI)   # 16:30 UTC, still the 18th in UTC
    ws.orders.upsert("pos", "late", amount_fen=100, paid_at=late, store="S00")
    ws.orders.upsert("pos", "early", amount_fen=100, paid_at=early, store="S01")
    assert _same(ws, "today", at=late)["key"].tolist() == ["S00"]
    assert _same(ws, "today", at=early)["key"].tolist() == ["S01"]
    # another timezone: the aggregates are rebuilt in its days
    ws.settings.set("timezone", "UTC")
    ws.forget_cached_settings()
    both = lb.ranking(ws, "today", at=datetime(2026, 11, 18, 20, 0, tzinfo=ZoneInfo("UTC")))
    assert sorted(both["key"]) == ["S00", "S01"]
    _same(ws, "today", at=datetime(2026, 11, 18, 20, 0, tzinfo=ZoneInfo("UTC")))


def test_days_follow_summer_time_on_sqlite_and_postgresql(ws):
    ws.settings.set("timezone", "America/New_York")  # clocks go back on 1 Nov 2026
    ws.forget_cached_settings()
    _shop(ws)
    tz = ZoneInfo("America/New_York")
    lb.define(ws, "d", metric="orders", dimension="store", period="today")
    for i, at in enumerate([datetime(2026, 10, 31, 23, 30, tzinfo=tz),
                            datetime(2026, 11, 1, 0, 30, tzinfo=tz),
                            datetime(2026, 11, 1, 23, 30, tzinfo=tz),
                            datetime(2026, 11, 2, 0, 30, tzinfo=tz)]):
        ws.orders.upsert("pos", f"D{i}", amount_fen=100, paid_at=at, store=f"S{i:02d}")
    for day in (31, 1, 2):
        at = datetime(2026, 10 if day == 31 else 11, day, 12, tzinfo=tz)
        _same(ws, "d", at=at)
    assert lb.ranking(ws, "d", at=datetime(2026, 11, 1, 12, tzinfo=tz))["key"].tolist() == [
        "S01", "S02"]


def test_movement_since_yesterday(ws):
    _shop(ws)
    lb.define(ws, "w", metric="sales_fen", dimension="store", period="this_week")
    yesterday = NOW - timedelta(days=1)
    ws.orders.upsert("pos", "A", amount_fen=900, paid_at=yesterday, store="S00")
    ws.orders.upsert("pos", "B", amount_fen=500, paid_at=yesterday, store="S01")
    ws.orders.upsert("pos", "C", amount_fen=800, paid_at=NOW, store="S01")
    ws.orders.upsert("pos", "D", amount_fen=50, paid_at=NOW, store="S02")
    ours = _same(ws, "w")
    rows = {r["key"]: r for r in ours.to_dict("records")}
    assert (rows["S01"]["rank"], rows["S01"]["previous_rank"], rows["S01"]["change"]) == (
        1, 2, 1)
    assert (rows["S00"]["rank"], rows["S00"]["previous_rank"], rows["S00"]["change"]) == (
        2, 1, -1)
    assert pd.isna(rows["S02"]["previous_rank"]) and pd.isna(rows["S02"]["change"])


def test_new_contacts_by_staff(ws):
    _shop(ws)
    lb.define(ws, "adds", metric="new_contacts", dimension="staff", period="today")
    for i, owner in enumerate(["g00", "g00", "g01"]):
        ws.contacts.upsert(f"wm{i}", name=f"客户{i}", owner=owner, added_at=NOW)
    ours = _same(ws, "adds")
    assert ours[["key", "value"]].values.tolist() == [["g00", 2], ["g01", 1]]


def test_snapshots_of_ended_periods(ws):
    _shop(ws)
    lb.define(ws, "day", metric="sales_fen", dimension="store", period="today")
    ws.orders.upsert("pos", "A", amount_fen=900, paid_at=NOW, store="S00")
    taken = lb.snapshot(ws, "day", at=NOW)
    assert taken["key"].tolist() == ["S00"]
    ws.orders.upsert("pos", "B", amount_fen=1900, paid_at=NOW, store="S01")
    # the next day's job keeps the final ranking of the 18th (replacing the earlier one)
    from siyu.plugins.leaderboards.store import snapshot_ended

    assert snapshot_ended(ws, today=NOW.date() + timedelta(days=1)) == 0  # one exists
    lb.snapshot(ws, "day", at=NOW + timedelta(hours=8, minutes=59))
    kept = lb.snapshots(ws, "day")
    assert kept[["period_start", "key", "value"]].values.tolist() == [
        [date(2026, 11, 18), "S01", 1900], [date(2026, 11, 18), "S00", 900]]
    lb.define(ws, "later", metric="orders", dimension="store", period="window",
              start=date(2026, 11, 1), end=date(2026, 11, 18))
    assert snapshot_ended(ws, today=date(2026, 11, 19)) == 1
    assert len(lb.snapshots(ws, "later")) == 2


def test_bad_input_is_refused_with_its_reason(ws):
    _shop(ws)
    cases = [
        (dict(metric="gmv", dimension="store", period="today"), "'gmv'"),
        (dict(metric="orders", dimension="city", period="today"), "'city'"),
        (dict(metric="orders", dimension="store", period="yearly"), "'yearly'"),
        (dict(metric="orders", dimension="store", period="window", start="2026-11-30",
              end="2026-11-01"), "2026-11-01"),
        (dict(metric="orders", dimension="store", period="window", start="2026-11-01"),
         "end"),
        (dict(metric="orders", dimension="store", period="today", stores=["NOPE"]),
         "'NOPE'"),
        (dict(metric="orders", dimension="store", period="today", top=0), "0"),
        (dict(metric="new_contacts", dimension="contact", period="today"), "contact"),
        (dict(metric="new_contacts", dimension="store", period="today", sources="jd"),
         "source"),
        (dict(metric="orders", dimension="store", period="window", start="11/01/2026",
              end="2026-11-30"), "11/01/2026"),
    ]
    for kwargs, fragment in cases:
        with pytest.raises(ValidationError, match=None) as caught:
            lb.define(ws, "x", **kwargs)
        assert fragment in str(caught.value), (kwargs, caught.value)
    with pytest.raises(ValidationError, match="Bad Name"):
        lb.define(ws, "Bad Name", metric="orders", dimension="store", period="today")
    lb.define(ws, "x", metric="orders", dimension="store", period="today")
    with pytest.raises(ValidationError, match="exists"):
        lb.define(ws, "x", metric="orders", dimension="store", period="today")
    with pytest.raises(ValidationError, match="'gmv'"):
        lb.update(ws, "x", metric="gmv")
    with pytest.raises(NotFound, match="'nobody'"):
        lb.ranking(ws, "nobody")
    with pytest.raises(NotFound, match="'nobody'"):
        lb.remove(ws, "nobody")
    assert lb.get(ws, "x").metric == "orders"
    assert lb.update(ws, "x", period="window", start="2026-11-01",
                     end="2026-11-02").period == "window"
    lb.remove(ws, "x")
    assert lb.listing(ws).empty


def test_reading_and_writing_need_their_permissions(ws):
    from siyu.core.permissions import Principal

    lb.define(ws, "x", metric="orders", dimension="store", period="today")
    analyst = ws.as_user(Principal("a", "analyst"))
    assert lb.ranking(analyst, "x").empty  # reads
    for call in (lambda: lb.define(analyst, "y", metric="orders", dimension="store",
                                   period="today"),
                 lambda: lb.update(analyst, "x", top=3),
                 lambda: lb.remove(analyst, "x"), lambda: lb.snapshot(analyst, "x")):
        with pytest.raises(PermissionDenied):
            call()


def test_the_plugin_hooks_no_new_order_or_contact(ws, tmp_path):
    """No per-record hook: an import or a sync writes no notice for this plugin."""
    from siyu.plugins.leaderboards import plugin

    assert not hasattr(plugin, "on_order") and not hasattr(plugin, "on_contact_added")
    _shop(ws)
    lb.define(ws, "m", metric="sales_fen", dimension="store", period="this_month")
    _import(ws, tmp_path, _random_orders(50, 3))
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(HookNotice).where(
            HookNotice.hook == "on_order_changed")).scalar() == 0
    aggregate.refresh(ws)
    with ws.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(LeaderboardDaily)
                            ).scalar() > 0


def test_rebuild_counts_everything_again(ws):
    _shop(ws)
    lb.define(ws, "m", metric="sales_fen", dimension="store", period="this_month")
    ws.orders.upsert("pos", "A", amount_fen=900, paid_at=NOW, store="S00")
    lb.ranking(ws, "m", at=NOW)
    lb.rebuild(ws)
    _same(ws, "m")
