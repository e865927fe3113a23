"""Benchmark: importing contacts from a CSV file versus a raw ``executemany`` insert.

Targets on 1,000,000 generated contacts:

- **import** (contacts import issue): ``ws.imports.contacts()`` with no plugin implementing
  ``on_contact_added`` runs at least 0.5x the rows/s of a raw DBAPI ``executemany`` ``INSERT``
  of the same rows on the same engine;
- **hooks** (durable kernel issue): the same import with a plugin implementing
  ``on_contact_added``, timed until every notification is delivered, takes at most 1.5x the
  import without hook implementations.

- **ours (hooked)**: ``ws.imports.contacts(csv_path, progress=False)`` on a freshly migrated
  workspace with the built-in plugins and a bench plugin whose ``on_contact_added`` reads each
  contact's ``external_userid`` and ``via`` and keeps its delivery id, timed until the last
  notification is delivered (the import writes bulk notices in its transaction; the process
  delivers them after the commit). Checked: one delivery per contact, distinct delivery ids,
  every external_userid seen, no delivery left pending.
- **ours (no hooks)**: the same import on a workspace where no plugin implements
  ``on_contact_added`` (the built-in WeCom and live-code plugins disabled): reading and
  decoding the CSV, mapping the headers, validating and normalising every cell (phones,
  genders, times), and writing in one transaction.
- **baseline**: ``cursor.executemany("INSERT INTO contact (...) VALUES (?, ...)", rows)`` plus
  ``COMMIT`` on a raw DBAPI connection of another freshly migrated workspace (same schema, same
  indexes, same engine settings). The tuples hold the already-normalised values the importer
  stores and are built before the clock starts: the baseline measures the insert only.

Each repetition runs on fresh databases (a new SQLite file, or a new PostgreSQL schema); the
three sides rotate, after a warm-up at a small size. Peak memory is the process's peak resident
set during each run (``VmHWM``, reset before the run through ``/proc/self/clear_refs``).
After every run each side is checked against the generated data (row count, distinct ids
and phones, phone digits, gender sum, name lengths, added_at range, rows per channel), so
ours and the baseline must agree; any difference exits with status 1.

Run ``python bench/import_contacts.py --help`` for the options; see ``bench/README.md``.
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import siyu

BENCH = "import_contacts"
TARGET = 0.5
HOOK_TARGET = 1.5
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

#: Columns the importer writes for a new contact, in its order; the baseline writes the same.
COLUMNS = ("external_userid", "unionid", "name", "phone", "gender", "city", "owner_id",
           "store_id", "source_channel", "remark", "added_at", "created_at", "updated_at")

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁"
                "谢宋唐许韩冯邓曹彭曾萧田董潘袁蒋蔡余杜叶程")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
             "玉兰萍红鹏辉玲晶燕婷雪琳欣怡梓涵子轩雨浩宇思佳嘉一诺")
NICKNAMES = ["Amy", "Coco", "小王", "阿杰", "🌸花花", "A-王姐美妆", "Lucky", "~晴天~", "木子",
             "安安", "Jason", "小鱼儿", "简单", "向日葵", "Mia🍓", "老陈", "张先生", "李女士",
             "Grace 陈", "宝妈-琳琳", "橙子", "momo", "大白", "Kiki"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177",
                   "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191",
                   "195", "198", "199"]
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "重庆", "西安",
          "长沙", "天津", "郑州", "宁波", "青岛", "厦门", "合肥", "无锡", "佛山", "东莞", "昆明",
          "福州", "济南", "大连", "沈阳", "哈尔滨", "南昌", "贵阳", "温州", ""]
CITY_WEIGHTS = np.array([9, 8, 7, 7, 6, 5, 4, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2,
                         2, 1, 1, 1, 1, 1, 1, 5], dtype=float)
CHANNELS = ["门店扫码", "企微活码", "抖音", "小红书", "视频号直播", "朋友圈广告", "老客推荐",
            "公众号", "天猫会员", ""]
CHANNEL_WEIGHTS = np.array([30, 18, 12, 9, 7, 6, 6, 5, 4, 3], dtype=float)
GENDER_TEXT = ["男", "女", "未知", ""]
GENDER_VALUE = np.array([1, 2, 0, 0])
GENDER_WEIGHTS = np.array([38, 52, 6, 4], dtype=float)
ALPHABET = np.array([ord(c) for c in
                     "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"],
                    dtype=np.uint32)
#: Asia/Shanghai (the workspace default) has had no daylight saving since 1991: UTC+8.
SHANGHAI_OFFSET = np.timedelta64(8, "h")
ADDED_FROM = np.datetime64("2023-01-01T00:00:00", "s")
ADDED_TO = np.datetime64("2025-11-01T00:00:00", "s")


# -- data -----------------------------------------------------------------------------------

@dataclass
class Dataset:
    """Generated contacts: what the operator's CSV shows and what should be stored."""

    size: int
    csv: pd.DataFrame          # the export as the operator sees it (Chinese headers)
    external_userid: np.ndarray
    name: np.ndarray
    phone: np.ndarray          # 11 digits, "" where the export has no phone
    gender: np.ndarray         # 0 / 1 / 2
    city: np.ndarray
    channel: np.ndarray
    added_utc: np.ndarray      # datetime64[s], naive UTC

    def expected(self) -> dict:
        """The checksum both sides must reproduce, computed from the generated values."""
        phones = self.phone[self.phone != ""]
        return {
            "rows": self.size,
            "distinct_external_userid": int(pd.Series(self.external_userid).nunique()),
            "phones": int(len(phones)),
            "distinct_phones": int(pd.Series(phones).nunique()),
            "phone_chars": int(np.strings.str_len(phones).sum()),
            "phone_tail_sum": int((phones.astype(np.int64) % 10_000).sum()),
            "gender_sum": int(self.gender.sum()),
            "name_chars": int(np.strings.str_len(self.name).sum()),
            "distinct_cities": int(pd.Series(self.city).nunique()),
            "first_added": str(self.added_utc.min()).replace("T", " "),
            "last_added": str(self.added_utc.max()).replace("T", " "),
            "per_channel": dict(sorted(pd.Series(self.channel).value_counts().items())),
        }


