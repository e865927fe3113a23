"""Schema migrations: the core's Alembic history plus one history per plugin.

``siyu db upgrade`` and every new Workspace call :func:`upgrade`. Plugins declare tables with
``register_models``. A :class:`~siyu.core.records.ModelSet` with a ``migrations`` folder gets
its own Alembic history, kept in its own version table (``alembic_version_<name>``) and run
after the core's, so disabling a plugin never blocks the core or other plugins from
migrating. One without migrations is created with ``create_all`` after the migrations ran.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from siyu.core.records import ModelSet

MIGRATIONS = Path(__file__).parent / "migrations"
CORE_VERSION_TABLE = "alembic_version"


def alembic_config(connection: sa.Connection | None, model_set: ModelSet | None = None
                   ) -> Config:
    """An Alembic ``Config`` for the core history, or for one plugin's ``model_set``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if model_set is None:
        cfg.set_main_option("version_locations", str(MIGRATIONS / "versions"))
        cfg.attributes["version_table"] = CORE_VERSION_TABLE
    else:
        cfg.set_main_option("version_locations", str(model_set.migrations))
        cfg.attributes["version_table"] = f"alembic_version_{model_set.name}"
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["connection"] = connection
    return cfg


def _histories(model_sets: Iterable[ModelSet]) -> list[ModelSet | None]:
    return [None] + [ms for ms in model_sets if ms.migrations]


def _current(connection: sa.Connection, cfg: Config) -> set[str]:
    context = MigrationContext.configure(
        connection, opts={"version_table": cfg.attributes["version_table"]})
    return set(context.get_current_heads())


def upgrade(engine: sa.Engine, model_sets: Iterable[ModelSet] = ()) -> list[str]:
    """Bring the database to the newest schema; returns the revisions applied.

    Safe to call on every start: an up-to-date database is left untouched.
    """
    model_sets = list(model_sets)
    applied: list[str] = []
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both migrate.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(727379)"))
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
    script = ScriptDirectory.from_config(cfg)
    done: set[str] = set()
    for head in current:
        done |= {rev.revision for rev in script.iterate_revisions(head, "base")}
    return [rev.revision for rev in reversed(list(script.walk_revisions()))
            if rev.revision not in done]


def pending(engine: sa.Engine, model_sets: Iterable[ModelSet] = ()) -> list[str]:
    """Revisions not yet applied to this database, oldest first (empty when up to date)."""
    todo: list[str] = []
    with engine.connect() as connection:
        for model_set in _histories(model_sets):
            cfg = alembic_config(connection, model_set)
            todo += _pending_in(connection, cfg, _current(connection, cfg))
    return todo
