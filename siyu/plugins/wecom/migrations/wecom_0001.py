"""WeCom callbacks, customer group chats and their members.

Revision ID: wecom_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "wecom_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wecom_callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("change_type", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("received_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=False),
        sa.Column("processed_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_wecom_callback_event", "wecom_callback", ["event"])
    op.create_index("ix_wecom_callback_status", "wecom_callback", ["status"])
    op.create_table(
        "wecom_group_chat",
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("notice", sa.String(length=2000), nullable=False),
        sa.Column("member_version", sa.String(length=64), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("dismissed_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_index("ix_wecom_group_chat_owner", "wecom_group_chat", ["owner"])
    op.create_table(
        "wecom_group_member",
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("join_scene", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("joined_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("left_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], ["wecom_group_chat.chat_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id", "member_id"),
    )
    op.create_index("ix_wecom_group_member_contact_id", "wecom_group_member", ["contact_id"])


def downgrade() -> None:
    op.drop_table("wecom_group_member")
    op.drop_table("wecom_group_chat")
    op.drop_table("wecom_callback")
