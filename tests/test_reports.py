"""Dashboard reports count by local calendar day, in SQL, on both engines."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.services.reports import offset_segments


def days(frame: pd.DataFrame) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in frame["day"]]


@pytest.fixture
def november(sample_world):
    """Contacts and orders around the Shanghai midnight of 2 → 3 November 2026."""
    ws = sample_world
    ws.contacts.upsert("wm1", owner="zhangsan", source_channel="抖音",
                       added_at="2026-11-01T10:00")
    ws.contacts.upsert("wm2", owner="lisi", source_channel="抖音",
                       added_at="2026-11-02T23:30")  # 15:30 UTC, still the 2nd in Shanghai
    ws.contacts.upsert("wm3", owner="wangwu", source_channel="天猫",
                       added_at="2026-11-03T00:10")  # 16:10 UTC on the 2nd: the 3rd locally
    ws.contacts.upsert("wm4", source_channel="", added_at="2026-11-03T09:00")
    ws.contacts.remove("wm1", at=datetime(2026, 11, 3, 23, 30))
    ws.orders.add("o1", amount_fen=1990, paid_at="2026-11-02T23:30", contact="wm2")
    ws.orders.add("o2", amount_fen=500, paid_at="2026-11-03T00:00", contact="wm2")
    ws.orders.add("o3", amount_fen=3000, paid_at="2026-11-03T12:00", contact="wm3")
    ws.orders.add("o4", amount_fen=9900, paid_at="2026-11-03T13:00", status="refunded")
    return ws


def test_contacts_daily_counts_added_and_removed_per_shanghai_day(november):
    frame = november.reports.contacts_daily(since="2026-11-01", until="2026-11-05")
    assert list(frame.columns) == ["day", "added", "removed"]
    assert days(frame) == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    assert frame["added"].tolist() == [1, 1, 2, 0]
    assert frame["removed"].tolist() == [0, 0, 1, 0]


def test_contacts_daily_period_includes_since_and_excludes_until(november):
    frame = november.reports.contacts_daily(since=date(2026, 11, 2), until=date(2026, 11, 3))
    assert days(frame) == ["2026-11-02"]
    assert frame["added"].tolist() == [1]


def test_default_period_is_the_last_30_days_including_today(ws):
    ws.contacts.upsert("wm1")
    frame = ws.reports.contacts_daily()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert len(frame) == 30
    assert frame["day"].iloc[-1].date() == today
    assert frame["added"].tolist() == [0] * 29 + [1]


def test_an_empty_period_is_rejected_with_the_dates(ws):
    with pytest.raises(ValidationError, match="2026-11-05"):
        ws.reports.contacts_daily(since="2026-11-05", until="2026-11-05")


def test_an_unreadable_date_is_named(ws):
    with pytest.raises(ValidationError, match="yesterday"):
        ws.reports.orders_daily(since="yesterday")


def test_orders_daily_counts_paid_orders_on_their_shanghai_day(november):
    frame = november.reports.orders_daily(since="2026-11-02", until="2026-11-04")
    assert list(frame.columns) == ["day", "orders", "revenue_fen"]
    assert days(frame) == ["2026-11-02", "2026-11-03"]
    assert frame["orders"].tolist() == [1, 2]  # the refunded order is left out
    assert frame["revenue_fen"].tolist() == [1990, 3500]
    assert frame["revenue_fen"].dtype == "int64"


def test_contacts_by_channel_counts_current_friends_biggest_first(november):
    frame = november.reports.contacts_by_channel()
    assert dict(zip(frame["channel"], frame["contacts"], strict=True)) == {
        "": 1, "天猫": 1, "抖音": 1}
    everyone = november.reports.contacts_by_channel(active=None)
    assert everyone.iloc[0].tolist() == ["抖音", 2]  # biggest first
    removed = november.reports.contacts_by_channel(active=False)
    assert removed.values.tolist() == [["抖音", 1]]


def test_contacts_by_channel_of_an_empty_workspace_is_empty(ws):
    frame = ws.reports.contacts_by_channel()
    assert frame.empty and list(frame.columns) == ["channel", "contacts"]


def test_kpis_count_windows_ending_with_today(november):
    assert november.reports.kpis(today="2026-11-03") == {
        "contacts_total": 4, "contacts_active": 3, "added_today": 2, "added_7d": 4,
        "orders_30d": 3, "revenue_30d_fen": 5490}
    assert november.reports.kpis(today="2026-11-02") == {
        "contacts_total": 4, "contacts_active": 3, "added_today": 1, "added_7d": 2,
        "orders_30d": 1, "revenue_30d_fen": 1990}


def test_kpis_30_day_window_starts_29_days_before_today(november):
    assert november.reports.kpis(today="2026-12-01")["orders_30d"] == 3  # 2 Nov onwards
    assert november.reports.kpis(today="2026-12-02")["orders_30d"] == 2  # 3 Nov onwards


def test_days_follow_the_workspace_timezone_across_a_dst_change(ws):
    ws.settings.set("timezone", "America/New_York")  # clocks go back on 1 Nov 2026
    ws.contacts.upsert("wm1", added_at="2026-10-31T23:30")  # EDT: 03:30 UTC on 1 Nov
    ws.contacts.upsert("wm2", added_at="2026-11-01T23:30")  # EST: 04:30 UTC on 2 Nov
    ws.contacts.upsert("wm3", added_at="2026-11-02T00:30")
    frame = ws.reports.contacts_daily(since="2026-10-31", until="2026-11-03")
    assert days(frame) == ["2026-10-31", "2026-11-01", "2026-11-02"]
    assert frame["added"].tolist() == [1, 1, 1]


def test_offset_segments_split_exactly_at_the_transition():
    tz = ZoneInfo("America/New_York")
    segments = offset_segments(tz, datetime(2026, 10, 25, tzinfo=UTC),
                               datetime(2026, 11, 10, tzinfo=UTC))
    assert segments == [(datetime(2026, 11, 1, 6, tzinfo=UTC), -4 * 3600), (None, -5 * 3600)]
    shanghai = offset_segments(ZoneInfo("Asia/Shanghai"), datetime(2026, 1, 1, tzinfo=UTC),
                               datetime(2027, 1, 1, tzinfo=UTC))
    assert shanghai == [(None, 8 * 3600)]


def test_daily_reports_aggregate_in_the_database(november):
    statements: list[str] = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(november.engine, "before_cursor_execute", remember)
    try:
        november.reports.contacts_daily(since="2026-01-01", until="2027-01-01")
        november.reports.orders_daily(since="2026-01-01", until="2027-01-01")
    finally:
        sa.event.remove(november.engine, "before_cursor_execute", remember)
    reads = [s for s in statements if "contact" in s.lower() or "orders" in s.lower()]
    assert len(reads) == 3 and all("GROUP BY" in s.upper() for s in reads)


def test_a_year_long_report_has_one_row_per_day(november):
    frame = november.reports.orders_daily(since="2026-01-01", until="2027-01-01")
    assert len(frame) == 365 and frame["orders"].sum() == 3
    assert frame["day"].iloc[0] == pd.Timestamp("2026-01-01")
    assert frame["day"].iloc[-1] == pd.Timestamp("2026-12-31")
    assert (frame["day"].diff().dropna() == timedelta(days=1)).all()
