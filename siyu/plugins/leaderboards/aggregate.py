"""The daily aggregates rankings are read from, and how they are kept current.

Nothing here runs per order. Three aggregates, each with a watermark (the highest id it has
counted of its source table):

- ``orders`` — paid orders into ``leaderboard_daily`` (sales net of refunds, order count)
  per day, source, store and staff;
- ``contacts`` — contacts added (``contact.added_at``) into ``leaderboard_daily``'s
  ``new_contacts`` per day, store and owner;
- ``contact_orders`` — paid orders into ``leaderboard_contact_daily`` per day, source, store
  and buyer; kept only while some board ranks contacts.

:func:`refresh` folds the rows above each watermark in with one ``INSERT … SELECT … GROUP BY
… ON CONFLICT DO UPDATE`` per aggregate, in the transaction that moves the watermark. Days are
the workspace timezone's (PostgreSQL converts with ``timezone()``; SQLite adds the zone's
offset, a ``CASE`` over its changes for zones with summer time). A change of the workspace
timezone rebuilds the aggregates.

An order changed after it was counted (a refund, a correction, a cancellation, a buyer matched
later: ``on_order_changed``) has the day buckets it falls in recomputed from the orders —
a few hundred rows — under the watermark's lock, so a change that raced the fold is never
counted twice, and a redelivered notice changes nothing.

On PostgreSQL ids are taken when a row is written but seen only when its transaction commits,
so a long import may commit ids below a watermark that already passed them. The ids missing
below the new watermark are kept as gaps (``leaderboard_gap``) with the snapshot's ``xmax``
(``xid_after``);
later refreshes fold what appeared in them, until every transaction that was running then has
ended. SQLite has one writer at a time, so ids become visible in order and it has no gaps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from siyu.plugins.leaderboards.models import (
    Leaderboard,
    LeaderboardApplied,
    LeaderboardContactDaily,
    LeaderboardDaily,
    LeaderboardGap,
    LeaderboardWatermark,
)
from siyu.storage.dialect import insert_for
from siyu.storage.models import PAID_STATUSES
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

AGGREGATES = ("orders", "contacts", "contact_orders")
_PAID = ", ".join(f"'{status}'" for status in PAID_STATUSES)
#: How long an ``on_order_changed`` delivery id is remembered.
APPLIED_DAYS = 30


# -- days in the workspace timezone ------------------------------------------------------------


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant ``day`` starts at in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_of(instant: datetime, tz: ZoneInfo) -> date:
    """The day in ``tz`` of an aware instant."""
    return instant.astimezone(tz).date()


def db_time(conn: sa.Connection, instant: datetime) -> Any:
    """An aware instant as ``UTCDateTime`` stores it on this engine (for text SQL)."""
    utc = instant.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return utc


def db_day(conn: sa.Connection, day: date) -> Any:
    """A date as a bound value for text SQL (SQLite keeps dates as ``YYYY-MM-DD``)."""
    return day.isoformat() if conn.dialect.name == "sqlite" else day


def _read_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _offsets(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime | None, int]]:
    """``[(since, minutes), …]``: the zone's UTC offset from ``lo`` to ``hi``, the first
    entry's ``since`` ``None``. Changes are found day by day, then to the minute."""
    def minutes(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds() // 60)

    out: list[tuple[datetime | None, int]] = [(None, minutes(lo))]
    at = lo
    while at < hi:
        step = min(at + timedelta(days=1), hi)
        if minutes(step) != minutes(at):
            a, b = at, step  # the change is in (a, b]: bisect to the second
            while (b - a) > timedelta(seconds=1):
                middle = a + (b - a) / 2
                if minutes(middle) == minutes(a):
                    a = middle
                else:
                    b = middle
            out.append((b.replace(microsecond=0), minutes(step)))
        at = step
    return out


def day_sql(conn: sa.Connection, column: str, tz: ZoneInfo, lo: datetime | None,
            hi: datetime | None, params: dict[str, Any]) -> str:
    """SQL for the day (in ``tz``) of the UTC time in ``column``, for values from ``lo`` to
    ``hi``; bound values are added to ``params``."""
    if conn.dialect.name == "postgresql":
        params["tz"] = tz.key
        return f"CAST(timezone(:tz, {column}) AS DATE)"
    lo = lo or utcnow()
    offsets = _offsets(tz, lo, hi or lo)
    if len(offsets) == 1:
        return f"date({column}, '{offsets[0][1]:+d} minutes')"
    cases = []
    for index, (since, minutes) in enumerate(offsets[1:]):
        params[f"tz_since_{index}"] = db_time(conn, since)
        cases.append((f":tz_since_{index}", minutes))
    # Latest change first: the first change the time is at or after gives its offset.
    whens = " ".join(f"WHEN {column} >= {since} THEN '{minutes:+d} minutes'"
                     for since, minutes in reversed(cases))
    return f"date({column}, CASE {whens} ELSE '{offsets[0][1]:+d} minutes' END)"


# -- folding ----------------------------------------------------------------------------------


def _source_of(name: str) -> tuple[str, str]:
    return ("contact", "added_at") if name == "contacts" else ("orders", "paid_at")


def _fold_sql(conn: sa.Connection, name: str, tz: ZoneInfo, where: str,
              params: dict[str, Any]) -> None:
    """Fold the rows of ``name``'s source table matching ``where`` into its aggregate."""
    table, column = _source_of(name)
    lo = hi = None
    if conn.dialect.name == "sqlite":  # the offsets of the times folded
        lo, hi = conn.execute(sa.text(
            f"SELECT MIN({column}), MAX({column}) FROM {table} WHERE {where}"), params).one()
        if lo is None:
            return
    day = day_sql(conn, column, tz, _read_time(lo), _read_time(hi), params)
    if name == "orders":
        sql = (f"INSERT INTO leaderboard_daily (day, source, store_id, staff_id, sales_fen, "
               f"orders, new_contacts) "
               f"SELECT {day}, source, COALESCE(store_id, 0), COALESCE(staff_id, 0), "
               f"SUM(amount_fen - refunded_fen), COUNT(*), 0 FROM orders "
               f"WHERE ({where}) AND status IN ({_PAID}) GROUP BY 1, 2, 3, 4 "
               f"ON CONFLICT (day, source, store_id, staff_id) DO UPDATE SET "
               f"sales_fen = leaderboard_daily.sales_fen + excluded.sales_fen, "
               f"orders = leaderboard_daily.orders + excluded.orders")
    elif name == "contact_orders":
        sql = (f"INSERT INTO leaderboard_contact_daily (day, source, store_id, contact_id, "
               f"sales_fen, orders) "
               f"SELECT {day}, source, COALESCE(store_id, 0), contact_id, "
               f"SUM(amount_fen - refunded_fen), COUNT(*) FROM orders "
               f"WHERE ({where}) AND status IN ({_PAID}) AND contact_id IS NOT NULL "
               f"GROUP BY 1, 2, 3, 4 "
               f"ON CONFLICT (day, source, store_id, contact_id) DO UPDATE SET "
               f"sales_fen = leaderboard_contact_daily.sales_fen + excluded.sales_fen, "
               f"orders = leaderboard_contact_daily.orders + excluded.orders")
    else:
        sql = (f"INSERT INTO leaderboard_daily (day, source, store_id, staff_id, sales_fen, "
               f"orders, new_contacts) "
               f"SELECT {day}, '', COALESCE(store_id, 0), COALESCE(owner_id, 0), 0, 0, "
               f"COUNT(*) FROM contact WHERE ({where}) AND added_at IS NOT NULL "
               f"GROUP BY 1, 2, 3, 4 "
               f"ON CONFLICT (day, source, store_id, staff_id) DO UPDATE SET "
               f"new_contacts = leaderboard_daily.new_contacts + excluded.new_contacts")
    conn.execute(sa.text(sql), params)


def needed(conn: sa.Connection) -> set[str]:
    """The aggregates some board reads."""
    rows = conn.execute(sa.select(Leaderboard.metric, Leaderboard.dimension).distinct()).all()
    out: set[str] = set()
    for metric, dimension in rows:
        if metric == "new_contacts":
            out.add("contacts")
        elif dimension == "contact":
            out.add("contact_orders")
        else:
            out.add("orders")
    return out


def _marks(conn: sa.Connection) -> dict[str, tuple[int, str]]:
    table = LeaderboardWatermark.__table__
    return {row.name: (int(row.last_id), row.timezone)
            for row in conn.execute(sa.select(table.c.name, table.c.last_id, table.c.timezone))}


def _max_id(conn: sa.Connection, name: str) -> int:
    table = _source_of(name)[0]
    return int(conn.execute(sa.text(f"SELECT MAX(id) FROM {table}")).scalar() or 0)


def _has_gaps(conn: sa.Connection) -> bool:
    return conn.execute(sa.select(sa.func.count()).select_from(LeaderboardGap)).scalar() > 0


def refresh(ws: Workspace, names: Iterable[str] | None = None) -> dict[str, int]:
    """Fold the orders and contacts stored since the last refresh into the aggregates the
    boards need (or ``names``). Cheap when nothing is new: one read, no write.

    :return: ``{aggregate: new watermark}`` for those that moved.
    """
    tz = ws.timezone
    with ws.engine.connect() as conn:
        wanted = set(names) if names is not None else needed(conn)
        if not wanted:
            return {}
        marks = _marks(conn)
        stale = [name for name in sorted(wanted)
                 if name not in marks or marks[name][1] != tz.key
                 or _max_id(conn, name) > marks[name][0]]
        if not stale and not (conn.dialect.name == "postgresql" and _has_gaps(conn)):
            return {}
    moved: dict[str, int] = {}
    with ws.session() as s:
        conn = s.connection()
        table = LeaderboardWatermark.__table__
        conn.execute(insert_for(conn, table).values(
            [{"name": name, "last_id": 0, "timezone": tz.key, "updated_at": utcnow()}
             for name in sorted(wanted)]).on_conflict_do_nothing(index_elements=["name"]))
        # The lock: the fold and on_order_changed's recomputes take turns.
        conn.execute(sa.update(table).where(table.c.name.in_(sorted(wanted)))
                     .values(updated_at=utcnow()))
        marks = _marks(conn)
        for name in sorted(wanted):
            last, zone = marks[name]
            if zone != tz.key:
                _clear(conn, name)
                last = 0
            if conn.dialect.name == "postgresql":
                _fold_gaps(conn, name, tz)
            top = _max_id(conn, name)
            if top > last:
                _fold_sql(conn, name, tz, "id > :lo AND id <= :hi", {"lo": last, "hi": top})
                if conn.dialect.name == "postgresql":
                    _remember_gaps(conn, name, last, top)
                moved[name] = top
            if top > last or zone != tz.key:
                conn.execute(sa.update(table).where(table.c.name == name)
                             .values(last_id=max(top, last), timezone=tz.key))
    return moved


def _clear(conn: sa.Connection, name: str) -> None:
    """Forget what aggregate ``name`` counted (its watermark goes back to 0)."""
    if name == "orders":
        conn.execute(sa.delete(LeaderboardDaily).where(LeaderboardDaily.source != ""))
        conn.execute(sa.update(LeaderboardDaily).values(sales_fen=0, orders=0))
    elif name == "contacts":
        conn.execute(sa.delete(LeaderboardDaily).where(LeaderboardDaily.source == ""))
        conn.execute(sa.update(LeaderboardDaily).values(new_contacts=0))
    else:
        conn.execute(sa.delete(LeaderboardContactDaily))
    conn.execute(sa.delete(LeaderboardGap).where(LeaderboardGap.name == name))


def rebuild(ws: Workspace) -> dict[str, int]:
    """Count everything again from the orders and contacts (after orders were deleted, or
    to check): the aggregates are emptied and refolded in one transaction."""
    with ws.session() as s:
        conn = s.connection()
        for name in AGGREGATES:
            _clear(conn, name)
        conn.execute(sa.delete(LeaderboardWatermark))
    return refresh(ws)


# -- PostgreSQL: ids that were not visible yet ---------------------------------------------


def _remember_gaps(conn: sa.Connection, name: str, lo: int, hi: int) -> None:
    table = _source_of(name)[0]
    gaps = conn.execute(sa.text(
        f"SELECT prev + 1, id - 1 FROM (SELECT id, LAG(id, 1, CAST(:lo AS BIGINT)) OVER "
        f"(ORDER BY id) AS prev FROM {table} WHERE id > :lo AND id <= :hi) AS t "
        f"WHERE id > prev + 1"), {"lo": lo, "hi": hi}).all()
    if not gaps:
        return
    xmax = int(conn.execute(sa.text(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")).scalar())
    conn.execute(sa.insert(LeaderboardGap), [
        {"name": name, "lo": int(a), "hi": int(b), "xid_after": xmax, "created_at": utcnow()}
        for a, b in gaps])


def _fold_gaps(conn: sa.Connection, name: str, tz: ZoneInfo) -> None:
    """Fold rows that appeared in ``name``'s gaps; close the gaps no running transaction can
    fill any more, split the others around what appeared."""
    gaps = conn.execute(sa.select(LeaderboardGap).where(LeaderboardGap.name == name)).all()
    if not gaps:
        return
    xmin = int(conn.execute(sa.text(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar())
    table = _source_of(name)[0]
    for gap in gaps:
        ids = conn.execute(sa.text(f"SELECT id FROM {table} WHERE id >= :a AND id <= :b "
                                   f"ORDER BY id"), {"a": gap.lo, "b": gap.hi}).scalars().all()
        if ids:
            _fold_sql(conn, name, tz, "id >= :a AND id <= :b", {"a": gap.lo, "b": gap.hi})
        conn.execute(sa.delete(LeaderboardGap).where(LeaderboardGap.id == gap.id))
        if xmin >= gap.xid_after:
            continue  # every transaction that could fill it has ended
        rest, at = [], gap.lo
        for found in ids:
            if found > at:
                rest.append((at, found - 1))
            at = found + 1
        if at <= gap.hi:
            rest.append((at, gap.hi))
        if rest:
            conn.execute(sa.insert(LeaderboardGap), [
                {"name": name, "lo": a, "hi": b, "xid_after": gap.xid_after,
                 "created_at": gap.created_at}
                for a, b in rest])


def _not_in_gaps(conn: sa.Connection, name: str, params: dict[str, Any]) -> str:
    if conn.dialect.name != "postgresql":
        return ""
    gaps = conn.execute(sa.select(LeaderboardGap.lo, LeaderboardGap.hi)
                        .where(LeaderboardGap.name == name)).all()
    parts = []
    for index, (a, b) in enumerate(gaps):
        params[f"gap_lo_{index}"], params[f"gap_hi_{index}"] = a, b
        parts.append(f" AND NOT (id BETWEEN :gap_lo_{index} AND :gap_hi_{index})")
    return "".join(parts)


# -- an order changed after it was counted ----------------------------------------------------


def order_changed(ws: Workspace, order: Any, changes: dict[str, list[Any]],
                  delivery_id: str) -> None:
    """Recompute the day buckets ``order`` falls in, for each aggregate that already
    counted it; record ``delivery_id`` (a redelivery is skipped)."""
    tz = ws.timezone
    with ws.session() as s:
        conn = s.connection()
        done = conn.execute(insert_for(conn, LeaderboardApplied.__table__)
                            .values(delivery_id=str(delivery_id)[:100], at=utcnow())
                            .on_conflict_do_nothing(index_elements=["delivery_id"]))
        if done.rowcount == 0:
            return  # applied already
        table = LeaderboardWatermark.__table__
        conn.execute(sa.update(table).where(table.c.name.in_(("orders", "contact_orders")))
                     .values(updated_at=utcnow()))
        marks = _marks(conn)
        paid_at = _read_time(order.paid_at)
        day = day_of(paid_at, tz)
        for name in ("orders", "contact_orders"):
            last, zone = marks.get(name, (0, ""))
            if order.id > last or zone != tz.key:
                continue  # not counted yet: the next fold reads it as it is now
            if name == "orders":
                _recount(conn, name, tz, day, order.source, order.store_id, order.staff_id)
            else:
                contacts = {order.contact_id, *changes.get("contact_id", ())} - {None}
                for contact_id in contacts:
                    _recount(conn, name, tz, day, order.source, order.store_id, contact_id)


def _recount(conn: sa.Connection, name: str, tz: ZoneInfo, day: date, source: str,
             store_id: int | None, who: int | None) -> None:
    """Set one bucket of ``name`` to what the counted orders hold now."""
    params: dict[str, Any] = {
        "t0": db_time(conn, day_start(day, tz)),
        "t1": db_time(conn, day_start(day + timedelta(days=1), tz)),
        "source": source, "last": _marks(conn)[name][0]}
    column = "staff_id" if name == "orders" else "contact_id"
    where = [f"status IN ({_PAID})", "paid_at >= :t0", "paid_at < :t1", "source = :source",
             "id <= :last"]
    for key, value in (("store_id", store_id), (column, who)):
        if value is None:
            where.append(f"{key} IS NULL")
        else:
            where.append(f"{key} = :{key}")
            params[key] = value
    sales, count = conn.execute(sa.text(
        f"SELECT COALESCE(SUM(amount_fen - refunded_fen), 0), COUNT(*) FROM orders WHERE "
        f"{' AND '.join(where)}{_not_in_gaps(conn, name, params)}"), params).one()
    target = LeaderboardDaily.__table__ if name == "orders" else \
        LeaderboardContactDaily.__table__
    row = {"day": day, "source": source, "store_id": store_id or 0, column: who or 0,
           "sales_fen": int(sales), "orders": int(count)}
    if name == "orders":
        row["new_contacts"] = 0
    keys = ["day", "source", "store_id", column]
    conn.execute(insert_for(conn, target).values(row).on_conflict_do_update(
        index_elements=keys, set_={"sales_fen": int(sales), "orders": int(count)}))


def forget_applied(ws: Workspace) -> int:
    """Drop delivery ids older than :data:`APPLIED_DAYS` (redeliveries come within hours)."""
    with ws.session() as s:
        return s.connection().execute(sa.delete(LeaderboardApplied).where(
            LeaderboardApplied.at < utcnow() - timedelta(days=APPLIED_DAYS))).rowcount


__all__ = ["AGGREGATES", "day_of", "day_start", "forget_applied", "needed", "order_changed",
           "rebuild", "refresh"]
