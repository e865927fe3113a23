"""Connectors, their cursors and their run history.

Revision ID: connectors_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "connectors_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("entities", sa.String(length=100), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=True),
        sa.Column("secrets", sa.JSON(), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=True),
        sa.Column("every_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "connector_cursor",
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.Column("updated_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connector.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connector_id", "entity"),
    )
    op.create_table(
        "connector_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("started_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connector.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_connector_run_connector_id", "connector_run", ["connector_id"])
    op.create_table(
        "identity_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("unionid", sa.String(length=64), nullable=True),
        sa.Column("external_userid", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identity_queue_status", "identity_queue", ["status"])
    op.create_index("ix_identity_queue_open", "identity_queue", ["source", "key", "status"])
    op.create_table(
        "identity_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("how", sa.String(length=10), nullable=False),
        sa.Column("matched_by", sa.String(length=20), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("previous_member_id", sa.String(length=64), nullable=True),
        sa.Column("orders", sa.JSON(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("undone_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("undone_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identity_link_contact_id", "identity_link", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_identity_link_contact_id", table_name="identity_link")
    op.drop_table("identity_link")
    op.drop_index("ix_identity_queue_open", table_name="identity_queue")
    op.drop_index("ix_identity_queue_status", table_name="identity_queue")
    op.drop_table("identity_queue")
    op.drop_index("ix_connector_run_connector_id", table_name="connector_run")
    op.drop_table("connector_run")
    op.drop_table("connector_cursor")
    op.drop_table("connector")
