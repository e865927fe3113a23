"""Finding the contact to open: the contact search of ``ws.contacts`` (name, remark,
external userid, phone — as far as the acting role may search phones), and exact matches
of a member id or a contact id, which that search does not cover.

A console user's searches are audited and rate-limited by the contacts service; phones in
the results are masked unless the role holds ``pii.view``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import PermissionDenied
from siyu.core.pii import mask_phone
from siyu.plugins.customers.reads import as_id
from siyu.storage.models import Contact, Staff

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

#: The columns of :func:`find`, in order.
COLUMNS = ("id", "name", "phone", "member_id", "external_userid", "owner", "owner_name",
           "added_at", "removed_at")
#: The most contacts one search lists.
LIMIT = 20

C = Contact.__table__
S = Staff.__table__


def _exact(conn: sa.Connection, term: str) -> list[int]:
    """Contacts whose member id is ``term``, then the contact whose id it is."""
    ids = list(conn.execute(sa.select(C.c.id).where(C.c.member_id == term)
                            .order_by(C.c.id).limit(LIMIT)).scalars())
    contact_id = as_id(term) if not term.startswith("0") else None
    if contact_id is not None:
        ids += conn.execute(sa.select(C.c.id).where(C.c.id == contact_id)).scalars().all()
    return ids


def find(ws: Workspace, term: str, *, limit: int = LIMIT) -> pd.DataFrame:
    """The contacts ``term`` names, at most ``limit``: exact member id and contact id
    matches first, then the contact search's matches, newest first.

    :return: a frame of :data:`COLUMNS` (``owner`` the owner's userid); empty for an empty
        term.
    :raises PermissionDenied: the role may not read data, or searched phone digits it may
        not (and nothing matched exactly).
    :raises RateLimited: too many searches by this console user in the last minute.
    """
    import pandas as pd

    ws.principal.require("data.read")
    term = (term or "").strip()
    if not term:
        return pd.DataFrame(columns=list(COLUMNS))
    with ws.engine.connect() as conn:
        exact = _exact(conn, term)
    try:
        found = ws.contacts.df(columns=["id"], search=term, limit=limit, order_by="id",
                               descending=True)["id"].tolist()
    except PermissionDenied:
        if not exact:
            raise
        found = []  # a member id that looks like phone digits: the exact match answers
    ids = list(dict.fromkeys([*exact, *map(int, found)]))[:limit]
    return _rows(ws, ids)


def _rows(ws: Workspace, ids: list[int]) -> pd.DataFrame:
    import pandas as pd

    rows: dict[int, Any] = {}
    if ids:
        query = (sa.select(C.c.id, C.c.name, C.c.phone, C.c.member_id, C.c.external_userid,
                           S.c.userid.label("owner"), S.c.name.label("owner_name"),
                           C.c.added_at, C.c.removed_at)
                 .select_from(C.outerjoin(S, S.c.id == C.c.owner_id))
                 .where(C.c.id.in_(ids)))
        with ws.engine.connect() as conn:
            rows = {row.id: row for row in conn.execute(query)}
    reveal = ws.principal.can("pii.view")
    records = [{**rows[i]._asdict(),
                "phone": rows[i].phone if reveal else mask_phone(rows[i].phone)}
               for i in ids if i in rows]
    frame = pd.DataFrame(records, columns=list(COLUMNS))
    for column in ("added_at", "removed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
