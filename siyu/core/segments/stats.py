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

import sqlalchemy as sa

from siyu.storage.dialect import insert_for
from siyu.storage.models import PAID_STATUSES, ContactEventStats, ContactStats, Event, Order

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


def add_new_orders(conn: sa.Connection, paid: Iterable[tuple[int, datetime, int]]) -> None:
    """Fold newly inserted paid orders ``(contact_id, paid_at, net_fen)`` into their
    contacts' stats without reading the contacts' other orders (a bulk import's new orders).

    Only for orders that are new and paid, of contacts with no other order change in this
    transaction (those need :func:`refresh_orders`).
    """
    if not active():
        return
    by_contact: dict[int, list[tuple[datetime, int]]] = {}
    for contact_id, paid_at, net in paid:
        by_contact.setdefault(int(contact_id), []).append((paid_at, int(net)))
    ids = sorted(by_contact)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        known = {row.contact_id: row for row in conn.execute(
            sa.select(STATS).where(STATS.c.contact_id.in_(chunk)))}
        rows = []
        for contact_id in chunk:
            new = by_contact[contact_id]
            old = known.get(contact_id)
            times = sorted((t for t, _net in new), reverse=True)
            if old is not None:
                times = sorted([*times, *(t for t in (old.last_order_at, old.last2_order_at,
                                                      old.last3_order_at) if t is not None)],
                               reverse=True)
            recent = (times + [None] * RECENT)[:RECENT]
            first = min(t for t, _net in new)
            rows.append({
                "contact_id": contact_id,
                "orders": len(new) + (old.orders if old is not None else 0),
                "revenue_fen": sum(net for _t, net in new)
                + (old.revenue_fen if old is not None else 0),
                "first_order_at": min(first, old.first_order_at) if old is not None else first,
                "last_order_at": recent[0], "last2_order_at": recent[1],
                "last3_order_at": recent[2]})
        if known:
            conn.execute(STATS.delete().where(STATS.c.contact_id.in_(list(known))))
        conn.execute(STATS.insert(), rows)


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
