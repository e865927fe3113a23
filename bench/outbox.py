"""Benchmark: launching a campaign into the outbox, and draining it to the WeCom sandbox.

Targets (campaigns issue):

- **launch**: launching a campaign to 1,000,000 recipients (segment snapshot + one outbox row
  each, in one transaction: ``ws.campaigns.launch``) next to a raw DB-API ``executemany`` of
  the same rows into the same ``delivery`` table on the same engine, the rows built in Python
  before the clock starts. Target: ours at least 0.5x raw (rows per second).
- **drain**: sending 100,000 deliveries to the sandbox (10 staff, so 10,000 customers per
  WeCom task) with ``ws.campaigns.drain()``, next to the sandbox's own ceiling: a loop making
  only the same ``add_msg_template`` calls through the same client. Target: ours at least
  0.5x the ceiling (deliveries per second). After each drain every staff member confirms
  and ``poll_results`` turns the deliveries ``sent``; that step is timed and reported beside
  it ("confirm"), not part of the target. Also reported: the **floor**, the two raw UPDATEs
  of each batch's rows that no exactly-once sender can skip (in flight before the call,
  the outcome after it), and ``best_possible_ratio`` = ceiling / (ceiling + floor), what a
  sender doing nothing else would reach.

Data (seeded): ``--size`` contacts (default 1,000,000) owned round robin by 200 staff, of
which ``--drain`` (default 100,000) are also customers of 10 sandbox staff ("crowd"). Runs
alternate ours and the baseline, ``--repeat`` times (default 3), after a warm-up; medians.

Answers: every launch must write exactly ``--size`` rows, all ``queued``; every drain must
end with every delivery ``pending`` on exactly one task that holds it (checked against the
sandbox's own record) and ``sent`` after the confirmations. Otherwise ``WRONG ANSWER``, exit 1.

Engines: SQLite (a file) and, with ``--engines sqlite,postgresql``, PostgreSQL in a fresh
schema of ``--pg-url``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import siyu  # noqa: E402
from siyu.core.messaging import launch as launching  # noqa: E402
from siyu.plugins.wecom.channel import poll_results  # noqa: E402
from siyu.plugins.wecom.config import save_config  # noqa: E402
from siyu.plugins.wecom.sandbox.crowd import confirm_all, exactly_once, gather  # noqa: E402
from siyu.plugins.wecom.sandbox.server import Sandbox  # noqa: E402
from siyu.plugins.wecom.service import wecom  # noqa: E402
from siyu.storage.bulk import db_times, insert_rows  # noqa: E402
from siyu.storage.models import Contact, Delivery, Staff  # noqa: E402
from siyu.storage.types import utcnow  # noqa: E402

BENCH = "outbox"
TARGET = 0.5
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
D = Delivery.__table__


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


class Workspace:
    """A bench workspace on one engine, with its contacts and sandbox."""

    def __init__(self, engine: str, pg_url: str, folder: Path):
        self.engine_name = engine
        self.schema = None
        if engine == "sqlite":
            self.url = f"sqlite:///{folder / 'outbox.db'}"
        else:
            self.schema = f"siyu_bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(pg_url)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            sep = "&" if "?" in pg_url else "?"
            self.url = f"{pg_url}{sep}options={quote(f'-csearch_path={self.schema}')}"
        self.pg_url = pg_url
        self.ws = siyu.open(self.url, load_entry_points=False)
        self.sandbox = Sandbox(seed=3, populate_world=False).start()
        save_config(self.ws, corp_id=self.sandbox.corp_id, secret=self.sandbox.secret,
                    token=self.sandbox.token, encoding_aes_key=self.sandbox.encoding_aes_key,
                    base_url=self.sandbox.base_url)

    def populate(self, size: int, drain: int) -> None:
        started = time.perf_counter()
        gather(self.sandbox, self.ws, customers=drain, staff=10)
        rest = size - drain
        userids = [f"s{i:03d}" for i in range(200)]
        with self.ws.engine.begin() as conn:
            conn.execute(Staff.__table__.insert(), [
                {"userid": u, "name": f"导购{u}", "status": "active", "created_at": utcnow()}
                for u in userids])
            ids = dict(conn.execute(sa.select(Staff.userid, Staff.id).where(
                Staff.userid.in_(userids))).all())
            [when] = db_times(conn, pd.Series([utcnow()]))
            for start in range(0, rest, 100_000):
                rows = [(f"wmbench{i:09d}", f"顾客{i}", ids[userids[i % 200]], "bench", 0, "",
                         "", when, when, when) for i in range(start, min(rest, start + 100_000))]
                insert_rows(conn, Contact.__table__,
                            ["external_userid", "name", "owner_id", "source_channel",
                             "gender", "city", "remark", "added_at", "created_at",
                             "updated_at"], rows)
        if self.engine_name == "postgresql":
            with self.ws.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        log(f"  {self.engine_name}: {size:,} contacts in {time.perf_counter() - started:.1f} s")

    def close(self) -> None:
        self.sandbox.stop()
        self.ws.close()
        if self.schema:
            admin = sa.create_engine(self.pg_url)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


# -- launch ------------------------------------------------------------------------------------


def _clear(ws, campaign_id: int) -> None:
    with ws.engine.begin() as conn:
        conn.execute(D.delete().where(D.c.campaign_id == campaign_id))
        conn.execute(sa.text("DELETE FROM segment_snapshot_member"))


def launch_ours(bw: Workspace, k: int) -> tuple[float, int]:
    ws = bw.ws
    name = f"launch-{k}"
    ws.campaigns.create(name, channel="wecom", text="冬季上新，{staff}为您服务",
                        spec={"friend": {}})
    gc.collect()
    started = time.perf_counter()
    campaign = ws.campaigns.launch(name)
    elapsed = time.perf_counter() - started
    counts = ws.campaigns.counts(campaign.id)
    ws.campaigns.cancel(campaign.id)
    _clear(ws, campaign.id)
    if counts != {"queued": campaign.targeted}:
        raise SystemExit(f"WRONG ANSWER: launch wrote {counts}")
    return elapsed, campaign.targeted


def raw_rows(ws, campaign_id: int) -> list[tuple]:
    """The rows a launch writes, built in Python (the baseline's input)."""
    with ws.engine.connect() as conn:
        pairs = conn.execute(sa.select(Contact.id, Staff.userid).outerjoin(
            Staff, Staff.id == Contact.owner_id).order_by(Contact.id)).all()
        [when] = db_times(conn, pd.Series([utcnow()]))
    return [(campaign_id, f"contact:{cid}", cid, "", userid, "queued", "", 0, when, None)
            for cid, userid in pairs]


def launch_raw(bw: Workspace, rows: list[tuple], campaign_id: int) -> float:
    ws = bw.ws
    gc.collect()
    raw = ws.engine.raw_connection()
    try:
        cursor = raw.cursor()
        mark = "?" if ws.engine.dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO delivery ({', '.join(launching.COLUMNS)}) "
               f"VALUES ({', '.join([mark] * len(launching.COLUMNS))})")
        started = time.perf_counter()
        cursor.executemany(sql, rows)
        raw.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    with ws.engine.connect() as conn:
        written = conn.execute(sa.select(sa.func.count()).where(
            D.c.campaign_id == campaign_id)).scalar_one()
    _clear(ws, campaign_id)
    if written != len(rows):
        raise SystemExit(f"WRONG ANSWER: raw wrote {written} of {len(rows)}")
    return elapsed


