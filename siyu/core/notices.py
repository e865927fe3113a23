"""Hook notifications as rows: what ``ws.notify`` writes in the caller's transaction.

A notice names a hook (``on_contact_added``…) and its arguments. Stored objects (a
:class:`~siyu.storage.models.Contact`, an :class:`~siyu.storage.models.Order`) are written as
references and read back when the notice is delivered, as read-only :class:`StoredRow`
views; times as ISO strings; everything else as JSON. One notice may carry many items (the
contacts an import created): ``refs`` and ``each`` hold one value per item, ``common`` the
arguments they share.

For every plugin implementing the hook a ``hook_delivery`` row is written beside the notice;
:mod:`siyu.core.dispatch` delivers them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from siyu.core.errors import PluginError
from siyu.storage.models import HookDelivery, HookNotice
from siyu.storage.types import utcnow

log = logging.getLogger("siyu.hooks")

#: Items per bulk notice row (an import of 200,000 contacts writes 40 notices per plugin).
BULK_ITEMS = 5000
#: Items read from the database at once when a bulk delivery's views are first read.
PAGE = 1000


def table_of(model: Any) -> sa.Table:
    """The table of a SQLModel class or of a table name."""
    if isinstance(model, str):
        table = SQLModel.metadata.tables.get(model)
        if table is None:
            raise PluginError(f"a hook notice refers to table {model!r}, which no loaded "
                              f"plugin declares")
        return table
    return model.__table__


def encode(value: Any) -> Any:
    """``value`` as JSON: stored rows become ``{"$ref": table, "id": id}``, times ISO."""
    if isinstance(value, SQLModel) and hasattr(type(value), "__table__"):
        return {"$ref": type(value).__tablename__, "id": value.id}
    if isinstance(value, StoredRow):
        return {"$ref": value._table.name, "id": value.id}
    if isinstance(value, datetime):
        return {"$at": value.isoformat()}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any, pages: Pages) -> Any:
    """The inverse of :func:`encode`; references become :class:`StoredRow` views."""
    if isinstance(value, dict):
        if "$ref" in value and len(value) == 2:
            return pages.view(value["$ref"], value["id"])
        if "$at" in value and len(value) == 1:
            return datetime.fromisoformat(value["$at"])
        return {k: decode(v, pages) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, pages) for v in value]
    return value


def subject_of(kwargs: Mapping[str, Any]) -> str | None:
    """The default subject of a notice: its contact (``contact:42``), else its first stored
    row, else a ``chat_id``."""
    contact = kwargs.get("contact")
    if contact is not None and getattr(contact, "id", None) is not None:
        return f"contact:{contact.id}"
    for value in kwargs.values():
        if isinstance(value, StoredRow):
            return f"{value._table.name}:{value.id}"
        if isinstance(value, SQLModel) and hasattr(type(value), "__table__"):
            return f"{type(value).__tablename__}:{value.id}"
    if kwargs.get("chat_id"):
        return f"chat:{kwargs['chat_id']}"
    return None


class StoredRow:
    """A read-only view of one stored row, read from the database when an attribute other
    than ``id`` is first read: that column for the whole page of rows the view belongs to,
    in one query.

    Hook implementations get these for the stored objects a notice names (``contact``,
    ``order``): read ``contact.name``, ``contact.owner_id``… as on the model. A row deleted
    since the notice was written reads as ``deleted = True`` with every other attribute
    ``None``.
    """

    __slots__ = ("id", "_table", "_page")

    def __init__(self, table: sa.Table, row_id: int, page: _Page):
        _set_id(self, row_id)
        _set_table(self, table)
        _set_page(self, page)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "deleted":
            return self._page.value(self.id, "id") is None
        return self._page.value(self.id, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a {self._table.name} passed to a hook is read-only; change it "
                             f"through the workspace's services")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, StoredRow) and other._table is self._table
                and other.id == self.id)

    def __hash__(self) -> int:
        return hash((self._table.name, self.id))

    def __repr__(self) -> str:
        return f"<{self._table.name} {self.id}>"


_set_id = StoredRow.id.__set__  # type: ignore[attr-defined]
_set_table = StoredRow._table.__set__  # type: ignore[attr-defined]
_set_page = StoredRow._page.__set__  # type: ignore[attr-defined]
_new_view = object.__new__


def _view(table: sa.Table, row_id: int, page: _Page) -> StoredRow:
    """A view made without ``__init__`` (an import makes a million)."""
    view = _new_view(StoredRow)
    _set_id(view, row_id)
    _set_table(view, table)
    _set_page(view, page)
    return view


class _Page:
    """Rows of one table, read the first time a view asks for a value: a column at a time
    for a large page (an import's notices use a few columns of many rows), whole rows for a
    small one (a single notice's row: one read instead of one per attribute)."""

    #: Pages of at most this many rows are read whole.
    WHOLE_ROWS = 64

    def __init__(self, engine: sa.Engine, table: sa.Table, ids: Sequence[int]):
        self.engine, self.table, self.ids = engine, table, ids
        self.columns: dict[str, dict[int, Any]] = {}

    def value(self, row_id: int, name: str) -> Any:
        column = self.columns.get(name)
        if column is None:
            if name not in self.table.c:
                raise AttributeError(f"{self.table.name} has no attribute {name!r}")
            key = self.table.c.id
            wanted = [self.table] if len(self.ids) <= self.WHOLE_ROWS else [key,
                                                                             self.table.c[name]]
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(*wanted).where(key.in_(list(self.ids)))).all()
            names = [c.name for c in self.table.c] if len(wanted) == 1 else ["id", name]
            at = names.index("id")
            for index, column_name in enumerate(names):
                self.columns[column_name] = {row[at]: row[index] for row in rows}
            column = self.columns[name]
        return column.get(row_id)


class Pages:
    """Hands out :class:`StoredRow` views, grouping the ids of one table into pages; views
    of the same rows handed out twice share their pages (and what was read)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._views: dict[tuple[str, int, int, int], tuple[Sequence[int], list[StoredRow]]] = {}

    def view(self, table_name: str, row_id: int) -> StoredRow:
        """A view of one row (its own page)."""
        table = table_of(table_name)
        return _view(table, row_id, _Page(self.engine, table, [row_id]))

    def views(self, table_name: str, ids: Sequence[int], start: int = 0,
              stop: int | None = None) -> list[StoredRow]:
        """Views of ``ids[start:stop]``, read :data:`PAGE` rows at a time; asked again for
        the same list, the same views (every plugin delivered a bulk notice shares them)."""
        stop = len(ids) if stop is None else stop
        key = (table_name, id(ids), start, stop)
        cached = self._views.get(key)
        if cached is not None and cached[0] is ids:
            return cached[1]
        table = table_of(table_name)
        out: list[StoredRow] = []
        for first in range(start, stop, PAGE):
            chunk = ids[first:min(first + PAGE, stop)]
            page = _Page(self.engine, table, chunk)
            out.extend([_view(table, row_id, page) for row_id in chunk])
        self._views[key] = (ids, out)
        return out


def implementers(pm: Any, hook_name: str, arguments: Mapping[str, Any] | None = None
                 ) -> list[str]:
    """Names of the plugins implementing ``hook_name``, in pluggy's call order; given the
    notification's shared ``arguments``, only those whose
    :func:`~siyu.core.plugins.notified_when` predicate (if any) accepts them."""
    caller = getattr(pm.hook, hook_name, None)
    if caller is None:
        raise PluginError(f"no hook named {hook_name!r}")
    names = []
    for impl in reversed(caller.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue
        wanted = getattr(impl.function, "siyu_notified_when", None)
        if arguments is not None and wanted is not None and not _wants(impl, wanted,
                                                                      arguments):
            continue
        names.append(impl.plugin_name)
    return names


def _wants(impl: Any, predicate: Any, arguments: Mapping[str, Any]) -> bool:
    try:
        return bool(predicate(**arguments))
    except Exception as exc:  # a plugin bug: deliver rather than lose the notification
        log.error("plugin %r: its notified_when predicate failed (%s: %s); delivering",
                  impl.plugin_name, type(exc).__name__, exc)
        return True


def write_notice(conn: sa.Connection, hook_name: str, plugins: Iterable[str], *,
                 payload: dict[str, Any], subject: str | None, items: int,
                 lease_s: float | None = None) -> int:
    """Insert one notice and a delivery per plugin; returns the notice id.

    :param lease_s: the writer delivers the notice itself right after its commit (see
        :meth:`siyu.core.dispatch.HookDispatcher.after_commit`): the deliveries are written
        already claimed by it, leased for this many seconds (a process that dies before
        delivering leaves them to be claimed when the lease ends). ``None``: pending, due now.
    """
    now = utcnow()
    notice_id = conn.execute(
        sa.insert(HookNotice.__table__).values(hook=hook_name, subject=subject, items=items,
                                               payload=payload, created_at=now)
        .returning(HookNotice.__table__.c.id)).scalar_one()
    due, attempts = (now, 0) if lease_s is None else (now + timedelta(seconds=lease_s), 1)
    conn.execute(sa.insert(HookDelivery.__table__),
                 [{"notice_id": notice_id, "plugin": plugin, "subject": subject,
                   "item": None, "position": 0, "status": "pending", "attempts": attempts,
                   "due_at": due, "error": ""} for plugin in plugins])
    return notice_id


def bulk_payload(refs: Mapping[str, tuple[Any, Sequence[int]]],
                 each: Mapping[str, Sequence[Any]], common: Mapping[str, Any],
                 start: int, stop: int) -> dict[str, Any]:
    """The payload of items ``start:stop`` of a bulk notice."""
    return {"common": encode(dict(common)),
            "refs": {key: {"table": table_of(model).name, "ids": list(ids[start:stop])}
                     for key, (model, ids) in refs.items()},
            "each": {key: encode(list(values[start:stop])) for key, values in each.items()}}
