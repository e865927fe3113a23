"""The SQL database connector: orders and members read from an ERP's or a shop's database.

Settings (see :data:`SETTINGS`): a SQLAlchemy URL (write-only: it usually holds a password),
a table per entity, and the incremental column, e.g. ``updated_at`` (or an id that only
grows) with a unique column to break ties (``id``). A run reads the rows after the cursor
``(updated_at, id)`` in that order, in one streamed query (server-side cursor on PostgreSQL
and MariaDB/MySQL), and hands them over ``batch_size`` at a time; each batch's last
``(updated_at, id)`` is the cursor saved with it. A row changed after it was read gets a later
``updated_at`` and comes again in a later run.

Nothing is written to the source: the connection is opened read-only where the database can
say so, and only ``SELECT`` is ever sent. Give the connector a database user that may only
read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from siyu.core.errors import ConfigError, SyncError
from siyu.core.i18n import translator
from siyu.core.records import ConnectorSetting, ConnectorSpec, SourcePage

_ = translator("siyu.plugins.connectors")

SETTINGS = (
    ConnectorSetting("url", _.lazy("Database URL"),
                     _.lazy("SQLAlchemy URL, e.g. postgresql+psycopg://reader:…@erp/shop or "
                            "mysql+pymysql://reader:…@erp/shop (write-only)"),
                     required=True, secret=True),
    ConnectorSetting("orders_table", _.lazy("Orders table"),
                     _.lazy("table or view of orders (schema.table allowed)"), default=""),
    ConnectorSetting("members_table", _.lazy("Members table"),
                     _.lazy("table or view of members"), default=""),
    ConnectorSetting("cursor_column", _.lazy("Incremental column"),
                     _.lazy("a column every change moves forward: updated_at, or an id"),
                     default="updated_at"),
    ConnectorSetting("id_column", _.lazy("Unique column"),
                     _.lazy("a unique column that orders rows of the same change time"),
                     default="id"),
    # Each transaction costs a commit (a WAL checkpoint on SQLite) and a round of lookups:
    # 50,000 rows a time keeps that a few percent of a sync, and a page's memory small.
    ConnectorSetting("batch_size", _.lazy("Batch size"), _.lazy("rows stored per transaction"),
                     default=50000),
)


def check(settings: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first bad SQL setting."""
    try:
        url = sa.engine.make_url(str(settings.get("url") or ""))
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        raise ConfigError(_("the database URL is not a SQLAlchemy URL "
                            "(dialect+driver://user:password@host/database)")) from None
    if not url.drivername:
        raise ConfigError(_("the database URL names no database kind"))
    for name in ("cursor_column", "id_column"):
        if not str(settings.get(name) or "").strip():
            raise ConfigError(_("{setting} is empty; name a column", setting=name))
    try:
        size = int(settings.get("batch_size"))
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= 100_000:
        raise ConfigError(_("batch size {value!r} is not between 1 and 100000",
                            value=settings.get("batch_size")))


def _table(meta: sa.MetaData, conn: sa.Connection, name: str) -> sa.Table:
    schema, _dot, table = name.rpartition(".")
    try:
        return sa.Table(table, meta, autoload_with=conn, schema=schema or None)
    except sa.exc.NoSuchTableError:
        raise SyncError(_("the source database has no table {table!r}", table=name)) from None


def _columns(conn: sa.Connection, table: sa.Table) -> dict[str, sa.ColumnElement]:
    """The table's columns as a run reads and compares them.

    SQLite keeps times as text in whatever form the writer chose (``2026-01-01 10:00:00``,
    ``2026-01-01T10:00:00Z``), and sorts them as text. SQLAlchemy would parse them and bind
    the cursor's time back in its own form (``2026-01-01 10:00:00.000000``), which compares
    differently: the rows of the cursor's second after its id would be skipped, or read again.
    There, times are read, kept in the cursor and compared as stored.
    """
    if conn.dialect.name != "sqlite":
        return {c.name: c for c in table.columns}
    return {c.name: sa.type_coerce(c, sa.String()) if isinstance(c.type, _TIMES) else c
            for c in table.columns}


