"""Orders: integer fen, attributed to contact, store and staff."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import select

from siyu.core.errors import ValidationError
from siyu.core.pii import mask_phone_series, normalize_phone
from siyu.core.services.base import Service, as_utc
from siyu.storage.models import Contact, Order, Staff, Store

ORDER_STATUSES = ("paid", "refunded", "cancelled")


class OrdersService(Service):
    """``ws.orders``: add orders (fires ``on_order`` once) and read them as pandas."""

    def add(self, external_id: str, *, amount_fen: int, paid_at: Any, source: str = "api",
            contact: int | str | None = None, store: str | None = None,
            staff: str | None = None, status: str = "paid",
            buyer_phone: str | None = None, notify: bool = True) -> tuple[Order, bool]:
        """Store an order unless ``(source, external_id)`` exists already.

        :param amount_fen: integer fen (¥19.90 is 1990).
        :param paid_at: when it was paid; naive times are in the workspace timezone.
        :param contact: contact id or external_userid; when omitted, ``buyer_phone`` is
            matched against contacts' phones.
        :return: ``(order, created)``; ``on_order`` fires only when created.
        :raises ValidationError: negative or non-integer amount, unknown status.
        :raises NotFound: unknown contact, store or staff.
        """
        self.ws.principal.require("data.write")
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen < 0:
            raise ValidationError(f"amount_fen {amount_fen!r} must be a non-negative integer "
                                  f"number of fen")
        if status not in ORDER_STATUSES:
            raise ValidationError(f"order status {status!r} is not one of "
                                  f"{', '.join(ORDER_STATUSES)}")
        external_id = str(external_id).strip()
        if not external_id:
            raise ValidationError("an order needs an external_id (the order number)")
        phone = normalize_phone(buyer_phone)
        contact_id = self.ws.contacts.get(contact).id if contact is not None else None
        store_id = self.ws.stores.get(store).id if store else None
        staff_id = self.ws.staff.get(staff).id if staff else None
        with self.ws.session() as s:
            if contact_id is None and phone:
                contact_id = s.exec(select(Contact.id).where(Contact.phone == phone)
                                    .order_by(Contact.id)).first()
            order = s.exec(select(Order).where(Order.source == source,
                                               Order.external_id == external_id)).first()
            if order is not None:
                return order, False
            order = Order(source=source, external_id=external_id, contact_id=contact_id,
                          store_id=store_id, staff_id=staff_id, amount_fen=amount_fen,
                          status=status, paid_at=as_utc(paid_at, self.ws.timezone),
                          buyer_phone=phone)
            s.add(order)
            s.flush()
            s.refresh(order)
        self.ws.audit("order.add", f"{source}:{external_id}", {"amount_fen": amount_fen})
        if notify:
            self.ws.notify("on_order", order=order)
        return order, True

    def query(self, *, since: Any = None, until: Any = None, store: str | None = None,
              staff: str | None = None, contact: int | None = None,
              status: str | None = None, source: str | None = None) -> sa.Select:
        """The SQL ``SELECT`` behind :meth:`df`; filters run in SQL."""
        o = Order.__table__
        store_t, staff_t = Store.__table__, Staff.__table__
        query = (sa.select(o.c.id, o.c.source, o.c.external_id, o.c.contact_id,
                           store_t.c.code.label("store"), staff_t.c.userid.label("staff"),
                           o.c.amount_fen, o.c.status, o.c.paid_at, o.c.buyer_phone)
                 .select_from(o.outerjoin(store_t, o.c.store_id == store_t.c.id)
                              .outerjoin(staff_t, o.c.staff_id == staff_t.c.id)))
        tz = self.ws.timezone
        if since is not None:
            query = query.where(o.c.paid_at >= as_utc(since, tz))
        if until is not None:
            query = query.where(o.c.paid_at < as_utc(until, tz))
        if store:
            query = query.where(store_t.c.code == store)
        if staff:
            query = query.where(staff_t.c.userid == staff)
        if contact is not None:
            query = query.where(o.c.contact_id == contact)
        if status:
            query = query.where(o.c.status == status)
        if source:
            query = query.where(o.c.source == source)
        return query

    def df(self, *, limit: int | None = None, reveal_pii: bool = False,
           **filters: Any) -> pd.DataFrame:
        """Orders as a DataFrame (``amount_fen`` integer; ``amount`` in yuan for reading)."""
        if reveal_pii:
            self.ws.principal.require("pii.view")
        query = self.query(**filters).order_by(Order.paid_at, Order.id)
        if limit:
            query = query.limit(limit)
        frame = self._read_df(query, ("paid_at",))
        frame["amount"] = frame["amount_fen"] / 100
        if not reveal_pii:
            frame["buyer_phone"] = mask_phone_series(frame["buyer_phone"])
        return frame

    def summary(self, **filters: Any) -> dict[str, int]:
        """Order count, paying contacts and revenue in fen for ``filters``."""
        sub = self.query(**filters).subquery()
        query = sa.select(sa.func.count(), sa.func.count(sa.distinct(sub.c.contact_id)),
                          sa.func.coalesce(sa.func.sum(sub.c.amount_fen), 0))
        with self.ws.engine.connect() as conn:
            orders, buyers, revenue = conn.execute(query.select_from(sub)).one()
        return {"orders": orders, "buyers": buyers, "revenue_fen": int(revenue)}
