"""Schema migrations: the core's Alembic branch plus every plugin's.

``siyu db upgrade`` and every new Workspace call :func:`upgrade`. Plugins declare tables with
``register_models``; a :class:`~siyu.core.records.ModelSet` with a ``migrations`` folder joins
Alembic's version locations (its revisions depend on the core branch), one without is created
with ``create_all`` after the migrations ran.
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


def alembic_config(connection: sa.Connection | None,
                   model_sets: Iterable[ModelSet] = ()) -> Config:
    """An Alembic ``Config`` for the core migrations plus the plugins' folders."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions")]
    locations += [str(ms.migrations) for ms in model_sets if ms.migrations]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, model_sets: Iterable[ModelSet] = ()) -> list[str]:
    """Bring the database to the newest schema; returns the revisions applied.

    Safe to call on every start: an up-to-date database is left untouched.
    """
    model_sets = list(model_sets)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both migrate.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(727379)"))
        before = set(MigrationContext.configure(connection).get_current_heads())
        command.upgrade(alembic_config(connection, model_sets), "heads")
        after = set(MigrationContext.configure(connection).get_current_heads())
        plain = [t for ms in model_sets if not ms.migrations for t in ms.tables]
        if plain:
            for table in plain:
                table.create(connection, checkfirst=True)
    return sorted(after - before)


def pending(engine: sa.Engine, model_sets: Iterable[ModelSet] = ()) -> list[str]:
    """Revisions not yet applied to this database (empty when up to date)."""
    model_sets = list(model_sets)
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
        script = ScriptDirectory.from_config(alembic_config(connection, model_sets))
        applied: set[str] = set()
        for head in current:
            applied |= {rev.revision for rev in script.iterate_revisions(head, "base")}
        return [rev.revision for rev in script.walk_revisions()
                if rev.revision not in applied]
