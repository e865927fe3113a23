"""The customer journey: events with a unique dedupe key."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _
from siyu.core.segments import stats
from siyu.core.services.base import Service, as_utc
from siyu.storage.dialect import insert_for
from siyu.storage.like import glob
from siyu.storage.models import Event
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session


class EventsService(Service):
    """``ws.events``: record journey events once, read them back as a timeline."""

    def record(self, kind: str, *, dedupe_key: str, contact_id: int | None = None,
               occurred_at: datetime | None = None, source: str = "",
               payload: dict[str, Any] | None = None,
               session: Session | None = None) -> bool:
        """Store an event unless one with the same ``dedupe_key`` exists.

        :param kind: dotted name, e.g. ``"contact.added"``, ``"order.paid"``.
        :param dedupe_key: unique key; a replay with the same key is ignored.
        :param session: write in the caller's transaction (``ws.session()``).
        :return: ``True`` when stored, ``False`` when it was a replay.
        """
        if not kind or not dedupe_key:
            raise ValidationError(_("an event needs a kind and a dedupe_key"))
        row = {"kind": kind, "dedupe_key": dedupe_key[:255], "contact_id": contact_id,
               "occurred_at": as_utc(occurred_at, self.ws.timezone) or utcnow(),
               "source": source, "payload": payload}
        with self._tx(session) as s:
            conn = s.connection()
            result = conn.execute(insert_for(conn, Event.__table__)
                                  .on_conflict_do_nothing().values(**row)
                                  .returning(Event.__table__.c.id))
            stored = result.first() is not None
            if stored:  # the segment rules' per-contact counts, in the same transaction
                stats.count_event(conn, contact_id, kind, row["occurred_at"])
            return stored

    def df(self, *, kind: str | None = None, contact: int | None = None,
           since: Any = None, until: Any = None, limit: int | None = None) -> pd.DataFrame:
        """Events as a DataFrame, newest first; filters run in SQL."""
        e = Event.__table__
        query = sa.select(e).order_by(e.c.occurred_at.desc(), e.c.id.desc())
        tz = self.ws.timezone
        if kind:
            query = query.where(glob(e.c.kind, kind))  # only * is a wildcard
        if contact is not None:
            query = query.where(e.c.contact_id == contact)
        if since is not None:
            query = query.where(e.c.occurred_at >= as_utc(since, tz))
        if until is not None:
            query = query.where(e.c.occurred_at < as_utc(until, tz))
        if limit:
            query = query.limit(limit)
        return self._read_df(query, ("occurred_at",))

    def timeline(self, contact: int | str) -> pd.DataFrame:
        """One contact's journey, newest first."""
        return self.df(contact=self.ws.contacts.get(contact).id)
