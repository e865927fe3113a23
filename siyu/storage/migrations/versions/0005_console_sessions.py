"""Console sessions kept server-side, user lockout, and no signing secret in the database.

Revision ID: 0005_console_sessions
Revises: 0004_audit_search_index
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import siyu.storage.types

revision = "0005_console_sessions"
down_revision = "0004_audit_search_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_console_session_user_name", "console_session", ["user_name"])
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("locked_until", siyu.storage.types.UTCDateTime(timezone=True),
                                   nullable=True))
    # The cookie secret used to live in the settings table, readable by anyone who can read
    # the database; it now lives outside it (siyu.core.secret_key). Sessions signed with it
    # end here, as do the old per-user sign-out marks that sessions replace.
    setting = sa.table("setting", sa.column("key", sa.String))
    op.execute(setting.delete().where(setting.c.key == "console.cookie_secret"))
    op.execute(setting.delete().where(setting.c.key.like("console.sessions\\_ended.%",
                                                         escape="\\")))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locked_until")
    op.drop_index("ix_console_session_user_name", table_name="console_session")
    op.drop_table("console_session")
