"""Sensitive words and the counter of their changes.

Revision ID: risk_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "risk_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_word",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=50), nullable=False),
        sa.Column("normalised", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("normalised", "category"),
    )
    op.create_index("ix_risk_word_category", "risk_word", ["category"])
    version = op.create_table(
        "risk_word_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("risk_word_version")
    op.drop_table("risk_word")
