"""The outbox crash test's driver: sender processes killed with SIGKILL at random points
while they drain a campaign to the WeCom sandbox, restarted each time.

Used by ``test_crash.py`` (small sizes) and runnable at the acceptance size::

    python -m tests.campaigns.crash --deliveries 100000 --kills 20 [--postgres --senders 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import siyu
from siyu.plugins.wecom.channel import poll_results
from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.sandbox.crowd import confirm_all, exactly_once, gather
from siyu.plugins.wecom.sandbox.server import Sandbox
from siyu.storage.models import Delivery

TEXT = "双十二会员日：全场满299减50，{staff}为您服务"
#: Short leases so a killed sender's batch is recovered within seconds.
SENDER_ENV = {"SIYU_OUTBOX_LEASE_S": "4", "SIYU_OUTBOX_CALL_MARGIN_S": "2"}


def _sender(url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, **SENDER_ENV}
    return subprocess.Popen(
        [sys.executable, "-m", "siyu", "campaign", "--db", url, "send", "--until-done",
         "--interval", "0.2"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True)


def run(url: str, workdir: Path, *, deliveries: int, kills: int, senders: int = 1,
        staff: int = 10, seed: int = 1, timeout_s: float = 600,
        answer_latency: float = 0.2) -> dict[str, Any]:
    """Launch a campaign to ``deliveries`` customers and drain it through ``senders``
    processes, killing one ``kills`` times at random; then check the sandbox's record.

    :return: a report; ``report["ok"]`` is whether every customer got the message exactly
        once and the delivery table agrees with the sandbox.
    """
    rng = random.Random(seed)
    sandbox = Sandbox(seed=seed, populate_world=False).start()
    ws = siyu.open(url, load_entry_points=False)
    try:
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url)
        crowd = gather(sandbox, ws, customers=deliveries, staff=staff)
        campaign = ws.campaigns.create("crash", channel="wecom", text=TEXT,
                                       spec={"channel": {"channels": ["crowd"]}})
        ws.campaigns.launch(campaign.id)
        # WeCom answers slowly after creating a task: a kill then often lands after the task
        # exists and before the sender heard of it, the case reconciliation is for.
        sandbox.faults.answer_latency = answer_latency
        text = TEXT.replace("{staff}", "")  # per sender; compared below by prefix
        log = workdir / "senders.log"
        procs = [_sender(url, log) for _ in range(senders)]
        killed, started = 0, time.monotonic()
        batches = sa.text("SELECT count(*) FROM delivery_batch WHERE status = 'sending'")
        while True:
            alive = [p for p in procs if p.poll() is None]
            if killed < kills and alive:
                # A third of the kills land while a batch is claimed but not recorded, a
                # third just after WeCom created a task and before its answer arrived, a
                # third at a random moment of a sender's life.
                deadline = time.monotonic() + 5
                kind = killed % 3
                if kind == 0:
                    with ws.engine.connect() as conn:
                        while (not conn.execute(batches).scalar_one()
                               and time.monotonic() < deadline):
                            time.sleep(0.005)
                            conn.rollback()
                    time.sleep(rng.uniform(0, 0.8))
                elif kind == 1:
                    before = len(sandbox.world.tasks)
                    while len(sandbox.world.tasks) == before and time.monotonic() < deadline:
                        time.sleep(0.002)
                    time.sleep(rng.uniform(0, answer_latency / 2))
                else:
                    time.sleep(rng.uniform(0.3, 2.0))
                running = [p for p in procs if p.poll() is None]
                if not running:
                    continue  # they finished meanwhile: the checks below end the run
                victim = rng.choice(running)
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
                killed += 1
                procs[procs.index(victim)] = _sender(url, log)
                continue
            time.sleep(0.2)
            if not alive:
                if all(p.returncode == 0 for p in procs):
                    break
                raise RuntimeError(f"a sender failed; see {log}")
            if time.monotonic() - started > timeout_s:
                for p in alive:
                    os.killpg(p.pid, signal.SIGKILL)
                raise RuntimeError(f"senders did not finish in {timeout_s} s; see {log}")
        drained_s = time.monotonic() - started
        sandbox.faults.answer_latency = 0
        with ws.engine.connect() as conn:
            rows = conn.execute(sa.select(Delivery.status, Delivery.provider_id,
                                          Delivery.recipient)
                                .where(Delivery.campaign_id == campaign.id)).all()
        texts = {t.text["content"] for t in sandbox.world.tasks.values()
                 if (t.text or {}).get("content", "").startswith(text.split("，")[0])}
        coverage = {"tasks": 0, "missing": set(crowd.customers), "doubled": {},
                    "unexpected": []}
        seen: dict[str, str] = {}
        for sent_text in texts:
            part = exactly_once(sandbox, sent_text, set(crowd.customers))
            coverage["tasks"] += part["tasks"]
            for task in sandbox.world.tasks.values():
                if (task.text or {}).get("content") == sent_text:
                    for result in task.results:
                        if result.external_userid in seen:
                            coverage["doubled"][result.external_userid] = 2
                        seen[result.external_userid] = task.msgid
        coverage["missing"] = sorted(set(crowd.customers) - set(seen))
        with ws.engine.connect() as conn:
            contact_ext = dict(conn.execute(sa.text(
                "SELECT id, external_userid FROM contact")).all())
        disagree = [r.recipient for r in rows
                    if r.status != "pending" or seen.get(contact_ext[int(
                        r.recipient.split(":")[1])]) != r.provider_id]
        confirm_all_texts = sum(confirm_all(sandbox, t) for t in texts)
        poll_results(ws)
        received: dict[str, int] = {}
        for delivery in sandbox.world.deliveries:
            received[delivery.external_userid] = received.get(delivery.external_userid, 0) + 1
        counts = ws.campaigns.counts(campaign.id)
        with ws.engine.connect() as conn:
            recovered = conn.execute(sa.text(
                "SELECT count(*) FROM delivery_batch WHERE status = 'reconciled'")).scalar_one()
            found = conn.execute(sa.text(
                "SELECT count(*) FROM delivery_batch WHERE status = 'reconciled' "
                "AND note NOT LIKE 'reconciled after a crash: 0 found%'")).scalar_one()
        report = {"deliveries": deliveries, "kills": killed, "senders": senders,
                  "drained_s": round(drained_s, 1), "batches_recovered": recovered,
                  "recovered_found_at_provider": found, "tasks": coverage["tasks"],
                  "missing": len(coverage["missing"]), "doubled": len(coverage["doubled"]),
                  "disagree": len(disagree), "confirmations": confirm_all_texts,
                  "received_once": sum(1 for v in received.values() if v == 1),
                  "received_twice_or_more": sum(1 for v in received.values() if v > 1),
                  "statuses_after_confirmation": counts}
        report["ok"] = (not coverage["missing"] and not coverage["doubled"] and not disagree
                        and report["received_once"] == deliveries
                        and counts == {"sent": deliveries})
        return report
    finally:
        sandbox.stop()
        ws.close()


def main() -> None:  # pragma: no cover - the acceptance-size run
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--staff", type=int, default=10)
    parser.add_argument("--postgres", help="a PostgreSQL URL (an empty schema is made)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/siyu-crash"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.postgres:
        import uuid
        from urllib.parse import quote

        schema = f"crash_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(args.postgres)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{sep}options={quote(f'-csearch_path={schema}')}"
    else:
        db = args.workdir / "crash.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    try:
        print(json.dumps(run(url, args.workdir, deliveries=args.deliveries, kills=args.kills,
                             senders=args.senders, staff=args.staff, timeout_s=3600),
                         ensure_ascii=False))
    finally:
        if args.postgres:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":  # pragma: no cover
    main()
