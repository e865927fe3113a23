"""Durable hook notifications: notices written with the change, deliveries per plugin.

Revision ID: 0006_hook_delivery
Revises: 0005_console_sessions
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import siyu.storage.types

revision = "0006_hook_delivery"
down_revision = "0005_console_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hook_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hook", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hook_notice_hook", "hook_notice", ["hook"])
    op.create_table(
        "hook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("plugin", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("item", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("delivered_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["hook_notice.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hook_delivery_notice_id", "hook_delivery", ["notice_id"])
    op.create_index("ix_hook_delivery_status_due", "hook_delivery", ["status", "due_at"])
    op.create_index("ix_hook_delivery_plugin_subject", "hook_delivery",
                    ["plugin", "subject", "status"])


def downgrade() -> None:
    op.drop_index("ix_hook_delivery_plugin_subject", table_name="hook_delivery")
    op.drop_index("ix_hook_delivery_status_due", table_name="hook_delivery")
    op.drop_index("ix_hook_delivery_notice_id", table_name="hook_delivery")
    op.drop_table("hook_delivery")
    op.drop_index("ix_hook_notice_hook", table_name="hook_notice")
    op.drop_table("hook_notice")
