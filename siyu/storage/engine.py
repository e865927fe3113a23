"""Engine factory: turns a database URL into a configured SQLAlchemy engine."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from siyu.core.errors import ConfigError
from siyu.core.i18n import core as _
from siyu.storage.write_gate import GatedConnection, gate_for

DEFAULT_URL = "sqlite:///siyu.db"
#: Seconds a SQLite writer waits for the write lock (the gate, then SQLite's busy handler).
BUSY_TIMEOUT_S = 30.0
#: Connections kept open to a SQLite file, and how many more may be opened at a peak.
POOL_SIZE = 16
POOL_OVERFLOW = 48
SUPPORTED = {"sqlite", "postgresql"}


def resolve_url(url: str | os.PathLike | None = None) -> str:
    """The database URL to use: ``url``, else ``$SIYU_DATABASE_URL``, else ``./siyu.db``.

    A plain file path (``shop.db``) is accepted as a SQLite file. ``postgresql://`` and
    ``postgres://`` URLs use psycopg 3.

    :raises ConfigError: the URL is malformed or names an unsupported database.
    """
    raw = url if url is not None else os.environ.get("SIYU_DATABASE_URL") or DEFAULT_URL
    raw = os.fspath(raw)
    if "://" not in raw:
        if raw.strip() == "":
            raise ConfigError(_("empty database URL; pass a SQLite file path or a "
                                "postgresql://user@host/db URL"))
        return f"sqlite:///{Path(raw).expanduser()}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    try:
        parsed = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(_("malformed database URL {url!r}: expected e.g. sqlite:///siyu.db "
                            "or postgresql://user@127.0.0.1:5432/siyu", url=raw)) from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise ConfigError(_("unsupported database {backend!r} in {url!r}: siyu runs on "
                            "SQLite or PostgreSQL", backend=backend, url=raw))
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: large imports keep indexes hot
    cursor.close()


def create_engine(url: str) -> sa.Engine:
    """Create the engine for a resolved URL (see :func:`resolve_url`).

    SQLite files get WAL, foreign keys, ``synchronous=NORMAL``, a 30 s busy timeout and the
    process's :class:`~siyu.storage.write_gate.WriteGate` for the file (writers take turns
    without sleeping in SQLite's busy handler); PostgreSQL gets a pre-ping pool.

    :raises ConfigError: the driver is missing or the SQLite folder does not exist.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigError(_("folder {folder!r} for database {database!r} does not "
                                    "exist; create it first", folder=str(folder),
                                    database=database))
        connect_args: dict = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}
        options: dict = {}
        if database and database != ":memory:" and not database.startswith("file:"):
            path = str(Path(database).expanduser().resolve())
            connect_args["factory"] = GatedConnection.bind(gate_for(path), BUSY_TIMEOUT_S)
            # Many threads write (callback workers, hook delivery, the receiver's group
            # commit) and more read; the gate, not the pool, makes the writers take turns.
            options = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        engine = sa.create_engine(url, connect_args=connect_args, **options)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise ConfigError(_("the PostgreSQL driver is missing ({module}); "
                            "pip install 'siyu[postgres]'", module=exc.name)) from exc


def describe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)
