"""The notebook door to the do-not-contact list (免打扰名单).

A contact on the list receives no campaign message: a launch skips them (reason ``"do not
contact"``, counted in the preview) and a message queued before they were added is blocked
when it is sent. Every function takes the Workspace first and acts as its principal:
``data.read`` to list, ``data.write`` to change; each change is audited (``risk.dnc.add``,
``risk.dnc.remove``). Phones are masked unless asked for in full by a role with
``pii.view``.

    from siyu.plugins.risk import dnc
    dnc.add(ws, [101, 102], reason="投诉")
    dnc.list(ws)            # contact_id, name, phone (masked), reason, added_at, added_by
    dnc.remove(ws, [102])
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import translator
from siyu.plugins.risk import journal
from siyu.plugins.risk.models import RiskDnc
from siyu.storage.dialect import insert_for
from siyu.storage.models import Contact
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

__all__ = ["COLUMNS", "add", "contact_ids", "count", "list", "remove", "rows"]

N = RiskDnc.__table__
CT = Contact.__table__
#: The columns of :func:`list` and :func:`rows`, in order.
COLUMNS = ("contact_id", "name", "phone", "reason", "added_at", "added_by")
#: The longest reason kept.
MAX_REASON = 200
#: Ids per statement.
_CHUNK = 5000


def contact_ids(values: Iterable[Any] | int | str) -> builtins.list[int]:
    """Contact ids as given by a person or a notebook (ints or digit strings), each once,
    order kept.

    :raises ValidationError: a value that is not a whole number, or none given.
    """
    given = [values] if isinstance(values, int | str) else builtins.list(values)
    ids: builtins.list[int] = []
    for value in given:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit():
            raise ValidationError(_("{value!r} is not a contact id (a whole number, as the "
                                    "Contacts page shows)", value=value))
        ids.append(int(text))
    if not ids:
        raise ValidationError(_("name the contacts by id"))
    return builtins.list(dict.fromkeys(ids))


def _known(conn: sa.Connection, ids: builtins.list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(conn.execute(sa.select(CT.c.id).where(
            CT.c.id.in_(ids[start:start + _CHUNK]))).scalars())
    return found


def _require_known(conn: sa.Connection, ids: builtins.list[int]) -> None:
    known = _known(conn, ids)
    missing = [i for i in ids if i not in known]
    if missing:
        raise NotFound(_.ngettext("no contact with id {ids}; nothing was changed",
                                  "no contacts with ids {ids}; nothing was changed",
                                  len(missing), ids=listing(missing[:20])))


def add(ws: Workspace, contacts: Iterable[Any] | int | str, *, reason: str = "") -> int:
    """Put contacts on the do-not-contact list (all or nothing).

    :param contacts: contact ids.
    :param reason: why (a complaint, a request), kept with each entry.
    :returns: how many were added (contacts on the list already keep their entry).
    :raises NotFound: an id names no contact; nothing is added.
    :raises ValidationError: a value is not an id, or the reason is too long.
    :raises PermissionDenied: the principal may not write data.
    """
    ws.principal.require("data.write")
    ids = contact_ids(contacts)
    reason = str(reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationError(_("the reason has {n} characters; at most {most}",
                                n=len(reason), most=MAX_REASON))
    now, who = utcnow(), ws.principal.name
    with ws.session() as s:
        conn = s.connection()
        _require_known(conn, ids)
        before = _count(conn, ids)
        statement = insert_for(conn, N).on_conflict_do_nothing(index_elements=["contact_id"])
        for start in range(0, len(ids), _CHUNK):
            conn.execute(statement, [{"contact_id": i, "reason": reason, "added_at": now,
                                      "added_by": who} for i in ids[start:start + _CHUNK]])
        added = _count(conn, ids) - before
        ws.audit("risk.dnc.add", listing(ids[:50]), {"added": added, "reason": reason,
                                                      "contacts": len(ids)}, session=s)
    return added


def _count(conn: sa.Connection, ids: builtins.list[int]) -> int:
    total = 0
    for start in range(0, len(ids), _CHUNK):
        total += conn.execute(sa.select(sa.func.count()).where(
            N.c.contact_id.in_(ids[start:start + _CHUNK]))).scalar_one()
    return total


def remove(ws: Workspace, contacts: Iterable[Any] | int | str) -> int:
    """Take contacts off the do-not-contact list.

    :returns: how many entries were removed (a contact not on the list counts nothing).
    :raises NotFound: an id names no contact; nothing is removed.
    :raises ValidationError: a value is not an id.
    :raises PermissionDenied: the principal may not write data.
    """
    ws.principal.require("data.write")
    ids = contact_ids(contacts)
    removed = 0
    with ws.session() as s:
        conn = s.connection()
        _require_known(conn, ids)
        for start in range(0, len(ids), _CHUNK):
            removed += conn.execute(N.delete().where(
                N.c.contact_id.in_(ids[start:start + _CHUNK]))).rowcount
        ws.audit("risk.dnc.remove", listing(ids[:50]), {"removed": removed}, session=s)
    return removed


def rows(ws: Workspace, *, reveal_pii: bool = False, limit: int | None = None,
         offset: int = 0) -> builtins.list[dict[str, Any]]:
    """The list as dicts (keys :data:`COLUMNS`), newest entry first, read without pandas
    (what ``siyu risk dnc list`` prints). ``added_at`` is aware UTC; phones masked unless
    ``reveal_pii``.

    :raises PermissionDenied: the principal may not read data, or ``reveal_pii`` without
        ``pii.view``.
    """
    ws.principal.require("data.read")
    if reveal_pii:
        ws.principal.require("pii.view")
    query = (sa.select(N.c.contact_id, CT.c.name, CT.c.phone, N.c.reason, N.c.added_at,
                       N.c.added_by)
             .select_from(N.join(CT, CT.c.id == N.c.contact_id))
             .order_by(N.c.added_at.desc(), N.c.id.desc()).offset(offset))
    return journal.fetch_masked(ws, query, limit=limit, reveal_pii=reveal_pii)


def count(ws: Workspace) -> int:
    """How many contacts are on the list.

    :raises PermissionDenied: the principal may not read data.
    """
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(N)).scalar_one()


def list(ws: Workspace, *, reveal_pii: bool = False, limit: int | None = None,  # noqa: A001
         offset: int = 0) -> pd.DataFrame:
    """The do-not-contact list as a DataFrame (columns :data:`COLUMNS`, ``added_at`` in the
    workspace timezone), newest entry first; phones masked unless ``reveal_pii``.

    :param limit: most rows; with ``offset``, one page.
    :raises PermissionDenied: the principal may not read data, or ``reveal_pii`` without
        ``pii.view``.
    """
    import pandas as pd

    frame = pd.DataFrame(rows(ws, reveal_pii=reveal_pii, limit=limit, offset=offset),
                         columns=builtins.list(COLUMNS))
    frame["added_at"] = pd.to_datetime(frame["added_at"], utc=True).dt.tz_convert(
        ws.timezone)
    return frame