def _choose(rng: np.random.Generator, values, weights, size: int) -> np.ndarray:
    return np.asarray(values)[rng.choice(len(values), size=size, p=weights / weights.sum())]


def _digits(rng: np.random.Generator, width: int, size: int) -> np.ndarray:
    return np.strings.zfill(rng.integers(0, 10 ** width, size=size).astype(f"U{width}"), width)


def generate(size: int, seed: int) -> Dataset:
    """Seeded contacts, vectorised (no per-row Python)."""
    rng = np.random.default_rng(seed)
    # external_userid: "wm" + 24 random base-62 chars + a unique 6-char base-62 row number.
    rank = rng.permutation(size)
    places = 62 ** np.arange(5, -1, -1)
    codes = np.concatenate([
        np.broadcast_to(np.array([ord("w"), ord("m")], dtype=np.uint32), (size, 2)),
        ALPHABET[rng.integers(0, 62, size=(size, 24))],
        ALPHABET[(rank[:, None] // places) % 62],
    ], axis=1)
    external_userid = np.ascontiguousarray(codes, dtype=np.uint32).view("<U32").ravel()

    # Names: 2- or 3-character Chinese names, some WeChat-style nicknames.
    name = np.strings.add(np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), size)],
                          np.asarray(GIVEN)[rng.integers(0, len(GIVEN), size)])
    third = rng.random(size) < 0.6
    name = np.where(third, np.strings.add(name, np.asarray(GIVEN)[rng.integers(0, len(GIVEN),
                                                                               size)]), name)
    nick = rng.random(size) < 0.15
    name = np.where(nick, np.asarray(NICKNAMES)[rng.integers(0, len(NICKNAMES), size)],
                    name).astype(str)

    # Phones: stored as 11 digits; the export writes them in the ways operators type them.
    head = np.asarray(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), size)]
    mid, tail = _digits(rng, 4, size), _digits(rng, 4, size)
    phone = np.strings.add(np.strings.add(head, mid), tail)
    spaced = np.strings.add(np.strings.add(np.strings.add(head, " "), np.strings.add(mid, " ")),
                            tail)
    dashed = np.strings.add(np.strings.add(np.strings.add(head, "-"), np.strings.add(mid, "-")),
                            tail)
    style = rng.choice(6, size=size, p=[0.70, 0.08, 0.08, 0.05, 0.04, 0.05])
    shown = np.select(
        [style == 0, style == 1, style == 2, style == 3, style == 4],
        [phone, np.strings.add("+86 ", spaced), dashed, np.strings.add("+86", phone), spaced],
        default="")
    phone = np.where(style == 5, "", phone)

    pick = rng.choice(len(GENDER_TEXT), size=size, p=GENDER_WEIGHTS / GENDER_WEIGHTS.sum())
    gender_text, gender = np.asarray(GENDER_TEXT)[pick], GENDER_VALUE[pick]
    city = _choose(rng, CITIES, CITY_WEIGHTS, size)
    channel = _choose(rng, CHANNELS, CHANNEL_WEIGHTS, size)

    span = int((ADDED_TO - ADDED_FROM) / np.timedelta64(1, "s"))
    added_local = ADDED_FROM + rng.integers(0, span, size=size).astype("timedelta64[s]")
    added_text = np.strings.replace(added_local.astype("U19"), "T", " ")

    csv = pd.DataFrame({"外部联系人ID": external_userid, "昵称": name, "手机号": shown,
                        "性别": gender_text, "城市": city, "渠道": channel,
                        "添加时间": added_text})
    return Dataset(size, csv, external_userid, name, phone, gender, city, channel,
                   added_local - SHANGHAI_OFFSET)


