"""The do-not-contact list and the log of risk decisions.

Revision ID: risk_0002
Revises: risk_0001
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "risk_0002"
down_revision = "risk_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = siyu.storage.types.UTCDateTime
    op.create_table(
        "risk_dnc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("added_at", ts(), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id"),
    )
    op.create_table(
        "risk_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", ts(), nullable=False),
        sa.Column("rule", sa.String(length=50), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.BigInteger(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("staff", sa.String(length=64), nullable=True),
        sa.Column("excerpt", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("until", ts(), nullable=True),
        sa.Column("dedupe", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe"),
    )
    op.create_index("ix_risk_event_at", "risk_event", ["at"])
    op.create_index("ix_risk_event_rule", "risk_event", ["rule"])
    op.create_index("ix_risk_event_campaign_id", "risk_event", ["campaign_id"])


def downgrade() -> None:
    op.drop_table("risk_event")
    op.drop_table("risk_dnc")
