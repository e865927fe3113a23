"""Engine fast paths for the bulk import path (file imports and connector syncs).

- :func:`one_of`: ``column IN (values)`` with **one** bound parameter — PostgreSQL
  ``= ANY(:array)``, SQLite ``IN (SELECT value FROM json_each(:json))``. Thousands of
  parameters cost more to bind, render and parse than the lookup itself; other engines get
  the plain ``IN``, in chunks.
- :func:`copy_rows`: PostgreSQL ``COPY`` instead of an ``executemany`` of ``INSERT``.

:func:`siyu.core.identity.match_rows` looks contacts up with :func:`one_of`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

#: Values per plain ``IN`` list on engines where :func:`one_of` cannot bind one list.
CHUNK = 5000


def one_value(conn: sa.Connection) -> bool:
    """Whether :func:`one_of` binds a whole list as one parameter on this engine."""
    return conn.dialect.name in ("postgresql", "sqlite")


def one_of(conn: sa.Connection, column: sa.ColumnElement, values: Sequence[Any]
           ) -> sa.ColumnElement[bool]:
    """``column IN (values)``; one parameter on PostgreSQL and SQLite (any number of
    values), else the plain ``IN`` (keep it to :data:`CHUNK` values, see :func:`chunks`).
    The values are ``str`` or ``int`` (what JSON carries unchanged)."""
    values = list(values)
    if conn.dialect.name == "postgresql":
        # varchar[] without the column's length: a cast to varchar(64)[] would cut longer
        # values, and a cut value could find another row
        item = sa.String() if column.type._type_affinity is sa.String else column.type
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(item)))
    if conn.dialect.name == "sqlite":
        listed = sa.func.json_each(sa.bindparam(None, json.dumps(values), type_=sa.String()))
        return column.in_(sa.select(sa.literal_column("value")).select_from(listed))
    return column.in_(values)


def chunks(conn: sa.Connection, values: Sequence[Any]) -> Iterable[list]:
    """``values`` in as few lists as :func:`one_of` takes at once on this engine."""
    values = list(values)
    size = len(values) if one_value(conn) else CHUNK
    for start in range(0, len(values), max(size, 1)):
        yield values[start:start + size]


def copy_rows(conn: sa.Connection, table: sa.Table, columns: Sequence[str],
              rows: Sequence[tuple]) -> None:
    """``INSERT`` ``rows`` (tuples in ``columns`` order, as :func:`~siyu.storage.bulk.db_times`
    converts times): one ``COPY`` on PostgreSQL (psycopg), else one ``executemany``."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        from siyu.storage.bulk import insert_rows

        insert_rows(conn, table, columns, rows)
        return
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
