"""Whether a ``running`` run of a connector is still going: its process, when it ran on this
host; its heartbeat otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import timedelta

import pytest
from sqlmodel import select

from siyu.core.errors import SyncError
from siyu.plugins import connectors
from siyu.plugins.connectors.models import Connector, ConnectorRun
from siyu.storage.types import utcnow

from .rest_shop import RestShop

MAPPING = {"orders": {"external_id": "order_id", "amount_fen": "amount_fen",
                      "paid_at": "created_at"}}


def running(ws, *, host: str, pid: int, beat_age: timedelta) -> int:
    """Record a run of ``shop`` that claims to be going on, as a process would have."""
    beat = utcnow() - beat_age
    with ws.session() as s:
        connector = s.exec(select(Connector).where(Connector.name == "shop")).one()
        run = ConnectorRun(connector_id=connector.id, entity="orders", status="running",
                           started_at=beat, heartbeat_at=beat, host=host, pid=pid)
        s.add(run)
        s.flush()
        return run.id


def a_finished_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture
def shop(ws):
    with RestShop(12, 5) as server:
        connectors.add(ws, "shop", "rest", mapping=MAPPING,
                       settings={"base_url": server.url, "orders_path": "/page/orders"})
        yield ws


def test_a_run_whose_process_here_is_gone_is_interrupted_at_once(shop):
    ws = shop
    dead = running(ws, host=socket.gethostname(), pid=a_finished_pid(),
                   beat_age=timedelta(seconds=5))
    run = connectors.sync(ws, "shop", progress=False).runs[0]
    assert (run.status, run.created) == ("ok", 12)
    old = [r for r in connectors.runs(ws, "shop") if r.id == dead][0]
    assert old.status == "failed" and old.error.startswith("interrupted")


def test_a_run_whose_process_here_lives_is_going_on_whatever_its_heartbeat(shop):
    ws = shop
    running(ws, host=socket.gethostname(), pid=os.getpid(), beat_age=timedelta(hours=2))
    with pytest.raises(SyncError, match="is syncing orders already"):
        connectors.sync(ws, "shop", progress=False)


def test_a_run_on_another_host_is_judged_by_its_heartbeat(shop):
    ws = shop
    running(ws, host="another-host", pid=a_finished_pid(), beat_age=timedelta(minutes=1))
    with pytest.raises(SyncError, match="is syncing orders already"):
        connectors.sync(ws, "shop", progress=False)
