"""Benchmark: counting segments with siyu (SQLite, PostgreSQL) next to DuckDB and pandas.

Targets (segments issue), on 1,000,000 generated contacts, 10,000,000 orders and 5,000,000
events:

- **segments**: five realistic segments, each counted by ``ws.segments.count(spec, now=...)``
  within 3x the time of a hand-written DuckDB query on the same data on at least one of
  siyu's two engines, and faster than a straightforward pandas implementation (data already
  in memory) on both. Every side must give the same count.
- **stats, one order**: keeping the per-contact stats current for one new order takes under
  5 ms: the median ``ws.orders.upsert`` with the stats less the median without them (both
  medians are printed too).
- **stats, import**: ``ws.imports.orders()`` of 100,000 orders with the stats kept takes at
  most 1.5x the same import inside :func:`siyu.core.segments.stats.suspended` (no stats).

The segments:

1. ``tag_city``: tagged 客户等级/VIP and living in 上海;
2. ``lapsed``: at least 2 paid orders in the last 90 days and none in the last 30;
3. ``rfm_555``: the top RFM cell (R, F and M quintile 5, ``NTILE(5)`` over the contacts with
   a paid order, ties broken by contact id);
4. ``douyin_no_order``: added via 抖音 (``douyin``) and never a paid order;
5. ``nested``: (1 or 4), not 3, joined a group in the last 60 days, still a friend.

- **data**: 50 stores in Chinese cities, 300 staff, contacts with skewed cities and channels
  (about 5% removed), about 1.5 tags per contact in 客户等级 and 兴趣, orders over the last
  365 days (30% of the contacts never buy, a few buy hundreds of times; about 5% refunded,
  partially refunded or cancelled; 3% match no contact) and events (contact.added,
  message.read, livecode.scanned, group.joined, coupon.claimed) over the last year. All
  times are relative to one ``now`` (the start of the run, to the second), which every side
  is given. Written with ``siyu.storage.bulk`` (``insert_rows`` and ``db_times``) on SQLite
  and ``COPY`` on PostgreSQL, then ``ws.segments.rebuild_stats()``.
- **ours**: ``ws.segments.count(spec, now=now)`` on a SQLite file and on a PostgreSQL
  database (``siyu_bench_<hex>``, dropped afterwards), both loaded with the same rows.
- **DuckDB**: one hand-written SQL query per segment over the same rows loaded into an
  in-memory DuckDB database (the columns the segments read, plus keys).
- **pandas**: idiomatic pandas (``isin``, ``groupby``, a sort reproducing ``NTILE``) on
  DataFrames already in memory; only the computation is timed.

Sides rotate for every segment, after one untimed run that also checks the answers; the
median of ``--repeat`` runs is reported. Any count that differs exits with status 1.

The stats costs run on copies of the loaded workspace (a file copy on SQLite, ``CREATE
DATABASE ... TEMPLATE`` on PostgreSQL): one copy keeps the stats, the other runs everything
inside ``suspended()``. The upserts alternate between the two; then each copy imports the
same CSV of new orders. Afterwards the five segments are counted again on the copy that
kept its stats and checked against pandas on the grown data.

Run ``python bench/segments.py --help`` for the options; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import siyu
from siyu.core.segments.stats import suspended
from siyu.storage.bulk import db_times, insert_rows
from siyu.storage.models import (
    Contact,
    ContactTag,
    Event,
    Order,
    Staff,
    Store,
    Tag,
    TagGroup,
)

BENCH = "segments"
DUCKDB_TARGET = 3.0
UPSERT_TARGET_MS = 5.0
IMPORT_TARGET = 1.5
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENGINES = ("sqlite", "postgresql")
ENGINE_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
ORDERS_PER_CONTACT = 10
EVENTS_PER_CONTACT = 5

# -- the segments ---------------------------------------------------------------------------

SEG_TAG_CITY = {"all": [{"tag": {"tags": ["客户等级/VIP"], "match": "any"}},
                        {"city": {"cities": ["上海"]}}]}
SEG_LAPSED = {"all": [{"orders": {"min_count": 2, "within_days": 90}},
                      {"not": {"orders": {"within_days": 30}}}]}
SEG_RFM = {"rfm": {"r": [5], "f": [5], "m": [5]}}
SEG_DOUYIN = {"all": [{"channel": {"channels": ["douyin"]}}, {"not": {"orders": {}}}]}
SEG_NESTED = {"all": [{"any": [SEG_TAG_CITY, SEG_DOUYIN]}, {"not": SEG_RFM},
                      {"event": {"kind": "group.joined", "within_days": 60}},
                      {"friend": {}}]}
SEGMENTS = {"tag_city": SEG_TAG_CITY, "lapsed": SEG_LAPSED, "rfm_555": SEG_RFM,
            "douyin_no_order": SEG_DOUYIN, "nested": SEG_NESTED}
DESCRIPTIONS = {"tag_city": "tag 客户等级/VIP + city 上海",
                "lapsed": ">= 2 paid orders in 90 d, none in 30 d",
                "rfm_555": "top RFM cell (R5 F5 M5)",
                "douyin_no_order": "channel douyin, never a paid order",
                "nested": "(1 or 4) and not 3, group.joined in 60 d, friend"}

# -- the data -------------------------------------------------------------------------------

DAY_US = 86_400 * 1_000_000
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "重庆", "西安",
          "长沙", "天津", "郑州", "宁波", "青岛", "厦门", "合肥", "无锡", "佛山", "东莞", "昆明",
          "福州", "济南", "大连", "沈阳", ""]
CITY_WEIGHTS = np.array([16, 13, 9, 9, 8, 6, 4, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 1.5, 1.5,
                         1.5, 1.5, 1, 1, 1, 1, 6], dtype=float)
#: 50 stores: (city, region, how many stores there).
STORE_CITIES = (("上海", "华东", 8), ("北京", "华北", 7), ("广州", "华南", 5), ("深圳", "华南", 5),
                ("杭州", "华东", 4), ("成都", "西南", 4), ("南京", "华东", 3), ("武汉", "华中", 3),
                ("苏州", "华东", 3), ("重庆", "西南", 2), ("西安", "西北", 2), ("长沙", "华中", 2),
                ("天津", "华北", 2))
MALLS = ["万象城", "太古里", "来福士", "大悦城", "银泰", "万达广场", "龙湖天街", "恒隆广场"]
STAFF_PER_STORE = 6
CHANNELS = ["douyin", "tmall", "jd", "store", "live", ""]
CHANNEL_WEIGHTS = np.array([24, 20, 10, 28, 12, 6], dtype=float)
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹")
GIVEN = list("伟芳娜敏静丽强磊洋艳婷杰涛明超慧佳晨悦欣怡子涵雨桐梓萱")
TAG_GROUPS = ("客户等级", "兴趣")
#: (group index, tag name): 客户等级 is one level per contact at most, 兴趣 any number.
TAGS = ((0, "VIP"), (0, "普通"), (0, "新客"), (1, "护肤"), (1, "彩妆"), (1, "香氛"),
        (1, "母婴"), (1, "运动"), (1, "美食"))
INTEREST_SHARES = np.array([0.24, 0.16, 0.08, 0.07, 0.09, 0.06])
PRICES_FEN = np.array([3900, 5900, 8900, 12900, 16900, 19900, 25900, 29900, 39900, 59900,
                       89900])
PRICE_WEIGHTS = np.array([6, 9, 12, 14, 13, 12, 10, 9, 7, 5, 3], dtype=float)
STATUSES = ("paid", "partially_refunded", "refunded", "cancelled")
STATUS_WEIGHTS = np.array([94.5, 1.5, 2.5, 1.5])
PAID_STATUSES = ("paid", "partially_refunded")
ORDER_SOURCES = ("pos", "tmall", "jd", "douyin")
ORDER_SOURCE_WEIGHTS = np.array([45, 25, 15, 15], dtype=float)
#: Event kinds besides one contact.added per contact added in the last year, and shares.
EVENT_KINDS = ("contact.added", "message.read", "livecode.scanned", "group.joined",
               "coupon.claimed")
EVENT_WEIGHTS = np.array([0, 70, 12, 11, 7], dtype=float)
EVENT_SOURCES = ("wecom", "wecom", "livecodes", "wecom", "tmall")
UNMATCHED_ORDERS = 0.03
BUYER_SHARE = 0.7
REMOVED_SHARE = 0.05


def _choose(rng: np.random.Generator, n: int, weights: np.ndarray, size: int) -> np.ndarray:
    return rng.choice(n, size=size, p=weights / weights.sum())


@dataclass
class Dataset:
    """Generated rows as numpy columns; times are int64 microseconds since the epoch (UTC),
    -1 for none. Ids are 1-based and equal to the row's position + 1."""

    size: int
    now: datetime
    stores: list[tuple]               # (code, name, region, city)
    staff_store: np.ndarray           # store id per staff member
    # contacts
    name: np.ndarray
    phone: np.ndarray                 # object: str or None
    gender: np.ndarray
    city: np.ndarray                  # index into CITIES
    channel: np.ndarray               # index into CHANNELS
    owner: np.ndarray
    store: np.ndarray
    added_us: np.ndarray
    removed_us: np.ndarray
    # contact_tag
    tag_contact: np.ndarray
    tag_id: np.ndarray
    # orders (in paid_at order)
    order_contact: np.ndarray         # 0 = no contact
    order_store: np.ndarray
    order_staff: np.ndarray
    order_source: np.ndarray          # index into ORDER_SOURCES
    amount: np.ndarray
    status: np.ndarray                # index into STATUSES
    refunded: np.ndarray
    paid_us: np.ndarray
    # events (in occurred_at order)
    event_kind: np.ndarray            # index into EVENT_KINDS
    event_contact: np.ndarray
    event_us: np.ndarray

    @property
    def orders(self) -> int:
        return len(self.paid_us)

    @property
    def events(self) -> int:
        return len(self.event_us)

    def external_userid(self, lo: int, hi: int) -> np.ndarray:
        return np.strings.add("wmSegBench", np.strings.zfill(np.arange(lo + 1, hi + 1)
                                                             .astype(str), 9))


