"""Crash tests: the contact import, the hook dispatcher and the WeCom callback processor are
killed with SIGKILL at random moments and started again; every hook implementation must see
every notification at least once and apply it exactly once (by its delivery id)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import siyu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hook_crash_child import CrashApplied, CrashSeen, Probe  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
KILLS = 4
CHILD = Path(__file__).resolve().parent / "hook_crash_child.py"


def _run(mode: str, url: str, folder: Path, kill_after: float | None) -> int | None:
    """Run the child; SIGKILL it after ``kill_after`` seconds (unless it ended first)."""
    env = {**os.environ, "SIYU_HOOK_LEASE_S": "1"}
    child = subprocess.Popen([sys.executable, str(CHILD), mode, url, str(folder)],
                             cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        child.wait(timeout=kill_after if kill_after is not None else 600)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
        return None
    if child.returncode != 0:
        raise AssertionError(f"{mode} child failed:\n{child.stderr.read().decode()[-3000:]}")
    return child.returncode


def _kill_and_finish(mode: str, url: str, folder: Path, seed: int) -> int:
    """Kill ``mode`` children at random moments, then let one finish; returns the kills."""
    rng = random.Random(seed)
    kills = 0
    for _ in range(KILLS):
        if _run(mode, url, folder, kill_after=rng.uniform(1.0, 4.0)) is None:
            kills += 1
    _run(mode, url, folder, kill_after=None)
    return kills


def _check(url: str, expected_contacts: int) -> None:
    with siyu.open(url, plugins=[Probe()], load_entry_points=False) as ws:
        with ws.engine.connect() as conn:
            contacts = conn.execute(sa.text("SELECT count(*) FROM contact")).scalar()
            applied = conn.execute(sa.select(CrashApplied.contact_id)).scalars().all()
            seen = set(conn.execute(sa.select(CrashSeen.contact_id)).scalars())
            ids = set(conn.execute(sa.text("SELECT id FROM contact")).scalars())
        assert contacts == expected_contacts
        assert seen == ids, "a notification was never seen"
        assert sorted(applied) == sorted(ids), "a notification was applied twice or never"
        left = ws.hooks.df(plugin="probe")
        assert set(left["status"]) == {"done"}, left[left["status"] != "done"]


def _write_contacts(folder: Path, n: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "contacts.csv").write_text(
        "external_userid,昵称\n" + "".join(f"wm_crash_{i},客户{i}\n" for i in range(n)),
        encoding="utf-8")


def test_a_contact_import_killed_anywhere_delivers_every_hook_once(db_url, tmp_path):
    _write_contacts(tmp_path, 3000)
    kills = _kill_and_finish("import", db_url, tmp_path, seed=1)
    assert kills > 0, "no run was killed: the test did not test a crash"
    _check(db_url, 3000)


def test_the_hook_dispatcher_killed_anywhere_delivers_every_hook_once(db_url, tmp_path):
    # Enough deliveries that the first run is still at work when it is killed (1-4 s).
    _write_contacts(tmp_path, 12000)
    _run("seed", db_url, tmp_path, kill_after=None)
    with siyu.open(db_url, plugins=[Probe()], load_entry_points=False) as ws:
        assert (ws.hooks.df(plugin="probe")["status"] == "pending").all()
    kills = _kill_and_finish("deliver", db_url, tmp_path, seed=2)
    assert kills > 0, "no run was killed: the test did not test a crash"
    _check(db_url, 12000)


def _store_callbacks(url: str, n: int) -> None:
    from siyu.plugins.wecom.models import WeComCallback

    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with siyu.open(url, plugins=[Probe()], load_entry_points=False) as ws:
        rows = []
        for i in range(n):
            at = start + timedelta(seconds=i)
            fields = {"ToUserName": "ww_corp", "FromUserName": "sys",
                      "CreateTime": str(int(at.timestamp())), "MsgType": "event",
                      "Event": "change_external_contact",
                      "ChangeType": "add_external_contact", "UserID": f"staff_{i % 5}",
                      "ExternalUserID": f"wm_cb_{i}", "State": ""}
            rows.append({"dedupe_key": f"add:{i}", "event": "change_external_contact",
                         "change_type": "add_external_contact", "created_at": at,
                         "received_at": at, "fields": fields, "status": "pending",
                         "attempts": 0, "error": ""})
        with ws.engine.begin() as conn:
            conn.execute(sa.insert(WeComCallback.__table__), rows)


def test_the_callback_processor_killed_anywhere_delivers_every_hook_once(db_url, tmp_path):
    _store_callbacks(db_url, 400)
    kills = _kill_and_finish("callbacks", db_url, tmp_path, seed=3)
    assert kills > 0, "no run was killed: the test did not test a crash"
    _check(db_url, 400)
