"""Bulk writes that skip the ORM: one DBAPI ``executemany`` per chunk.

Imports of a million rows cannot afford per-row Python objects. These helpers take plain
tuples already converted to what the database stores (:func:`db_times`), so the cost is the
driver's, not ours.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa


def _placeholder(conn: sa.Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def insert_rows(conn: sa.Connection, table: sa.Table, columns: Sequence[str],
                rows: Sequence[tuple], *, ignore_conflicts: bool = False) -> None:
    """``INSERT`` ``rows`` (tuples in ``columns`` order) with one ``executemany``.

    :param ignore_conflicts: add ``ON CONFLICT DO NOTHING`` (both SQLite and PostgreSQL).
    """
    if not rows:
        return
    mark = _placeholder(conn)
    sql = (f"INSERT INTO {_quote(conn, table.name)} "
           f"({', '.join(_quote(conn, c) for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    conn.exec_driver_sql(sql, list(rows))


def update_rows(conn: sa.Connection, table: sa.Table, columns: Sequence[str],
                rows: Sequence[tuple], key: str = "id") -> None:
    """``UPDATE table SET columns… WHERE key = ?`` for each tuple ``(*values, key)``."""
    if not rows:
        return
    mark = _placeholder(conn)
    sets = ", ".join(f"{_quote(conn, c)} = {mark}" for c in columns)
    sql = f"UPDATE {_quote(conn, table.name)} SET {sets} WHERE {_quote(conn, key)} = {mark}"
    conn.exec_driver_sql(sql, list(rows))


def placeholders(conn: sa.Connection, count: int) -> str:
    """``count`` DBAPI placeholders for this engine, comma-separated (``?, ?`` or ``%s, %s``)."""
    return ", ".join([_placeholder(conn)] * count)


def db_times(conn: sa.Connection, values: pd.Series) -> list:
    """Aware times → what ``UTCDateTime`` stores on this engine (``None`` stays ``None``).

    SQLite gets the naive-UTC text SQLAlchemy writes (``2026-11-25 08:00:00.000000``);
    PostgreSQL gets aware ``datetime`` objects. Both are cut to the microsecond (what both
    engines keep), vectorised.
    """
    import numpy as np

    utc = pd.to_datetime(values, utc=True)
    micro = utc.dt.tz_localize(None).to_numpy("datetime64[us]")
    missing = np.isnat(micro)
    if conn.dialect.name == "sqlite":
        text = np.datetime_as_string(micro, unit="us")  # 2026-11-25T08:00:00.000000
        if len(text):
            text.view("U1").reshape(len(text), -1)[:, 10] = " "
        out = text.astype(object)
    else:
        out = np.array(pd.Series(micro).dt.tz_localize("UTC").dt.to_pydatetime(), dtype=object)
    out[missing] = None
    return out.tolist()


def read_times(conn: sa.Connection, values: pd.Series) -> pd.Series:
    """What a plain DBAPI read of a ``UTCDateTime`` column gives (SQLite's naive-UTC text,
    PostgreSQL's aware datetimes, ``None``) → aware UTC pandas times (``NaT`` for none)."""
    if conn.dialect.name == "sqlite":
        return pd.to_datetime(values, format="%Y-%m-%d %H:%M:%S.%f", utc=True)
    return pd.to_datetime(values, utc=True)
