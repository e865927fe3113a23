"""Benchmark: claiming rewards from one pool with 64 concurrent clients on PostgreSQL, next to a
bare ``UPDATE … RETURNING`` loop on the same table.

Target (rewards issue): ours reaches at least 0.3× the bare loop's claims per second.

- **data**: a new database ``siyu_bench_<hex>`` on ``--pg-url`` (dropped at the end) holding a
  migrated workspace with ``--contacts`` contacts; each run gets a fresh red-packet pool of
  8.88 yuan packets whose budget holds exactly ``--claims`` packets, one per contact.
- **clients**: ``--processes`` × ``--threads`` (default 8 × 8 = 64) client threads, each
  process with the workspace's own engine (the same pool settings for both sides); every
  thread starts at one agreed moment and works through its share of the contacts.
- **ours**: :func:`siyu.plugins.rewards.claims.claim` per contact: the contact and the pool
  read, the contact's quota, the ledger row, the payout row and the budget, in one
  transaction, every invariant checked by the database.
- **baseline** ("bare"): ``UPDATE reward_pool SET spent_fen = spent_fen + :amount, claims =
  claims + 1 WHERE id = :pool AND spent_fen + :amount <= budget_fen RETURNING spent_fen``, one
  statement per claim in autocommit, on a pool of the same table — the hot row every claim
  must touch, and nothing else.
- **answers**: after every run the pool's ``spent_fen`` is exactly ``claims × 888`` and its
  ``claims`` count exactly ``claims``; ours also leaves exactly one ledger row and one payout
  row per contact. Otherwise ``WRONG ANSWER`` and exit status 1.

Runs alternate (ours, bare) after a warm-up; the median of ``--repeat`` runs each is
reported. Rates are claims per second over the wall time from the agreed start to the last
thread's end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

BENCH = "claims"
TARGET = 0.3
AMOUNT = 888
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REPO = Path(__file__).resolve().parents[1]


# -- the client processes -------------------------------------------------------------------

def worker(kind: str, url: str, pool: str, contacts: list[int], threads: int,
           start_at: float) -> None:
    """One client process: ``threads`` threads claiming for ``contacts`` from ``start_at``;
    prints ``{"start": …, "end": …, "done": n, "refused": n}``."""
    import siyu
    from siyu.plugins.rewards.claims import ClaimRefused, claim
    from siyu.storage.engine import create_engine

    ws = siyu.open(url, load_entry_points=False, migrate=False)
    engine = create_engine(url)
    pool_id = None
    with engine.connect() as conn:
        pool_id = conn.execute(sa.text("SELECT id FROM reward_pool WHERE name = :n"),
                               {"n": pool}).scalar_one()
    bare = sa.text("UPDATE reward_pool SET spent_fen = spent_fen + :a, claims = claims + 1 "
                   "WHERE id = :p AND spent_fen + :a <= budget_fen RETURNING spent_fen")
    shares = [contacts[i::threads] for i in range(threads)]
    done = refused = 0
    errors: list[str] = []
    lock = threading.Lock()

    def run(share: list[int]) -> None:
        nonlocal done, refused
        mine = bad = 0
        try:
            mine, bad = claim_all(share)
        except Exception as exc:  # noqa: BLE001 - reported with the answers
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
        with lock:
            done += mine
            refused += bad

    def claim_all(share: list[int]) -> tuple[int, int]:
        mine = bad = 0
        while time.time() < start_at:
            time.sleep(0.001)
        for contact in share:
            if kind == "ours":
                try:
                    claim(ws, pool, contact, source="bench")
                    mine += 1
                except ClaimRefused:
                    bad += 1
            else:
                with engine.begin() as conn:
                    if conn.execute(bare, {"a": AMOUNT, "p": pool_id}).first() is None:
                        bad += 1
                    else:
                        mine += 1
        return mine, bad

    workers = [threading.Thread(target=run, args=(share,)) for share in shares]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    end = time.time()
    ws.close()
    engine.dispose()
    print(json.dumps({"start": start_at, "end": end, "done": done, "refused": refused,
                      "errors": errors}))


# -- the run --------------------------------------------------------------------------------

class Database:
    """A new PostgreSQL database with a migrated workspace and the contacts."""

    def __init__(self, pg_url: str, contacts: int):
        import siyu

        self.pg_url = pg_url
        self.name = f"siyu_bench_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {self.name}"))
        self.url = str(sa.make_url(pg_url).set(database=self.name).render_as_string(
            hide_password=False))
        self.ws = siyu.open(self.url, load_entry_points=False)
        with self.ws.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO contact (external_userid, name, gender, city, source_channel, "
                "remark, created_at, updated_at) SELECT 'wm' || g, '客户' || g, 0, '', '', '', "
                "now(), now() FROM generate_series(1, :n) g"), {"n": contacts})
            self.contacts = list(conn.execute(sa.text(
                "SELECT id FROM contact ORDER BY id")).scalars())

    def new_pool(self, claims: int) -> str:
        from siyu.plugins.rewards import pools

        name = f"p{uuid.uuid4().hex[:8]}"
        pools.create(self.ws, name, kind="red_packet", amount_fen=AMOUNT,
                     budget_fen=AMOUNT * claims)
        return name

    def check(self, kind: str, pool: str, claims: int) -> None:
        with self.ws.engine.connect() as conn:
            spent, count, pool_id = conn.execute(sa.text(
                "SELECT spent_fen, claims, id FROM reward_pool WHERE name = :n"),
                {"n": pool}).one()
            wrong = []
            if (spent, count) != (AMOUNT * claims, claims):
                wrong.append(f"pool spent {spent} in {count} claims, expected "
                             f"{AMOUNT * claims} in {claims}")
            if kind == "ours":
                rows, people, payouts = conn.execute(sa.text(
                    "SELECT count(*), count(DISTINCT contact_id), (SELECT count(*) FROM "
                    "reward_payout o JOIN reward_claim c ON c.id = o.claim_id WHERE "
                    "c.pool_id = :p) FROM reward_claim WHERE pool_id = :p"),
                    {"p": pool_id}).one()
                if (rows, people, payouts) != (claims, claims, claims):
                    wrong.append(f"ledger {rows} rows for {people} contacts with {payouts} "
                                 f"payouts, expected {claims} each")
        if wrong:
            print("WRONG ANSWER:", "; ".join(wrong), file=sys.stderr)
            sys.exit(1)

    def close(self) -> None:
        self.ws.close()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
        self.admin.dispose()


def one_run(db: Database, kind: str, claims: int, processes: int, threads: int) -> float:
    """Claims per second of one run of ``kind`` (answers checked)."""
    pool = db.new_pool(claims)
    contacts = db.contacts[:claims]
    start_at = time.time() + 4.0  # every process has imported and connected by then
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--worker", kind, "--url", db.url, "--pool", pool,
         "--contacts-of", ",".join(map(str, contacts[i::processes])),
         "--threads", str(threads), "--start-at", repr(start_at)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for i in range(processes)]
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            print(err[-3000:], file=sys.stderr)
            sys.exit(2)
        results.append(json.loads(out.strip().splitlines()[-1]))
    if any(r["refused"] for r in results) or sum(r["done"] for r in results) != claims:
        errors = [e for r in results for e in r["errors"]]
        print(f"WRONG ANSWER: {kind} granted {sum(r['done'] for r in results)} of {claims}"
              f"{'; errors: ' + ' | '.join(errors[:3]) if errors else ''}", file=sys.stderr)
        sys.exit(1)
    db.check(kind, pool, claims)
    return claims / (max(r["end"] for r in results) - start_at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--claims", type=int, default=10_000, help="claims per run")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8,
                        help="threads per process (at most the engine's 15 connections)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", choices=("ours", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--pool", help=argparse.SUPPRESS)
    parser.add_argument("--contacts-of", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.url, args.pool,
               [int(c) for c in args.contacts_of.split(",") if c], args.threads, args.start_at)
        return
    clients = args.processes * args.threads
    runs = args.repeat + 1  # + the warm-up
    db = Database(args.pg_url, args.claims)
    try:
        rates: dict[str, list[float]] = {"ours": [], "bare": []}
        for i in range(runs):
            for kind in ("ours", "bare"):
                rate = one_run(db, kind, args.claims, args.processes, args.threads)
                if i:  # the first round warms up
                    rates[kind].append(rate)
                print(f"  {'warm-up' if not i else f'run {i}'}  {kind:5}  {rate:9.1f} claims/s",
                      file=sys.stderr)
    finally:
        db.close()
    ours, bare = statistics.median(rates["ours"]), statistics.median(rates["bare"])
    ratio = ours / bare
    print(f"\n{'':12}{'claims/s':>12}\n{'ours':12}{ours:12.1f}\n{'bare UPDATE':12}{bare:12.1f}"
          f"\nratio {ratio:.3f} (target >= {TARGET}) with {clients} clients on PostgreSQL")
    print(json.dumps({"bench": BENCH, "case": "postgresql", "ours_claims_per_s": round(ours, 1),
                      "baseline": "bare UPDATE … RETURNING loop",
                      "baseline_claims_per_s": round(bare, 1), "ratio": round(ratio, 4),
                      "target": f"ratio >= {TARGET}", "met": ratio >= TARGET,
                      "size": {"claims_per_run": args.claims, "clients": clients},
                      "runs": {k: [round(r, 1) for r in v] for k, v in rates.items()}}))


if __name__ == "__main__":
    main()
