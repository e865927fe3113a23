"""Reward pools, their items, per-contact quotas, the claim ledger and payouts.

Revision ID: rewards_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

import siyu.storage.types

revision = "rewards_0001"
down_revision = None
branch_labels = None
depends_on = None

AT = siyu.storage.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "reward_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("min_fen", sa.Integer(), nullable=False),
        sa.Column("max_fen", sa.Integer(), nullable=False),
        sa.Column("threshold_fen", sa.Integer(), nullable=False),
        sa.Column("coupon_days", sa.Integer(), nullable=False),
        sa.Column("budget_fen", sa.Integer(), nullable=False),
        sa.Column("spent_fen", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("contact_limit", sa.Integer(), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=False),
        sa.Column("starts_at", AT(), nullable=True),
        sa.Column("ends_at", AT(), nullable=True),
        sa.Column("segment", sa.String(length=100), nullable=True),
        sa.Column("tag", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", AT(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("spent_fen >= 0 AND spent_fen <= budget_fen",
                           name="ck_reward_pool_budget"),
        sa.CheckConstraint("contact_limit >= 1", name="ck_reward_pool_limit"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "reward_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["pool_id"], ["reward_pool.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pool_id", "code", name="uq_reward_item_code"),
        sa.UniqueConstraint("claim_id"),
    )
    op.create_index("ix_reward_item_free", "reward_item", ["pool_id", "claim_id", "id"])
    op.create_table(
        "reward_quota",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("day_claimed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["pool_id"], ["reward_pool.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pool_id", "contact_id"),
    )
    op.create_table(
        "reward_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("contact_limit", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("expires_at", AT(), nullable=True),
        sa.Column("redeemed_order_id", sa.Integer(), nullable=True),
        sa.Column("redeemed_at", AT(), nullable=True),
        sa.Column("claimed_at", AT(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.CheckConstraint("seq >= 1 AND seq <= contact_limit", name="ck_reward_claim_seq"),
        sa.CheckConstraint("amount_fen >= 0", name="ck_reward_claim_amount"),
        sa.ForeignKeyConstraint(["pool_id"], ["reward_pool.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pool_id", "contact_id", "seq", name="uq_reward_claim_seq"),
        sa.UniqueConstraint("item_id"),
    )
    op.create_index("ix_reward_claim_pool_id", "reward_claim", ["pool_id"])
    op.create_index("ix_reward_claim_contact_id", "reward_claim", ["contact_id"])
    op.create_table(
        "reward_payout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("billno", sa.String(length=28), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("err_code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("send_listid", sa.String(length=64), nullable=False),
        sa.Column("updated_at", AT(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["reward_claim.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id"),
        sa.UniqueConstraint("billno"),
    )
    op.create_index("ix_reward_payout_status", "reward_payout", ["status"])


def downgrade() -> None:
    op.drop_table("reward_payout")
    op.drop_table("reward_claim")
    op.drop_table("reward_quota")
    op.drop_table("reward_item")
    op.drop_table("reward_pool")
