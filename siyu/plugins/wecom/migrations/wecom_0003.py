"""Refused WeCom callbacks, counted per reason.

Revision ID: wecom_0003
Revises: wecom_0002
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "wecom_0003"
down_revision = "wecom_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wecom_callback_rejection",
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("first_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("sample_ip", sa.String(length=64), nullable=False),
        sa.Column("sample_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("sample_detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("reason"),
    )


def downgrade() -> None:
    op.drop_table("wecom_callback_rejection")