def generate(size: int, seed: int, now: datetime) -> Dataset:
    """Seeded rows, vectorised (no per-row Python); ``size`` contacts, 10x orders, 5x events."""
    rng = np.random.default_rng(seed)
    now_us = _us(now)
    stores, staff_store = _stores(rng)
    n_staff = len(staff_store)

    # Contacts: added over three years (more of them recently), 5% removed since.
    name = np.strings.add(np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), size)],
                          np.asarray(GIVEN)[rng.integers(0, len(GIVEN), size)])
    third = rng.random(size) < 0.55
    name = np.where(third, np.strings.add(name, np.asarray(GIVEN)[
        rng.integers(0, len(GIVEN), size)]), name)
    phone = np.strings.add("1", np.strings.zfill(
        rng.integers(3_000_000_000, 9_999_999_999, size).astype(str), 10)).astype(object)
    phone[rng.random(size) < 0.06] = None
    gender = rng.choice(3, size=size, p=[0.08, 0.34, 0.58])
    city = _choose(rng, len(CITIES), CITY_WEIGHTS, size)
    channel = _choose(rng, len(CHANNELS), CHANNEL_WEIGHTS, size)
    owner = (rng.random(size) ** 1.3 * n_staff).astype(np.int64) + 1
    store = staff_store[owner - 1]
    added_us = now_us - (rng.random(size) ** 1.8 * 1100 * DAY_US).astype(np.int64) - 1
    removed = rng.random(size) < REMOVED_SHARE
    removed_us = np.where(removed, added_us + (rng.random(size) * (now_us - added_us))
                          .astype(np.int64), -1)

    # Buying propensity: 30% never buy; a lognormal tail buys hundreds of times a year.
    z = np.minimum(rng.standard_normal(size), 3.0)
    buyer = rng.random(size) < BUYER_SHARE
    weight = np.where(buyer, np.exp(1.3 * z), 0.0)

    # Tags: one 客户等级 for most (VIP leans to heavy buyers), interests independently.
    vip = rng.random(size) < np.where(buyer & (z > 1.0), 0.3, 0.03)
    level = np.where(vip, 0, 1 + _choose(rng, 3, np.array([0.6, 0.3, 0.1]), size))  # 3: none
    interests = rng.random((size, len(INTEREST_SHARES))) < INTEREST_SHARES
    has = np.concatenate([level[:, None] == np.arange(3), interests], axis=1)
    tag_contact, tag_index = np.nonzero(has)

    orders = _orders(rng, size, now_us, weight, store, staff_store)
    events = _events(rng, size, now_us, z, added_us, removed_us)
    return Dataset(size=size, now=now, stores=stores, staff_store=staff_store, name=name,
                   phone=phone, gender=gender, city=city, channel=channel, owner=owner,
                   store=store, added_us=added_us, removed_us=removed_us,
                   tag_contact=tag_contact + 1, tag_id=tag_index + 1, **orders, **events)


def _stores(rng: np.random.Generator) -> tuple[list[tuple], np.ndarray]:
    stores = []
    for city, region, count in STORE_CITIES:
        for k in range(count):
            code = f"S{len(stores) + 1:03d}"
            stores.append((code, f"{city}{MALLS[(len(stores) + k) % len(MALLS)]}店", region,
                           city))
    staff_store = np.repeat(np.arange(1, len(stores) + 1), STAFF_PER_STORE)
    return stores, staff_store


def _orders(rng: np.random.Generator, size: int, now_us: int, weight: np.ndarray,
            store: np.ndarray, staff_store: np.ndarray) -> dict[str, np.ndarray]:
    total = ORDERS_PER_CONTACT * size
    unmatched = int(total * UNMATCHED_ORDERS)
    per_contact = rng.multinomial(total - unmatched, weight / weight.sum())
    contact = np.concatenate([np.repeat(np.arange(1, size + 1), per_contact),
                              np.zeros(unmatched, dtype=np.int64)])
    # Each buyer is active over a window of the last year that ends some time ago.
    end_ago = np.minimum(rng.exponential(40 * DAY_US, size), 300 * DAY_US).astype(np.int64)
    span = rng.uniform(30 * DAY_US, 365 * DAY_US, size).astype(np.int64)
    year_ago = now_us - 365 * DAY_US
    end = now_us - end_ago - 1
    start = np.maximum(year_ago, end - span)
    c = np.maximum(contact - 1, 0)
    lo = np.where(contact > 0, start[c], year_ago)
    hi = np.where(contact > 0, end[c], now_us - 1)
    paid = lo + (rng.random(total) * (hi - lo)).astype(np.int64)
    n_stores = int(staff_store.max())
    own = (contact > 0) & (rng.random(total) < 0.7)
    order_store = np.where(own, store[c], rng.integers(1, n_stores + 1, total))
    order_staff = (order_store - 1) * STAFF_PER_STORE + rng.integers(1, STAFF_PER_STORE + 1,
                                                                     total)
    qty = _choose(rng, 3, np.array([0.75, 0.2, 0.05]), total) + 1
    amount = PRICES_FEN[_choose(rng, len(PRICES_FEN), PRICE_WEIGHTS, total)] * qty
    status = _choose(rng, len(STATUSES), STATUS_WEIGHTS, total)
    refunded = np.select([status == 1, status == 2],
                         [1 + (rng.random(total) * (amount - 1)).astype(np.int64), amount], 0)
    source = _choose(rng, len(ORDER_SOURCES), ORDER_SOURCE_WEIGHTS, total)
    order = np.argsort(paid, kind="stable")
    return {"order_contact": contact[order], "order_store": order_store[order],
            "order_staff": order_staff[order], "order_source": source[order],
            "amount": amount[order], "status": status[order], "refunded": refunded[order],
            "paid_us": paid[order]}


