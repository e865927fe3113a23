"""Contacts: the customers of the private domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import select

from siyu.core.errors import NotFound, ValidationError
from siyu.core.pii import mask_phone_series, normalize_phone
from siyu.core.services.base import Service, as_utc
from siyu.storage.models import Contact, ContactTag, Staff, Store, Tag, TagGroup
from siyu.storage.types import utcnow

GENDERS = {"": 0, "0": 0, "unknown": 0, "未知": 0, "1": 1, "m": 1, "male": 1, "男": 1,
           "2": 2, "f": 2, "female": 2, "女": 2}

#: Columns ``ws.contacts.df()`` returns by default, in order.
DEFAULT_COLUMNS = ("id", "external_userid", "unionid", "name", "phone", "gender", "city",
                   "owner", "store", "source_channel", "remark", "added_at", "removed_at")


def parse_gender(value: Any) -> int:
    """``"男"`` / ``"male"`` / ``1`` → 1, ``"女"`` → 2, empty → 0.

    :raises ValidationError: anything else.
    """
    key = str(value if value is not None else "").strip().lower()
    if key.endswith(".0"):
        key = key[:-2]
    if key not in GENDERS:
        raise ValidationError(f"gender {value!r} is not one of 男/女/未知, male/female, 0/1/2")
    return GENDERS[key]


def split_tag_name(full: str) -> tuple[str, str]:
    """``"渠道/抖音"`` → ``("渠道", "抖音")``; a bare name belongs to group ``"默认"``."""
    if "/" in full:
        group, _, name = full.partition("/")
        return group.strip(), name.strip()
    return "默认", full.strip()


class ContactsService(Service):
    """``ws.contacts``: upsert, remove, look up, and the pandas door ``df()``."""

    # -- writing --------------------------------------------------------------------------

    def upsert(self, external_userid: str | None = None, *, via: str = "api",
               notify: bool = True, **fields: Any) -> tuple[Contact, bool]:
        """Create or update a contact identified by ``external_userid``.

        :param external_userid: the WeCom external user id; ``None`` creates a contact that
            is known only by phone/unionid (an imported member).
        :param via: how a new contact arrived, passed to ``on_contact_added``.
        :param notify: fire ``on_contact_added`` when the contact is new.
        :param fields: any of ``name, unionid, phone, gender, city, owner`` (staff userid),
            ``store`` (store code), ``source_channel, remark, added_at``.
        :return: ``(contact, created)``.
        :raises ValidationError: a bad phone, gender or time.
        :raises NotFound: an unknown owner or store.
        """
        self.ws.principal.require("data.write")
        values = self._clean(fields)
        with self.ws.session() as s:
            contact = None
            if external_userid:
                contact = s.exec(select(Contact).where(
                    Contact.external_userid == external_userid)).first()
            created = contact is None
            if created:
                values.setdefault("added_at", utcnow())
                contact = Contact(external_userid=external_userid or None, **values)
            else:
                for key, value in values.items():
                    setattr(contact, key, value)
                contact.removed_at = None if "added_at" in values else contact.removed_at
                contact.updated_at = utcnow()
            s.add(contact)
            s.flush()
            s.refresh(contact)
        self.ws.audit("contact.add" if created else "contact.update",
                      external_userid or contact.id, {"via": via} if created else None)
        if created and notify:
            self.ws.notify("on_contact_added", contact=contact, via=via)
        return contact, created

    def remove(self, contact: int | str, *, by: str = "customer",
               at: datetime | None = None) -> Contact:
        """Mark a contact as removed (deleted by the customer or by the staff member).

        Removing an already-removed contact changes nothing and fires no hook.

        :param contact: contact id or external_userid.
        :param by: ``"customer"`` or ``"staff"``.
        """
        self.ws.principal.require("data.write")
        if by not in ("customer", "staff"):
            raise ValidationError(f"removed by {by!r}: use 'customer' or 'staff'")
        with self.ws.session() as s:
            row = self._find(s, contact)
            if row.removed_at is not None:
                return row
            row.removed_at = as_utc(at, self.ws.timezone) if at else utcnow()
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            s.refresh(row)
        self.ws.audit("contact.remove", row.external_userid or row.id, {"by": by})
        self.ws.notify("on_contact_removed", contact=row, by=by)
        return row

    def _clean(self, fields: dict[str, Any]) -> dict[str, Any]:
        allowed = {"name", "unionid", "phone", "gender", "city", "owner", "store",
                   "source_channel", "remark", "added_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValidationError(f"unknown contact field(s) {', '.join(sorted(unknown))}; "
                                  f"use {', '.join(sorted(allowed))}")
        values = dict(fields)
        if "phone" in values:
            values["phone"] = normalize_phone(values["phone"])
        if "gender" in values:
            values["gender"] = parse_gender(values["gender"])
        if "added_at" in values:
            values["added_at"] = as_utc(values["added_at"], self.ws.timezone)
        if "owner" in values:
            owner = values.pop("owner")
            values["owner_id"] = self.ws.staff.get(owner).id if owner else None
        if "store" in values:
            store = values.pop("store")
            values["store_id"] = self.ws.stores.get(store).id if store else None
        return values

    # -- reading --------------------------------------------------------------------------

    def get(self, contact: int | str) -> Contact:
        """The contact with this id (int) or external_userid (str).

        :raises NotFound: no such contact.
        """
        with self.ws.session() as s:
            return self._find(s, contact)

    @staticmethod
    def _find(s, contact: int | str) -> Contact:
        if isinstance(contact, int):
            row = s.get(Contact, contact)
        else:
            row = s.exec(select(Contact).where(Contact.external_userid == contact)).first()
        if row is None:
            raise NotFound(f"unknown contact {contact!r}")
        return row

    def query(self, **filters: Any) -> sa.Select:
        """The SQL ``SELECT`` behind :meth:`df`, filters pushed into SQL.

        Filters (all optional):

        :param owner: staff userid of the owner.
        :param channel: source channel.
        :param tag: ``"group/tag"``; contacts carrying that tag.
        :param store: store code.
        :param city: city.
        :param active: ``True`` only current friends, ``False`` only removed ones.
        :param added_since: added at or after (date or datetime, workspace timezone).
        :param added_until: added before.
        :param search: substring of name, remark or external_userid, or a phone's digits.
        :raises NotFound: an unknown tag.
        """
        c = Contact.__table__
        owner_t = Staff.__table__.alias("owner_staff")
        store_t = Store.__table__.alias("contact_store")
        return (sa.select(c.c.id, c.c.external_userid, c.c.unionid, c.c.name, c.c.phone,
                          c.c.gender, c.c.city, owner_t.c.userid.label("owner"),
                          store_t.c.code.label("store"), c.c.source_channel, c.c.remark,
                          c.c.added_at, c.c.removed_at)
                .select_from(c.outerjoin(owner_t, c.c.owner_id == owner_t.c.id)
                             .outerjoin(store_t, c.c.store_id == store_t.c.id))
                .where(*self.predicates(**filters)))

    def predicates(self, *, owner: str | None = None, channel: str | None = None,
                   tag: str | None = None, store: str | None = None, city: str | None = None,
                   active: bool | None = None, added_since: Any = None,
                   added_until: Any = None, search: str | None = None
                   ) -> list[sa.ColumnElement]:
        """The filters of :meth:`query` as conditions on the ``contact`` table alone."""
        c = Contact.__table__.c
        where: list[sa.ColumnElement] = []
        tz = self.ws.timezone
        if owner:
            where.append(c.owner_id.in_(sa.select(Staff.id).where(Staff.userid == owner)))
        if channel:
            where.append(c.source_channel == channel)
        if store:
            where.append(c.store_id.in_(sa.select(Store.id).where(Store.code == store)))
        if city:
            where.append(c.city == city)
        if active is True:
            where.append(c.removed_at.is_(None))
        elif active is False:
            where.append(c.removed_at.is_not(None))
        if added_since is not None:
            where.append(c.added_at >= as_utc(added_since, tz))
        if added_until is not None:
            where.append(c.added_at < as_utc(added_until, tz))
        if tag:
            tag_id = self._tag_id(tag)
            where.append(c.id.in_(sa.select(ContactTag.contact_id)
                                  .where(ContactTag.tag_id == tag_id)))
        if search:
            term = search.strip()
            like = f"%{term}%"
            clauses = [c.name.like(like), c.remark.like(like), c.external_userid == term]
            digits = "".join(ch for ch in term if ch.isdigit())
            if len(digits) == 11:
                clauses.append(c.phone == digits)
            where.append(sa.or_(*clauses))
        return where

    def _tag_id(self, full: str) -> int:
        group, name = split_tag_name(full)
        with self.ws.engine.connect() as conn:
            tag_id = conn.execute(
                sa.select(Tag.id).join(TagGroup, Tag.group_id == TagGroup.id)
                .where(TagGroup.name == group, Tag.name == name)).scalar()
        if tag_id is None:
            raise NotFound(f"unknown tag {full!r}; create it with ws.tags.create()")
        return tag_id

    def count(self, **filters: Any) -> int:
        """How many contacts match ``filters`` (same filters as :meth:`query`); counted on
        the contact table alone, without the joins the listing needs."""
        query = (sa.select(sa.func.count()).select_from(Contact.__table__)
                 .where(*self.predicates(**filters)))
        with self.ws.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def df(self, *, columns: list[str] | None = None, limit: int | None = None,
           offset: int = 0, reveal_pii: bool = False, order_by: str = "id",
           descending: bool = False, **filters: Any) -> pd.DataFrame:
        """Contacts as a DataFrame; filters (see :meth:`query`) run in SQL.

        :param columns: subset of :data:`DEFAULT_COLUMNS`.
        :param limit: most rows; with ``offset`` this is one page.
        :param reveal_pii: show phones in full; needs the ``pii.view`` permission.
        :param order_by: a column of :data:`DEFAULT_COLUMNS`.
        :raises PermissionDenied: ``reveal_pii`` without the permission.
        :raises ValidationError: an unknown column.
        """
        if reveal_pii:
            self.ws.principal.require("pii.view")
        wanted = list(columns or DEFAULT_COLUMNS)
        bad = [name for name in wanted + [order_by] if name not in DEFAULT_COLUMNS]
        if bad:
            raise ValidationError(f"unknown contact column(s) {', '.join(bad)}; choose from "
                                  f"{', '.join(DEFAULT_COLUMNS)}")
        sub = self.query(**filters).subquery()
        order_col = sub.c[order_by]
        query = (sa.select(*[sub.c[name] for name in wanted])
                 .order_by(order_col.desc() if descending else order_col, sub.c.id))
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        frame = self._read_df(query, ("added_at", "removed_at"))
        if "phone" in frame and not reveal_pii:
            frame["phone"] = mask_phone_series(frame["phone"])
        return frame
