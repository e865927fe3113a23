"""Group live codes: join ways, their groups, joins through them, staff-code invites.

Revision ID: livecodes_0002
Revises: livecodes_0001
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "livecodes_0002"
down_revision = "livecodes_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = siyu.storage.types.UTCDateTime
    op.create_table(
        "live_group_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("config_id", sa.String(length=64), nullable=False),
        sa.Column("qr_url", sa.String(length=500), nullable=False),
        sa.Column("auto_create_room", sa.Boolean(), nullable=False),
        sa.Column("room_base_name", sa.String(length=40), nullable=False),
        sa.Column("room_base_id", sa.Integer(), nullable=False),
        sa.Column("warn_at", sa.Integer(), nullable=False),
        sa.Column("rotate_at", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("warning", sa.String(length=1000), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_live_group_code_state", "live_group_code", ["state"])
    op.create_index("ix_live_group_code_status", "live_group_code", ["status"])
    op.create_table(
        "live_group_chat",
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("changed_at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["code_id"], ["live_group_code.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_id", "chat_id"),
    )
    op.create_index("ix_live_group_chat_chat_id", "live_group_chat", ["chat_id"])
    op.create_table(
        "live_group_join",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("join_scene", sa.Integer(), nullable=False),
        sa.Column("joined_at", ts(), nullable=False),
        sa.Column("left_at", ts(), nullable=True),
        sa.ForeignKeyConstraint(["code_id"], ["live_group_code.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "member_id", "joined_at"),
    )
    for column in ("code_id", "chat_id", "contact_id"):
        op.create_index(f"ix_live_group_join_{column}", "live_group_join", [column])
    op.create_table(
        "live_code_invite",
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("group_code_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["code_id"], ["live_code.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_code_id"], ["live_group_code.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_id"),
    )
    op.create_index("ix_live_code_invite_group_code_id", "live_code_invite",
                    ["group_code_id"])


def downgrade() -> None:
    op.drop_table("live_code_invite")
    op.drop_table("live_group_join")
    op.drop_table("live_group_chat")
    op.drop_table("live_group_code")
