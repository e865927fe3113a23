"""WeCom changes in flight: a live code or group code records the change it is about to send
to WeCom (``pending``…) and commits before calling, so no transaction waits on WeCom.

Revision ID: livecodes_0003
Revises: livecodes_0002
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "livecodes_0003"
down_revision = "livecodes_0002"
branch_labels = None
depends_on = None

TABLES = ("live_code", "live_group_code")


def _columns() -> list[sa.Column]:
    # server defaults fill the rows that exist already; the models give new rows theirs
    return [sa.Column("pending", sa.String(length=10), nullable=False, server_default=""),
            sa.Column("pending_state", sa.String(length=10), nullable=False,
                      server_default=""),
            sa.Column("pending_change", sa.JSON(), nullable=True),
            sa.Column("pending_by", sa.String(length=64), nullable=False, server_default=""),
            sa.Column("pending_at", siyu.storage.types.UTCDateTime(), nullable=True)]


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in _columns():
                batch.add_column(column)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column in reversed(_columns()):
                batch.drop_column(column.name)
