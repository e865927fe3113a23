"""Stores and staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa
from sqlmodel import select

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.services.base import Service
from siyu.storage.models import Staff, Store

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session

STAFF_STATUSES = ("active", "inactive", "resigned")
#: What :meth:`StoresService.apply` and :meth:`StaffService.apply` report they did.
OUTCOMES = ("created", "updated", "unchanged")


class StoresService(Service):
    """Stores: ``ws.stores.upsert("SH001", "上海南京西路店", city="上海")``."""

    def upsert(self, code: str, name: str, *, region: str = "", city: str = "") -> Store:
        """Create the store ``code`` or update its name, region and city."""
        self.ws.principal.require("data.write")
        code = (code or "").strip()
        if not code:
            raise ValidationError(_("a store needs a code (e.g. SH001)"))
        with self.ws.session() as s:
            store = s.exec(select(Store).where(Store.code == code)).first()
            if store is None:
                store = Store(code=code, name=name or code, region=region, city=city)
            else:
                store.name, store.region, store.city = name or store.name, region, city
            s.add(store)
            s.flush()
            s.refresh(store)
        self.ws.audit("store.upsert", code)
        return store

    def apply(self, code: str, name: str, *, region: str = "",
              session: Session | None = None) -> tuple[Store, str]:
        """Make store ``code`` exist with ``name`` and ``region`` (its city untouched), in the
        caller's transaction when ``session`` is given; what a sync from another system calls.

        Unlike :meth:`upsert` it writes nothing when nothing changed and leaves the audit
        entry to the caller (one per sync, not one per store).

        :returns: the store and ``"created"``, ``"updated"`` or ``"unchanged"``.
        :raises ValidationError: an empty code.
        """
        self.ws.principal.require("data.write")
        code = (code or "").strip()
        if not code:
            raise ValidationError(_("a store needs a code (e.g. SH001)"))
        with self._tx(session) as s:
            store = s.exec(select(Store).where(Store.code == code)).first()
            if store is None:
                store = Store(code=code, name=name or code, region=region)
                outcome = "created"
            elif (store.name, store.region) != (name or store.name, region):
                store.name, store.region = name or store.name, region
                outcome = "updated"
            else:
                return store, "unchanged"
            s.add(store)
            s.flush()
            s.refresh(store)
        return store, outcome

    def get(self, code: str) -> Store:
        """The store with ``code``.

        :raises NotFound: no such store.
        """
        with self.ws.session() as s:
            store = s.exec(select(Store).where(Store.code == code)).first()
        if store is None:
            raise NotFound(_("unknown store {code!r}; add it with ws.stores.upsert()",
                             code=code))
        return store

    def list(self) -> list[Store]:
        """All stores by code."""
        with self.ws.session() as s:
            return list(s.exec(select(Store).order_by(Store.code)))

    def df(self) -> pd.DataFrame:
        """All stores as a DataFrame."""
        return self._read_df(sa.select(Store.__table__).order_by(Store.code), ("created_at",))


class StaffService(Service):
    """Staff members: ``ws.staff.upsert("zhangsan", "张三", store="SH001")``."""

    def upsert(self, userid: str, name: str, *, store: str | None = None,
               status: str = "active") -> Staff:
        """Create staff member ``userid`` (their WeCom userid) or update them.

        :param store: store code, or ``None``.
        :raises NotFound: the store does not exist.
        :raises ValidationError: empty userid or unknown status.
        """
        self.ws.principal.require("data.write")
        userid = (userid or "").strip()
        if not userid:
            raise ValidationError(_("a staff member needs a userid (their WeCom account)"))
        if status not in STAFF_STATUSES:
            raise ValidationError(_("unknown staff status {status!r}; one of {statuses}",
                                    status=status, statuses=listing(STAFF_STATUSES)))
        store_id = self.ws.stores.get(store).id if store else None
        with self.ws.session() as s:
            staff = s.exec(select(Staff).where(Staff.userid == userid)).first()
            if staff is None:
                staff = Staff(userid=userid, name=name or userid, store_id=store_id,
                              status=status)
            else:
                staff.name = name or staff.name
                staff.store_id = store_id if store else staff.store_id
                staff.status = status
            s.add(staff)
            s.flush()
            s.refresh(staff)
        self.ws.audit("staff.upsert", userid)
        return staff

    def apply(self, userid: str, name: str, *, store: str | None, status: str = "active",
              session: Session | None = None) -> tuple[Staff, str]:
        """Make staff member ``userid`` exist with ``name``, ``store`` (a code; ``None``: no
        store) and ``status``, in the caller's transaction when ``session`` is given; what a
        sync from another system calls. Writes nothing when nothing changed; the caller
        audits.

        :returns: the staff member and ``"created"``, ``"updated"`` or ``"unchanged"``.
        :raises NotFound: the store does not exist.
        :raises ValidationError: empty userid or unknown status.
        """
        self.ws.principal.require("data.write")
        userid = (userid or "").strip()
        if not userid:
            raise ValidationError(_("a staff member needs a userid (their WeCom account)"))
        if status not in STAFF_STATUSES:
            raise ValidationError(_("unknown staff status {status!r}; one of {statuses}",
                                    status=status, statuses=listing(STAFF_STATUSES)))
        with self._tx(session) as s:
            store_id = None
            if store:
                found = s.exec(select(Store.id).where(Store.code == store)).first()
                if found is None:
                    raise NotFound(_("unknown store {code!r}; add it with ws.stores.upsert()",
                                     code=store))
                store_id = found
            staff = s.exec(select(Staff).where(Staff.userid == userid)).first()
            if staff is None:
                staff = Staff(userid=userid, name=name or userid, store_id=store_id,
                              status=status)
                outcome = "created"
            elif (staff.name, staff.store_id, staff.status) != (name or staff.name, store_id,
                                                                 status):
                staff.name, staff.store_id, staff.status = name or staff.name, store_id, status
                outcome = "updated"
            else:
                return staff, "unchanged"
            s.add(staff)
            s.flush()
            s.refresh(staff)
        return staff, outcome

    def set_status(self, userid: str, status: str, *, session: Session | None = None) -> bool:
        """Give staff member ``userid`` ``status`` (e.g. ``"resigned"`` for someone who
        left; staff are never deleted: their customers, orders and history stay theirs).

        :returns: whether anything changed (``False`` for an unknown userid too).
        :raises ValidationError: unknown status.
        """
        self.ws.principal.require("data.write")
        if status not in STAFF_STATUSES:
            raise ValidationError(_("unknown staff status {status!r}; one of {statuses}",
                                    status=status, statuses=listing(STAFF_STATUSES)))
        with self._tx(session) as s:
            staff = s.exec(select(Staff).where(Staff.userid == userid)).first()
            if staff is None or staff.status == status:
                return False
            staff.status = status
            s.add(staff)
        return True

    def get(self, userid: str) -> Staff:
        """The staff member with ``userid``.

        :raises NotFound: no such staff member.
        """
        with self.ws.session() as s:
            staff = s.exec(select(Staff).where(Staff.userid == userid)).first()
        if staff is None:
            raise NotFound(_("unknown staff member {userid!r}; add them with "
                             "ws.staff.upsert()", userid=userid))
        return staff

    def list(self, status: str | None = None) -> list[Staff]:
        """Staff members by userid, optionally only those with ``status``."""
        query = select(Staff).order_by(Staff.userid)
        if status:
            query = query.where(Staff.status == status)
        with self.ws.session() as s:
            return list(s.exec(query))

    def df(self) -> pd.DataFrame:
        """All staff with their store code."""
        st = Staff.__table__
        query = (sa.select(st, Store.code.label("store"))
                 .select_from(st.outerjoin(Store.__table__, st.c.store_id == Store.id))
                 .order_by(st.c.userid))
        return self._read_df(query, ("created_at",))
