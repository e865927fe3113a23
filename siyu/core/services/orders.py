"""Orders: integer fen, attributed to contact, store and staff; upserted by
``(source, external_id)`` so that refunds and corrections reach the stored order."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from siyu.core import identity
from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.pii import mask_phone_series, normalize_phone
from siyu.core.segments import stats
from siyu.core.services.base import Service, as_utc
from siyu.core.services.contacts import ContactsService
from siyu.storage.dialect import insert_for
from siyu.storage.models import PAID_STATUSES, Order, OrderLine, Staff, Store
from siyu.storage.types import utcnow

ORDER_STATUSES = ("paid", "partially_refunded", "refunded", "cancelled")

#: The fields an upsert may change, and ``on_order_changed`` reports.
TRACKED = ("amount_fen", "status", "refunded_fen", "contact_id")
#: What :meth:`OrdersService.upsert` did: stored a new order, changed one, or neither.
CHANGES = ("created", "updated", "unchanged")


def _fen(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(_("{name} {value!r} must be a non-negative integer number of fen",
                                name=name, value=value))
    return value


def settle(amount_fen: int, status: str = "paid", refunded_fen: int | None = None
           ) -> tuple[str, int]:
    """The status and refund an order is stored with, from what its source says.

    - ``refunded_fen`` omitted (``None``): ``refunded`` means the whole amount,
      ``paid`` and ``cancelled`` nothing; ``partially_refunded`` needs the amount.
    - ``paid`` with a refund becomes ``partially_refunded``, or ``refunded`` when the whole
      amount came back (an export saying 交易成功 with a refund column).
    - ``partially_refunded`` needs 0 < ``refunded_fen`` < ``amount_fen``; ``refunded`` needs
      ``refunded_fen`` = ``amount_fen``; ``cancelled`` takes any refund up to the amount.

    :return: ``(status, refunded_fen)``.
    :raises ValidationError: an unknown status, a refund that is negative, not whole fen,
        more than the amount, or at odds with the status.
    """
    amount_fen = _fen(amount_fen, "amount_fen")
    if status not in ORDER_STATUSES:
        raise ValidationError(_("order status {status!r} is not one of {statuses}",
                                status=status, statuses=listing(ORDER_STATUSES)))
    if refunded_fen is None:
        if status == "partially_refunded":
            raise ValidationError(_("a partially refunded order needs refunded_fen (how many "
                                    "fen came back)"))
        return status, amount_fen if status == "refunded" else 0
    refunded_fen = _fen(refunded_fen, "refunded_fen")
    if refunded_fen > amount_fen:
        raise ValidationError(_("refunded_fen {refunded} is more than the order's "
                                "amount_fen {amount}", refunded=refunded_fen, amount=amount_fen))
    if status == "paid":
        if refunded_fen == 0:
            return "paid", 0
        return ("refunded" if refunded_fen == amount_fen else "partially_refunded"), refunded_fen
    if status == "partially_refunded" and not 0 < refunded_fen < amount_fen:
        raise ValidationError(_("a partially refunded order needs 0 < refunded_fen < "
                                "amount_fen; got refunded_fen {refunded} of {amount}",
                                refunded=refunded_fen, amount=amount_fen))
    if status == "refunded" and refunded_fen != amount_fen:
        raise ValidationError(_("a refunded order's refunded_fen is its whole amount_fen "
                                "{amount}; got {refunded} (status partially_refunded for part "
                                "of it)", amount=amount_fen, refunded=refunded_fen))
    return status, refunded_fen


def _subject(order: Order) -> str:
    """One contact's order notices reach a plugin in order; an order without a contact is
    its own subject."""
    return f"contact:{order.contact_id}" if order.contact_id else f"orders:{order.id}"


class OrdersService(Service):
    """``ws.orders``: upsert orders (``on_order`` when new, ``on_order_changed`` when a
    refund or a correction changes one) and read them as pandas."""

    def upsert(self, source: str, external_id: str, *, amount_fen: int, paid_at: Any,
               status: str = "paid", refunded_fen: int | None = None,
               contact: int | str | None = None, buyer_phone: str | None = None,
               buyer_unionid: str | None = None, member_id: str | None = None,
               store: str | None = None, staff: str | None = None, notify: bool = True,
               session: Session | None = None) -> tuple[Order, str]:
        """Store an order as its source has it now: create it, or update the stored
        ``(source, external_id)`` order's amount, status, refund and buyer.

        :param source: where the order comes from (``"tmall"``, a connector's name).
        :param external_id: the order number in that source.
        :param amount_fen: integer fen (¥19.90 is 1990).
        :param paid_at: when it was paid; naive times are in the workspace timezone.
        :param status: ``paid``, ``partially_refunded``, ``refunded`` or ``cancelled``; a
            ``paid`` order with a refund is stored as (partially) refunded (see
            :func:`settle`).
        :param refunded_fen: how much was refunded, 0 to ``amount_fen``; omitted, it follows
            the status (the whole amount for ``refunded``, else 0).
        :param contact: contact id or external_userid (:class:`NotFound` when unknown);
            when omitted the buyer is matched by ``buyer_phone``, ``buyer_unionid`` and
            ``member_id`` in the workspace's identity order (:mod:`siyu.core.identity`).
        :param store: store code, kept from when the order was created (as are ``staff``,
            ``paid_at`` and the buyer's phone and unionid).
        :param notify: notify ``on_order`` for a new order, ``on_order_changed`` for a
            changed one.
        :param session: write in the caller's transaction (see ``ws.session()``); the
            notices are delivered when the caller commits.
        :return: ``(order, change)``, change being ``"created"``, ``"updated"`` or
            ``"unchanged"``. An update never clears the contact: a buyer who matches no
            contact now keeps the one matched before.
        :raises ValidationError: a negative or non-integer amount or refund, a refund at odds
            with the status, an unknown status, a bad phone, no order number.
        :raises NotFound: unknown contact, store or staff.
        :raises ConfigError: a malformed ``identity.order`` setting.
        """
        return self._save(source, external_id, amount_fen=amount_fen, paid_at=paid_at,
                          status=status, refunded_fen=refunded_fen, contact=contact,
                          buyer_phone=buyer_phone, buyer_unionid=buyer_unionid,
                          member_id=member_id, store=store, staff=staff, notify=notify,
                          session=session, update=True)

    def add(self, external_id: str, *, amount_fen: int, paid_at: Any, source: str = "api",
            contact: int | str | None = None, store: str | None = None,
            staff: str | None = None, status: str = "paid",
            buyer_phone: str | None = None, notify: bool = True) -> tuple[Order, bool]:
        """Store a new order; an order ``(source, external_id)`` that exists already is
        returned as it is, unchanged (creating only: use :meth:`upsert` to store refunds
        and corrections).

        :param amount_fen: integer fen (¥19.90 is 1990).
        :param paid_at: when it was paid; naive times are in the workspace timezone.
        :param contact: contact id or external_userid; when omitted, ``buyer_phone`` is
            matched against contacts' phones.
        :return: ``(order, created)``; ``on_order`` fires only when created.
        :raises ValidationError: negative or non-integer amount, unknown status.
        :raises NotFound: unknown contact, store or staff.
        """
        order, change = self._save(source, external_id, amount_fen=amount_fen,
                                   paid_at=paid_at, status=status, refunded_fen=None,
                                   contact=contact, buyer_phone=buyer_phone,
                                   buyer_unionid=None, member_id=None, store=store,
                                   staff=staff, notify=notify, session=None, update=False)
        return order, change == "created"

    def _save(self, source: str, external_id: str, *, amount_fen: int, paid_at: Any,
              status: str, refunded_fen: int | None, contact: int | str | None,
              buyer_phone: str | None, buyer_unionid: str | None, member_id: str | None,
              store: str | None, staff: str | None, notify: bool,
              session: Session | None, update: bool) -> tuple[Order, str]:
        self.ws.principal.require("data.write")
        status, refunded_fen = settle(amount_fen, status, refunded_fen)
        external_id = str(external_id if external_id is not None else "").strip()
        if not external_id:
            raise ValidationError(_("an order needs an external_id (the order number)"))
        source = str(source if source is not None else "").strip()
        if not source:
            raise ValidationError(_("an order needs a source (where its order number comes "
                                    "from, e.g. 'tmall')"))
        paid = as_utc(paid_at, self.ws.timezone)
        if paid is None:
            raise ValidationError(_("an order needs paid_at (when it was paid)"))
        buyer = {"phone": normalize_phone(buyer_phone),
                 "unionid": identity.normalize("unionid", buyer_unionid),
                 "member_id": identity.normalize("member_id", member_id)}
        store_id = self.ws.stores.get(store).id if store else None
        staff_id = self.ws.staff.get(staff).id if staff else None
        stored = (select(Order).where(Order.source == source, Order.external_id == external_id)
                  .with_for_update().execution_options(populate_existing=True))
        with self._tx(session) as s:
            if contact is not None:
                contact_id = ContactsService._find(s, contact).id
            elif any(buyer.values()):
                contact_id = identity.match_one(s.connection(),
                                                identity.identity_order(self.ws, s), **buyer)
            else:
                contact_id = None
            order = s.exec(stored).first()
            if order is None:
                table = Order.__table__
                new_id = s.connection().execute(
                    insert_for(s.connection(), table)
                    .values(source=source, external_id=external_id, contact_id=contact_id,
                            store_id=store_id, staff_id=staff_id, amount_fen=amount_fen,
                            status=status, refunded_fen=refunded_fen, paid_at=paid,
                            buyer_phone=buyer["phone"], buyer_unionid=buyer["unionid"],
                            created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["source", "external_id"])
                    .returning(table.c.id)).scalar()
                if new_id is not None:
                    order = s.get(Order, new_id)
                    if status in PAID_STATUSES:
                        stats.add_new_order(s.connection(), contact_id, paid,
                                            amount_fen - refunded_fen)
                    if notify:
                        self.ws.notify("on_order", session=s, order=order,
                                       subject=_subject(order))
                    self.ws.audit("order.add", f"{source}:{external_id}",
                                  {"amount_fen": amount_fen, "status": status}, session=s)
                    return order, "created"
                # Another transaction stored it since we looked: update that one.
                order = s.exec(stored).first()
            if not update:
                return order, "unchanged"
            changes = self._change(s, order, {"amount_fen": amount_fen, "status": status,
                                              "refunded_fen": refunded_fen,
                                              "contact_id": contact_id})
            if not changes:
                return order, "unchanged"
            stats.refresh_orders(s.connection(), {order.contact_id,
                                                  *changes.get("contact_id", ())})
            if notify:
                self.ws.notify("on_order_changed", session=s, order=order, changes=changes,
                               subject=_subject(order))
            self.ws.audit("order.update", f"{source}:{external_id}", {"changes": changes},
                          session=s)
        return order, "updated"

    @staticmethod
    def _change(s: Session, order: Order, new: dict[str, Any]) -> dict[str, list[Any]]:
        """Update ``order``'s :data:`TRACKED` fields to ``new`` (a ``None`` contact keeps
        the order's); returns ``{"field": [old, new]}`` for those that changed.

        The ``UPDATE`` applies only if the row still holds the values read (PostgreSQL locked
        it; SQLite read it before taking the write lock): otherwise it is read again, now
        inside the write transaction, so ``old`` is what this change replaced.
        """
        table = Order.__table__
        for _attempt in range(2):
            values = {**new, "contact_id": new["contact_id"] or order.contact_id}
            old = {field: getattr(order, field) for field in TRACKED}
            changes = {field: [old[field], value] for field, value in values.items()
                       if old[field] != value}
            if not changes:
                return {}
            held = [table.c[field].is_(None) if value is None else table.c[field] == value
                    for field, value in old.items()]
            done = s.connection().execute(table.update()
                                          .where(table.c.id == order.id, *held)
                                          .values(**values)).rowcount
            s.refresh(order)
            if done:
                return changes
        raise RuntimeError(f"order {order.id} kept changing while being updated")

    def set_lines(self, source: str, external_id: str, lines: list[dict[str, Any]], *,
                  session: Session | None = None) -> int:
        """Replace the product lines of order ``(source, external_id)``.

        :param lines: ``[{"product": "洁面乳", "sku": "FC-01", "category": "护肤",
            "quantity": 2, "amount_fen": 15800}, ...]``; ``product`` or ``sku`` is needed,
            ``quantity`` defaults to 1 and ``amount_fen`` to 0.
        :return: how many lines are stored.
        :raises NotFound: no such order.
        :raises ValidationError: a line without product or SKU, a bad quantity or amount.
        """
        self.ws.principal.require("data.write")
        rows = []
        for number, line in enumerate(lines, start=1):
            product = str(line.get("product") or "").strip()
            sku = str(line.get("sku") or "").strip()
            if not product and not sku:
                raise ValidationError(_("line {n} needs a product or SKU", n=number))
            quantity = line.get("quantity", 1)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise ValidationError(_("line {n}: quantity {value!r} is not a whole number "
                                        "of at least 1", n=number, value=quantity))
            rows.append({"line_no": number, "product": product[:200], "sku": sku[:100],
                         "category": str(line.get("category") or "").strip()[:100],
                         "quantity": quantity,
                         "amount_fen": _fen(line.get("amount_fen", 0), "amount_fen")})
        table = OrderLine.__table__
        with self._tx(session) as s:
            order_id = s.exec(select(Order.id).where(Order.source == source,
                                                     Order.external_id == external_id)).first()
            if order_id is None:
                raise NotFound(_("no order {number!r} from source {source!r}",
                                 number=external_id, source=source))
            conn = s.connection()
            conn.execute(table.delete().where(table.c.order_id == order_id))
            if rows:
                conn.execute(table.insert(), [{**row, "order_id": order_id} for row in rows])
        return len(rows)

    def lines(self, *, source: str | None = None, external_id: str | None = None
              ) -> pd.DataFrame:
        """Order lines as a DataFrame (``source, external_id, line_no, sku, product,
        category, quantity, amount_fen``), optionally of one source or order."""
        o, line = Order.__table__, OrderLine.__table__
        query = (sa.select(o.c.source, o.c.external_id, line.c.line_no, line.c.sku,
                           line.c.product, line.c.category, line.c.quantity,
                           line.c.amount_fen)
                 .select_from(line.join(o, o.c.id == line.c.order_id))
                 .order_by(o.c.id, line.c.line_no))
        if source is not None:
            query = query.where(o.c.source == source)
        if external_id is not None:
            query = query.where(o.c.external_id == external_id)
        return self._read_df(query)

    def query(self, *, since: Any = None, until: Any = None, store: str | None = None,
              staff: str | None = None, contact: int | None = None,
              status: str | None = None, source: str | None = None,
              paid: bool = False) -> sa.Select:
        """The SQL ``SELECT`` behind :meth:`df`; filters run in SQL.

        :param paid: only orders that count as sales (:data:`PAID_STATUSES`).
        """
        o = Order.__table__
        store_t, staff_t = Store.__table__, Staff.__table__
        query = (sa.select(o.c.id, o.c.source, o.c.external_id, o.c.contact_id,
                           store_t.c.code.label("store"), staff_t.c.userid.label("staff"),
                           o.c.amount_fen, o.c.refunded_fen, o.c.status, o.c.paid_at,
                           o.c.buyer_phone)
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
        if paid:
            query = query.where(o.c.status.in_(PAID_STATUSES))
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
        """Order count, paying contacts and revenue in fen (amounts less refunds) for
        ``filters`` (``paid=True``: sales only)."""
        sub = self.query(**filters).subquery()
        query = sa.select(sa.func.count(), sa.func.count(sa.distinct(sub.c.contact_id)),
                          sa.func.coalesce(sa.func.sum(sub.c.amount_fen - sub.c.refunded_fen),
                                           0))
        with self.ws.engine.connect() as conn:
            orders, buyers, revenue = conn.execute(query.select_from(sub)).one()
        return {"orders": orders, "buyers": buyers, "revenue_fen": int(revenue)}
