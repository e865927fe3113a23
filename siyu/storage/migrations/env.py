"""Alembic environment: runs on the connection siyu hands over in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import siyu.storage.models  # noqa: F401 - registers the core tables on SQLModel.metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - siyu always passes one
    raise RuntimeError("run migrations through `siyu db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    version_table=config.attributes.get("version_table", "alembic_version"),
)
with context.begin_transaction():
    context.run_migrations()
