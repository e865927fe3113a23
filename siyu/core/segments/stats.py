"""Per-contact aggregates that segment rules read instead of rescanning every order.

``contact_stats`` (paid orders, revenue, first and last order) and ``contact_event_stats``
(how often and when each contact did each kind of event) are written in the transaction of
the write that changes them: :meth:`~siyu.core.services.orders.OrdersService.upsert` and the
orders import call :func:`refresh_orders`, :meth:`~siyu.core.services.events.EventsService.record`
calls :func:`count_event`. A contact's order stats are recomputed from its orders (one indexed
aggregate), not patched by arithmetic, so refunds, corrections and re-matched buyers can never
leave them drifting. :func:`rebuild` recomputes everything from scratch
(``siyu segment rebuild-stats``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.storage.dialect import insert_for
from siyu.storage.models import PAID_STATUSES, ContactEventStats, ContactStats, Event, Order

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

STATS = ContactStats.__table__
EVENT_STATS = ContactEventStats.__table__
#: Contacts per statement when refreshing many (well under every engine's parameter limit).
CHUNK = 5000

_suspended: ContextVar[bool] = ContextVar("siyu_stats_suspended", default=False)


@contextmanager
def suspended() -> Iterator[None]:
    """Write no stats inside the block (to measure what keeping them costs; the stats are
    wrong afterwards until :func:`rebuild`)."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def active() -> bool:
    """Whether writes keep the stats current (always, outside :func:`suspended`)."""
    return not _suspended.get()


#: The stats columns of a contact's paid orders, in table order.
ORDER_COLUMNS = ("contact_id", "orders", "revenue_fen", "first_order_at", "last_order_at",
                 "last2_order_at", "last3_order_at")
#: The most recent orders kept by time: "at least N orders since T" for N up to this.
RECENT = 3


def order_aggregate(where: sa.ColumnElement[bool] | None = None) -> sa.Select:
    """Paid orders per contact, as :data:`ORDER_COLUMNS` (revenue is amounts less refunds;
    ``last2``/``last3`` the second and third most recent)."""
    o = Order.__table__.c
    paid = (sa.select(o.contact_id, o.paid_at, (o.amount_fen - o.refunded_fen).label("net"),
                      sa.func.row_number().over(partition_by=o.contact_id,
                                                order_by=(o.paid_at.desc(), o.id.desc()))
                      .label("n"))
            .where(o.status.in_(PAID_STATUSES), o.contact_id.is_not(None)))
    if where is not None:
        paid = paid.where(where)
    paid = paid.subquery("paid")

    def nth(n: int):
        return sa.func.max(sa.case((paid.c.n == n, paid.c.paid_at)))

    return (sa.select(paid.c.contact_id, sa.func.count().label("orders"),
                      sa.func.sum(paid.c.net).label("revenue_fen"),
                      sa.func.min(paid.c.paid_at).label("first_order_at"),
                      sa.func.max(paid.c.paid_at).label("last_order_at"),
                      nth(2).label("last2_order_at"), nth(3).label("last3_order_at"))
            .group_by(paid.c.contact_id))


def refresh_orders(conn: sa.Connection, contact_ids: Iterable[int | None]) -> None:
    """Recompute the order stats of ``contact_ids`` from their orders (``None`` skipped).

    Call it in the transaction that wrote the orders, with every contact whose orders
    changed (an order moved from one contact to another: both).
    """
    if not active():
        return
    ids = sorted({int(i) for i in contact_ids if i is not None})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        conn.execute(STATS.delete().where(STATS.c.contact_id.in_(chunk)))
        conn.execute(STATS.insert().from_select(
            list(ORDER_COLUMNS), order_aggregate(Order.__table__.c.contact_id.in_(chunk))))


