"""Benchmark: the SQL connector versus a plain ``INSERT … SELECT`` copy of the same orders.

Target (connectors issue): a sync of an ERP database's orders with the SQL connector runs at
least 0.3x the orders/s of the plainest fast copy of the same rows into siyu's ``orders``
table on the same engine.

- **data** (seeded): ``--size`` orders (default 1,000,000) of ``--members`` members (default
  100,000) in the ERP's ``orders`` table: ``id``, ``order_no``, ``member_no`` (none for 5%:
  guests), ``amount_fen`` (lognormal, 1 to 20,000 yuan), ``status`` (94% paid, 4% refunded,
  2% cancelled), ``paid_at`` over a year (the ERP's local time, no zone) and ``updated_at``
  (within the hour after payment, a few days later for refunds, and the nightly batch job's
  midnight for 10%: long runs of equal times), with an index on ``(updated_at, id)``.
- **engines**: ``postgresql`` — one new database ``siyu_bench_<hex>`` on ``--pg-url`` holding
  the ERP in schema ``erp`` and each run's workspace in a schema of its own (dropped after the
  run); ``sqlite`` — the ERP in its own file, each run's workspace in a new file.
- **every run** starts from a new, migrated workspace holding the members as contacts (with
  their member numbers; written before the clock starts, the same way on both sides).
- **ours**: ``connectors.sync(ws, "erp")`` of a SQL connector on the ERP (the default batch
  size, or ``--batch-size``), mapping order number, amount, status, payment time and member
  number: reading the ERP, validating every record, matching buyers by member number,
  storing pages with their cursor, the order stats and the run history.
- **baseline**: one statement and ``COMMIT`` on the same engine: on PostgreSQL ``INSERT INTO
  ws.orders (…) SELECT … FROM erp.orders LEFT JOIN ws.contact ON member_id = member_no``; on
  SQLite the same after ``ATTACH``-ing the ERP file. It writes what ours writes: the contact
  matched by member number, the refund of refunded orders, the payment time converted from
  the workspace's zone to UTC.
- **answers**: after every run both sides are checked against the generated data: orders,
  distinct order numbers, sum of amounts and refunds, orders per status, orders with a
  buyer and the sum of their contact ids, sum of payment times (UTC seconds). A difference is
  a ``WRONG ANSWER`` (exit 1).

Runs alternate ours and the baseline (the order flips each repetition) after a warm-up of
both at ``--warmup`` orders; the medians of ``--repeat`` runs are compared. Run ``python
bench/sync.py --help`` for the options; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import siyu  # noqa: E402
from siyu.core.importing.contacts import import_contact_frame  # noqa: E402
from siyu.core.importing.table import ImportReport  # noqa: E402
from siyu.plugins import connectors  # noqa: E402

BENCH = "sync"
TARGET = 0.3
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENGINES = ("postgresql", "sqlite")
MAPPING = {"external_id": "order_no", "amount_fen": "amount_fen", "paid_at": "paid_at",
           "status": "status", "member_id": "member_no"}
START = np.datetime64("2025-01-01T00:00:00", "s")
COLUMNS = ("id", "order_no", "member_no", "amount_fen", "status", "paid_at", "updated_at")


class WrongAnswer(Exception):
    pass


def log(*parts: object) -> None:
    print(*parts, flush=True)


# -- data -----------------------------------------------------------------------------------

@dataclass
class Orders:
    """Generated ERP orders."""

    size: int
    members: int
    id: np.ndarray
    order_no: np.ndarray
    member: np.ndarray      # member index 1…members, 0 for a guest
    amount_fen: np.ndarray
    status: np.ndarray
    paid_at: np.ndarray     # datetime64[s], the ERP's local time
    updated_at: np.ndarray  # datetime64[s]

    def frame(self) -> pd.DataFrame:
        member_no = pd.Series([f"M{m:07d}" for m in self.member], dtype=object)
        member_no[self.member == 0] = None
        return pd.DataFrame({"id": self.id, "order_no": self.order_no, "member_no": member_no,
                             "amount_fen": self.amount_fen, "status": self.status,
                             "paid_at": self.paid_at, "updated_at": self.updated_at})

    def expected(self, zone: ZoneInfo) -> dict:
        """The checksum both sides must reproduce, computed from the generated values."""
        local = pd.Series(self.paid_at).dt.tz_localize(zone)
        utc_seconds = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(
            "datetime64[s]").astype(np.int64)
        refunded = self.status == "refunded"
        buyers = self.member > 0
        return {
            "orders": self.size,
            "distinct_order_no": self.size,
            "amount_fen": int(self.amount_fen.sum()),
            "refunded_fen": int(self.amount_fen[refunded].sum()),
            "per_status": {k: int(v) for k, v in sorted(
                pd.Series(self.status).value_counts().items())},
            "with_buyer": int(buyers.sum()),
            "buyer_id_sum": int(self.member[buyers].sum()),  # contact id j is member j
            "paid_utc_seconds": int(utc_seconds.sum()),
        }


def generate(size: int, members: int, seed: int) -> Orders:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, size + 1, dtype=np.int64)
    member = rng.integers(1, members + 1, size)
    member[rng.random(size) < 0.05] = 0
    amount = np.clip(np.exp(rng.normal(9.5, 1.0, size)), 100, 2_000_000).astype(np.int64)
    status = np.array(["paid", "refunded", "cancelled"], dtype=object)[
        rng.choice(3, size=size, p=[0.94, 0.04, 0.02])]
    paid = START + np.sort(rng.integers(0, 365 * 86400, size)).astype("timedelta64[s]")
    updated = paid + rng.integers(0, 3600, size).astype("timedelta64[s]")
    refunded = status == "refunded"
    updated[refunded] += rng.integers(86400, 7 * 86400, int(refunded.sum())).astype(
        "timedelta64[s]")
    batch = rng.random(size) < 0.10  # the nightly job touched these: midnight after payment
    updated[batch] = paid[batch].astype("datetime64[D]") + np.timedelta64(1, "D")
    order_no = np.array([f"ERP{i:09d}" for i in ids], dtype=object)
    return Orders(size, members, ids, order_no, member, amount, status, paid, updated)


def contacts_frame(members: int) -> pd.DataFrame:
    """The members as a contact import sees them (member number and name)."""
    return pd.DataFrame({"member_id": [f"M{j:07d}" for j in range(1, members + 1)],
                         "name": [f"会员{j}" for j in range(1, members + 1)]},
                        index=pd.RangeIndex(1, members + 1), dtype=object)


# -- the ERP --------------------------------------------------------------------------------

class Engine:
    """One engine's ERP and workspaces."""

    def __init__(self, name: str, folder: Path, pg_url: str):
        self.name, self.folder = name, folder
        self.database = None
        if name == "postgresql":
            self.database = f"siyu_bench_{uuid.uuid4().hex[:10]}"
            self.admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {self.database}"))
            self.url = make_url(pg_url).set(database=self.database)
            self.source_url = self.url.render_as_string(hide_password=False)
            self.db = sa.create_engine(self.url)
            with self.db.begin() as conn:
                conn.execute(sa.text("CREATE SCHEMA erp"))
        else:
            self.admin = None
            self.erp_path = folder / "erp.db"
            self.source_url = f"sqlite:///{self.erp_path}"
            self.db = None

    def table(self, name: str) -> str:
        """The ERP table ``name`` as the connector names it."""
        return f"erp.{name}" if self.name == "postgresql" else name

    def load(self, name: str, data: Orders) -> None:
        """Write ``data`` into the ERP's table ``name`` (not timed)."""
        frame = data.frame()
        if self.name == "postgresql":
            ddl = (f"CREATE TABLE erp.{name} (id bigint PRIMARY KEY, order_no varchar(32) NOT "
                   "NULL, member_no varchar(32), amount_fen bigint NOT NULL, status "
                   "varchar(16) NOT NULL, paid_at timestamp NOT NULL, updated_at timestamp "
                   "NOT NULL)")
            buffer = io.StringIO()
            frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N",
                         date_format="%Y-%m-%d %H:%M:%S")
            raw = self.db.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(ddl)
                with cursor.copy(f"COPY erp.{name} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
                cursor.execute(f"CREATE INDEX {name}_changes ON erp.{name} (updated_at, id)")
                raw.commit()
                cursor.execute(f"ANALYZE erp.{name}")
                raw.commit()
            finally:
                raw.close()
            return
        conn = sqlite3.connect(self.erp_path)
        try:
            conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, order_no TEXT NOT NULL, "
                         "member_no TEXT, amount_fen INTEGER NOT NULL, status TEXT NOT NULL, "
                         "paid_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)")
            for column in ("paid_at", "updated_at"):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d %H:%M:%S")
            frame["member_no"] = frame["member_no"].astype(object)
            rows = list(frame.itertuples(index=False, name=None))
            conn.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], r[6])
                              for r in rows])
            conn.execute(f"CREATE INDEX {name}_changes ON {name} (updated_at, id)")
            conn.commit()
        finally:
            conn.close()

    # -- workspaces -------------------------------------------------------------------------

    def workspace(self, members: int) -> tuple[siyu.Workspace, str]:
        """A new migrated workspace holding the members as contacts, and its schema/file."""
        tag = uuid.uuid4().hex[:10]
        if self.name == "postgresql":
            where = f"ws_{tag}"
            with self.db.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {where}"))
            url = self.url.update_query_dict({"options": f"-csearch_path={where}"})
            ws = siyu.open(url.render_as_string(hide_password=False), load_entry_points=False)
        else:
            where = str(self.folder / f"ws-{tag}.db")
            ws = siyu.open(f"sqlite:///{where}", load_entry_points=False)
        report = ImportReport("contacts", "members", rows=members)
        import_contact_frame(ws, contacts_frame(members), report, key="member_id",
                             progress=False, record=False)
        if report.created != members:
            raise RuntimeError(f"the members were not all stored: {report.summary()}")
        if self.name == "postgresql":
            with ws.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE contact"))
        return ws, where

    def drop(self, ws: siyu.Workspace, where: str) -> None:
        ws.close()
        if self.name == "postgresql":
            with self.db.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {where} CASCADE"))
        else:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{where}{suffix}").unlink(missing_ok=True)

    def dispose(self) -> None:
        if self.db is not None:
            self.db.dispose()
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"))
            self.admin.dispose()

    def describe(self) -> str:
        if self.name == "postgresql":
            return (f"PostgreSQL → PostgreSQL (database {self.database} on "
                    f"{self.url.host}:{self.url.port}: ERP in schema erp, each workspace in a "
                    "schema of its own)")
        return "SQLite → SQLite (ERP file, each workspace in a new file)"

    # -- the two sides ----------------------------------------------------------------------

    def run_ours(self, table: str, data: Orders, batch: int | None) -> float:
        ws, where = self.workspace(data.members)
        try:
            settings = {"url": self.source_url, "orders_table": self.table(table)}
            if batch:
                settings["batch_size"] = batch
            connectors.add(ws, "erp", "sql", settings=settings, mapping={"orders": MAPPING},
                           every_minutes=0)
            start = time.perf_counter()
            report = connectors.sync(ws, "erp", progress=False)
            seconds = time.perf_counter() - start
            run = report.runs[0]
            if not report.ok or run.created != data.size:
                raise WrongAnswer(f"ours: the sync did not store every order: "
                                  f"{report.summary()}")
            check("ours", ws, data)
            return seconds
        finally:
            self.drop(ws, where)

    def run_baseline(self, table: str, data: Orders) -> float:
        ws, where = self.workspace(data.members)
        try:
            zone = ws.timezone
            if self.name == "postgresql":
                sql = (f"INSERT INTO {where}.orders (source, external_id, contact_id, "
                       "amount_fen, status, refunded_fen, paid_at, created_at) "
                       "SELECT 'erp', o.order_no, c.id, o.amount_fen, o.status, "
                       "CASE WHEN o.status = 'refunded' THEN o.amount_fen ELSE 0 END, "
                       f"o.paid_at AT TIME ZONE '{zone.key}', now() FROM erp.{table} o "
                       f"LEFT JOIN {where}.contact c ON c.member_id = o.member_no")
                raw = self.db.raw_connection()
                try:
                    start = time.perf_counter()
                    raw.cursor().execute(sql)
                    raw.commit()
                    seconds = time.perf_counter() - start
                finally:
                    raw.close()
            else:
                shift = _fixed_offset_hours(zone, data)
                now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                sql = ("INSERT INTO orders (source, external_id, contact_id, amount_fen, status, "
                       "refunded_fen, paid_at, created_at) "
                       "SELECT 'erp', o.order_no, c.id, o.amount_fen, o.status, "
                       "CASE WHEN o.status = 'refunded' THEN o.amount_fen ELSE 0 END, "
                       f"strftime('%Y-%m-%d %H:%M:%f', o.paid_at, '{-shift:+d} hours') || '000', "
                       f"? FROM erp.{table} o LEFT JOIN contact c ON c.member_id = o.member_no")
                conn = sqlite3.connect(where)
                try:
                    start = time.perf_counter()
                    conn.execute("ATTACH DATABASE ? AS erp", (str(self.erp_path),))
                    conn.execute(sql, (now,))
                    conn.commit()
                    seconds = time.perf_counter() - start
                finally:
                    conn.close()
            check("baseline", ws, data)
            return seconds
        finally:
            self.drop(ws, where)


