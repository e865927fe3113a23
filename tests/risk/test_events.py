"""Risk events: every decision of the checks is recorded once — sensitive-word and
do-not-contact blocks, quiet-hours and daily-cap holds, launch-time skips and delays — the
batch check stays set-based, and the daily summary counts events and messages sent per local
day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

import siyu
from siyu.core.errors import ValidationError
from siyu.core.messaging import outbox
from siyu.plugins.risk import checks, dnc, events, limits, sending, words
from siyu.storage.models import HookDelivery
from tests.risk.conftest import EVERYONE, launch, send_due

BEIJING = {"city": {"cities": ["北京"]}}


def decisions(ws, **filters) -> list[tuple[str, str]]:
    frame = events.events(ws, limit=None, **filters)
    return sorted(set(zip(frame["rule"], frame["decision"], strict=True)))


def test_every_decision_is_recorded(rws, clock, words_at_once):
    dnc.add(rws, [1], reason="投诉")
    limits.set_quiet_hours(rws, "22:00", "08:00")
    launch(rws, "夜里", now=clock.at("2026-11-10 23:00"), spec=BEIJING)  # delayed
    launch(rws, "白天", now=clock.at("2026-11-10 10:00"), text="加微信领券")  # skips 1
    words.add_word(rws, "加微信", "引流")
    dnc.add(rws, [3])
    limits.set_staff_cap(rws, 150)
    send_due(rws, clock.at("2026-11-10 10:00"))  # 白天: 1 skipped, 99 blocked (words)
    assert rws.campaigns.counts("白天") == {"blocked": 99, "skipped": 1}
    send_due(rws, clock.at("2026-11-11 08:00"))  # 夜里: 100 due, 150 - 0 room: all sent
    assert rws.campaigns.counts("夜里") == {"sent": 100}
    launch(rws, "再来", now=clock.at("2026-11-11 09:00"), text="会员日")  # skips 1 and 3
    dnc.add(rws, [5])
    send_due(rws, clock.now)  # 98 due: 1 blocked (dnc), room for 50 more today, 47 held
    assert rws.campaigns.counts("再来") == {"sent": 50, "queued": 47, "blocked": 1,
                                           "skipped": 2}
    launch(rws, "深夜", now=clock.at("2026-11-11 21:00"), text="会员日", spec=BEIJING)
    send_due(rws, clock.at("2026-11-11 22:30"))  # held for quiet hours
    assert decisions(rws) == [("dnc", "blocked"), ("dnc", "skipped"),
                              ("quiet_hours", "held"), ("sensitive_words", "blocked"),
                              ("staff_cap", "held")]
    frame = events.events(rws, limit=None)
    counts = frame.groupby(["rule", "decision"]).size().to_dict()
    assert counts == {("dnc", "blocked"): 2, ("dnc", "skipped"): 3,
                      ("quiet_hours", "held"): 200, ("sensitive_words", "blocked"): 99,
                      ("staff_cap", "held"): 47}
    # a message that both says a listed word and goes to a listed contact: two events
    both = frame[(frame["campaign"] == "白天") & (frame["contact_id"] == 3)]
    assert sorted(both["rule"]) == ["dnc", "sensitive_words"]
    word = frame[frame["rule"] == "sensitive_words"].iloc[0]
    assert word["excerpt"] == "加微信领券" and "加微信" in word["reason"]
    assert word["staff"] == "zhangsan" and word["campaign"] == "白天"
    delayed = frame[(frame["rule"] == "quiet_hours") & (frame["campaign"] == "夜里")]
    assert len(delayed) == 100
    assert set(delayed["at"]) == {pd_local("2026-11-10 23:00")}  # when the launch happened
    assert set(delayed["until"]) == {pd_local("2026-11-11 08:00")}
    held = frame[frame["rule"] == "staff_cap"]  # midnight is inside quiet hours
    assert set(held["until"]) == {pd_local("2026-11-12 08:00")}


def pd_local(text: str):
    import pandas as pd

    return pd.Timestamp(text, tz="Asia/Shanghai")


def redeliver_risk_notices(ws) -> int:
    """Make the risk plugin's hook deliveries due again, as after a crash."""
    hooks = HookDelivery.__table__
    with ws.engine.begin() as conn:
        return conn.execute(hooks.update().where(hooks.c.plugin == "risk")
                            .values(status="pending", position=0, attempts=0,
                                    due_at=datetime(2000, 1, 1, tzinfo=UTC))).rowcount


def test_launch_skips_are_recorded_once_even_when_the_notice_is_redelivered(
        rws, clock, db_url, rehearsal):
    dnc.add(rws, [1, 3])
    launch(rws, "两次", now=clock.now)
    skipped = events.events(rws, rule="dnc", decision="skipped")
    assert sorted(skipped["contact_id"]) == [1, 3]
    assert set(skipped["at"]) == {pd_local("2026-11-10 10:00")}  # the launch's time
    assert redeliver_risk_notices(rws)
    assert rws.hooks.deliver() >= 1
    assert len(events.events(rws, rule="dnc", decision="skipped")) == 2
    with siyu.open(db_url, plugins=[rehearsal], load_entry_points=False) as other:
        assert redeliver_risk_notices(other)  # another process, which recorded nothing
        assert other.hooks.deliver() >= 1
    assert len(events.events(rws, rule="dnc", decision="skipped")) == 2


def test_launch_delays_are_recorded_once(rws, clock):
    limits.set_quiet_hours(rws, "22:00", "08:00")
    launch(rws, "夜", now=clock.at("2026-11-10 23:30"))
    assert events.count(rws, rule="quiet_hours") == 100  # the readers record them
    assert events.count(rws, rule="quiet_hours") == 100
    send_due(rws, clock.at("2026-11-11 08:00"))
    assert rws.campaigns.counts("夜") == {"sent": 100}
    assert events.count(rws, rule="quiet_hours") == 100


