"""Campaigns and their outbox: ``campaign`` (content, variants, holdout, schedule, status),
``delivery`` (one row per recipient × campaign, unique idempotency key) and
``delivery_batch`` (each hand-over to a channel, committed before the provider is called).

Revision ID: 0012_campaigns
Revises: 0011_contact_tag_cover
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import siyu.storage.types

revision = "0012_campaigns"
down_revision = "0011_contact_tag_cover"
branch_labels = None
depends_on = None

TS = siyu.storage.types.UTCDateTime(timezone=True)


def _str(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _str(200), nullable=False),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("channel", _str(64), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=True),
        sa.Column("holdout_pct", sa.Integer(), nullable=False),
        sa.Column("sender", sa.JSON(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("conversion_days", sa.Integer(), nullable=False),
        sa.Column("salt", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", TS, nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("targeted", sa.Integer(), nullable=False),
        sa.Column("created_by", _str(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("launched_by", _str(100), nullable=False),
        sa.Column("launched_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["snapshot_id"], ["segment_snapshot.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_campaign_status", "campaign", ["status"])
    op.create_table(
        "delivery_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("channel", _str(64), nullable=False),
        sa.Column("sender", _str(64), nullable=True),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("worker", _str(100), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("note", _str(500), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_batch_campaign_id", "delivery_batch", ["campaign_id"])
    op.create_index("ix_delivery_batch_status_lease", "delivery_batch",
                    ["status", "lease_until"])
    op.create_table(
        "delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("recipient", _str(200), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("variant", _str(40), nullable=False),
        sa.Column("sender", _str(64), nullable=True),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("reason", _str(500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", _str(128), nullable=True),
        sa.Column("not_before", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "recipient", name="uq_delivery_campaign_recipient"),
    )
    op.create_index("ix_delivery_queue", "delivery", ["campaign_id", "status", "sender", "id"])
    op.create_index("ix_delivery_contact_status", "delivery", ["contact_id", "status"])
    op.create_index("ix_delivery_batch_id", "delivery", ["batch_id"])


def downgrade() -> None:
    op.drop_table("delivery")
    op.drop_table("delivery_batch")
    op.drop_table("campaign")