def write_csv(data: Dataset, folder: Path) -> Path:
    """The export as a UTF-8 (with BOM) CSV, as Excel and the WeCom admin save it."""
    path = folder / f"contacts-{data.size}.csv"
    data.csv.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def baseline_rows(data: Dataset, dialect: str) -> list[tuple]:
    """The rows exactly as the importer stores them, as DBAPI parameters for ``dialect``.

    SQLite stores times as naive-UTC text (``2025-03-01 06:00:00.000000``), PostgreSQL as
    ``timestamptz`` (aware ``datetime``), like :class:`siyu.storage.types.UTCDateTime`.
    """
    now = datetime.now(UTC)
    if dialect == "sqlite":
        added = np.strings.add(np.strings.replace(data.added_utc.astype("U19"), "T", " "),
                               ".000000").tolist()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    else:
        added = [d.replace(tzinfo=UTC) for d in data.added_utc.astype("datetime64[us]").tolist()]
        stamp = now
    n = data.size
    phone = [p or None for p in data.phone.tolist()]
    return list(zip(data.external_userid.tolist(), [None] * n, data.name.tolist(), phone,
                    data.gender.tolist(), data.city.tolist(), [None] * n, [None] * n,
                    data.channel.tolist(), [""] * n, added, [stamp] * n, [stamp] * n,
                    strict=True))


# -- databases ------------------------------------------------------------------------------

