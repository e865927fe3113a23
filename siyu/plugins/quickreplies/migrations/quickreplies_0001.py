"""The quick-reply library.

Revision ID: quickreplies_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "quickreplies_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quick_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=True),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("image_name", sa.String(length=100), nullable=True),
        sa.Column("image_type", sa.String(length=20), nullable=True),
        sa.Column("image_size", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("last_used_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("category", "title", name="uq_quick_reply_category_title"),
    )
    op.create_index("ix_quick_reply_category_position", "quick_reply",
                    ["category", "position"])


def downgrade() -> None:
    op.drop_index("ix_quick_reply_category_position", table_name="quick_reply")
    op.drop_table("quick_reply")
