"""Schema migrations: the core's Alembic history plus one history per plugin.

``siyu db upgrade`` and every new Workspace call :func:`upgrade`. Plugins declare tables with
``register_models``. A :class:`~siyu.core.records.ModelSet` with a ``migrations`` folder gets
its own Alembic history, kept in its own version table (``alembic_version_<name>``) and run
after the core's, so disabling a plugin never blocks the core or other plugins from
migrating. One without migrations is created with ``create_all`` after the migrations ran.

Opening a workspace must stay cheap, so :func:`upgrade` and :func:`pending` first compare the
version tables with the head revisions read from the revision files' text (no Alembic import,
no revision module executed, see :func:`known_heads`); only when they differ, or when a file
is not plainly written, is Alembic imported to do the full check and the migrating.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.core.records import ModelSet

if TYPE_CHECKING:  # pragma: no cover
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
CORE_VERSION_TABLE = "alembic_version"

#: A module-level ``name = value`` (or ``name: type = value``) line of a revision file.
_ASSIGNMENT = r"^{name}[ \t]*(?::[^=\n]*)?=[ \t]*(?P<value>[^\n]*?)[ \t]*(?:#[^\n]*)?$"
_FIELDS = {name: re.compile(_ASSIGNMENT.format(name=name), re.MULTILINE)
           for name in ("revision", "down_revision", "depends_on")}


def alembic_config(connection: sa.Connection | None, model_set: ModelSet | None = None
                   ) -> Config:
    """An Alembic ``Config`` for the core history, or for one plugin's ``model_set``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_locations", str(_versions(model_set)))
    cfg.attributes["version_table"] = _version_table(model_set)
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["connection"] = connection
    return cfg


def _versions(model_set: ModelSet | None) -> Path:
    """The folder of a history's revision files."""
    return MIGRATIONS / "versions" if model_set is None else Path(model_set.migrations)


def _version_table(model_set: ModelSet | None) -> str:
    """The table a history's applied revisions are kept in."""
    return CORE_VERSION_TABLE if model_set is None else f"alembic_version_{model_set.name}"


def _histories(model_sets: Iterable[ModelSet]) -> list[ModelSet | None]:
    return [None] + [ms for ms in model_sets if ms.migrations]


def _current(connection: sa.Connection, cfg: Config) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        connection, opts={"version_table": cfg.attributes["version_table"]})
    return set(context.get_current_heads())


# -- the cheap check ----------------------------------------------------------------------


def _literal(source: str, name: str) -> object:
    """The one value ``name`` is assigned at module level in ``source``.

    :raises ValueError: it is assigned more than once, or not to a plain literal.
    """
    found = _FIELDS[name].findall(source)
    if len(found) > 1:
        raise ValueError(f"{name} assigned {len(found)} times")
    return ast.literal_eval(found[0]) if found else None


def known_heads(folder: Path) -> frozenset[str] | None:
    """The head revisions of the history in ``folder``, read from the revision files as text.

    Finds the files Alembic would (``*.py`` directly in ``folder``, not ``__init__.py``) and
    reads each one's ``revision`` and ``down_revision`` literals without running it; the
    heads are the revisions no other revision follows.

    :return: the heads, or ``None`` when some file is not plainly written (a revision that
        is not a string literal, a ``down_revision`` that is not a literal, a ``depends_on``)
        or cannot be read: then only Alembic can tell.
    """
    revisions: set[str] = set()
    followed: set[str] = set()
    try:
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        for path in files:
            if (not path.name.endswith(".py") or path.name.startswith((".#", "__init__"))
                    or not path.is_file()):
                continue
            source = path.read_text(encoding="utf-8")
            revision = _literal(source, "revision")
            down = _literal(source, "down_revision")
            if not isinstance(revision, str) or revision in revisions or _literal(
                    source, "depends_on") is not None:
                return None
            downs = (down,) if down is None or isinstance(down, str) else down
            if not isinstance(downs, (tuple, list)) or not all(
                    d is None or isinstance(d, str) for d in downs):
                return None
            revisions.add(revision)
            followed.update(d for d in downs if d is not None)
    except (OSError, UnicodeDecodeError, ValueError, SyntaxError, TypeError,
            MemoryError, RecursionError):
        return None
    return frozenset(revisions - followed)


def _up_to_date(engine: sa.Engine, model_sets: list[ModelSet]) -> bool:
    """Whether the database needs nothing from :func:`upgrade`, answered without Alembic:
    every history's version table holds exactly its :func:`known_heads`, and every table of a
    model set without migrations exists. ``False`` when unsure."""
    heads = []
    for model_set in _histories(model_sets):
        known = known_heads(_versions(model_set))
        if known is None:
            return False
        heads.append((_version_table(model_set), known))
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        tables = set(inspector.get_table_names())
        for name, known in heads:
            stored: set[str] = set()
            if name in tables:
                version = sa.table(name, sa.column("version_num"))
                stored = set(connection.execute(sa.select(version.c.version_num)).scalars())
            if stored != known:
                return False
        return all(inspector.has_table(table.name, schema=table.schema)
                   for ms in model_sets if not ms.migrations for table in ms.tables)


# -- upgrade / pending ----------------------------------------------------------------------


def upgrade(engine: sa.Engine, model_sets: Iterable[ModelSet] = ()) -> list[str]:
    """Bring the database to the newest schema; returns the revisions applied.

    Safe to call on every start: an up-to-date database is left untouched, and recognised as
    such without importing Alembic (see :func:`known_heads`).
    """
    model_sets = list(model_sets)
    if _up_to_date(engine, model_sets):
        return []
    from alembic import command

    applied: list[str] = []
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both migrate.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(727379)"))
        else:
            # Python's sqlite3 opens no transaction before DDL: without this, a process
            # killed halfway through would leave half a schema behind. SQLite's DDL is
            # transactional, so every revision commits (or not) together.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        for model_set in _histories(model_sets):
            cfg = alembic_config(connection, model_set)
            before = _current(connection, cfg)
            todo = _pending_in(connection, cfg, before)
            if todo:
                command.upgrade(cfg, "heads")
                applied += todo
        for table in (t for ms in model_sets if not ms.migrations for t in ms.tables):
            table.create(connection, checkfirst=True)
    return applied


def _pending_in(connection: sa.Connection, cfg: Config, current: set[str]) -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(cfg)
    done: set[str] = set()
    for head in current:
        done |= {rev.revision for rev in script.iterate_revisions(head, "base")}
    return [rev.revision for rev in reversed(list(script.walk_revisions()))
            if rev.revision not in done]


def pending(engine: sa.Engine, model_sets: Iterable[ModelSet] = ()) -> list[str]:
    """Revisions not yet applied to this database, oldest first (empty when up to date)."""
    model_sets = list(model_sets)
    if _up_to_date(engine, model_sets):
        return []
    todo: list[str] = []
    with engine.connect() as connection:
        for model_set in _histories(model_sets):
            cfg = alembic_config(connection, model_set)
            todo += _pending_in(connection, cfg, _current(connection, cfg))
    return todo
