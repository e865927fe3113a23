"""Live codes, their members, daily counters and arrivals.

Revision ID: livecodes_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "livecodes_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = siyu.storage.types.UTCDateTime
    op.create_table(
        "live_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("config_id", sa.String(length=64), nullable=False),
        sa.Column("qr_url", sa.String(length=500), nullable=False),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("remark_template", sa.String(length=200), nullable=False),
        sa.Column("welcome", sa.JSON(), nullable=True),
        sa.Column("backup", sa.JSON(), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("round_cap", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("listed", sa.JSON(), nullable=True),
        sa.Column("next_change_at", ts(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("state", "status", "store_id", "next_change_at"):
        op.create_index(f"ix_live_code_{column}", "live_code", [column])
    op.create_table(
        "live_code_member",
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("slots", sa.JSON(), nullable=True),
        sa.Column("round_adds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["code_id"], ["live_code.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_id", "userid"),
    )
    op.create_table(
        "live_code_day",
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("adds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["code_id"], ["live_code.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("code_id", "userid", "day"),
    )
    op.create_table(
        "live_code_add",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("at", ts(), nullable=False),
        sa.Column("welcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["code_id"], ["live_code.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state", "contact_id", "at"),
    )
    op.create_index("ix_live_code_add_code_id", "live_code_add", ["code_id"])
    op.create_index("ix_live_code_add_contact_id", "live_code_add", ["contact_id"])


def downgrade() -> None:
    op.drop_table("live_code_add")
    op.drop_table("live_code_day")
    op.drop_table("live_code_member")
    op.drop_table("live_code")
