"""Leaderboards: reflecting one new order in a live ranking, incrementally vs. recomputed.

A board ranks 1,000 stores by this month's sales (net of refunds). The orders table holds
``--orders`` paid orders of this month (the issue: 10,000,000). Each repetition stores ONE
new order the way the API and the import path do (``ws.orders.upsert``: the row, the order
stats, any hook notices), then measures:

- **ours** — ``leaderboards.refresh`` (fold the rows above the watermark into the daily
  aggregate: one ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE``) plus
  ``leaderboards.ranking`` (sum the month's days per store from the aggregate, dense rank);
- **baseline** — ``leaderboards.recompute``: the same ranking straight from the orders table
  (``SUM … GROUP BY store`` over the month, dense rank).

Both rank every store (``top=1000``) and must give the same frame (ranks, keys, names,
values, yesterday's ranks), else the bench exits 1. Target: ours ≥ 100× faster (``ratio`` is
baseline / ours, ``target`` "ratio >= 100"). Data is generated in the database (a recursive
CTE on SQLite, ``generate_series`` on PostgreSQL), seeded by the order number.

::

    python bench/leaderboards.py                        # 1,000,000 orders, both engines
    python bench/leaderboards.py --orders 10000000      # the issue's size
    python bench/leaderboards.py --engines sqlite --orders 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import siyu  # noqa: E402
from siyu.plugins import leaderboards  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENGINES = ("sqlite", "postgresql")
TARGET = 100.0
BOARD = "bench-sales"


def _generate(ws, orders: int, stores: int) -> float:
    """``stores`` stores and ``orders`` paid orders this month (workspace timezone), made by
    the database itself; returns the seconds it took."""
    started = time.perf_counter()
    tz = ws.timezone
    now = datetime.now(tz)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # this month until an hour ago: the new orders of the measured runs come after
    span = max(int((now - month).total_seconds()) - 3600, 60)
    start_utc = month.astimezone(UTC)
    with ws.engine.begin() as conn:
        from siyu.storage.models import Store

        conn.execute(sa.insert(Store), [{"code": f"S{i:04d}", "name": f"门店{i:04d}",
                                         "region": f"区域{i % 10}", "city": "",
                                         "created_at": datetime.now(UTC)}
                                        for i in range(stores)])
        first = conn.execute(sa.text("SELECT MIN(id) FROM store")).scalar()
        params = {"n": orders, "stores": stores, "first": first, "span": span}
        if conn.dialect.name == "postgresql":
            params["start"] = start_utc
            conn.execute(sa.text(
                "INSERT INTO orders (source, external_id, store_id, amount_fen, status, "
                "refunded_fen, paid_at, created_at) "
                "SELECT 'bench', 'B' || n, :first + (n * 7919) % :stores, "
                "100 + (n * 31337) % 50000, 'paid', CASE WHEN n % 50 = 0 THEN 100 ELSE 0 END, "
                "CAST(:start AS timestamptz) + make_interval(secs => (n * 104729) % :span), "
                "now() FROM generate_series(CAST(1 AS BIGINT), :n) AS n"), params)
            conn.execute(sa.text("ANALYZE orders"))
        else:
            params["start"] = start_utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
            conn.execute(sa.text(
                "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq "
                "WHERE n < :n) "
                "INSERT INTO orders (source, external_id, store_id, amount_fen, status, "
                "refunded_fen, paid_at, created_at) "
                "SELECT 'bench', 'B' || n, :first + (n * 7919) % :stores, "
                "100 + (n * 31337) % 50000, 'paid', CASE WHEN n % 50 = 0 THEN 100 ELSE 0 END, "
                "strftime('%Y-%m-%d %H:%M:%S', :start, '+' || ((n * 104729) % :span) || "
                "' seconds') || '.000000', strftime('%Y-%m-%d %H:%M:%S.000000', 'now') "
                "FROM seq WHERE true"), params)
            conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


def _url(engine: str, pg_url: str, folder: Path) -> tuple[str, str | None]:
    if engine == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", None
    schema = f"bench_lb_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in pg_url else "?"
    return f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}", schema


def _drop(pg_url: str, schema: str) -> None:
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run_engine(engine: str, args: argparse.Namespace, folder: Path) -> dict:
    url, schema = _url(engine, args.pg_url, folder)
    try:
        ws = siyu.open(url, load_entry_points=False)
        try:
            made = _generate(ws, args.orders, args.stores)
            leaderboards.define(ws, BOARD, metric="sales_fen", dimension="store",
                                period="this_month", top=args.stores)
            started = time.perf_counter()
            leaderboards.refresh(ws)  # the one-off fold of the history
            first_fold = time.perf_counter() - started
            # warm-up: both sides once
            leaderboards.ranking(ws, BOARD, top=args.stores)
            leaderboards.recompute(ws, BOARD, top=args.stores)
            ours, baseline, inserts = [], [], []
            previous_total = int(leaderboards.ranking(ws, BOARD, top=args.stores)["value"].sum())
            now = datetime.now(ws.timezone)
            for rep in range(args.repeat):
                t = time.perf_counter()
                amount = 8_800_00 + rep
                ws.orders.upsert("bench-new", f"N{rep}", amount_fen=amount,
                                 paid_at=now - timedelta(seconds=rep), store=f"S{rep:04d}")
                inserts.append(time.perf_counter() - t)
                sides = [("ours", ours), ("baseline", baseline)]
                if rep % 2:
                    sides.reverse()
                frames = {}
                for side, times in sides:
                    t = time.perf_counter()
                    if side == "ours":
                        frames[side] = leaderboards.ranking(ws, BOARD, top=args.stores)
                    else:
                        frames[side] = leaderboards.recompute(ws, BOARD, top=args.stores)
                    times.append(time.perf_counter() - t)
                try:
                    pd.testing.assert_frame_equal(frames["ours"], frames["baseline"])
                except AssertionError as exc:
                    print(f"WRONG ANSWER on {engine}: {exc}", file=sys.stderr)
                    raise SystemExit(1) from None
                total = int(frames["ours"]["value"].sum())
                if previous_total is not None and total - previous_total != amount:
                    print(f"WRONG ANSWER on {engine}: the ranking grew by "
                          f"{total - previous_total} fen, the new order is {amount}",
                          file=sys.stderr)
                    raise SystemExit(1)
                previous_total = total
        finally:
            ws.close()
    finally:
        if schema:
            _drop(args.pg_url, schema)
    ours_s, base_s = statistics.median(ours), statistics.median(baseline)
    ratio = base_s / ours_s
    return {"engine": engine, "generate_s": made, "first_fold_s": first_fold,
            "insert_s": statistics.median(inserts), "ours": ours, "baseline": baseline,
            "ours_s": ours_s, "baseline_s": base_s, "ratio": ratio, "met": ratio >= TARGET}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", "--size", dest="orders", type=int, default=1_000_000,
                        help="orders this month (the issue: 10000000; default 1000000)")
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (at least 3)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args(argv)
    args.repeat = max(args.repeat, 3)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for engine in args.engines:
        if engine not in ENGINES:
            parser.error(f"--engines: unknown engine {engine!r}; use sqlite, postgresql")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines:
            results.append(run_engine(engine, args, Path(tmp)))
    print(f"leaderboard: sales by store, this month; {args.orders:,} orders, "
          f"{args.stores:,} stores; one new order per run, median of {args.repeat}")
    for r in results:
        print(f"  {r['engine']:<11} data {r['generate_s']:7.1f} s, first fold "
              f"{r['first_fold_s']:6.2f} s, storing the order {r['insert_s'] * 1000:7.1f} ms")
        print(f"              ours (refresh + ranking) median {r['ours_s'] * 1000:9.1f} ms "
              f"(runs {' '.join(f'{t * 1000:.1f}' for t in r['ours'])})")
        print(f"              baseline (recompute)     median {r['baseline_s'] * 1000:9.1f} ms "
              f"(runs {' '.join(f'{t * 1000:.1f}' for t in r['baseline'])})")
        print(f"              ratio {r['ratio']:.1f}x   target >= {TARGET:g}: "
              f"{'met' if r['met'] else 'NOT met'}")
    size = {"orders": args.orders, "stores": args.stores}
    for r in results:
        print(json.dumps({"bench": "leaderboards", "case": r["engine"],
                          "ours_s": round(r["ours_s"], 4), "baseline": "recompute",
                          "baseline_s": round(r["baseline_s"], 4),
                          "ratio": round(r["ratio"], 1), "target": f"ratio >= {TARGET:g}",
                          "met": r["met"], "size": size}, ensure_ascii=False))
    worst = min(results, key=lambda r: r["ratio"])
    print(json.dumps({"bench": "leaderboards", "case": "all", "ours_s": round(worst["ours_s"], 4),
                      "baseline": "recompute", "baseline_s": round(worst["baseline_s"], 4),
                      "ratio": round(worst["ratio"], 1), "target": f"ratio >= {TARGET:g}",
                      "met": all(r["met"] for r in results), "worst_case": worst["engine"],
                      "cases": {r["engine"]: round(r["ratio"], 1) for r in results},
                      "size": size}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
