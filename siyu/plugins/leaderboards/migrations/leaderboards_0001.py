"""Leaderboards, their daily aggregates, watermarks and snapshots.

Revision ID: leaderboards_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "leaderboards_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leaderboard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=True),
        sa.Column("end_day", sa.Date(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=True),
        sa.Column("stores", sa.JSON(), nullable=True),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "leaderboard_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("sales_fen", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("new_contacts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "store_id", "staff_id"),
    )
    op.create_table(
        "leaderboard_contact_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("sales_fen", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "store_id", "contact_id"),
    )
    op.create_table(
        "leaderboard_watermark",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "leaderboard_gap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("lo", sa.BigInteger(), nullable=False),
        sa.Column("hi", sa.BigInteger(), nullable=False),
        sa.Column("xid_after", sa.BigInteger(), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_leaderboard_gap_name", "leaderboard_gap", ["name"])
    op.create_table(
        "leaderboard_applied",
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.create_index("ix_leaderboard_applied_at", "leaderboard_applied", ["at"])
    op.create_table(
        "leaderboard_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leaderboard_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=True),
        sa.Column("taken_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("taken_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["leaderboard_id"], ["leaderboard.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("leaderboard_id", "period_start"),
    )
    op.create_index("ix_leaderboard_snapshot_leaderboard_id", "leaderboard_snapshot",
                    ["leaderboard_id"])


def downgrade() -> None:
    for table in ("leaderboard_snapshot", "leaderboard_applied", "leaderboard_gap",
                  "leaderboard_watermark", "leaderboard_contact_daily", "leaderboard_daily",
                  "leaderboard"):
        op.drop_table(table)