def _events(rng: np.random.Generator, size: int, now_us: int, z: np.ndarray,
            added_us: np.ndarray, removed_us: np.ndarray) -> dict[str, np.ndarray]:
    year_ago = now_us - 365 * DAY_US
    # One contact.added per contact added in the last year, at its added_at.
    new = np.flatnonzero(added_us >= year_ago)
    rest = EVENTS_PER_CONTACT * size - len(new)
    # The others: engaged contacts (loosely those who buy) do more; nothing after removal.
    until = np.where(removed_us >= 0, removed_us, now_us)
    engage = np.exp(0.5 * z + 0.9 * rng.standard_normal(size)) * (until > year_ago)
    contact = np.repeat(np.arange(size), rng.multinomial(rest, engage / engage.sum()))
    kind = _choose(rng, len(EVENT_KINDS), EVENT_WEIGHTS, rest)
    lo = np.maximum(added_us[contact], year_ago)
    at = lo + (rng.random(rest) * (until[contact] - lo)).astype(np.int64)
    contact = np.concatenate([new, contact]) + 1
    kind = np.concatenate([np.zeros(len(new), dtype=kind.dtype), kind])
    at = np.concatenate([added_us[new], at])
    order = np.argsort(at, kind="stable")
    return {"event_kind": kind[order], "event_contact": contact[order], "event_us": at[order]}


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _times(us: np.ndarray) -> pd.Series:
    """Aware UTC times (``NaT`` for -1), as :func:`siyu.storage.bulk.db_times` takes them."""
    values = np.asarray(us).astype("datetime64[us]")
    values[np.asarray(us) < 0] = np.datetime64("NaT")
    return pd.Series(values).dt.tz_localize("UTC")


# -- loading siyu ---------------------------------------------------------------------------

CHUNK = 100_000


