"""Workspaces for the risk rules on campaigns: a recording channel, contacts, a staff member
who sends, and a clock the tests move.

The clock stands in for the risk checks' time (``limits.clock``) and for the outbox's and the
event journal's ``utcnow``, so that a delivery "sent today" is sent on the test's day; the
outbox is driven with ``outbox.claim(…, now=clock.now)`` (:func:`send_due`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import siyu
from siyu.core.messaging import outbox
from siyu.plugins.risk import journal, limits
from tests.campaigns.conftest import Rehearsal, add_contacts

TZ = "Asia/Shanghai"
SHANGHAI_CITY = {"city": {"cities": ["上海"]}}
EVERYONE = {"city": {"cities": ["上海", "北京"]}}
#: Most batches :func:`send_due` claims (a check that never lets a batch go would loop).
MAX_BATCHES = 100


class Clock:
    """A settable time: ``clock.at("2026-11-10 23:30")`` (workspace time) or
    ``clock.now = aware``."""

    def __init__(self, tz: str = TZ):
        self.tz = ZoneInfo(tz)
        self.now = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)

    def at(self, local: str) -> datetime:
        """Move to the local wall-clock time ``local`` (``YYYY-MM-DD HH:MM``); returns it in
        UTC."""
        self.now = datetime.fromisoformat(local).replace(tzinfo=self.tz).astimezone(UTC)
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The time of the risk checks, the outbox and the journal (workspace timezone
    Asia/Shanghai)."""
    now = Clock()
    monkeypatch.setattr(limits, "clock", lambda: now.now)
    monkeypatch.setattr(outbox, "utcnow", lambda: now.now)
    monkeypatch.setattr(journal, "utcnow", lambda: now.now)
    return now


@pytest.fixture
def words_at_once(monkeypatch):
    """The send-time word check sees words added a moment ago (it normally looks at most
    once a second, ``checks.RECHECK_S``)."""
    from siyu.plugins.risk import checks

    monkeypatch.setattr(checks, "RECHECK_S", 0.0)


@pytest.fixture
def rehearsal():
    return Rehearsal()


@pytest.fixture
def rws(db_url, rehearsal):
    """A workspace in Asia/Shanghai with the recording channels, 200 contacts (odd ids in
    上海) and the staff member ``zhangsan``."""
    ws = siyu.open(db_url, plugins=[rehearsal], load_entry_points=False)
    ws.settings.set("timezone", TZ)
    ws.staff.upsert("zhangsan", "张三")
    add_contacts(ws, 200)
    yield ws
    ws.close()


def send_due(ws, now: datetime) -> int:
    """Claim and send every batch due at ``now``; returns how many batches were sent."""
    batches = 0
    for campaign_id, channel in outbox.sending_campaigns(ws):
        while (claimed := outbox.claim(ws, campaign_id, channel, worker="t", now=now)):
            outbox.send_batch(ws, claimed)
            batches += 1
            assert batches < MAX_BATCHES, "the outbox keeps handing out the same deliveries"
    return batches


def launch(ws, name: str, *, now: datetime, text: str = "双十二会员日", spec=None,
           sender: str | None = "zhangsan"):
    """Create and launch a campaign on the rehearsal channel at ``now``."""
    ws.campaigns.create(name, channel="rehearsal", text=text, spec=spec or SHANGHAI_CITY,
                        sender=sender)
    return ws.campaigns.launch(name, now=now)
