"""Workspaces with contacts and a recording channel, for campaign tests without WeCom."""

from __future__ import annotations

import pandas as pd
import pytest

import siyu
from siyu.core.records import ChannelSpec, SendResult
from siyu.storage.bulk import db_times, insert_rows
from siyu.storage.models import Contact
from siyu.storage.types import utcnow


class Rehearsal:
    """Channels that record what they are asked to send.

    ``rehearsal`` sends everything; ``flaky`` fails transiently ``fail_times`` times per
    message; ``unsure`` never hears back (``unknown``) and cannot be asked.
    """

    def __init__(self):
        self.sent: list = []
        self.tries: dict[int, int] = {}
        self.fail_times = 2
        self.statuses: list[tuple[int, str]] = []

    @siyu.hookimpl
    def register_channels(self):
        return [ChannelSpec("rehearsal", "Rehearsal", batch_size=100),
                ChannelSpec("flaky", "Flaky", batch_size=100),
                ChannelSpec("unsure", "Unsure", batch_size=100)]

    @siyu.hookimpl
    def send(self, ws, channel, batch):
        if channel not in ("rehearsal", "flaky", "unsure"):
            return None
        out = []
        for message in batch:
            self.tries[message.delivery_id] = self.tries.get(message.delivery_id, 0) + 1
            if channel == "unsure":
                out.append(SendResult("unknown", reason="read timeout"))
            elif channel == "flaky" and self.tries[message.delivery_id] <= self.fail_times:
                out.append(SendResult("failed", reason="HTTP 503", retry=True))
            else:
                self.sent.append(message)
                out.append({"status": "sent", "provider_id": f"p{message.delivery_id}"})
        return out

    @siyu.hookimpl
    def on_delivery(self, ws, delivery, status, delivery_id):
        self.statuses.append((delivery.id, status))


@pytest.fixture
def rehearsal():
    return Rehearsal()


@pytest.fixture
def cws(db_url, rehearsal):
    """A workspace with the recording channels and 200 contacts in 上海 (100) and 北京."""
    ws = siyu.open(db_url, plugins=[rehearsal], load_entry_points=False)
    add_contacts(ws, 200)
    yield ws
    ws.close()


def add_contacts(ws, n: int, *, start: int = 0) -> None:
    """``n`` contacts 顾客<i>, alternately in 上海 and 北京, without owners."""
    with ws.engine.begin() as conn:
        [when] = db_times(conn, pd.Series([utcnow()]))
        insert_rows(conn, Contact.__table__,
                    ["name", "gender", "city", "source_channel", "remark", "created_at",
                     "updated_at"],
                    [(f"顾客{i}", 0, "上海" if i % 2 == 0 else "北京", "test", "", when, when)
                     for i in range(start, start + n)])


def in_layout(root, target) -> bool:
    """Whether ``target`` is somewhere in the Panel tree under ``root``."""
    stack = [root]
    while stack:
        item = stack.pop()
        if item is target:
            return True
        if hasattr(item, "__panel__") and not hasattr(item, "objects"):
            stack.append(item.__panel__())
        stack.extend(getattr(item, "objects", []) or [])
    return False
