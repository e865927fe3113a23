"""Group robots and their send log.

Revision ID: robots_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "robots_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("last_sent_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_robot_name"),
    )
    op.create_table(
        "robot_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robot", sa.String(length=50), nullable=False),
        sa.Column("sent_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_robot_send_robot_sent_at", "robot_send", ["robot", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_robot_send_robot_sent_at", table_name="robot_send")
    op.drop_table("robot_send")
    op.drop_table("robot")