class Databases:
    """Fresh, migrated workspaces: a new SQLite file or a new PostgreSQL schema each time."""

    def __init__(self, engine: str, folder: Path, pg_url: str):
        self.engine, self.folder, self.pg_url = engine, folder, pg_url
        self._admin = sa.create_engine(pg_url) if engine == "postgresql" else None
        self._cleanup: dict[int, object] = {}

    def open(self, plugins=(), disable=()) -> siyu.Workspace:
        tag = uuid.uuid4().hex[:12]
        options = {"load_entry_points": False, "plugins": list(plugins),
                   "disable": list(disable)}
        if self.engine == "sqlite":
            path = self.folder / f"bench-{tag}.db"
            ws = siyu.open(f"sqlite:///{path}", **options)
            self._cleanup[id(ws)] = path
            return ws
        schema = f"bench_{tag}"
        with self._admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(self.pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            ws = siyu.open(url.render_as_string(hide_password=False), **options)
        except BaseException:
            self._drop_schema(schema)
            raise
        self._cleanup[id(ws)] = schema
        return ws

    def close(self, ws: siyu.Workspace) -> None:
        ws.close()
        target = self._cleanup.pop(id(ws))
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        else:
            self._drop_schema(target)

    def _drop_schema(self, schema: str) -> None:
        with self._admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    def dispose(self) -> None:
        if self._admin is not None:
            self._admin.dispose()

    def describe(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite (files in {self.folder})"
        return f"postgresql ({make_url(self.pg_url).render_as_string(hide_password=True)})"


def checksum(ws: siyu.Workspace) -> dict:
    """What is stored, summarised the same way as :meth:`Dataset.expected`."""
    with ws.engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT external_userid), count(phone), "
            "count(DISTINCT phone), coalesce(sum(length(phone)), 0), "
            "coalesce(sum(CAST(substr(phone, 8, 4) AS INTEGER)), 0), "
            "coalesce(sum(gender), 0), coalesce(sum(length(name)), 0), "
            "count(DISTINCT city), min(added_at), max(added_at) FROM contact")).one()
        channels = conn.execute(sa.text(
            "SELECT source_channel, count(*) FROM contact GROUP BY source_channel")).all()
    first, last = (_time_text(v) for v in row[9:11])
    return {"rows": row[0], "distinct_external_userid": row[1], "phones": row[2],
            "distinct_phones": row[3], "phone_chars": int(row[4]),
            "phone_tail_sum": int(row[5]), "gender_sum": int(row[6]),
            "name_chars": int(row[7]), "distinct_cities": row[8], "first_added": first,
            "last_added": last,
            "per_channel": dict(sorted((k, int(v)) for k, v in channels))}


def _time_text(value) -> str | None:
    """``added_at`` as naive-UTC text to the second, whichever engine stored it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:19]


# -- runs -----------------------------------------------------------------------------------

class WrongAnswer(Exception):
    """A side stored something other than the generated contacts."""


class Greeter:
    """The bench plugin: reads each new contact and keeps the delivery ids it was given."""

    __name__ = "bench_greeter"

    def __init__(self):
        self.delivery_ids: set[str] = set()
        self.external_ids: set[str] = set()
        self.calls = 0

    @siyu.hookimpl
    def on_contact_added(self, contact, via, delivery_id):
        self.calls += 1
        if via == "import":
            self.external_ids.add(contact.external_userid)
        self.delivery_ids.add(delivery_id)


#: Built-in plugins implementing on_contact_added (disabled for the no-hooks side).
HOOKED_BUILTINS = ("wecom", "livecodes")


def reset_peak_memory() -> None:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """The process's peak resident set since the last reset, in MB (0 when unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Timed:
    seconds: float
    peak_mb: float


def run_ours(dbs: Databases, csv_path: Path, expected: dict, hooked: bool) -> Timed:
    greeter = Greeter()
    ws = dbs.open(plugins=[greeter]) if hooked else dbs.open(disable=HOOKED_BUILTINS)
    side = "ours (hooked)" if hooked else "ours (no hooks)"
    try:
        if not hooked and ws.has_hook("on_contact_added"):
            raise WrongAnswer(f"{side}: a plugin still implements on_contact_added")
        gc.collect()
        reset_peak_memory()
        start = time.perf_counter()
        report = ws.imports.contacts(csv_path, progress=False)
        elapsed = time.perf_counter() - start
        peak = peak_memory_mb()
        if report.created != expected["rows"]:
            raise WrongAnswer(f"{side}: the import reports {report.created} new contacts, "
                              f"expected {expected['rows']} ({report.summary()})")
        _check(side, checksum(ws), expected)
        if hooked:
            _check_hooks(ws, greeter, expected)
    finally:
        dbs.close(ws)
    return Timed(elapsed, peak)