# -- drain -------------------------------------------------------------------------------------


def drain_ours(bw: Workspace, k: int, drain: int) -> tuple[float, float, int]:
    ws, sandbox = bw.ws, bw.sandbox
    text = f"双十二第{k}波：满299减50"
    name = f"drain-{k}"
    ws.campaigns.create(name, channel="wecom", text=text,
                        spec={"channel": {"channels": ["crowd"]}})
    campaign = ws.campaigns.launch(name)
    gc.collect()
    started = time.perf_counter()
    report = ws.campaigns.drain(campaign.id)
    elapsed = time.perf_counter() - started
    crowd = {f"wmcrowd{i:09d}" for i in range(drain)}
    coverage = exactly_once(sandbox, text, crowd)
    if report.statuses != {"pending": drain} or coverage["missing"] or coverage["doubled"] \
            or coverage["unexpected"]:
        raise SystemExit(f"WRONG ANSWER: drain {report.statuses}, "
                         f"{len(coverage['missing'])} missing, "
                         f"{len(coverage['doubled'])} doubled")
    confirm_all(sandbox, text)
    started = time.perf_counter()
    poll_results(ws)
    confirm_s = time.perf_counter() - started
    counts = ws.campaigns.counts(campaign.id)
    if counts != {"sent": drain}:
        raise SystemExit(f"WRONG ANSWER: after confirmations {counts}")
    return elapsed, confirm_s, campaign.id


