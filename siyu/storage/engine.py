"""Engine factory: turns a database URL into a configured SQLAlchemy engine."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from siyu.core.errors import ConfigError

DEFAULT_URL = "sqlite:///siyu.db"
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
            raise ConfigError("empty database URL; pass a SQLite file path or a "
                              "postgresql://user@host/db URL")
        return f"sqlite:///{Path(raw).expanduser()}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    try:
        parsed = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"malformed database URL {raw!r}: expected e.g. sqlite:///siyu.db "
                          f"or postgresql://user@127.0.0.1:5432/siyu") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise ConfigError(f"unsupported database {backend!r} in {raw!r}: siyu runs on "
                          f"SQLite or PostgreSQL")
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

    SQLite files get WAL, foreign keys, ``synchronous=NORMAL`` and a 30 s busy timeout;
    PostgreSQL gets a pre-ping pool.

    :raises ConfigError: the driver is missing or the SQLite folder does not exist.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigError(f"folder {str(folder)!r} for database {database!r} does "
                                  f"not exist; create it first")
        engine = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                     "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the PostgreSQL driver is missing ({exc.name}); "
                          f"pip install 'siyu[postgres]'") from exc


def describe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)