def _check_hooks(ws: siyu.Workspace, greeter: Greeter, expected: dict) -> None:
    rows = expected["rows"]
    if (greeter.calls, len(greeter.delivery_ids)) != (rows, rows):
        raise WrongAnswer(f"ours (hooked): {greeter.calls} deliveries with "
                          f"{len(greeter.delivery_ids)} distinct ids for {rows} new contacts")
    if len(greeter.external_ids) != expected["distinct_external_userid"]:
        raise WrongAnswer(f"ours (hooked): the plugin saw {len(greeter.external_ids)} "
                          f"external_userids, expected {expected['distinct_external_userid']}")
    left = ws.hooks.df(limit=None)
    if len(left) == 0 or set(left["status"]) != {"done"}:
        raise WrongAnswer(f"ours (hooked): deliveries not done: "
                          f"{left['status'].value_counts().to_dict()}")


def run_baseline(dbs: Databases, rows: list[tuple], expected: dict) -> Timed:
    ws = dbs.open(disable=HOOKED_BUILTINS)
    try:
        raw = ws.engine.raw_connection()
        try:
            mark = "?" if ws.engine.dialect.paramstyle == "qmark" else "%s"
            sql = (f"INSERT INTO contact ({', '.join(COLUMNS)}) "
                   f"VALUES ({', '.join([mark] * len(COLUMNS))})")
            cursor = raw.cursor()
            gc.collect()
            reset_peak_memory()
            start = time.perf_counter()
            cursor.executemany(sql, rows)  # one implicit transaction on both drivers
            raw.commit()
            elapsed = time.perf_counter() - start
            peak = peak_memory_mb()
            cursor.close()
        finally:
            raw.close()
        _check("baseline", checksum(ws), expected)
    finally:
        dbs.close(ws)
    return Timed(elapsed, peak)


def _check(side: str, got: dict, expected: dict) -> None:
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    if wrong:
        lines = "; ".join(f"{k}: stored {g!r}, expected {e!r}" for k, (g, e) in wrong.items())
        raise WrongAnswer(f"{side}: stored contacts differ from the generated ones: {lines}")


# -- report ---------------------------------------------------------------------------------

def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "inf"


SIDES = ("hooked", "nohook", "baseline")
LABELS = {"hooked": "ours (hooked)", "nohook": "ours (no hooks)", "baseline": "baseline"}


