"""A process the crash tests start and kill with SIGKILL at random moments.

``python tests/hook_crash_child.py MODE URL FOLDER``:

- ``import``: import FOLDER/contacts.csv (notices are delivered right after the commit);
- ``seed``: the same import, but nothing is delivered (as if the process died at the commit);
- ``callbacks``: apply the stored WeCom callbacks, oldest first;

then, in every mode but ``seed``, deliver every hook notice until none is left.

The probe plugin notes every delivery it is given (``crash_seen``, committed before anything
else) and applies each once, by its delivery id (``crash_applied``, primary key).
"""

from __future__ import annotations

import sys
import time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import siyu
from siyu.core.records import ModelSet


class CrashSeen(SQLModel, table=True):
    __tablename__ = "crash_seen"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=64)
    contact_id: int


class CrashApplied(SQLModel, table=True):
    __tablename__ = "crash_applied"
    delivery_id: str = Field(primary_key=True, max_length=64)
    contact_id: int


class Probe:
    """Sees every delivery; applies each delivery id once."""

    __name__ = "probe"

    @siyu.hookimpl
    def register_models(self):
        return [ModelSet(name="crash_probe",
                         tables=(CrashSeen.__table__, CrashApplied.__table__))]

    @siyu.hookimpl
    def on_contact_added(self, ws, contact, via, delivery_id):
        with ws.session() as s:
            s.add(CrashSeen(delivery_id=delivery_id, contact_id=contact.id))
        with ws.session() as s:
            if s.get(CrashApplied, delivery_id) is None:
                s.add(CrashApplied(delivery_id=delivery_id, contact_id=contact.id))


def requeue_interrupted_callbacks(ws) -> None:
    """Callbacks a killed process left ``processing`` go back to pending at once."""
    from siyu.plugins.wecom.models import WeComCallback

    table = WeComCallback.__table__
    with ws.engine.begin() as conn:
        conn.execute(table.update().where(table.c.status == "processing")
                     .values(status="pending"))


def pending_deliveries(ws) -> int:
    from siyu.storage.models import HookDelivery

    d = HookDelivery.__table__
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(d)
                            .where(d.c.status == "pending")).scalar()


def main(mode: str, url: str, folder: str) -> None:
    from siyu.core import dispatch

    if mode == "seed":
        dispatch.HookDispatcher.after_commit = lambda *args, **kwargs: None
    with siyu.open(url, plugins=[Probe()], load_entry_points=False) as ws:
        if mode in ("import", "seed"):
            ws.imports.contacts(f"{folder}/contacts.csv", progress=False)
        elif mode == "callbacks":
            from siyu.plugins.wecom.processor import CallbackProcessor

            requeue_interrupted_callbacks(ws)
            CallbackProcessor(ws).run_pending(limit=100_000)
        elif mode != "deliver":
            raise SystemExit(f"unknown mode {mode!r}")
        if mode == "seed":
            return
        while pending_deliveries(ws):
            if ws.hooks.deliver() == 0:
                time.sleep(0.2)  # leased by a killed process: wait for the lease to end


if __name__ == "__main__":
    main(*sys.argv[1:4])