_TIMES = (sa.DateTime, sa.Date, sa.Time)


def _encode(value: Any) -> Any:
    """A cursor value as JSON can hold it (and :func:`_decode` reads back)."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "decimal" in value:
            return Decimal(value["decimal"])
    return value


def _engine(text: str) -> sa.Engine:
    """An engine on the source that cannot write: a SQLite file is opened read-only (a
    mistyped path is not created), PostgreSQL and MySQL/MariaDB sessions are read-only."""
    url = sa.engine.make_url(text)
    if (url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
            and not url.query.get("uri")):
        url = url.set(database=Path(url.database).absolute().as_uri(),
                      query={**url.query, "mode": "ro", "uri": "true"})
    engine = sa.create_engine(url, pool_pre_ping=True)
    backend = engine.dialect.name

    @sa.event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        if backend == "postgresql":
            cursor = dbapi_connection.cursor()
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.close()
            dbapi_connection.commit()
        elif backend in ("mysql", "mariadb"):
            cursor = dbapi_connection.cursor()
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.close()

    return engine


def read(settings: dict[str, Any], entity: str, cursor: Any) -> Iterator[SourcePage]:
    """The rows of ``entity``'s table after ``cursor``, in batches (see the module)."""
    name = str(settings.get(f"{entity}_table") or "").strip()
    if not name:
        setting = f"{entity}_table"
        raise SyncError(_("the connector has no {entity} table; set {setting}",
                          entity=entity, setting=setting))
    try:
        engine = _engine(str(settings["url"]))
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise SyncError(_("the database URL cannot be used: {error}", error=exc)) from None
    try:
        yield from _read(engine, settings, name, cursor or {})
    except sa.exc.OperationalError as exc:
        raise SyncError(_("the source database failed: {error}",
                          error=str(exc.orig).splitlines()[0] if exc.orig else exc),
                        retryable=True) from None
    except sa.exc.DBAPIError as exc:  # a bad query, or bad data (1/0 in a view): not retried
        raise SyncError(_("the source database refused the query: {error}",
                          error=str(exc.orig).splitlines()[0] if exc.orig else exc)) from None
    finally:
        engine.dispose()


def _read(engine: sa.Engine, settings: dict[str, Any], name: str, cursor: dict
          ) -> Iterator[SourcePage]:
    size = int(settings["batch_size"])
    with engine.connect() as conn:
        table = _table(sa.MetaData(), conn, name)
        columns = _columns(conn, table)
        by, tie = settings["cursor_column"], settings["id_column"]
        for column in (by, tie):
            if column not in columns:
                raise SyncError(_("table {table!r} has no column {column!r}; it has: "
                                  "{columns}", table=name, column=column,
                                  columns=", ".join(columns)))
        after: list[sa.ColumnElement[bool]] = []
        if "value" in cursor:
            value, last_id = _decode(cursor["value"]), _decode(cursor["id"])
            # (by, tie) > (value, last_id), with a plain range on ``by`` an index can serve
            after.append(sa.and_(columns[by] >= value, sa.or_(
                columns[by] > value, columns[tie] > last_id)))
        # Counted without the ORDER BY: no sort, and columns the count does not need are
        # not computed (a view's expressions).
        total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*after)
                             ).scalar()
        query = (sa.select(*(c.label(n) for n, c in columns.items())).where(*after)
                 .order_by(columns[by], columns[tie]))
        with conn.execution_options(stream_results=True, yield_per=size).execute(
                query) as result:  # closed before the connection, also when stopped early
            keys = list(result.keys())
            for rows in result.partitions():
                records = [dict(zip(keys, row, strict=True)) for row in rows]
                last = records[-1]
                if last[by] is None:
                    raise SyncError(_("a row of {table!r} has no {column} (incremental "
                                      "column)", table=name, column=by))
                yield SourcePage(records, {"value": _encode(last[by]),
                                           "id": _encode(last[tie])}, total)


SPEC = ConnectorSpec("sql", _.lazy("SQL database"), read, settings=SETTINGS, check=check,
                     help=_.lazy("orders and members from a PostgreSQL, MySQL/MariaDB or "
                                 "SQLite database, by an incremental column"))