def _fixed_offset_hours(zone: ZoneInfo, data: Orders) -> int:
    """The zone's offset from UTC in whole hours, the same all year (else SQLite's plain
    ``strftime`` shift would not be the conversion ours makes)."""
    offsets = {zone.utcoffset(pd.Timestamp(t).to_pydatetime())
               for t in (data.paid_at.min(), data.paid_at.max(), START + np.timedelta64(180, "D"))}
    (offset,) = offsets
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    if rest or len(offsets) != 1:
        raise RuntimeError(f"the workspace's zone {zone.key} has no fixed whole-hour offset")
    return hours


# -- answers --------------------------------------------------------------------------------

def checksum(ws: siyu.Workspace) -> dict:
    """What the workspace stored, summarised the same way as :meth:`Orders.expected`."""
    epoch = ("CAST(EXTRACT(EPOCH FROM paid_at) AS BIGINT)" if ws.engine.dialect.name ==
             "postgresql" else "CAST(strftime('%s', paid_at) AS INTEGER)")
    with ws.engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT external_id), coalesce(sum(amount_fen), 0), "
            "coalesce(sum(refunded_fen), 0), count(contact_id), coalesce(sum(contact_id), 0), "
            f"coalesce(sum({epoch}), 0) FROM orders WHERE source = 'erp'")).one()
        statuses = conn.execute(sa.text(
            "SELECT status, count(*) FROM orders WHERE source = 'erp' GROUP BY status")).all()
    return {"orders": row[0], "distinct_order_no": row[1], "amount_fen": int(row[2]),
            "refunded_fen": int(row[3]),
            "per_status": {k: int(v) for k, v in sorted(statuses)},
            "with_buyer": row[4], "buyer_id_sum": int(row[5]),
            "paid_utc_seconds": int(row[6])}


