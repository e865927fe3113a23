"""Aggregates for dashboards: contacts and orders per local day, by channel, headline KPIs.

Every number is computed by the database (``GROUP BY``); only one row per day or per channel
comes back to Python, whatever the size of the tables.

Days are calendar days in the workspace timezone (``ws.timezone``). Times are stored in UTC
(SQLite: naive UTC text; PostgreSQL: ``timestamptz``), so each row is shifted by the
timezone's UTC offset *at that moment* before its date is taken. The offsets in force over the
requested period come from Python's timezone database, so both engines bucket identically and
zones with daylight saving time are split exactly at their transitions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _
from siyu.core.services.base import Service, as_utc
from siyu.storage.models import PAID_STATUSES, Contact, Order

#: Length of the default period of the daily reports, in days (today included).
DEFAULT_DAYS = 30


def _offset(tz: ZoneInfo, seconds: int) -> int:
    """UTC offset of ``tz`` in seconds at the POSIX time ``seconds``."""
    moment = datetime.fromtimestamp(seconds, UTC).astimezone(tz)
    return int(moment.utcoffset().total_seconds())


def offset_segments(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime | None,
                                                                               int]]:
    """The UTC offsets ``tz`` uses between the aware times ``start`` and ``end``.

    :return: ``[(until, offset_seconds), …]`` in time order: ``offset_seconds`` holds before
        the UTC time ``until``; the last segment has ``until=None``. A zone without
        transitions in the period gives one segment.
    """
    lo_s, end_s = int(start.timestamp()), int(end.timestamp())
    current = _offset(tz, lo_s)
    segments: list[tuple[datetime | None, int]] = []
    probe = lo_s
    while probe < end_s:
        nxt = min(probe + 86400, end_s)
        if _offset(tz, nxt) == current:
            probe = nxt
            continue
        lo, hi = probe, nxt  # lo has the current offset, hi the next one: bisect to the second
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(tz, mid) == current:
                lo = mid
            else:
                hi = mid
        segments.append((datetime.fromtimestamp(hi, UTC), current))
        current, probe = _offset(tz, hi), hi
    segments.append((None, current))
    return segments


def local_day(dialect: str, column: Any, start: datetime, end: datetime, tz: ZoneInfo
              ) -> Any:
    """SQL for the local calendar day of the UTC time ``column`` (rows in [start, end)), the
    timezone's offsets over the period taken from Python's timezone database, so both
    engines bucket alike (the reports and the risk plugin's daily summary share it)."""
    def shifted(seconds: int) -> Any:
        if dialect == "postgresql":
            naive_utc = sa.func.timezone("UTC", column)
            return sa.cast(naive_utc + sa.literal(timedelta(seconds=seconds), sa.Interval),
                           sa.Date)
        return sa.func.date(column, f"{seconds:+d} seconds")

    segments = offset_segments(tz, start, end)
    if len(segments) == 1:
        return shifted(segments[0][1])
    return sa.case(*[(column < until, shifted(seconds)) for until, seconds in segments[:-1]],
                   else_=shifted(segments[-1][1]))

class ReportsService(Service):
    """``ws.reports``: what the Overview page and notebooks chart.

    ``since`` / ``until`` accept dates, datetimes or ISO strings in the workspace timezone
    (a datetime counts for its local day). ``since`` is the first day shown, ``until`` the
    first day *not* shown; by default the period is the last :data:`DEFAULT_DAYS` days,
    today included.
    """

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _day(value: Any, tz: ZoneInfo) -> date:
        """A user-given date or time as a calendar day in ``tz``."""
        return as_utc(value, tz).astimezone(tz).date()

    def _period(self, since: Any, until: Any, tz: ZoneInfo) -> tuple[date, date]:
        today = datetime.now(tz).date()
        end = self._day(until, tz) if until is not None else today + timedelta(days=1)
        start = self._day(since, tz) if since is not None else end - timedelta(days=DEFAULT_DAYS)
        if start >= end:
            raise ValidationError(_("the period starts on {start} but ends before it "
                                    "(until {end} is not included); give an earlier since "
                                    "or a later until", start=start, end=end))
        return start, end

    def _local_day(self, column: sa.ColumnElement, start: datetime, end: datetime,
                   tz: ZoneInfo) -> sa.ColumnElement:
        """SQL for the local calendar day of the UTC time ``column`` (rows in [start, end))."""
        return local_day(self.ws.engine.dialect.name, column, start, end, tz)

    def _by_day(self, time_column: sa.Column, since: Any, until: Any,
                measures: dict[str, Callable[[Any], sa.ColumnElement]],
                carry: tuple[sa.Column, ...] = (), where: tuple = ()) -> pd.DataFrame:
        """One row per local day of the period, ``measures`` aggregated in SQL, 0 on days
        without rows.

        :param measures: output column → ``f(subquery)`` giving an aggregate over it.
        :param carry: extra columns the measures read from the subquery.
        """
        tz = self.ws.timezone
        first, end = self._period(since, until, tz)
        lo, hi = as_utc(first, tz), as_utc(end, tz)
        day = self._local_day(time_column, lo, hi, tz).label("day")
        inner = (sa.select(day, *carry)
                 .where(time_column >= lo, time_column < hi, *where).subquery())
        query = (sa.select(inner.c.day, *[measure(inner).label(name)
                                         for name, measure in measures.items()])
                 .group_by(inner.c.day))
        with self.ws.engine.connect() as conn:
            rows = conn.execute(query).all()
        found = pd.DataFrame(rows, columns=["day", *measures])
        found["day"] = pd.to_datetime(found["day"].astype(str))
        days = pd.date_range(first, end - timedelta(days=1), freq="D", name="day")
        frame = (found.set_index("day").reindex(days, fill_value=0).fillna(0)
                 .astype("int64").reset_index())
        return frame

    # -- reports --------------------------------------------------------------------------

    def contacts_daily(self, since: Any = None, until: Any = None) -> pd.DataFrame:
        """Contacts added and removed per local day.

        :return: columns ``day`` (local midnight, naive), ``added``, ``removed``; one row per
            day of the period, in order.
        :raises ValidationError: an unreadable date, or ``since`` not before ``until``.
        """
        c = Contact.__table__.c
        count = {"n": lambda sub: sa.func.count()}
        added = self._by_day(c.added_at, since, until, count)
        removed = self._by_day(c.removed_at, since, until, count)
        return pd.DataFrame({"day": added["day"], "added": added["n"],
                             "removed": removed["n"]})

    def contacts_by_channel(self, active: bool | None = True) -> pd.DataFrame:
        """How many contacts came from each source channel, biggest first.

        :param active: ``True`` current friends only, ``False`` removed ones only, ``None``
            everyone.
        :return: columns ``channel`` (``""`` when unknown) and ``contacts``.
        """
        c = Contact.__table__.c
        contacts = sa.func.count().label("contacts")
        query = (sa.select(c.source_channel.label("channel"), contacts)
                 .group_by(c.source_channel).order_by(contacts.desc(), c.source_channel))
        if active is True:
            query = query.where(c.removed_at.is_(None))
        elif active is False:
            query = query.where(c.removed_at.is_not(None))
        frame = self._read_df(query)
        if frame.empty:
            return pd.DataFrame({"channel": pd.Series(dtype=object),
                                 "contacts": pd.Series(dtype="int64")})
        frame["channel"] = frame["channel"].fillna("")
        frame["contacts"] = frame["contacts"].astype("int64")
        return frame

    def orders_daily(self, since: Any = None, until: Any = None) -> pd.DataFrame:
        """Sales (paid and partly refunded orders) and their revenue less refunds per local
        day (by ``paid_at``).

        :return: columns ``day`` (local midnight, naive), ``orders``, ``revenue_fen``
            (integer fen); one row per day of the period, in order.
        :raises ValidationError: an unreadable date, or ``since`` not before ``until``.
        """
        o = Order.__table__.c
        return self._by_day(
            o.paid_at, since, until,
            {"orders": lambda sub: sa.func.count(),
             "revenue_fen": lambda sub: sa.func.coalesce(
                 sa.func.sum(sub.c.amount_fen - sub.c.refunded_fen), 0)},
            carry=(o.amount_fen, o.refunded_fen), where=(o.status.in_(PAID_STATUSES),))

    def kpis(self, today: Any = None) -> dict[str, int]:
        """Headline numbers for the Overview page.

        Windows end with ``today`` (a local day, default today) and include it: "7d" is
        today and the six days before it, "30d" today and the 29 before.

        :return: ``contacts_total`` (ever added), ``contacts_active`` (still friends),
            ``added_today``, ``added_7d``, ``orders_30d`` and ``revenue_30d_fen`` (paid
            orders only, integer fen).
        """
        tz = self.ws.timezone
        day = self._day(today, tz) if today is not None else datetime.now(tz).date()
        end = as_utc(day + timedelta(days=1), tz)
        since_today = as_utc(day, tz)
        since_7d = as_utc(day - timedelta(days=6), tz)
        since_30d = as_utc(day - timedelta(days=29), tz)
        c = Contact.__table__.c
        o = Order.__table__.c

        def count(*where: sa.ColumnElement) -> sa.Select:
            return sa.select(sa.func.count()).select_from(Contact.__table__).where(*where)

        # One small indexed query each beats one CASE scan over every contact.
        orders_q = (sa.select(sa.func.count(),
                              sa.func.coalesce(sa.func.sum(o.amount_fen - o.refunded_fen), 0))
                    .where(o.status.in_(PAID_STATUSES), o.paid_at >= since_30d,
                           o.paid_at < end))
        with self.ws.engine.connect() as conn:
            total = conn.execute(count()).scalar_one()
            removed = conn.execute(count(c.removed_at.is_not(None))).scalar_one()
            today_n = conn.execute(count(c.added_at >= since_today,
                                         c.added_at < end)).scalar_one()
            week_n = conn.execute(count(c.added_at >= since_7d, c.added_at < end)).scalar_one()
            orders, revenue = conn.execute(orders_q).one()
        active = total - removed
        return {"contacts_total": int(total), "contacts_active": int(active),
                "added_today": int(today_n), "added_7d": int(week_n),
                "orders_30d": int(orders), "revenue_30d_fen": int(revenue)}
