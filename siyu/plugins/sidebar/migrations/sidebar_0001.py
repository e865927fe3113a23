"""Chat sidebar sessions and uploaded quick-reply images.

Revision ID: sidebar_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "sidebar_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sidebar_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_sidebar_session_userid", "sidebar_session", ["userid"])
    op.create_table(
        "sidebar_media",
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("media_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("reply_id"),
    )


def downgrade() -> None:
    op.drop_table("sidebar_media")
    op.drop_index("ix_sidebar_session_userid", table_name="sidebar_session")
    op.drop_table("sidebar_session")