def add_new_order(conn: sa.Connection, contact_id: int | None, paid_at: datetime,
                  net_fen: int) -> None:
    """Fold one newly inserted paid order into its contact's stats: one ``INSERT … ON
    CONFLICT DO UPDATE`` (the three most recent times shift as the new one slots in)."""
    if contact_id is None or not active():
        return
    t = STATS.c
    stmt = insert_for(conn, STATS).values(contact_id=contact_id, orders=1, revenue_fen=net_fen,
                                          first_order_at=paid_at, last_order_at=paid_at)
    new = stmt.excluded.last_order_at
    after_last = new >= t.last_order_at
    after_second = sa.or_(t.last2_order_at.is_(None), new >= t.last2_order_at)
    after_third = sa.or_(t.last3_order_at.is_(None), new >= t.last3_order_at)
    conn.execute(stmt.on_conflict_do_update(index_elements=["contact_id"], set_={
        "orders": t.orders + 1,
        "revenue_fen": t.revenue_fen + stmt.excluded.revenue_fen,
        "first_order_at": sa.case((new < t.first_order_at, new), else_=t.first_order_at),
        "last_order_at": sa.case((after_last, new), else_=t.last_order_at),
        "last2_order_at": sa.case((after_last, t.last_order_at), (after_second, new),
                                  else_=t.last2_order_at),
        "last3_order_at": sa.case((after_last, t.last2_order_at),
                                  (after_second, t.last2_order_at), (after_third, new),
                                  else_=t.last3_order_at)}))


def add_new_orders(conn: sa.Connection, paid: pd.DataFrame) -> None:
    """Fold newly inserted paid orders into their contacts' stats without reading the
    contacts' other orders or their stored stats (a bulk import's new orders).

    The new orders are summed per contact in numpy (count, revenue, first order, the three
    most recent times); one ``executemany`` of ``INSERT … ON CONFLICT DO UPDATE`` then merges
    each sum into the stored row in the database (:func:`_merge_statement`).

    :param paid: one row per new paid order: ``contact_id``, ``paid_at`` (aware),
        ``net_fen`` (amount less refund). Only orders that are new and paid, of contacts
        with no other order change in this transaction (those need :func:`refresh_orders`).
    """
    import numpy as np
    import pandas as pd

    from siyu.storage.bulk import db_times

    if not active() or paid.empty:
        return
    contact = paid["contact_id"].to_numpy("int64")
    at = pd.to_datetime(paid["paid_at"], utc=True)
    nanos = at.dt.tz_localize(None).to_numpy("datetime64[ns]").view("int64")
    # By contact, most recent first: each contact's rows are a run starting at ``starts``.
    order = np.lexsort((-nanos, contact))
    contact = contact[order]
    stored_at = np.asarray(db_times(conn, at.iloc[order]), dtype=object)
    net = paid["net_fen"].to_numpy("int64")[order]
    starts = np.flatnonzero(np.r_[True, contact[1:] != contact[:-1]])
    counts = np.diff(np.r_[starts, len(contact)])

    def nth(k: int) -> list:  # the (k+1)-th most recent time of each contact, or None
        has = counts > k
        out = np.full(len(starts), None, dtype=object)
        out[has] = stored_at[starts[has] + k]
        return out.tolist()

    columns = dict(zip(ORDER_COLUMNS, (
        contact[starts].tolist(), counts.tolist(), np.add.reduceat(net, starts).tolist(),
        stored_at[starts + counts - 1].tolist(),  # the oldest: the first order
        *[nth(k) for k in range(RECENT)]), strict=True))
    if conn.dialect.name == "postgresql":
        _merge_copied(conn, list(zip(*columns.values(), strict=True)))
        return
    statement = _merge_statement(conn).compile(dialect=conn.dialect)
    if statement.positional:
        params: list = list(zip(*(columns[name] for name in statement.positiontup),
                                strict=True))
    else:
        params = [dict(zip(ORDER_COLUMNS, row, strict=True))
                  for row in zip(*columns.values(), strict=True)]
    conn.exec_driver_sql(str(statement), params)


def _merge_statement(conn: sa.Connection) -> sa.Insert:
    """``INSERT`` one contact's new orders summed as a stats row (bound parameters named as
    :data:`ORDER_COLUMNS`; the three times are the new orders' most recent, ``NULL`` when
    fewer), merged into the stored row (:func:`_merge_on_conflict`)."""
    stmt = insert_for(conn, STATS).values({c: sa.bindparam(c, type_=STATS.c[c].type)
                                           for c in ORDER_COLUMNS})
    return _merge_on_conflict(stmt)


