"""Quiet hours and the staff daily cap, in a workspace on Shanghai time (UTC+8): a launch
inside quiet hours is delayed (the preview says so), a message due inside them is held and
sent once they end (never dropped); a staff member's messages beyond the daily cap wait for
the next local day. Times are driven with the ``clock`` fixture."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from siyu.core.errors import PermissionDenied, ValidationError
from siyu.core.messaging import outbox
from siyu.core.permissions import Principal
from siyu.core.records import Hold
from siyu.plugins.risk import limits, sending
from siyu.storage.models import Delivery
from tests.risk.conftest import EVERYONE, launch, send_due

D = Delivery.__table__


def waits(ws) -> set[datetime]:
    """The distinct ``not_before`` of the queued deliveries."""
    with ws.engine.connect() as conn:
        return set(conn.execute(sa.select(D.c.not_before).where(D.c.status == "queued")
                                ).scalars())


def local(text: str) -> datetime:
    """A Shanghai wall-clock time as aware UTC."""
    return datetime.fromisoformat(text + "+08:00").astimezone(UTC)


# -- the settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "fragment"), [
    ("25:00", "08:00", "25:00"), ("22:00", "8h", "8h"), ("", "08:00", "HH:MM"),
    ("22:60", "08:00", "22:60"), ("08:00", "08:00", "same time")])
def test_bad_quiet_hours_are_refused_and_nothing_is_stored(ws, start, end, fragment):
    limits.set_quiet_hours(ws, "22:00", "08:00")
    with pytest.raises(ValidationError, match=fragment):
        limits.set_quiet_hours(ws, start, end)
    assert ws.settings.get(limits.QUIET_SETTING) == {"start": "22:00", "end": "08:00"}


def test_a_hand_written_setting_that_is_malformed_is_named(ws):
    ws.settings.set(limits.QUIET_SETTING, "22-08")
    with pytest.raises(ValidationError, match="22-08"):
        limits.quiet_hours(ws)


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", True, 2_000_000])
def test_bad_caps_are_refused(ws, value):
    with pytest.raises(ValidationError, match="staff daily cap"):
        limits.set_staff_cap(ws, value)
    assert limits.staff_daily_cap(ws) is None


def test_zero_and_none_turn_the_cap_off_and_clearing_turns_quiet_hours_off(ws):
    assert limits.set_staff_cap(ws, "40") == 40 and limits.staff_daily_cap(ws) == 40
    assert limits.set_staff_cap(ws, 0) is None and limits.staff_daily_cap(ws) is None
    limits.set_quiet_hours(ws, "9:30", "11:00")
    assert str(limits.quiet_hours(ws)) == "09:30–11:00"
    limits.clear_quiet_hours(ws)
    assert limits.quiet_hours(ws) is None


def test_only_a_role_that_changes_settings_may_set_them(ws):
    operator = ws.as_user(Principal("op", "operator"))
    with pytest.raises(PermissionDenied):
        limits.set_quiet_hours(operator, "22:00", "08:00")
    with pytest.raises(PermissionDenied):
        limits.set_staff_cap(operator, 10)


@pytest.mark.parametrize(("now", "until"), [
    ("2026-11-10 23:30", "2026-11-11 08:00"),  # before midnight: ends tomorrow
    ("2026-11-11 00:00", "2026-11-11 08:00"),
    ("2026-11-11 07:59", "2026-11-11 08:00"),  # after midnight: ends today
    ("2026-11-10 22:00", "2026-11-11 08:00"),  # the start is inside
    ("2026-11-11 08:00", None), ("2026-11-10 12:00", None), ("2026-11-10 21:59", None)])
def test_a_period_that_wraps_midnight(now, until):
    hours = limits.parse_quiet_hours({"start": "22:00", "end": "08:00"})
    ends = hours.end_of(local(now), ZoneInfo("Asia/Shanghai"))
    assert ends == (local(until) if until else None)


# -- quiet hours -------------------------------------------------------------------------------


def test_a_launch_inside_quiet_hours_waits_for_them_to_end(rws, clock, rehearsal):
    limits.set_quiet_hours(rws, "22:00", "08:00")
    clock.at("2026-11-10 23:30")
    rws.campaigns.create("夜间", channel="rehearsal", text="hi", spec=EVERYONE,
                         sender="zhangsan")
    preview = rws.campaigns.preview("夜间", now=clock.now)
    assert preview["will_receive"] == 200 and preview["delayed"] == {"quiet hours": 200}
    rws.campaigns.launch("夜间", now=clock.now)
    assert waits(rws) == {local("2026-11-11 08:00")}
    assert send_due(rws, clock.at("2026-11-11 07:59")) == 0
    send_due(rws, clock.at("2026-11-11 08:00"))
    assert rws.campaigns.counts("夜间") == {"sent": 200}
    assert len(rehearsal.sent) == 200


def test_a_launch_after_midnight_waits_until_the_same_morning(rws, clock):
    limits.set_quiet_hours(rws, "22:00", "08:00")
    launch(rws, "凌晨", now=clock.at("2026-11-11 01:15"))
    assert waits(rws) == {local("2026-11-11 08:00")}


def test_a_launch_outside_quiet_hours_is_not_delayed(rws, clock):
    limits.set_quiet_hours(rws, "22:00", "08:00")
    clock.at("2026-11-10 10:00")
    rws.campaigns.create("白天", channel="rehearsal", text="hi", spec=EVERYONE)
    assert rws.campaigns.preview("白天", now=clock.now)["delayed"] == {}


def test_messages_due_inside_quiet_hours_are_held_then_sent(rws, clock, rehearsal):
    launch(rws, "傍晚", now=clock.at("2026-11-10 21:00"))
    limits.set_quiet_hours(rws, "22:00", "08:00")
    send_due(rws, clock.at("2026-11-10 22:30"))
    assert rws.campaigns.counts("傍晚") == {"queued": 100}
    held = rws.campaigns.deliveries("傍晚")
    assert set(held["attempts"]) == {0}
    assert all("22:00–08:00" in reason for reason in held["reason"])
    assert waits(rws) == {local("2026-11-11 08:00")}
    assert rehearsal.sent == []
    send_due(rws, clock.at("2026-11-11 08:00"))
    assert rws.campaigns.counts("傍晚") == {"sent": 100}


def test_a_midday_quiet_period_holds_until_it_ends(rws, clock):
    limits.set_quiet_hours(rws, "12:00", "13:30")
    launch(rws, "午休", now=clock.at("2026-11-10 11:00"))
    send_due(rws, clock.at("2026-11-10 12:15"))
    assert waits(rws) == {local("2026-11-10 13:30")}
    send_due(rws, clock.at("2026-11-10 13:30"))
    assert rws.campaigns.counts("午休") == {"sent": 100}


# -- the staff daily cap -----------------------------------------------------------------------


def test_the_cap_holds_the_excess_until_the_next_local_midnight(rws, clock, rehearsal):
    limits.set_staff_cap(rws, 30)
    launch(rws, "限额", now=clock.at("2026-11-10 10:00"))
    send_due(rws, clock.now)
    assert rws.campaigns.counts("限额") == {"sent": 30, "queued": 70}
    frame = rws.campaigns.deliveries("限额")
    sent_ids = sorted(frame[frame["status"] == "sent"]["id"])
    assert sent_ids == sorted(frame["id"])[:30]  # in delivery-id order
    assert waits(rws) == {local("2026-11-11 00:00")}
    queued = frame[frame["status"] == "queued"]
    assert set(queued["attempts"]) == {0}
    assert all("zhangsan" in r and "30" in r for r in queued["reason"])
    assert send_due(rws, clock.at("2026-11-10 23:59")) == 0
    send_due(rws, clock.at("2026-11-11 00:00"))
    assert rws.campaigns.counts("限额") == {"sent": 60, "queued": 40}
    assert waits(rws) == {local("2026-11-12 00:00")}
    send_due(rws, clock.at("2026-11-12 09:00"))
    send_due(rws, clock.at("2026-11-13 09:00"))
    assert rws.campaigns.counts("限额") == {"sent": 100}
    assert len(rehearsal.sent) == 100


def test_the_cap_counts_every_campaign_and_pending_messages_of_the_day(rws, clock):
    launch(rws, "上午", now=clock.at("2026-11-10 09:00"), spec={"city": {"cities": ["北京"]}})
    send_due(rws, clock.now)
    with rws.engine.begin() as conn:  # 10 of them wait for the staff member's confirmation
        ids = sa.select(D.c.id).order_by(D.c.id).limit(10).scalar_subquery()
        conn.execute(D.update().where(D.c.id.in_(ids))
                     .values(status="pending", sent_at=None))
    limits.set_staff_cap(rws, 120)
    launch(rws, "下午", now=clock.at("2026-11-10 15:00"))
    send_due(rws, clock.now)
    assert rws.campaigns.counts("下午") == {"sent": 20, "queued": 80}


def test_yesterdays_messages_do_not_count(rws, clock):
    launch(rws, "昨天", now=clock.at("2026-11-09 20:00"), spec={"city": {"cities": ["北京"]}})
    send_due(rws, clock.now)
    limits.set_staff_cap(rws, 50)
    launch(rws, "今天", now=clock.at("2026-11-10 00:30"))
    send_due(rws, clock.now)
    assert rws.campaigns.counts("今天") == {"sent": 50, "queued": 50}


def test_messages_without_a_staff_sender_are_not_capped(rws, clock):
    limits.set_staff_cap(rws, 5)
    launch(rws, "无员工", now=clock.at("2026-11-10 10:00"), sender=None)
    send_due(rws, clock.now)
    assert rws.campaigns.counts("无员工") == {"sent": 100}


def test_a_cap_reached_before_quiet_hours_resumes_when_they_end(rws, clock):
    limits.set_staff_cap(rws, 10)
    limits.set_quiet_hours(rws, "22:00", "08:00")
    launch(rws, "叠加", now=clock.at("2026-11-10 20:00"))
    send_due(rws, clock.now)
    assert rws.campaigns.counts("叠加") == {"sent": 10, "queued": 90}
    assert waits(rws) == {local("2026-11-11 08:00")}


def test_two_senders_draining_one_staff_members_queue_share_the_cap(rws, clock):
    """Two batches claimed at once and checked before either is recorded (two sender
    processes): the earlier batch uses the room first, the later one sees it taken."""
    limits.set_staff_cap(rws, 150)
    launch(rws, "并发", now=clock.at("2026-11-10 10:00"), spec=EVERYONE)
    [(campaign_id, channel)] = outbox.sending_campaigns(rws)
    first = outbox.claim(rws, campaign_id, channel, worker="a", now=clock.now)
    second = outbox.claim(rws, campaign_id, channel, worker="b", now=clock.now)
    later = sending.check_batch(rws, outbox.messages(rws, second.batch_id))
    earlier = sending.check_batch(rws, outbox.messages(rws, first.batch_id))
    assert earlier == {}  # all 100 may go
    assert len(later) == 50 and all(isinstance(v, Hold) for v in later.values())
