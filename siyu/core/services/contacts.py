"""Contacts: the customers of the private domain."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from siyu.core.errors import NotFound, PermissionDenied, RateLimited, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.permissions import LOCAL, role_label
from siyu.core.pii import _SEPARATORS, mask_phone, mask_phone_series, normalize_phone
from siyu.core.services.base import Service, as_utc
from siyu.storage.like import ESCAPE as LIKE_ESCAPE
from siyu.storage.like import contains, ends_with, escape_like
from siyu.storage.models import (
    AuditLog,
    Contact,
    ContactFollow,
    ContactTag,
    Staff,
    Store,
    Tag,
    TagGroup,
)
from siyu.storage.types import utcnow

GENDERS = {"": 0, "0": 0, "unknown": 0, "未知": 0, "1": 1, "m": 1, "male": 1, "男": 1,
           "2": 2, "f": 2, "female": 2, "女": 2}

#: Columns ``ws.contacts.df()`` returns by default, in order. ``owner`` is the owner's staff
#: userid; ``follows`` counts the staff members the contact is still a friend of
#: (``ws.follows.df(contact=…)`` lists them).
DEFAULT_COLUMNS = ("id", "external_userid", "unionid", "name", "phone", "gender", "city",
                   "owner", "store", "source_channel", "remark", "added_at", "removed_at",
                   "follows")

#: Contact searches (``count()`` / ``df()`` / ``query()`` with a ``search`` term) one console
#: user may run per :data:`SEARCH_WINDOW`. Generous enough for paging: the Contacts page
#: counts a term once and reads one page per click, so this is 30 new terms or 60 pages a
#: minute, while guessing hidden phone digits one search at a time stays hopeless.
SEARCHES_PER_MINUTE = 60
SEARCH_WINDOW = timedelta(minutes=1)
#: The audit action each console search writes (and the rate limit counts).
SEARCH_ACTION = "contact.search"

#: Digits with an optional leading ``+`` and ``*`` for masked digits (separators removed).
_PHONE_LIKE = re.compile(r"^\+?[\d*]*\d[\d*]*$")
#: A country code in front of a whole (or masked) eleven-character mobile number.
_COUNTRY = re.compile(r"^(?:\+?86|0086)(?=1[\d*]{10}$)")
#: What a masked phone shows: ``138****0001`` (head, tail) or ``****0001`` (tail only).
_MASKED = re.compile(r"^(\d{3})?\*+(\d{4})$")


def parse_gender(value: Any) -> int:
    """``"男"`` / ``"male"`` / ``1`` → 1, ``"女"`` → 2, empty → 0.

    :raises ValidationError: anything else.
    """
    key = str(value if value is not None else "").strip().lower()
    if key.endswith(".0"):
        key = key[:-2]
    if key not in GENDERS:
        raise ValidationError(_("gender {value!r} is not one of 男/女/未知, male/female, 0/1/2",
                                value=value))
    return GENDERS[key]


def phone_term(term: str) -> str | None:
    """The phone search ``term`` stands for, compacted, or ``None`` when it is not one.

    A term is phone-like when it is digits (``*`` for masked ones) with optional
    separators and ``+86`` / ``0086``: ``"+86 138-****-0001"`` → ``"138****0001"``,
    ``"0001"`` → ``"0001"``, ``"王0001"`` → ``None``.
    """
    compact = _SEPARATORS.sub("", term)
    if not _PHONE_LIKE.match(compact):
        return None
    return _COUNTRY.sub("", compact).lstrip("+")


def phone_condition(phone: sa.ColumnElement, term: str, *, full_access: bool,
                    who: str | None = None) -> sa.ColumnElement[bool] | None:
    """The condition a phone-like ``term`` (see :func:`phone_term`) puts on ``phone``.

    Everyone may search by what a masked phone shows: the last four digits (``0001``: the
    phone ends with them) or the masked form (``138****0001``). Only ``full_access``
    (``pii.view``) may search by other digits: the full number or any run of 4 or more.
    Fewer than four digits never match phones (names and remarks still do).

    :param who: who searches, for the refusal (default: "this role").
    :return: the condition, or ``None`` when the term does not search phones.
    :raises PermissionDenied: without ``full_access``, a term that would probe hidden digits
        (otherwise 10,000 searches would reveal any masked number).
    """
    digits = sum(ch.isdigit() for ch in term)
    if digits < 4:
        return None
    masked = _MASKED.match(term)
    if masked:
        head, tail = masked.groups()
        if head is None:
            return ends_with(phone, tail)
        # Phones are stored as eleven digits: the four hidden ones are "any character".
        return phone.like(f"{escape_like(head)}____{escape_like(tail)}", escape=LIKE_ESCAPE)
    if "*" not in term:
        if full_access:
            return phone == term if len(term) == 11 else contains(phone, term)
        if len(term) == 4:
            return ends_with(phone, term)
    elif full_access:
        return None  # stars that are not the masked form: no phone matches that
    raise PermissionDenied(
        _("{who} may search phone numbers only by their last four digits (e.g. 0001) or as "
          "shown masked (e.g. 138****0001); searching other digits needs the pii.view "
          "permission", who=who or _("this role")))


def _audited_term(term: str) -> str:
    """``term`` as the audit log keeps it: a long digit run masked like a phone, so the log
    does not become a list of full numbers."""
    phone = phone_term(term)
    if phone is not None and sum(ch.isdigit() for ch in phone) >= 7:
        return mask_phone(phone) or ""
    return term[:100]


def split_tag_name(full: str) -> tuple[str, str]:
    """``"渠道/抖音"`` → ``("渠道", "抖音")``; a bare name belongs to group ``"默认"``."""
    if "/" in full:
        group, _sep, name = full.partition("/")
        return group.strip(), name.strip()
    return "默认", full.strip()


class ContactsService(Service):
    """``ws.contacts``: upsert, remove, look up, and the pandas door ``df()``."""

    # -- writing --------------------------------------------------------------------------

    def upsert(self, external_userid: str | None = None, *, via: str = "api",
               notify: bool = True, session: Session | None = None,
               **fields: Any) -> tuple[Contact, bool]:
        """Create or update a contact identified by ``external_userid``.

        :param external_userid: the WeCom external user id; ``None`` creates a contact that
            is known only by phone/unionid (an imported member).
        :param via: how a new contact arrived, passed to ``on_contact_added``.
        :param notify: notify ``on_contact_added`` when the contact is new.
        :param session: write in the caller's transaction (see ``ws.session()``); the
            notice is delivered when the caller commits.
        :param fields: any of ``name, unionid, phone, gender, city, owner`` (staff userid),
            ``store`` (store code), ``source_channel, remark, added_at, member_id``.
        :return: ``(contact, created)``.
        :raises ValidationError: a bad phone, gender or time.
        :raises NotFound: an unknown owner or store.
        """
        self.ws.principal.require("data.write")
        values = self._clean(fields)
        with self._tx(session) as s:
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
            if created and notify:
                self.ws.notify("on_contact_added", session=s, contact=contact, via=via)
            self.ws.audit("contact.add" if created else "contact.update",
                          external_userid or contact.id, {"via": via} if created else None,
                          session=s)
        return contact, created

    def remove(self, contact: int | str, *, by: str = "customer",
               at: datetime | None = None, session: Session | None = None) -> Contact:
        """Mark a contact as removed (deleted by the customer or by the staff member).

        The follows still live end with it (``ws.follows``), deleted ``by`` the same side.
        Removing an already-removed contact changes nothing and fires no hook.

        :param contact: contact id or external_userid.
        :param by: ``"customer"`` or ``"staff"``.
        """
        self.ws.principal.require("data.write")
        if by not in ("customer", "staff"):
            raise ValidationError(_("removed by {by!r}: use 'customer' or 'staff'", by=by))
        with self._tx(session) as s:
            row = self._find(s, contact)
            if row.removed_at is not None:
                return row
            row.removed_at = as_utc(at, self.ws.timezone) if at else utcnow()
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            follows = ContactFollow.__table__
            s.connection().execute(
                follows.update().where(follows.c.contact_id == row.id,
                                       follows.c.deleted_at.is_(None))
                .values(deleted_at=row.removed_at, deleted_by=by, owner_pinned_at=None))
            s.refresh(row)
            self.ws.notify("on_contact_removed", session=s, contact=row, by=by)
            self.ws.audit("contact.remove", row.external_userid or row.id, {"by": by},
                          session=s)
        return row

    def set_owner(self, contact: int | str, staff: str, *,
                  session: Session | None = None) -> Contact:
        """Make staff member ``staff`` the contact's owner, whatever the owner rule says.

        The choice holds until that member's follow is deleted; then the rule
        (``contacts.owner_rule``, see :mod:`siyu.core.services.follows`) chooses again.
        Audited (``contact.owner``).

        :param contact: contact id or external_userid.
        :param staff: the userid of a staff member the contact still follows.
        :return: the contact, with its new owner.
        :raises NotFound: an unknown contact.
        :raises ValidationError: ``staff`` is not among the contact's live follows (the
            message names both, and whom the contact does follow).
        """
        return self.ws.follows.set_owner(contact, staff, session=session)

    def _clean(self, fields: dict[str, Any]) -> dict[str, Any]:
        allowed = {"name", "unionid", "phone", "gender", "city", "owner", "store",
                   "source_channel", "remark", "added_at", "member_id"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValidationError(_("unknown contact field(s) {unknown}; use {allowed}",
                                    unknown=listing(sorted(unknown)),
                                    allowed=listing(sorted(allowed))))
        values = dict(fields)
        if "phone" in values:
            values["phone"] = normalize_phone(values["phone"])
        if "member_id" in values:  # a CRM's member number; orders are matched by it too
            member = values["member_id"]
            values["member_id"] = None if member is None else str(member).strip() or None
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
            raise NotFound(_("unknown contact {contact!r}", contact=contact))
        return row

    def query(self, **filters: Any) -> sa.Select:
        """The SQL ``SELECT`` behind :meth:`df`, filters pushed into SQL.

        Filters (all optional):

        :param owner: staff userid of the owner.
        :param followed_by: staff userid; contacts that member is still a friend of.
        :param channel: source channel.
        :param tag: ``"group/tag"``; contacts carrying that tag.
        :param store: store code.
        :param city: city.
        :param active: ``True`` only current friends, ``False`` only removed ones.
        :param added_since: added at or after (date or datetime, workspace timezone).
        :param added_until: added before.
        :param within: a ``SELECT`` of contact ids (a segment's members, see
            ``ws.segments.query``); only those contacts.
        :param search: substring of name or remark (``%`` and ``_`` match literally), the
            exact external_userid, or a phone: see :func:`phone_condition` for what each role
            may search by. A console user's searches are audited (``contact.search``) and
            limited to :data:`SEARCHES_PER_MINUTE` a minute.
        :raises NotFound: an unknown tag.
        :raises PermissionDenied: a phone search by hidden digits without ``pii.view``.
        :raises RateLimited: too many searches in the last minute.
        """
        c = Contact.__table__
        f = ContactFollow.__table__
        owner_t = Staff.__table__.alias("owner_staff")
        store_t = Store.__table__.alias("contact_store")
        # Live follows per contact: one indexed lookup per row returned (a page, not a table).
        follows = (sa.select(sa.func.count()).select_from(f)
                   .where(f.c.contact_id == c.c.id, f.c.deleted_at.is_(None))
                   .correlate(c).scalar_subquery())
        return (sa.select(c.c.id, c.c.external_userid, c.c.unionid, c.c.name, c.c.phone,
                          c.c.gender, c.c.city, owner_t.c.userid.label("owner"),
                          store_t.c.code.label("store"), c.c.source_channel, c.c.remark,
                          c.c.added_at, c.c.removed_at, follows.label("follows"))
                .select_from(c.outerjoin(owner_t, c.c.owner_id == owner_t.c.id)
                             .outerjoin(store_t, c.c.store_id == store_t.c.id))
                .where(*self.predicates(**filters)))

    def predicates(self, *, owner: str | None = None, followed_by: str | None = None,
                   channel: str | None = None,
                   tag: str | None = None, store: str | None = None, city: str | None = None,
                   active: bool | None = None, added_since: Any = None,
                   added_until: Any = None, search: str | None = None,
                   within: sa.Select | None = None) -> list[sa.ColumnElement]:
        """The filters of :meth:`query` as conditions on the ``contact`` table alone.

        A ``search`` term is checked, rate-limited and audited here, so every door that
        filters by it (``count``, ``df``, ``query``) counts as one search.
        """
        c = Contact.__table__.c
        where: list[sa.ColumnElement] = []
        tz = self.ws.timezone
        if owner:
            where.append(c.owner_id.in_(sa.select(Staff.id).where(Staff.userid == owner)))
        if followed_by:
            f = ContactFollow.__table__
            where.append(c.id.in_(
                sa.select(f.c.contact_id).join(Staff, Staff.id == f.c.staff_id)
                .where(Staff.userid == followed_by, f.c.deleted_at.is_(None))))
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
        if within is not None:
            where.append(c.id.in_(within))
        term = str(search or "").strip()
        if term:
            where.append(self._search(term))
        return where

    def _search(self, term: str) -> sa.ColumnElement[bool]:
        """The condition for ``search=term``, after the console user's budget and audit."""
        c = Contact.__table__.c
        principal = self.ws.principal
        # The CLI and notebooks act as LOCAL on their own machine: nothing to limit there.
        console = principal is not LOCAL
        if console:
            self._check_search_budget()
        clauses = [contains(c.name, term), contains(c.remark, term), c.external_userid == term]
        phone = phone_term(term)
        try:
            if phone is not None:
                condition = phone_condition(c.phone, phone, full_access=principal.can("pii.view"),
                                            who=_("{user} ({role})", user=principal.name,
                                                  role=role_label(principal.role)))
                if condition is not None:
                    clauses.append(condition)
        except PermissionDenied:
            if console:  # a refused probe is worth keeping, and it spends the budget too
                self.ws.audit(SEARCH_ACTION, "contacts",
                              {"term": _audited_term(term), "denied": True})
            raise
        if console:
            self.ws.audit(SEARCH_ACTION, "contacts", {"term": _audited_term(term)})
        return sa.or_(*clauses)

    def _check_search_budget(self) -> None:
        """Raise :class:`RateLimited` when the acting user already ran
        :data:`SEARCHES_PER_MINUTE` searches in the last minute.

        Counted from the audit log, not in memory, so the limit holds across console
        processes and restarts.
        """
        a = AuditLog.__table__
        now = utcnow()
        # The SEARCHES_PER_MINUTE-th newest search: while it is inside the window the
        # budget is spent, and it frees a search when it leaves the window.
        query = (sa.select(a.c.at)
                 .where(a.c.actor == self.ws.principal.name, a.c.action == SEARCH_ACTION,
                        a.c.at >= now - SEARCH_WINDOW)
                 .order_by(a.c.at.desc()).offset(SEARCHES_PER_MINUTE - 1).limit(1))
        with self.ws.engine.connect() as conn:
            oldest = conn.execute(query).scalar()
        if oldest is None:
            return
        wait = max(1.0, (oldest + SEARCH_WINDOW - now).total_seconds())
        raise RateLimited(_("too many contact searches: {user} ran {limit} in the last "
                            "minute; try again in {seconds} s", user=self.ws.principal.name,
                            limit=SEARCHES_PER_MINUTE, seconds=math.ceil(wait)),
                          retry_after=wait)

    def _tag_id(self, full: str) -> int:
        group, name = split_tag_name(full)
        with self.ws.engine.connect() as conn:
            tag_id = conn.execute(
                sa.select(Tag.id).join(TagGroup, Tag.group_id == TagGroup.id)
                .where(TagGroup.name == group, Tag.name == name)).scalar()
        if tag_id is None:
            raise NotFound(_("unknown tag {tag!r}; create it with ws.tags.create()", tag=full))
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
            raise ValidationError(_("unknown contact column(s) {bad}; choose from {columns}",
                                    bad=listing(bad), columns=listing(DEFAULT_COLUMNS)))
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
