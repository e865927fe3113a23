"""A crowd: many customers at once, in a sandbox's world and in a workspace, for campaign
tests and benchmarks that need 100,000 recipients without 100,000 simulated scans.

The sandbox gets ``staff`` members and ``customers`` customers, each the friend of one
member (round robin); the workspace gets the same staff and contacts, each owned by that
member, written with bulk inserts. :func:`exactly_once` then reads the sandbox's own record
of mass messages to check a campaign reached each customer once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from siyu.plugins.wecom.sandbox.model import Customer, Follow, Staff
from siyu.storage.bulk import db_times, insert_rows
from siyu.storage.models import Contact
from siyu.storage.models import Staff as StaffRow
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.plugins.wecom.sandbox.server import Sandbox


@dataclass
class Crowd:
    """What :func:`gather` made: the staff userids and the customers' external userids."""

    staff: list[str]
    customers: list[str]


def gather(sandbox: Sandbox, ws: Workspace, *, customers: int, staff: int = 10,
           prefix: str = "crowd") -> Crowd:
    """Add ``staff`` members and ``customers`` customers to the sandbox and the workspace."""
    world = sandbox.world
    now = int(world.now())
    userids = [f"{prefix}{i:03d}" for i in range(staff)]
    externals = [f"wm{prefix}{i:09d}" for i in range(customers)]
    with world.lock:
        for userid in userids:
            world.staff[userid] = Staff(userid, f"{prefix} 导购{userid[-3:]}")
        for i, ext in enumerate(externals):
            owner = userids[i % staff]
            world.customers[ext] = Customer(ext, f"顾客{i}", f"un{prefix}{i}", f"op{prefix}{i}",
                                            follows={owner: Follow(owner, now)})
    stamp = utcnow()
    with ws.engine.begin() as conn:
        conn.execute(StaffRow.__table__.insert(), [
            {"userid": u, "name": f"{prefix} 导购{u[-3:]}", "status": "active",
             "created_at": stamp} for u in userids])
        ids = dict(conn.execute(sa.select(StaffRow.userid, StaffRow.id).where(
            StaffRow.userid.in_(userids))).all())
        [when] = db_times(conn, pd.Series([stamp]))
        rows = [(ext, f"顾客{i}", ids[userids[i % staff]], "crowd", 0, "", "", when, when,
                 when) for i, ext in enumerate(externals)]
        for start in range(0, len(rows), 50_000):
            insert_rows(conn, Contact.__table__,
                        ["external_userid", "name", "owner_id", "source_channel", "gender",
                         "city", "remark", "added_at", "created_at", "updated_at"],
                        rows[start:start + 50_000])
    return Crowd(userids, externals)


def tasks_with(sandbox: Sandbox, text: str) -> list[Any]:
    """The sandbox's mass-message tasks whose text is ``text``."""
    with sandbox.world.lock:
        return [t for t in sandbox.world.tasks.values()
                if (t.text or {}).get("content") == text]


def exactly_once(sandbox: Sandbox, text: str, expected: set[str]) -> dict[str, Any]:
    """How the sandbox's tasks with ``text`` cover ``expected`` customers.

    :return: ``{"tasks", "missing": [...], "doubled": {external_userid: times},
        "unexpected": [...]}`` — all empty when each expected customer is in exactly one
        task and nobody else is.
    """
    seen: Counter[str] = Counter()
    tasks = tasks_with(sandbox, text)
    for task in tasks:
        seen.update(r.external_userid for r in task.results)
    return {"tasks": len(tasks), "missing": sorted(expected - set(seen)),
            "doubled": {k: v for k, v in seen.items() if v > 1},
            "unexpected": sorted(set(seen) - expected)}


def confirm_all(sandbox: Sandbox, text: str) -> int:
    """Every sender of every task with ``text`` confirms it; returns how many confirmed."""
    confirmed = 0
    for task in tasks_with(sandbox, text):
        for userid, sender in list(task.senders.items()):
            if sender.status != 2:
                sandbox.people.staff_confirms_mass_send(task.msgid, userid)
                confirmed += 1
    return confirmed