def check(side: str, ws: siyu.Workspace, data: Orders) -> None:
    got, expected = checksum(ws), data.expected(ws.timezone)
    if got != expected:
        lines = [f"{key}: stored {got.get(key)!r}, generated {expected[key]!r}"
                 for key in expected if got.get(key) != expected[key]]
        raise WrongAnswer(f"{side}: stored orders differ from the generated ones: {lines}")


# -- report ---------------------------------------------------------------------------------

def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "inf"


def report_case(engine: Engine, size: dict, runs: dict[str, list[float]]) -> dict:
    med = {side: statistics.median(times) for side, times in runs.items()}
    orders = size["orders"]
    ratio = (orders / med["ours"]) / (orders / med["baseline"])
    print()
    print(f"{engine.name}: {engine.describe()}")
    header = f"  {'side':<10} {'orders':>10} {'median s':>9} {'orders/s':>10}   runs (s)"
    print(header)
    print("  " + "-" * (len(header) + 12))
    for side in ("ours", "baseline"):
        times = " ".join(f"{t:.2f}" for t in runs[side])
        print(f"  {side:<10} {orders:>10,} {med[side]:>9.3f} {_rate(orders, med[side]):>10}"
              f"   {times}")
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"  ratio (ours orders/s / baseline orders/s): {ratio:.3f}   target >= {TARGET}: "
          f"{verdict}")
    return {"bench": BENCH, "case": engine.name, "ours_s": round(med["ours"], 3),
            "baseline": "insert_select", "baseline_s": round(med["baseline"], 3),
            "ratio": round(ratio, 4), "target": f"ratio >= {TARGET}", "met": ratio >= TARGET,
            "ours_orders_per_s": round(orders / med["ours"]),
            "baseline_orders_per_s": round(orders / med["baseline"]),
            "runs": {side: [round(t, 3) for t in times] for side, times in runs.items()},
            "size": size}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000,
                        help="orders in the ERP (default: 1000000)")
    parser.add_argument("--members", type=int, default=None,
                        help="members (contacts in each workspace) the orders belong to "
                             "(default: 100000, at most --size)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each side, at least 3; the median is reported "
                             "(default: 3)")
    parser.add_argument("--warmup", type=int, default=10_000,
                        help="orders in the untimed warm-up run of each side (default: 10000)")
    parser.add_argument("--seed", type=int, default=20260301,
                        help="data generator seed (default: 20260301)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated: postgresql, sqlite (default: both)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="the connector's batch size (default: the connector's default)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL server; the bench makes a database of its own there, "
                             f"dropped afterwards (default: {DEFAULT_PG_URL})")
    parser.add_argument("--tmpdir", type=Path, default=None,
                        help="folder for the SQLite files (default: the system temp folder)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.warmup < 1:
        parser.error("--size and --warmup must be at least 1")
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (the median of 3 or more runs is reported)")
    args.members = min(args.members or 100_000, args.size)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not args.engines or set(args.engines) - set(ENGINES):
        parser.error(f"--engines takes a comma-separated list of {', '.join(ENGINES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-sync-", dir=args.tmpdir))
    size = {"orders": args.size, "members": args.members}
    lines: list[dict] = []
    engines: list[Engine] = []
    try:
        start = time.perf_counter()
        data = generate(args.size, args.members, args.seed)
        warm = generate(min(args.warmup, args.size), args.members, args.seed + 1)
        log(f"generated {args.size:,} orders of {args.members:,} members (seed {args.seed}) "
            f"in {time.perf_counter() - start:.1f} s")
        for name in args.engines:
            engine = Engine(name, folder, args.pg_url)
            engines.append(engine)
            start = time.perf_counter()
            engine.load("orders", data)
            engine.load("warm_orders", warm)
            log(f"{name}: ERP loaded in {time.perf_counter() - start:.1f} s")
            engine.run_ours("warm_orders", warm, args.batch_size)
            engine.run_baseline("warm_orders", warm)
            log(f"{name}: warm-up at {warm.size:,} orders done")
            runs: dict[str, list[float]] = {"ours": [], "baseline": []}
            for rep in range(args.repeat):
                sides = ("ours", "baseline") if rep % 2 == 0 else ("baseline", "ours")
                for side in sides:
                    seconds = (engine.run_ours("orders", data, args.batch_size)
                               if side == "ours" else engine.run_baseline("orders", data))
                    runs[side].append(seconds)
                    log(f"  {name} run {rep + 1}/{args.repeat} {side:<8} {seconds:9.3f} s  "
                        f"{_rate(args.size, seconds):>10} orders/s")
            lines.append(report_case(engine, size, runs))
    except WrongAnswer as exc:
        print(f"WRONG ANSWER: {exc}", file=sys.stderr)
        return 1
    finally:
        for engine in engines:
            engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)

    expected = data.expected(ZoneInfo("Asia/Shanghai"))
    print()
    print(f"  answers match on every run: {expected['orders']:,} orders, "
          f"{expected['with_buyer']:,} with a buyer, amounts {expected['amount_fen']:,} fen, "
          f"statuses {expected['per_status']}")
    print()
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))
    worst = min(lines, key=lambda line: line["ratio"])
    print(json.dumps({"bench": BENCH, "case": "all", "ours_s": worst["ours_s"],
                      "baseline": "insert_select", "baseline_s": worst["baseline_s"],
                      "ratio": worst["ratio"], "worst_case": worst["case"],
                      "target": f"ratio >= {TARGET}", "met": all(line["met"] for line in lines),
                      "cases": {line["case"]: line["ratio"] for line in lines},
                      "size": size}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