class Writer:
    """Bulk rows into one workspace's tables, in one transaction: ``insert_rows``
    (``executemany``) on SQLite, ``COPY`` on PostgreSQL; times through ``db_times``."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.copy = conn.dialect.name == "postgresql"

    def times(self, us: np.ndarray) -> list:
        return db_times(self.conn, _times(us))

    def write(self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not self.copy:
            insert_rows(self.conn, table, columns, rows)
            return
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        cursor.close()


def load(ws: siyu.Workspace, data: Dataset) -> None:
    """Write the generated rows into ``ws``'s core tables, with explicit ids."""
    with ws.engine.begin() as conn:
        out = Writer(conn)
        if out.copy:
            # The rows are consistent by construction: skip the per-row foreign key triggers,
            # as pg_restore does (needs a superuser; without one, they are checked).
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            except sa.exc.DBAPIError:
                pass
        stamp = out.times(np.array([_us(data.now)]))[0]
        out.write(Store.__table__, ("id", "code", "name", "region", "city", "created_at"),
                  [(i + 1, *store, stamp) for i, store in enumerate(data.stores)])
        out.write(Staff.__table__, ("id", "userid", "name", "store_id", "status", "created_at"),
                  [(i + 1, f"staff{i + 1:04d}", f"导购{i + 1:03d}", int(store), "active", stamp)
                   for i, store in enumerate(data.staff_store)])
        columns = ("id", "external_userid", "name", "phone", "gender", "city", "owner_id",
                   "store_id", "source_channel", "remark", "added_at", "removed_at",
                   "created_at", "updated_at")
        cities, channels = np.asarray(CITIES, dtype=object), np.asarray(CHANNELS, dtype=object)
        for lo in range(0, data.size, CHUNK):
            hi = min(data.size, lo + CHUNK)
            n = hi - lo
            out.write(Contact.__table__, columns, list(zip(
                range(lo + 1, hi + 1), data.external_userid(lo, hi).tolist(),
                data.name[lo:hi].tolist(), data.phone[lo:hi].tolist(),
                data.gender[lo:hi].tolist(), cities[data.city[lo:hi]].tolist(),
                data.owner[lo:hi].tolist(), data.store[lo:hi].tolist(),
                channels[data.channel[lo:hi]].tolist(), [""] * n,
                out.times(data.added_us[lo:hi]), out.times(data.removed_us[lo:hi]),
                [stamp] * n, [stamp] * n, strict=True)))
        out.write(TagGroup.__table__, ("id", "name", "kind", "source", "created_at"),
                  [(i + 1, name, "manual", "", stamp) for i, name in enumerate(TAG_GROUPS)])
        out.write(Tag.__table__, ("id", "group_id", "name", "created_at"),
                  [(i + 1, group + 1, name, stamp) for i, (group, name) in enumerate(TAGS)])
        for lo in range(0, len(data.tag_contact), CHUNK):
            hi = min(len(data.tag_contact), lo + CHUNK)
            out.write(ContactTag.__table__, ("contact_id", "tag_id", "source", "created_at"),
                      list(zip(data.tag_contact[lo:hi].tolist(), data.tag_id[lo:hi].tolist(),
                               ["manual"] * (hi - lo), [stamp] * (hi - lo), strict=True)))
        sources, statuses = (np.asarray(ORDER_SOURCES, dtype=object),
                             np.asarray(STATUSES, dtype=object))
        columns = ("id", "source", "external_id", "contact_id", "store_id", "staff_id",
                   "amount_fen", "status", "refunded_fen", "paid_at", "created_at")
        for lo in range(0, data.orders, CHUNK):
            hi = min(data.orders, lo + CHUNK)
            contact = data.order_contact[lo:hi].astype(object)
            contact[contact == 0] = None
            out.write(Order.__table__, columns, list(zip(
                range(lo + 1, hi + 1), sources[data.order_source[lo:hi]].tolist(),
                np.strings.add("SO", np.strings.zfill(np.arange(lo + 1, hi + 1).astype(str),
                                                      10)).tolist(),
                contact.tolist(), data.order_store[lo:hi].tolist(),
                data.order_staff[lo:hi].tolist(), data.amount[lo:hi].tolist(),
                statuses[data.status[lo:hi]].tolist(), data.refunded[lo:hi].tolist(),
                out.times(data.paid_us[lo:hi]), [stamp] * (hi - lo), strict=True)))
        kinds, kind_sources = (np.asarray(EVENT_KINDS, dtype=object),
                               np.asarray(EVENT_SOURCES, dtype=object))
        columns = ("id", "kind", "contact_id", "occurred_at", "dedupe_key", "source")
        for lo in range(0, data.events, CHUNK):
            hi = min(data.events, lo + CHUNK)
            kind = data.event_kind[lo:hi]
            out.write(Event.__table__, columns, list(zip(
                range(lo + 1, hi + 1), kinds[kind].tolist(),
                data.event_contact[lo:hi].tolist(), out.times(data.event_us[lo:hi]),
                np.strings.add("bench:", np.strings.zfill(np.arange(lo + 1, hi + 1)
                                                          .astype(str), 10)).tolist(),
                kind_sources[kind].tolist(), strict=True)))
        if out.copy:  # explicit ids: move the sequences past them
            for table in ("store", "staff", "contact", "tag_group", "tag", "orders", "event"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")


# -- pandas and DuckDB ----------------------------------------------------------------------

def frames(data: Dataset) -> dict[str, pd.DataFrame]:
    """The tables the segments read, as DataFrames (as ``pd.read_sql`` would give them)."""
    def strings(values, codes):
        return pd.Series(np.asarray(values, dtype=object)[codes], dtype="str")

    def ids(values):  # 0 = NULL
        return pd.arrays.IntegerArray(values.astype(np.int64), values <= 0)

    return {
        "contact": pd.DataFrame({
            "id": np.arange(1, data.size + 1), "city": strings(CITIES, data.city),
            "source_channel": strings(CHANNELS, data.channel),
            "added_at": _times(data.added_us), "removed_at": _times(data.removed_us)}),
        "tag_group": pd.DataFrame({"id": np.arange(1, len(TAG_GROUPS) + 1),
                                   "name": pd.Series(TAG_GROUPS, dtype="str")}),
        "tag": pd.DataFrame({"id": np.arange(1, len(TAGS) + 1),
                             "group_id": [group + 1 for group, _ in TAGS],
                             "name": pd.Series([name for _, name in TAGS], dtype="str")}),
        "contact_tag": pd.DataFrame({"contact_id": data.tag_contact, "tag_id": data.tag_id}),
        "orders": pd.DataFrame({
            "id": np.arange(1, data.orders + 1), "contact_id": ids(data.order_contact),
            "amount_fen": data.amount, "status": strings(STATUSES, data.status),
            "refunded_fen": data.refunded, "paid_at": _times(data.paid_us)}),
        "event": pd.DataFrame({
            "id": np.arange(1, data.events + 1), "kind": strings(EVENT_KINDS, data.event_kind),
            "contact_id": ids(data.event_contact), "occurred_at": _times(data.event_us)}),
    }


def _tagged(f: dict[str, pd.DataFrame], group: str, name: str) -> pd.Series:
    tags = f["tag"].merge(f["tag_group"], left_on="group_id", right_on="id",
                          suffixes=("", "_group"))
    wanted = tags.loc[tags["name_group"].eq(group) & tags["name"].eq(name), "id"]
    links = f["contact_tag"]
    return links.loc[links["tag_id"].isin(wanted), "contact_id"]


def _paid(f: dict[str, pd.DataFrame]) -> pd.DataFrame:
    orders = f["orders"]
    return orders[orders["status"].isin(PAID_STATUSES) & orders["contact_id"].notna()]


def ntile(frame: pd.DataFrame, column: str, buckets: int = 5) -> pd.Series:
    """SQL's ``NTILE(buckets) OVER (ORDER BY column, contact_id)``: the first
    ``len % buckets`` tiles get one row more."""
    order = frame.sort_values([column, "contact_id"]).index
    n = len(frame)
    size, extra = divmod(n, buckets)
    pos = np.arange(n)
    big = extra * (size + 1)
    tile = np.where(pos < big, pos // (size + 1), extra + (pos - big) // max(size, 1)) + 1
    return pd.Series(tile, index=order).reindex(frame.index)


def pd_tag_city(f: dict[str, pd.DataFrame], now: datetime) -> pd.Series:
    contact = f["contact"]
    return contact["id"].isin(_tagged(f, "客户等级", "VIP")) & contact["city"].eq("上海")


def pd_lapsed(f: dict[str, pd.DataFrame], now: datetime) -> pd.Series:
    paid = _paid(f)
    recent = paid[paid["paid_at"] >= now - timedelta(days=90)]
    per_contact = recent.groupby("contact_id").size()
    last_30 = recent.loc[recent["paid_at"] >= now - timedelta(days=30), "contact_id"]
    contact = f["contact"]
    return (contact["id"].isin(per_contact.index[per_contact >= 2])
            & ~contact["id"].isin(last_30))


def pd_rfm_555(f: dict[str, pd.DataFrame], now: datetime) -> pd.Series:
    paid = _paid(f)
    stats = (paid.assign(net=paid["amount_fen"] - paid["refunded_fen"])
             .groupby("contact_id")
             .agg(last_paid_at=("paid_at", "max"), orders=("id", "size"),
                  revenue_fen=("net", "sum"))
             .reset_index())
    top = ((ntile(stats, "last_paid_at") == 5) & (ntile(stats, "orders") == 5)
           & (ntile(stats, "revenue_fen") == 5))
    return f["contact"]["id"].isin(stats.loc[top, "contact_id"])


def pd_douyin_no_order(f: dict[str, pd.DataFrame], now: datetime) -> pd.Series:
    contact = f["contact"]
    return contact["source_channel"].eq("douyin") & ~contact["id"].isin(_paid(f)["contact_id"])


def pd_nested(f: dict[str, pd.DataFrame], now: datetime) -> pd.Series:
    events = f["event"]
    joined = events.loc[events["kind"].eq("group.joined")
                        & (events["occurred_at"] >= now - timedelta(days=60)), "contact_id"]
    contact = f["contact"]
    return ((pd_tag_city(f, now) | pd_douyin_no_order(f, now)) & ~pd_rfm_555(f, now)
            & contact["id"].isin(joined) & contact["removed_at"].isna())


PANDAS: dict[str, Callable[[dict[str, pd.DataFrame], datetime], pd.Series]] = {
    "tag_city": pd_tag_city, "lapsed": pd_lapsed, "rfm_555": pd_rfm_555,
    "douyin_no_order": pd_douyin_no_order, "nested": pd_nested}


def pandas_count(f: dict[str, pd.DataFrame], name: str, now: datetime) -> int:
    return int(PANDAS[name](f, now).sum())


_VIP = ("SELECT ct.contact_id FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id "
        "JOIN tag_group g ON g.id = t.group_id WHERE g.name = '客户等级' AND t.name = 'VIP'")
_PAID = "status IN ('paid', 'partially_refunded') AND contact_id IS NOT NULL"
_RFM = f"""
    SELECT contact_id FROM (
        SELECT contact_id,
               ntile(5) OVER (ORDER BY last_paid_at, contact_id) AS r,
               ntile(5) OVER (ORDER BY orders, contact_id) AS f,
               ntile(5) OVER (ORDER BY revenue_fen, contact_id) AS m
        FROM (SELECT contact_id, max(paid_at) AS last_paid_at, count(*) AS orders,
                     sum(amount_fen - refunded_fen) AS revenue_fen
              FROM orders WHERE {_PAID} GROUP BY contact_id))
    WHERE r = 5 AND f = 5 AND m = 5"""
#: One hand-written query per segment; ``$d30``, ``$d60`` and ``$d90`` are now - N days.
DUCKDB = {
    "tag_city": f"SELECT count(*) FROM contact WHERE city = '上海' AND id IN ({_VIP})",
    "lapsed": f"""
        SELECT count(*) FROM (
            SELECT contact_id FROM orders WHERE {_PAID} AND paid_at >= $d90
            GROUP BY contact_id HAVING count(*) >= 2 AND max(paid_at) < $d30)""",
    "rfm_555": f"SELECT count(*) FROM ({_RFM})",
    "douyin_no_order": """
        SELECT count(*) FROM contact c WHERE source_channel = 'douyin'
        AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.contact_id = c.id
                        AND o.status IN ('paid', 'partially_refunded'))""",
    "nested": f"""
        SELECT count(*) FROM contact c
        WHERE c.removed_at IS NULL
          AND ((c.city = '上海' AND c.id IN ({_VIP}))
               OR (c.source_channel = 'douyin'
                   AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.contact_id = c.id
                                   AND o.status IN ('paid', 'partially_refunded'))))
          AND c.id NOT IN ({_RFM})
          AND c.id IN (SELECT contact_id FROM event
                       WHERE kind = 'group.joined' AND occurred_at >= $d60)""",
}


def duckdb_load(f: dict[str, pd.DataFrame]):
    """An in-memory DuckDB database holding copies of the frames."""
    import duckdb

    con = duckdb.connect(":memory:")
    for name, frame in f.items():
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    return con


def duckdb_count(con, name: str, now: datetime) -> int:
    sql = DUCKDB[name]
    params = {key: now - timedelta(days=days) for key, days in
              (("d30", 30), ("d60", 60), ("d90", 90)) if f"${key}" in sql}
    return int(con.execute(sql, params).fetchone()[0])


# -- databases ------------------------------------------------------------------------------

class Databases:
    """Workspaces for one engine: new SQLite files, or new PostgreSQL databases
    (``siyu_bench_<hex>``) on the ``--pg-url`` server; copies of them; dropped at the end."""

    def __init__(self, engine: str, folder: Path, pg_url: str):
        self.engine, self.folder = engine, folder
        self.base = make_url(pg_url) if engine == "postgresql" else None
        self._admin = (sa.create_engine(self.base, isolation_level="AUTOCOMMIT")
                       if self.base is not None else None)
        self._made: list[str] = []

    def new(self) -> str:
        """The URL of a new, empty database."""
        return self._name_url(self._create(None))

    def copy(self, url: str) -> str:
        """A copy of the (closed) workspace at ``url``; returns the copy's URL."""
        return self._name_url(self._create(url))

    def _create(self, source: str | None) -> str:
        tag = uuid.uuid4().hex[:12]
        if self.engine == "sqlite":
            path = self.folder / f"bench-{tag}.db"
            if source is not None:
                shutil.copyfile(make_url(source).database, path)
            self._made.append(str(path))
            return str(path)
        name = f"siyu_bench_{tag}"
        template = ""
        with self._admin.connect() as conn:
            if source:
                template = f' TEMPLATE "{make_url(source).database}"'
                # PostgreSQL 15+ copies block by block through the WAL by default; copying
                # the files is much faster for a database of gigabytes.
                if conn.dialect.server_version_info >= (15,):
                    template += " STRATEGY FILE_COPY"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{template}'))
        self._made.append(name)
        return name

    def _name_url(self, name: str) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{name}"
        return self.base.set(database=name).render_as_string(hide_password=False)

    def open(self, url: str) -> siyu.Workspace:
        return siyu.open(url, load_entry_points=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        if name in self._made:
            self._made.remove(name)
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{name}{suffix}").unlink(missing_ok=True)
        else:
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self, ws: siyu.Workspace) -> None:
        """Close ``ws`` with everything on disk (a SQLite file can then be copied)."""
        if self.engine == "sqlite":
            with ws.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        ws.close()

    def dispose(self) -> None:
        for name in list(self._made):
            self.drop(self._name_url(name))
        if self._admin is not None:
            self._admin.dispose()

    def describe(self) -> str:
        if self.engine == "sqlite":
            return f"SQLite files in {self.folder}"
        return (f"PostgreSQL databases siyu_bench_<hex> on "
                f"{self.base.render_as_string(hide_password=True)}")


def build(dbs: Databases, data: Dataset) -> tuple[str, dict]:
    """A new workspace holding ``data``, its stats rebuilt; closed again. Returns its URL
    and how long each step took."""
    url = dbs.new()
    ws = dbs.open(url)
    try:
        start = time.perf_counter()
        load(ws, data)
        loaded = time.perf_counter()
        rebuilt = ws.segments.rebuild_stats()
        done = time.perf_counter()
        if dbs.engine == "postgresql":  # what autovacuum does soon after a bulk load
            with ws.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE")
        steps = {"load_s": loaded - start, "rebuild_stats_s": done - loaded,
                 "vacuum_s": time.perf_counter() - done, "rebuild_stats": rebuilt}
    except BaseException:
        ws.close()
        dbs.drop(url)
        raise
    dbs.close(ws)
    return url, steps


# -- segment timings ------------------------------------------------------------------------

class WrongAnswer(Exception):
    """Two sides counted a segment differently."""


@dataclass
class Side:
    key: str
    label: str
    count: Callable[[str], int]


def siyu_side(engine: str, ws: siyu.Workspace, now: datetime) -> Side:
    return Side(engine, f"siyu {ENGINE_LABELS[engine]}",
                lambda name: int(ws.segments.count(SEGMENTS[name], now=now)))


def _timed(side: Side, name: str) -> tuple[int, float]:
    gc.collect()
    start = time.perf_counter()
    value = side.count(name)
    return value, time.perf_counter() - start


def measure_segments(sides: list[Side], repeat: int) -> tuple[dict, dict, dict]:
    """Per segment: one untimed run of every side (answers compared), then ``repeat``
    rotating timed runs, each checked. Returns ``(seconds[segment][side], counts,
    answers[segment][side])``."""
    runs: dict[str, dict[str, list[float]]] = {}
    counts: dict[str, int] = {}
    answers: dict[str, dict[str, int]] = {}
    for name in SEGMENTS:
        answers[name] = {side.key: side.count(name) for side in sides}
        if len(set(answers[name].values())) != 1:
            raise WrongAnswer(f"segment {name}: the sides disagree: " + ", ".join(
                f"{side.label} {answers[name][side.key]:,}" for side in sides))
        counts[name] = next(iter(answers[name].values()))
        runs[name] = {side.key: [] for side in sides}
        for rep in range(repeat):
            shift = rep % len(sides)
            for side in sides[shift:] + sides[:shift]:
                value, seconds = _timed(side, name)
                if value != counts[name]:
                    raise WrongAnswer(f"segment {name}: {side.label} counted {value:,} on run "
                                      f"{rep + 1}, {counts[name]:,} before")
                runs[name][side.key].append(seconds)
        line = "  ".join(f"{side.label} {statistics.median(runs[name][side.key]):.3f} s"
                         for side in sides)
        print(f"  {name:<16} {counts[name]:>9,}  {line}", flush=True)
    return runs, counts, answers


# -- stats costs ----------------------------------------------------------------------------

@dataclass
class StatsPlan:
    """The same writes, made on a copy that keeps the stats and on one that does not."""

    now: datetime                      # when the grown workspace is counted
    warmup: int
    upserts: list[tuple[str, int, int, datetime]]   # external_id, contact, fen, paid_at
    csv_path: Path
    import_rows: int
    expected: dict[str, int] = field(default_factory=dict)   # counts after all of it


IMPORT_STATUS = ("已支付", "部分退款", "已退款", "已取消")


def _yuan(fen: np.ndarray) -> np.ndarray:
    return np.strings.add(np.strings.add((fen // 100).astype(str), "."),
                          np.strings.zfill((fen % 100).astype(str), 2))


def stats_plan(data: Dataset, f: dict[str, pd.DataFrame], seed: int, upserts: int,
               warmup: int, import_rows: int, folder: Path, timezone: str) -> StatsPlan:
    """New orders for the stats measurements: ``warmup + upserts`` single orders paid just
    after ``now``, and a CSV of ``import_rows`` orders paid over the 60 days before it;
    with the counts every segment must give once all of them are stored."""
    rng = np.random.default_rng(seed + 7)
    now = data.now
    n = warmup + upserts
    contact = rng.integers(1, data.size + 1, n)
    fen = PRICES_FEN[_choose(rng, len(PRICES_FEN), PRICE_WEIGHTS, n)]
    paid = [now + timedelta(milliseconds=int(i) + 1) for i in range(n)]
    single = [(f"LIVE{i:07d}", int(c), int(a), p)
              for i, (c, a, p) in enumerate(zip(contact, fen, paid, strict=True))]

    m = import_rows
    who = rng.integers(1, data.size + 1, m)
    who[rng.random(m) < UNMATCHED_ORDERS] = 0
    amount = (PRICES_FEN[_choose(rng, len(PRICES_FEN), PRICE_WEIGHTS, m)]
              * (_choose(rng, 3, np.array([0.75, 0.2, 0.05]), m) + 1))
    status = _choose(rng, len(STATUSES), STATUS_WEIGHTS, m)
    refunded = np.select([status == 1, status == 2],
                         [1 + (rng.random(m) * (amount - 1)).astype(np.int64), amount], 0)
    paid_s = _us(now) // 1_000_000 - rng.integers(1, 60 * 86_400, m)
    paid_utc = _times(paid_s * 1_000_000)
    store = rng.integers(1, len(data.stores) + 1, m)
    staff = (store - 1) * STAFF_PER_STORE + rng.integers(1, STAFF_PER_STORE + 1, m)
    external = np.where(who > 0, np.strings.add("wmSegBench", np.strings.zfill(
        who.astype(str), 9)), "")
    csv = pd.DataFrame({
        "订单号": np.strings.add("IMP", np.strings.zfill(np.arange(1, m + 1).astype(str), 8)),
        "外部联系人ID": external,
        "金额": _yuan(amount),
        "退款金额": np.where(status == 1, _yuan(refunded), np.where(status == 2,
                                                                  _yuan(amount), "")),
        "支付时间": paid_utc.dt.tz_convert(timezone).dt.strftime("%Y-%m-%d %H:%M:%S"),
        "状态": np.asarray(IMPORT_STATUS)[status],
        "门店": np.asarray([s[0] for s in data.stores])[store - 1],
        "导购": np.strings.add("staff", np.strings.zfill(staff.astype(str), 4)),
    })
    path = folder / f"orders-{m}.csv"
    csv.to_csv(path, index=False, encoding="utf-8-sig")

    grown = dict(f)
    grown["orders"] = pd.concat([f["orders"], pd.DataFrame({
        "id": np.arange(n + m) + len(f["orders"]) + 1,
        "contact_id": pd.arrays.IntegerArray(np.concatenate([contact, who]).astype(np.int64),
                                             np.concatenate([contact, who]) <= 0),
        "amount_fen": np.concatenate([fen, amount]),
        "status": pd.Series(np.asarray(STATUSES, dtype=object)[
            np.concatenate([np.zeros(n, dtype=np.int64), status])], dtype="str"),
        "refunded_fen": np.concatenate([np.zeros(n, dtype=np.int64), refunded]),
        "paid_at": pd.concat([pd.Series(pd.to_datetime(paid, utc=True)), paid_utc],
                             ignore_index=True).dt.as_unit("us")})], ignore_index=True)
    counted_at = now + timedelta(minutes=1)
    plan = StatsPlan(counted_at, warmup, single, path, m)
    plan.expected = {name: pandas_count(grown, name, counted_at) for name in SEGMENTS}
    return plan


@dataclass
class StatsRuns:
    upsert_ms: dict[str, list[float]] = field(default_factory=lambda: {"on": [], "off": []})
    import_s: dict[str, list[float]] = field(default_factory=lambda: {"on": [], "off": []})


def _upsert(ws: siyu.Workspace, order: tuple, keep: bool) -> float:
    external_id, contact, fen, paid = order
    if keep:
        start = time.perf_counter()
        ws.orders.upsert("live", external_id, amount_fen=fen, paid_at=paid, contact=contact)
        return time.perf_counter() - start
    with suspended():
        start = time.perf_counter()
        ws.orders.upsert("live", external_id, amount_fen=fen, paid_at=paid, contact=contact)
        return time.perf_counter() - start


def _import(ws: siyu.Workspace, plan: StatsPlan, keep: bool) -> float:
    start = time.perf_counter()
    if keep:
        report = ws.imports.orders(plan.csv_path, source="erp", progress=False)
    else:
        with suspended():
            report = ws.imports.orders(plan.csv_path, source="erp", progress=False)
    seconds = time.perf_counter() - start
    if report.created != plan.import_rows:
        raise WrongAnswer(f"the orders import {'with' if keep else 'without'} stats created "
                          f"{report.created:,} orders of {plan.import_rows:,} "
                          f"({report.summary()})")
    return seconds


def measure_stats(dbs: Databases, url: str, data: Dataset, plan: StatsPlan,
                  repeat: int) -> StatsRuns:
    """Per run: two fresh copies of the loaded workspace, "on" (stats kept) and "off"
    (every write inside ``suspended()``); the single upserts alternate between them, then
    each imports the CSV (the order flips every run). "on" is checked afterwards."""
    runs = StatsRuns()
    label = ENGINE_LABELS[dbs.engine]
    for rep in range(repeat):
        start = time.perf_counter()
        urls = {"on": dbs.copy(url), "off": dbs.copy(url)}
        copied = time.perf_counter() - start
        spaces = {key: dbs.open(value) for key, value in urls.items()}
        try:
            for i, order in enumerate(plan.upserts):
                for key in (("on", "off") if i % 2 == 0 else ("off", "on")):
                    seconds = _upsert(spaces[key], order, keep=key == "on")
                    if i >= plan.warmup:
                        runs.upsert_ms[key].append(seconds * 1000)
            for key in (("on", "off") if rep % 2 == 0 else ("off", "on")):
                runs.import_s[key].append(_import(spaces[key], plan, keep=key == "on"))
            expected_orders = data.orders + len(plan.upserts) + plan.import_rows
            for key, ws in spaces.items():
                with ws.engine.connect() as conn:
                    stored = conn.exec_driver_sql("SELECT count(*) FROM orders").scalar_one()
                if stored != expected_orders:
                    raise WrongAnswer(f"{label} copy {key!r} holds {stored:,} orders, expected "
                                      f"{expected_orders:,}")
            for name, spec in SEGMENTS.items():
                got = spaces["on"].segments.count(spec, now=plan.now)
                if got != plan.expected[name]:
                    raise WrongAnswer(f"after the new orders, siyu {label} counts {name} as "
                                      f"{got:,}; pandas on the same orders "
                                      f"{plan.expected[name]:,} (stats not kept current?)")
        finally:
            for key, ws in spaces.items():
                ws.close()
                dbs.drop(urls[key])
        n = len(runs.upsert_ms["on"]) // (rep + 1)
        print(f"  run {rep + 1}/{repeat} {label:<10} upsert median "
              f"{statistics.median(runs.upsert_ms['on'][-n:]):6.2f} ms (no stats "
              f"{statistics.median(runs.upsert_ms['off'][-n:]):6.2f} ms)  import "
              f"{runs.import_s['on'][-1]:7.2f} s (no stats {runs.import_s['off'][-1]:7.2f} s)  "
              f"copies {copied:.0f} s", flush=True)
    return runs


# -- report ---------------------------------------------------------------------------------

def _med(values: list[float]) -> float:
    return statistics.median(values)


def segment_results(engines: list[str], runs: dict, counts: dict,
                    answers: dict) -> dict[str, dict]:
    results = {}
    for name in SEGMENTS:
        med = {side: _med(times) for side, times in runs[name].items()}
        ours = {engine: med[engine] for engine in engines}
        best = min(ours, key=ours.get)
        ratio = ours[best] / med["duckdb"]
        pandas_ratio = max(ours.values()) / med["pandas"]
        results[name] = {
            "count": counts[name], "answers": answers[name],
            **{f"{engine}_s": ours[engine] for engine in engines},
            "duckdb_s": med["duckdb"], "pandas_s": med["pandas"], "best": best,
            "ratio": ratio, "pandas_ratio": pandas_ratio,
            "met": ratio <= DUCKDB_TARGET and pandas_ratio < 1.0}
    return results


def stats_results(stats: dict[str, StatsRuns], import_rows: int) -> dict[str, dict]:
    results = {}
    for engine, runs in stats.items():
        on, off = _med(runs.upsert_ms["on"]), _med(runs.upsert_ms["off"])
        imp_on, imp_off = _med(runs.import_s["on"]), _med(runs.import_s["off"])
        results[engine] = {
            "upsert_ms": on, "upsert_nostats_ms": off, "stats_ms": on - off,
            "upsert_p90_ms": float(np.percentile(runs.upsert_ms["on"], 90)),
            "upserts": len(runs.upsert_ms["on"]), "upsert_met": on - off < UPSERT_TARGET_MS,
            "import_s": imp_on, "import_nostats_s": imp_off, "import_ratio": imp_on / imp_off,
            "import_rows": import_rows, "import_met": imp_on / imp_off <= IMPORT_TARGET,
            "import_runs_s": [round(v, 3) for v in runs.import_s["on"]],
            "import_nostats_runs_s": [round(v, 3) for v in runs.import_s["off"]]}
    return results


def peak_memory_mb() -> float:
    """The process's peak resident set, in MB (0 when unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cell(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def print_table(args, engines: list[str], data: Dataset, seg: dict[str, dict],
                stats: dict[str, dict], prep: dict[str, float], duck_threads: int) -> None:
    print()
    print(f"segments: {data.size:,} contacts, {data.orders:,} orders, {data.events:,} events "
          f"(seed {args.seed}, now = {data.now:%Y-%m-%d %H:%M:%S} UTC), median of "
          f"{args.repeat} rotating runs each")
    print("  siyu       = ws.segments.count(spec, now=now) on the loaded workspace "
          "(stats rebuilt)")
    print(f"  DuckDB     = one hand-written SQL query, in-memory database, {duck_threads} "
          f"threads")
    print("  pandas     = idiomatic pandas on DataFrames already in memory")
    print("  prepared:  " + ", ".join(f"{key} {value:.1f} s" for key, value in prep.items()))
    print(f"  peak memory of this process: {peak_memory_mb():,.0f} MB")
    print()
    header = (f"  {'segment':<16} {'siyu SQLite s':>13} {'siyu PostgreSQL s':>17} "
              f"{'DuckDB s':>9} {'pandas s':>9} {'count':>10} {'best/DuckDB':>11} "
              f"{'max/pandas':>10}  met")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, row in seg.items():
        print(f"  {name:<16} {_cell(row.get('sqlite_s'), 13)} "
              f"{_cell(row.get('postgresql_s'), 17)} {row['duckdb_s']:>9.3f} "
              f"{row['pandas_s']:>9.3f} {row['count']:>10,} {row['ratio']:>11.2f} "
              f"{row['pandas_ratio']:>10.2f}  {'met' if row['met'] else 'NOT met'}")
    print()
    for name in SEGMENTS:
        print(f"  {name:<16} {DESCRIPTIONS[name]}")
    print(f"  target: the faster of siyu's engines ({', '.join(engines)}) within "
          f"{DUCKDB_TARGET:g}x DuckDB, and every engine faster than pandas (max/pandas < 1)")
    print("  answers: every side gave the same count on every run")
    for engine, row in stats.items():
        label = ENGINE_LABELS[engine]
        verdict = "met" if row["upsert_met"] else "NOT met"
        print(f"\n  stats, one new order ({label}): keeping the stats current takes "
              f"{row['stats_ms']:.2f} ms (ws.orders.upsert median {row['upsert_ms']:.2f} ms, "
              f"p90 {row['upsert_p90_ms']:.2f} ms, {row['upserts']} calls; without stats "
              f"{row['upsert_nostats_ms']:.2f} ms)   target < {UPSERT_TARGET_MS:g} ms: "
              f"{verdict}")
        verdict = "met" if row["import_met"] else "NOT met"
        print(f"  stats, import of {row['import_rows']:,} orders ({label}): "
              f"{row['import_s']:.2f} s, without stats {row['import_nostats_s']:.2f} s, "
              f"ratio {row['import_ratio']:.3f}   target <= {IMPORT_TARGET:g}: {verdict}")
    if stats:
        print("  answers: after the new orders, the copy that kept its stats counts every "
              "segment as pandas does on the grown data")
    print()


def json_lines(args, engines: list[str], data: Dataset, seg: dict[str, dict],
               stats: dict[str, dict]) -> list[dict]:
    rows = {"contacts": data.size, "orders": data.orders, "events": data.events}
    target = (f"best engine / duckdb <= {DUCKDB_TARGET:g} and every engine faster than "
              f"pandas")
    lines = []
    for name, row in seg.items():
        lines.append({"bench": BENCH, "case": name, "count": row["count"],
                      "answers": row["answers"],
                      "ours_s": round(row[f"{row['best']}_s"], 4), "ours_engine": row["best"],
                      **{f"{engine}_s": round(row[f"{engine}_s"], 4) for engine in engines},
                      "baseline": "duckdb", "baseline_s": round(row["duckdb_s"], 4),
                      "pandas_s": round(row["pandas_s"], 4), "ratio": round(row["ratio"], 3),
                      "pandas_ratio": round(row["pandas_ratio"], 3), "target": target,
                      "met": bool(row["met"]), "size": data.size})
    for engine, row in stats.items():
        lines.append({"bench": BENCH, "case": "stats_upsert", "engine": engine,
                      "stats_ms": round(row["stats_ms"], 3),
                      "ours_ms": round(row["upsert_ms"], 3),
                      "baseline": "no stats (suspended)",
                      "baseline_ms": round(row["upsert_nostats_ms"], 3),
                      "p90_ms": round(row["upsert_p90_ms"], 3), "calls": row["upserts"],
                      "target": f"stats_ms = ours_ms - baseline_ms < {UPSERT_TARGET_MS:g}",
                      "met": bool(row["upsert_met"]), "size": data.size})
        lines.append({"bench": BENCH, "case": "stats_import", "engine": engine,
                      "ours_s": round(row["import_s"], 3), "baseline": "no stats (suspended)",
                      "baseline_s": round(row["import_nostats_s"], 3),
                      "ratio": round(row["import_ratio"], 3),
                      "target": f"ratio <= {IMPORT_TARGET:g}", "met": bool(row["import_met"]),
                      "rows": row["import_rows"], "size": data.size})
    worst = max(seg, key=lambda name: seg[name]["ratio"])
    met = (all(row["met"] for row in seg.values())
           and all(row["upsert_met"] and row["import_met"] for row in stats.values()))
    lines.append({
        "bench": BENCH, "case": "all", "size": data.size, "rows": rows,
        "engines": engines, "ratio": round(seg[worst]["ratio"], 3), "worst_case": worst,
        "peak_mb": round(peak_memory_mb()),
        "segments": {name: {key: (round(value, 4) if isinstance(value, float) else value)
                            for key, value in row.items()} for name, row in seg.items()},
        "stats": {engine: {key: (round(value, 3) if isinstance(value, float) else value)
                           for key, value in row.items()} for engine, row in stats.items()},
        "target": f"{target}; stats upsert < {UPSERT_TARGET_MS:g} ms; stats import ratio <= "
                  f"{IMPORT_TARGET:g}",
        "met": bool(met)})
    return lines


# -- main -----------------------------------------------------------------------------------

def _engines(text: str, parser: argparse.ArgumentParser, option: str) -> list[str]:
    if text.strip().lower() in ("", "none"):
        return []
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    names = ["postgresql" if name in ("pg", "postgres") else name for name in names]
    unknown = [name for name in names if name not in ENGINES]
    if unknown:
        parser.error(f"{option}: unknown engine(s) {', '.join(unknown)}; use sqlite and/or "
                     f"postgresql")
    return [engine for engine in ENGINES if engine in names]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000,
                        help="contacts to generate; orders are 10x and events 5x as many "
                             "(default: 1000000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each side, at least 3; the median is reported "
                             "(default: 3)")
    parser.add_argument("--seed", type=int, default=20251125,
                        help="data generator seed (default: 20251125)")
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="siyu's engines to count on, comma-separated "
                             "(default: sqlite,postgresql)")
    parser.add_argument("--stats-engines", default=None,
                        help="engines to measure the stats costs on, comma-separated, or "
                             "'none' (default: the same as --engines)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL server; the bench creates databases "
                             f"siyu_bench_<hex> on it and drops them (default: {DEFAULT_PG_URL})")
    parser.add_argument("--upserts", type=int, default=200,
                        help="timed ws.orders.upsert calls per side and run, after 10 "
                             "untimed (default: 200)")
    parser.add_argument("--import-size", type=int, default=None,
                        help="orders in the stats import (default: 100000, or half the "
                             "contacts when --size is below 200000)")
    parser.add_argument("--tmpdir", type=Path, default=None,
                        help="folder for the SQLite files and the CSV (default: the system "
                             "temp folder)")
    args = parser.parse_args(argv)
    if args.size < 100:
        parser.error("--size must be at least 100")
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (the median of 3 or more runs is reported)")
    args.engines = _engines(args.engines, parser, "--engines")
    if not args.engines:
        parser.error("--engines names no engine")
    args.stats_engines = (args.engines if args.stats_engines is None
                          else _engines(args.stats_engines, parser, "--stats-engines"))
    if not set(args.stats_engines) <= set(args.engines):
        parser.error("--stats-engines must be among --engines")
    if args.import_size is None:
        args.import_size = min(100_000, max(1_000, args.size // 2))
    if args.upserts < 10 or args.import_size < 1:
        parser.error("--upserts must be at least 10 and --import-size at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-", dir=args.tmpdir))
    dbs: dict[str, Databases] = {}
    spaces: dict[str, siyu.Workspace] = {}
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        start = time.perf_counter()
        data = generate(args.size, args.seed, now)
        prep = {"generate": time.perf_counter() - start}
        print(f"generated {data.size:,} contacts, {data.orders:,} orders, {data.events:,} "
              f"events, {len(data.tag_contact):,} contact tags (seed {args.seed}) in "
              f"{prep['generate']:.1f} s", flush=True)
        start = time.perf_counter()
        f = frames(data)
        prep["pandas frames"] = time.perf_counter() - start
        start = time.perf_counter()
        duck = duckdb_load(f)
        prep["DuckDB load"] = time.perf_counter() - start
        duck_threads = int(duck.execute("SELECT current_setting('threads')").fetchone()[0])
        print(f"pandas frames in {prep['pandas frames']:.1f} s, DuckDB loaded in "
              f"{prep['DuckDB load']:.1f} s", flush=True)

        urls: dict[str, str] = {}
        timezone = "Asia/Shanghai"
        for engine in args.engines:
            dbs[engine] = Databases(engine, folder, args.pg_url)
            urls[engine], steps = build(dbs[engine], data)
            label = ENGINE_LABELS[engine]
            prep[f"{label} load"] = steps["load_s"]
            prep[f"{label} rebuild_stats"] = steps["rebuild_stats_s"]
            if engine == "postgresql":
                prep["PostgreSQL vacuum analyze"] = steps["vacuum_s"]
            print(f"{dbs[engine].describe()}: loaded in {steps['load_s']:.1f} s, "
                  f"rebuild_stats() in {steps['rebuild_stats_s']:.1f} s "
                  f"{steps['rebuild_stats']}", flush=True)
            spaces[engine] = dbs[engine].open(urls[engine])
            timezone = str(spaces[engine].timezone)

        sides = [siyu_side(engine, spaces[engine], now) for engine in args.engines]
        sides += [Side("duckdb", "DuckDB", lambda name: duckdb_count(duck, name, now)),
                  Side("pandas", "pandas", lambda name: pandas_count(f, name, now))]
        print("counting (median s per side):", flush=True)
        runs, counts, answers = measure_segments(sides, args.repeat)
        for engine in list(spaces):
            dbs[engine].close(spaces.pop(engine))
        duck.close()

        stats: dict[str, StatsRuns] = {}
        if args.stats_engines:
            plan = stats_plan(data, f, args.seed, args.upserts, 10, args.import_size, folder,
                              timezone)
            print(f"stats costs: {args.upserts} upserts after 10 untimed, and an import of "
                  f"{plan.import_rows:,} orders, on copies of the workspace", flush=True)
            for engine in args.stats_engines:
                stats[engine] = measure_stats(dbs[engine], urls[engine], data, plan,
                                              args.repeat)
        seg = segment_results(args.engines, runs, counts, answers)
        stat_rows = stats_results(stats, args.import_size)
        print_table(args, args.engines, data, seg, stat_rows, prep, duck_threads)
    except WrongAnswer as exc:
        print(f"WRONG ANSWER: {exc}", file=sys.stderr)
        return 1
    finally:
        for ws in spaces.values():
            ws.close()
        for database in dbs.values():
            database.dispose()
        shutil.rmtree(folder, ignore_errors=True)

    for line in json_lines(args, args.engines, data, seg, stat_rows):
        print(json.dumps(line, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
