"""WeCom mass messages and their per-recipient results.

Revision ID: wecom_0002
Revises: wecom_0001
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "wecom_0002"
down_revision = "wecom_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wecom_mass_send",
        sa.Column("msgid", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("checked_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("msgid"),
    )
    op.create_index("ix_wecom_mass_send_sender", "wecom_mass_send", ["sender"])
    op.create_index("ix_wecom_mass_send_status", "wecom_mass_send", ["status"])
    op.create_table(
        "wecom_mass_result",
        sa.Column("msgid", sa.String(length=64), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["msgid"], ["wecom_mass_send.msgid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("msgid", "external_userid"),
    )
    op.create_index("ix_wecom_mass_result_contact_id", "wecom_mass_result", ["contact_id"])
    op.create_index("ix_wecom_mass_result_status", "wecom_mass_result", ["status"])


def downgrade() -> None:
    op.drop_table("wecom_mass_result")
    op.drop_table("wecom_mass_send")
