"""The core's side of risk rules: ``launch_rules`` (skips and delays decided in SQL for the
whole audience, counted by the preview) and ``Hold`` answers of ``risk_check_batch``."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import PluginError
from siyu.core.messaging import outbox
from siyu.core.records import Hold, LaunchRule
from siyu.storage.models import Contact
from siyu.storage.types import utcnow
from tests.campaigns.conftest import add_contacts

SHANGHAI = {"city": {"cities": ["上海"]}}


class Rules:
    """Skips contacts whose name ends in 0; delays everyone by an hour; holds contact 4."""

    def __init__(self):
        self.until = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
        self.hold_until = utcnow() + timedelta(days=1)
        self.hold_ids: set[int] = set()

    @siyu.hookimpl
    def launch_rules(self, ws, campaign, now):
        ending_in_zero = sa.select(Contact.id).where(Contact.name.like("%0"))
        return [LaunchRule("dnc", "asked to stop", contacts=ending_in_zero),
                LaunchRule("quiet", "quiet hours", until=self.until)]

    @siyu.hookimpl
    def risk_check_batch(self, ws, batch):
        return {m.delivery_id: Hold(self.hold_until, "staff cap", rule="cap")
                for m in batch if m.contact_id in self.hold_ids}


@pytest.fixture
def rules():
    return Rules()


@pytest.fixture
def rws(db_url, rehearsal, rules):
    ws = siyu.open(db_url, plugins=[rehearsal, rules], load_entry_points=False)
    add_contacts(ws, 200)
    yield ws
    ws.close()


def test_launch_rules_skip_and_delay_in_the_preview_and_the_outbox(rws, rules, rehearsal):
    rws.campaigns.create("规则", channel="rehearsal", text="hi", spec=SHANGHAI)
    preview = rws.campaigns.preview("规则")
    # 上海 = even numbers; those ending in 0 are a fifth of them.
    assert preview["selected"] == 100
    assert preview["reasons"] == {"asked to stop": 20}
    assert preview["will_receive"] == 80 and preview["delayed"] == {"quiet hours": 80}
    rws.campaigns.launch("规则")
    frame = rws.campaigns.deliveries("规则")
    queued = frame[frame["status"] == "queued"]
    assert len(queued) == 80 and set(queued["reason"]) == {"quiet hours"}
    assert rws.campaigns.counts("规则") == {"queued": 80, "skipped": 20}
    assert rws.campaigns.drain().handled == 0  # they wait for the quiet hours to end
    later = rules.until + timedelta(seconds=1)
    for cid, channel in outbox.sending_campaigns(rws):
        while (claimed := outbox.claim(rws, cid, channel, worker="t", now=later)):
            outbox.send_batch(rws, claimed)
    assert rws.campaigns.counts("规则") == {"sent": 80, "skipped": 20}
    assert len(rehearsal.sent) == 80


def test_a_hold_puts_the_delivery_back_without_counting_a_try(rws, rules, rehearsal):
    rws.campaigns.create("暂缓", channel="rehearsal", text="hi", spec=SHANGHAI)
    rws.campaigns.launch("暂缓")
    ids = sorted(int(i) for i in rws.campaigns.deliveries("暂缓", status="queued")["contact_id"])
    rules.hold_ids = set(ids[:3])
    later = rules.until + timedelta(seconds=1)  # after the launch delay, before the hold
    for cid, channel in outbox.sending_campaigns(rws):
        while (claimed := outbox.claim(rws, cid, channel, worker="t", now=later)):
            outbox.send_batch(rws, claimed)
    assert rws.campaigns.counts("暂缓") == {"queued": 3, "sent": 77, "skipped": 20}
    held = rws.campaigns.deliveries("暂缓", status="queued")
    assert set(held["reason"]) == {"staff cap"} and set(held["attempts"]) == {0}
    assert set(held["contact_id"]) == set(ids[:3])
    with rws.engine.connect() as conn:
        waits = set(conn.execute(sa.text(
            "SELECT not_before FROM delivery WHERE status = 'queued'")).scalars())
    assert len(waits) == 1
    # on_delivery heard of the sends, not of the holds (the status did not change)
    assert {status for _i, status in rehearsal.statuses} == {"sent", "skipped"}


def test_a_hold_in_the_past_waits_a_minute_instead_of_coming_straight_back(rws, rules, caplog):
    """A rule that answers a Hold whose time has passed (a clock mix-up) must not hand the
    delivery straight back to the sender it told to wait: the drain ends, and the delivery
    waits a minute."""
    rws.campaigns.create("过去", channel="rehearsal", text="hi", spec=SHANGHAI)
    rules.until = utcnow() - timedelta(minutes=5)  # the launch delay is over
    rws.campaigns.launch("过去")
    ids = sorted(int(i) for i in rws.campaigns.deliveries("过去", status="queued")["contact_id"])
    rules.hold_ids = {ids[0]}
    rules.hold_until = utcnow() - timedelta(hours=1)
    before = utcnow()
    report = rws.campaigns.drain(max_batches=10)  # without a floor: 10 batches of the same
    assert report.statuses == {"queued": 1, "sent": 79}
    assert "not in the future" in caplog.text
    with rws.engine.connect() as conn:
        [wait] = conn.execute(sa.text(
            "SELECT not_before FROM delivery WHERE status = 'queued'")).scalars()
    wait = wait if isinstance(wait, str) else wait.astimezone(before.tzinfo).isoformat(" ")
    assert str(before + outbox.MIN_HOLD)[:16] <= wait[:16]


def test_records_refuse_naive_times_and_rules_that_do_nothing():
    naive = utcnow().replace(tzinfo=None)
    with pytest.raises(PluginError, match="timezone-aware"):
        Hold(naive, "x")
    with pytest.raises(PluginError, match="skips nobody"):
        LaunchRule("empty", "nothing")
    with pytest.raises(PluginError, match="timezone-aware"):
        LaunchRule("naive", "x", until=naive)


def test_a_plugin_answering_something_else_is_named(db_url, rehearsal):
    class Wrong:
        @siyu.hookimpl
        def launch_rules(self, ws, campaign, now):
            return ["skip everyone"]

    ws = siyu.open(db_url, plugins=[rehearsal, Wrong()], load_entry_points=False)
    try:
        add_contacts(ws, 10)
        ws.campaigns.create("错", channel="rehearsal", text="hi", spec=SHANGHAI)
        with pytest.raises(PluginError, match="LaunchRule"):
            ws.campaigns.preview("错")
        with pytest.raises(PluginError, match="LaunchRule"):
            ws.campaigns.launch("错")
        assert ws.campaigns.get("错").status == "draft"
    finally:
        ws.close()