def print_table(args, dbs: Databases, size: int, runs: dict[str, list[Timed]],
                expected: dict, gen_s: float) -> dict[str, float]:
    med = {side: statistics.median(t.seconds for t in runs[side]) for side in SIDES}
    peak = {side: max(t.peak_mb for t in runs[side]) for side in SIDES}
    import_ratio = med["baseline"] / med["nohook"]
    hook_ratio = med["hooked"] / med["nohook"]
    print()
    print(f"import_contacts: {size:,} contacts on {dbs.describe()}, "
          f"median of {args.repeat} rotating runs each (data prepared in {gen_s:.1f} s)")
    print("  ours (hooked)   = ws.imports.contacts(csv) with a plugin on on_contact_added "
          "(and the built-ins), until every notification is delivered")
    print("  ours (no hooks) = the same import, no plugin implementing on_contact_added")
    print("  baseline        = raw DBAPI executemany INSERT + COMMIT of the same, already "
          "normalised rows (insert only)")
    print()
    header = (f"  {'side':<16} {'rows':>10} {'median s':>9} {'rows/s':>11} {'peak MB':>8}"
              f"   runs (s)")
    print(header)
    print("  " + "-" * (len(header) + 10))
    for side in SIDES:
        times = " ".join(f"{t.seconds:.2f}" for t in runs[side])
        print(f"  {LABELS[side]:<16} {size:>10,} {med[side]:>9.3f} "
              f"{_rate(size, med[side]):>11} {peak[side]:>8.0f}   {times}")
    print()
    verdict = "met" if import_ratio >= TARGET else "NOT met"
    print(f"  import: ours (no hooks) rows/s / baseline rows/s = {import_ratio:.3f}   "
          f"target >= {TARGET}: {verdict}")
    verdict = "met" if hook_ratio <= HOOK_TARGET else "NOT met"
    print(f"  hooks:  ours (hooked) s / ours (no hooks) s = {hook_ratio:.3f}   "
          f"target <= {HOOK_TARGET}: {verdict}")
    print(f"  answers match on every run: {expected['rows']:,} rows, "
          f"{expected['distinct_phones']:,} distinct phones, gender sum "
          f"{expected['gender_sum']:,}, {len(expected['per_channel'])} channels; every "
          f"contact's notification delivered once")
    print()
    return {"import_ratio": import_ratio, "hook_ratio": hook_ratio, **{
        f"{side}_s": med[side] for side in SIDES}, **{f"{side}_peak_mb": peak[side]
                                                      for side in SIDES}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000,
                        help="contacts to import (default: 1000000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each side, at least 3; the median is reported "
                             "(default: 3)")
    parser.add_argument("--warmup", type=int, default=10_000,
                        help="contacts in the untimed warm-up run of each side "
                             "(default: 10000)")
    parser.add_argument("--seed", type=int, default=20251125,
                        help="data generator seed (default: 20251125)")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite",
                        help="database engine (default: sqlite)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL server for --engine postgresql; each run uses a "
                             f"fresh schema, dropped afterwards (default: {DEFAULT_PG_URL})")
    parser.add_argument("--tmpdir", type=Path, default=None,
                        help="folder for the CSV files and SQLite databases (default: the "
                             "system temp folder)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.warmup < 1:
        parser.error("--size and --warmup must be at least 1")
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (the median of 3 or more runs is reported)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-", dir=args.tmpdir))
    dbs = None
    try:
        dbs = Databases(args.engine, folder, args.pg_url)
        dialect = "sqlite" if args.engine == "sqlite" else "postgresql"

        start = time.perf_counter()
        data = generate(args.size, args.seed)
        csv_path = write_csv(data, folder)
        rows = baseline_rows(data, dialect)
        expected = data.expected()
        gen_s = time.perf_counter() - start
        print(f"generated {args.size:,} contacts (seed {args.seed}), CSV and baseline rows "
              f"in {gen_s:.1f} s: "
              f"{csv_path} ({csv_path.stat().st_size / 1e6:.1f} MB)", flush=True)

        warm = generate(min(args.warmup, args.size), args.seed + 1)
        warm_path = write_csv(warm, folder)
        run_ours(dbs, warm_path, warm.expected(), hooked=True)
        run_ours(dbs, warm_path, warm.expected(), hooked=False)
        run_baseline(dbs, baseline_rows(warm, dialect), warm.expected())
        print(f"warm-up at {warm.size:,} contacts done", flush=True)

        runs: dict[str, list[Timed]] = {side: [] for side in SIDES}
        for rep in range(args.repeat):
            order = SIDES[rep % 3:] + SIDES[:rep % 3]
            for side in order:
                if side == "baseline":
                    timed = run_baseline(dbs, rows, expected)
                else:
                    timed = run_ours(dbs, csv_path, expected, hooked=side == "hooked")
                runs[side].append(timed)
                print(f"  run {rep + 1}/{args.repeat} {LABELS[side]:<16} "
                      f"{timed.seconds:8.3f} s  {_rate(args.size, timed.seconds):>11} rows/s  "
                      f"peak {timed.peak_mb:,.0f} MB", flush=True)

        result = print_table(args, dbs, args.size, runs, expected, gen_s)
    except WrongAnswer as exc:
        print(f"WRONG ANSWER: {exc}", file=sys.stderr)
        return 1
    finally:
        if dbs is not None:
            dbs.dispose()
        shutil.rmtree(folder, ignore_errors=True)

    met = result["import_ratio"] >= TARGET and result["hook_ratio"] <= HOOK_TARGET
    print(json.dumps({"bench": BENCH, "case": "all", "engine": args.engine,
                      "ours_s": round(result["nohook_s"], 3),
                      "ours_hooked_s": round(result["hooked_s"], 3),
                      "baseline": "raw executemany", "baseline_s": round(result["baseline_s"], 3),
                      "ratio": round(result["import_ratio"], 3),
                      "hook_ratio": round(result["hook_ratio"], 3),
                      "peak_mb": {side: round(result[f"{side}_peak_mb"]) for side in SIDES},
                      "target": f"ratio >= {TARGET} and hook_ratio <= {HOOK_TARGET}",
                      "met": bool(met), "size": {"contacts": args.size}},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