def drain_floor(bw: Workspace, campaign_id: int, per_batch: int = 10_000) -> float:
    """The database writes no exactly-once sender can skip, and nothing else: for each batch
    of the drained campaign's deliveries, one raw UPDATE marking them in flight (committed
    before the provider would be called) and one recording the outcome (committed after).
    Sending one batch after another, ours cannot take less than ceiling + floor. The rows
    are put back as they were afterwards."""
    ws = bw.ws
    with ws.engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql(
            f"SELECT id FROM delivery WHERE campaign_id = {campaign_id} ORDER BY id")]
    mark = "UPDATE delivery SET status = 'sending', batch_id = -1 WHERE id IN ({})"
    done = "UPDATE delivery SET status = 'pending', batch_id = NULL WHERE batch_id = -1"
    gc.collect()
    started = time.perf_counter()
    for i in range(0, len(ids), per_batch):
        chunk = ids[i:i + per_batch]
        with ws.engine.begin() as conn:
            conn.exec_driver_sql(mark.format(", ".join(map(str, chunk))))
        with ws.engine.begin() as conn:
            conn.exec_driver_sql(done)
    elapsed = time.perf_counter() - started
    with ws.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE delivery SET status = 'sent' WHERE campaign_id = "
                             f"{campaign_id}")
    return elapsed


def drain_ceiling(bw: Workspace, k: int, drain: int, staff: int = 10) -> float:
    client = wecom(bw.ws).client
    externals = [f"wmcrowd{i:09d}" for i in range(drain)]
    groups = {f"crowd{s:03d}": externals[s::staff] for s in range(staff)}
    gc.collect()
    started = time.perf_counter()
    for sender, customers in groups.items():
        for i in range(0, len(customers), 10_000):
            client.add_msg_template(external_userid=customers[i:i + 10_000], sender=sender,
                                    text=f"上限第{k}波")
    return time.perf_counter() - started


# -- main --------------------------------------------------------------------------------------