def _merge_copied(conn: sa.Connection, rows: list[tuple]) -> None:
    """PostgreSQL: ``COPY`` the summed rows into a temporary table, then merge them all with
    one ``INSERT … SELECT`` (many times faster than an ``executemany`` of upserts)."""
    summed = sa.Table("siyu_new_order_stats", sa.MetaData(),
                      *[sa.Column(c.name, c.type) for c in STATS.c],
                      prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    summed.create(conn)
    with conn.connection.dbapi_connection.cursor() as cursor:
        with cursor.copy(f"COPY {summed.name} ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    stmt = insert_for(conn, STATS).from_select(
        list(ORDER_COLUMNS), sa.select(*[summed.c[c] for c in ORDER_COLUMNS]))
    conn.execute(_merge_on_conflict(stmt))
    summed.drop(conn)


def _merge_on_conflict(stmt):
    """``stmt`` (an insert of summed new orders) ``ON CONFLICT DO UPDATE`` merging each into
    the stored row: counts and revenue add up, the first order is the earlier, and the three
    most recent are the top three of the stored three and the new three (both in descending
    order, ``NULL`` last)."""
    t = STATS.c
    new = stmt.excluded
    a1, a2, a3 = t.last_order_at, t.last2_order_at, t.last3_order_at
    b1, b2, b3 = new.last_order_at, new.last2_order_at, new.last3_order_at

    def at_least(x, y):  # x >= y, NULL the smallest
        return sa.or_(y.is_(None), sa.and_(x.is_not(None), x >= y))

    def later(x, y):
        return sa.case((at_least(x, y), x), else_=y)

    return stmt.on_conflict_do_update(index_elements=["contact_id"], set_={
        "orders": t.orders + new.orders,
        "revenue_fen": t.revenue_fen + new.revenue_fen,
        "first_order_at": sa.case((new.first_order_at < t.first_order_at, new.first_order_at),
                                  else_=t.first_order_at),
        "last_order_at": later(a1, b1),
        # a1 first: the rest are a2… and b1…; b1 first: a1… and b2….
        "last2_order_at": sa.case((at_least(a1, b1), later(a2, b1)), else_=later(a1, b2)),
        "last3_order_at": sa.case(
            (sa.and_(at_least(a1, b1), at_least(a2, b1)), later(a3, b1)),
            (at_least(a1, b1), later(a2, b2)),
            (at_least(a1, b2), later(a2, b2)),
            else_=later(a1, b3))})


def count_event(conn: sa.Connection, contact_id: int | None, kind: str,
                occurred_at: datetime) -> None:
    """Count one newly stored event of ``kind`` for ``contact_id`` (call it only when the
    event was stored, not for a replay)."""
    if contact_id is None or not active():
        return
    stmt = insert_for(conn, EVENT_STATS).values(contact_id=contact_id, kind=kind, events=1,
                                                first_at=occurred_at, last_at=occurred_at)
    new = stmt.excluded
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["contact_id", "kind"],
        set_={"events": EVENT_STATS.c.events + 1,
              "first_at": sa.case((new.first_at < EVENT_STATS.c.first_at, new.first_at),
                                  else_=EVENT_STATS.c.first_at),
              "last_at": sa.case((new.last_at > EVENT_STATS.c.last_at, new.last_at),
                                 else_=EVENT_STATS.c.last_at)}))


def event_aggregate() -> sa.Select:
    """Events per contact and kind: ``contact_id, kind, events, first_at, last_at``."""
    e = Event.__table__.c
    return (sa.select(e.contact_id, e.kind, sa.func.count().label("events"),
                      sa.func.min(e.occurred_at).label("first_at"),
                      sa.func.max(e.occurred_at).label("last_at"))
            .where(e.contact_id.is_not(None)).group_by(e.contact_id, e.kind))


def rebuild(conn: sa.Connection) -> dict[str, int]:
    """Recompute both stats tables from orders and events, in ``conn``'s transaction.

    :return: ``{"contacts_with_orders": n, "contact_event_kinds": m}``.
    """
    conn.execute(STATS.delete())
    conn.execute(STATS.insert().from_select(list(ORDER_COLUMNS), order_aggregate()))
    conn.execute(EVENT_STATS.delete())
    conn.execute(EVENT_STATS.insert().from_select(
        ["contact_id", "kind", "events", "first_at", "last_at"], event_aggregate()))
    counts = {"contacts_with_orders": conn.execute(
                  sa.select(sa.func.count()).select_from(STATS)).scalar_one(),
              "contact_event_kinds": conn.execute(
                  sa.select(sa.func.count()).select_from(EVENT_STATS)).scalar_one()}
    return counts