def test_the_check_records_launch_delays_nobody_read_before_they_were_sent(rws, clock):
    limits.set_quiet_hours(rws, "22:00", "08:00")
    launch(rws, "无人看", now=clock.at("2026-11-10 23:30"))
    send_due(rws, clock.at("2026-11-11 08:00"))  # no reader ran before
    with rws.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM risk_event")).scalar_one()
    assert stored == 100


def test_the_batch_check_runs_the_same_statements_for_10_or_100_messages(rws, clock,
                                                                      monkeypatch):
    words.add_word(rws, "加微信", "引流")
    limits.set_staff_cap(rws, 1000)
    launch(rws, "规模", now=clock.now, text="会员日")
    dnc.add(rws, [1, 3, 5])
    [(campaign_id, channel)] = outbox.sending_campaigns(rws)
    claimed = outbox.claim(rws, campaign_id, channel, worker="t", now=clock.now)
    batch = outbox.messages(rws, claimed.batch_id)
    assert len(batch) == 100
    sending.check_batch(rws, batch)  # warm the word screen
    monkeypatch.setattr(checks, "RECHECK_S", 1e9)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper())

    sa.event.listen(rws.engine, "before_cursor_execute", count)
    try:
        sending.check_batch(rws, batch[:10])
        small = list(statements)
        statements.clear()
        verdicts = sending.check_batch(rws, batch)
        large = list(statements)
    finally:
        sa.event.remove(rws.engine, "before_cursor_execute", count)
    assert small == large
    assert large.count("INSERT") == 1
    assert len(large) <= 8
    assert {i for i, v in verdicts.items() if isinstance(v, str)} == {
        m.delivery_id for m in batch if m.contact_id in (1, 3, 5)}


def test_an_excerpt_keeps_200_characters(rws, clock):
    launch(rws, "长文", now=clock.now, text="长" * 300)
    dnc.add(rws, [1])
    send_due(rws, clock.now)
    [excerpt] = events.events(rws, rule="dnc")["excerpt"]
    assert excerpt == "长" * 200


def test_events_are_filtered_and_phones_masked(rws, clock):
    rws.contacts.upsert("wm-x", name="王女士", phone="13812345678", city="上海")
    contact_id = rws.contacts.get("wm-x").id
    dnc.add(rws, [contact_id])
    launch(rws, "早", now=clock.at("2026-11-09 10:00"))
    dnc.add(rws, [1])
    launch(rws, "晚", now=clock.at("2026-11-10 10:00"), spec=EVERYONE)
    send_due(rws, clock.now)
    # 早 skips 王女士; 晚 skips her and contact 1, whom 早 then cannot send to
    assert len(events.events(rws)) == 4
    assert len(events.events(rws, since="2026-11-10")) == 3
    assert len(events.events(rws, decision="skipped")) == 3
    assert len(events.events(rws, rule="dnc", decision="blocked")) == 1
    later = events.events(rws, rule="dnc", since="2026-11-10", decision="skipped")
    mine = later[later["contact_id"] == contact_id]
    assert list(mine["contact"]) == ["王女士"] and list(mine["phone"]) == ["138****5678"]
    revealed = events.events(rws, since="2026-11-10", decision="skipped", reveal_pii=True)
    assert "13812345678" in set(revealed["phone"])
    with pytest.raises(ValidationError, match="nope"):
        events.events(rws, rule="nope")
    with pytest.raises(ValidationError, match="maybe"):
        events.events(rws, decision="maybe")
    with pytest.raises(ValidationError, match="yesterday"):
        events.events(rws, since="yesterday")


def test_the_daily_summary_counts_per_local_day(rws, clock, words_at_once):
    dnc.add(rws, [1])
    limits.set_staff_cap(rws, 60)
    launch(rws, "第一天", now=clock.at("2026-11-10 10:00"))
    send_due(rws, clock.now)  # 1 skipped, 60 sent, 39 held
    # local midnight is 16:00 UTC the day before: these count for the 11th
    send_due(rws, clock.at("2026-11-11 00:00"))  # 39 sent
    launch(rws, "第二天", now=clock.at("2026-11-11 09:00"), text="加微信有礼", spec=BEIJING)
    words.add_word(rws, "加微信", "引流")
    send_due(rws, clock.now)  # 100 blocked
    frame = events.daily_summary(rws, days=3, today="2026-11-12")
    assert list(frame.columns) == ["day", "sent", "blocked", "held", "skipped",
                                   "sensitive_words:blocked", "dnc:skipped",
                                   "staff_cap:held"]
    rows = {str(day.date()): row for day, row in zip(
        frame["day"], frame.drop(columns="day").to_dict("records"), strict=True)}
    assert rows == {
        "2026-11-10": {"sent": 60, "blocked": 0, "held": 39, "skipped": 1,
                       "sensitive_words:blocked": 0, "dnc:skipped": 1, "staff_cap:held": 39},
        "2026-11-11": {"sent": 39, "blocked": 100, "held": 0, "skipped": 0,
                       "sensitive_words:blocked": 100, "dnc:skipped": 0, "staff_cap:held": 0},
        "2026-11-12": {"sent": 0, "blocked": 0, "held": 0, "skipped": 0,
                       "sensitive_words:blocked": 0, "dnc:skipped": 0, "staff_cap:held": 0}}


def test_the_daily_summary_refuses_a_bad_period(ws):
    with pytest.raises(ValidationError, match="days"):
        events.daily_summary(ws, days=0)
    frame = events.daily_summary(ws, days=7)
    assert len(frame) == 7 and frame["day"].is_monotonic_increasing
    assert frame.drop(columns="day").to_numpy().sum() == 0