def run_engine(engine: str, args: argparse.Namespace, folder: Path) -> list[dict]:
    log(f"{engine}: building")
    bw = Workspace(engine, args.pg_url, folder)
    lines = []
    try:
        bw.populate(args.size, args.drain)
        rows = raw_rows(bw.ws, 999_999)
        # The baseline writes under a campaign id no campaign has; give it one.
        with bw.ws.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO campaign (id, name, status, channel, audience, content, "
                "holdout_pct, conversion_days, salt, targeted, created_by, created_at, "
                "updated_at, launched_by) VALUES (999999, 'raw', 'cancelled', 'wecom', "
                "'{}', '{}', 0, 7, 0, 0, '', :t, :t, '')"), {"t": utcnow()})
        launch_raw(bw, rows, 999_999)  # warm-up
        ours, raw = [], []
        for k in range(args.repeat):
            elapsed, targeted = launch_ours(bw, k)
            ours.append(elapsed)
            raw.append(launch_raw(bw, rows, 999_999))
            log(f"  launch {k}: ours {elapsed:.2f} s, raw {raw[-1]:.2f} s ({targeted:,} rows)")
        ours_s, raw_s = statistics.median(ours), statistics.median(raw)
        ratio = raw_s / ours_s
        lines.append({"bench": BENCH, "case": "launch", "engine": engine,
                      "ours_s": round(ours_s, 3), "baseline": "raw executemany",
                      "baseline_s": round(raw_s, 3), "ratio": round(ratio, 3),
                      "rows_per_s": round(args.size / ours_s),
                      "target": f"ratio >= {TARGET} (ours rows/s over raw rows/s)",
                      "met": ratio >= TARGET, "size": {"recipients": args.size}})
        drain_ceiling(bw, -1, min(args.drain, 20_000))  # warm-up (token, connections)
        ours, ceiling, confirm, floor = [], [], [], []
        for k in range(args.repeat):
            elapsed, confirm_s, campaign_id = drain_ours(bw, k, args.drain)
            ours.append(elapsed)
            confirm.append(confirm_s)
            ceiling.append(drain_ceiling(bw, k, args.drain))
            floor.append(drain_floor(bw, campaign_id))
            log(f"  drain {k}: ours {elapsed:.2f} s, ceiling {ceiling[-1]:.2f} s, "
                f"floor (the two raw UPDATEs) {floor[-1]:.2f} s, "
                f"confirm+poll {confirm_s:.2f} s")
        ours_s, ceil_s = statistics.median(ours), statistics.median(ceiling)
        floor_s = statistics.median(floor)
        ratio = ceil_s / ours_s
        lines.append({"bench": BENCH, "case": "drain", "engine": engine,
                      "ours_s": round(ours_s, 3), "baseline": "add_msg_template calls only",
                      "baseline_s": round(ceil_s, 3), "ratio": round(ratio, 3),
                      "deliveries_per_s": round(args.drain / ours_s),
                      "ceiling_per_s": round(args.drain / ceil_s),
                      "confirm_poll_s": round(statistics.median(confirm), 3),
                      "floor_s": round(floor_s, 3),
                      "best_possible_ratio": round(ceil_s / (ceil_s + floor_s), 3),
                      "target": f"ratio >= {TARGET} (ours deliveries/s over the ceiling's)",
                      "met": ratio >= TARGET,
                      "size": {"deliveries": args.drain, "per_task": args.drain // 10}})
    finally:
        bw.close()
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000,
                        help="recipients of the launch case (default 1,000,000)")
    parser.add_argument("--drain", type=int, default=100_000,
                        help="deliveries of the drain case (default 100,000; 10 staff)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="sqlite",
                        help="comma-separated: sqlite, postgresql (default: sqlite)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args(argv)
    if args.drain > args.size:
        parser.error("--drain cannot exceed --size")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lines = []
    with tempfile.TemporaryDirectory(prefix="siyu-outbox-") as folder:
        for engine in args.engines.split(","):
            lines += run_engine(engine.strip(), args, Path(folder))
    print(f"{'case':<8} {'engine':<11} {'ours s':>8} {'baseline s':>11} {'ratio':>6}  target")
    for line in lines:
        print(f"{line['case']:<8} {line['engine']:<11} {line['ours_s']:>8.2f} "
              f"{line['baseline_s']:>11.2f} {line['ratio']:>6.2f}  {line['target']}")
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))
    worst = min(lines, key=lambda line: line["ratio"])
    print(json.dumps({"bench": BENCH, "case": "all", "worst_case": worst["case"],
                      "engine": worst["engine"], "ours_s": worst["ours_s"],
                      "baseline": worst["baseline"], "baseline_s": worst["baseline_s"],
                      "ratio": worst["ratio"], "target": f"ratio >= {TARGET}",
                      "met": all(line["met"] for line in lines),
                      "size": {"recipients": args.size, "deliveries": args.drain}},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
