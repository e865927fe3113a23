"""The address book as the org sync read it: departments (with their stores) and members.

Revision ID: wecom_0004
Revises: wecom_0003
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "wecom_0004"
down_revision = "wecom_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wecom_department",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parentid", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("seen_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "wecom_member",
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("main_department", sa.Integer(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("seen_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("userid"),
    )


def downgrade() -> None:
    op.drop_table("wecom_member")
    op.drop_table("wecom_department")
