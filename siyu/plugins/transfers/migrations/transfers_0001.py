"""Transfer plans and their customers.

Revision ID: transfers_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "transfers_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("handover", sa.String(length=64), nullable=False),
        sa.Column("successors", sa.String(length=2000), nullable=False),
        sa.Column("split", sa.String(length=10), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_transfer_plan_handover", "transfer_plan", ["handover"])
    op.create_table(
        "transfer_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("handover", sa.String(length=64), nullable=False),
        sa.Column("takeover", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("takeover_at", siyu.storage.types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", siyu.storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["transfer_plan.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_transfer_item_plan_id", "transfer_item", ["plan_id"])
    op.create_index("ix_transfer_item_external_userid", "transfer_item", ["external_userid"])
    op.create_index("ix_transfer_item_contact_id", "transfer_item", ["contact_id"])
    op.create_index("ix_transfer_item_status", "transfer_item", ["status"])


def downgrade() -> None:
    op.drop_table("transfer_item")
    op.drop_table("transfer_plan")
