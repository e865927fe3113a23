"""Tables of the rewards plugin (Alembic history ``rewards``): pools, what they hand out, the
ledger of claims and the payouts.

The ledger's invariants are the database's, so they hold across threads, processes and
servers, whatever Python does:

- **never over budget** — ``reward_pool.spent_fen`` only grows by a conditional ``UPDATE …
  WHERE spent_fen + amount <= budget_fen``, and ``CHECK (spent_fen <= budget_fen)`` stops any
  other write;
- **never over a per-contact limit** — each claim takes the contact's next number
  (``reward_quota.claimed``, raised by a conditional update) as its ``seq``, with
  ``UNIQUE (pool_id, contact_id, seq)`` and ``CHECK (seq BETWEEN 1 AND contact_limit)``;
- **a coupon code or a lucky-draw share never issued twice** — ``reward_item.claim_id`` is
  ``UNIQUE`` and an item is taken by a conditional ``UPDATE … WHERE claim_id IS NULL``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

#: Kinds of pool.
KINDS = ("red_packet", "coupon")
#: How a red packet's amount is chosen: always the same, at random in a range, or a share of
#: a total split in advance (拼手气).
MODES = ("fixed", "random", "lucky")
#: A pool's state.
STATUSES = ("active", "paused", "ended")
#: A payout's state: waiting to be sent, paid, refused for good, or sent with no answer (asked
#: again before anything else is tried).
PAYOUT_STATUSES = ("pending", "paid", "failed", "unknown")


def _at(nullable: bool = False) -> sa.Column:
    return sa.Column(UTCDateTime(), nullable=nullable)


class RewardPool(SQLModel, table=True):
    """A pool of red packets or coupons with its budget, limits, window and eligibility."""

    __tablename__ = "reward_pool"
    __table_args__ = (sa.CheckConstraint("spent_fen >= 0 AND spent_fen <= budget_fen",
                                         name="ck_reward_pool_budget"),
                      sa.CheckConstraint("contact_limit >= 1", name="ck_reward_pool_limit"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    title: str = Field(default="", max_length=200)
    kind: str = Field(max_length=20)
    mode: str = Field(default="fixed", max_length=20)
    amount_fen: int = Field(default=0)      # fixed red packets; coupons: face value
    min_fen: int = Field(default=0)         # random red packets
    max_fen: int = Field(default=0)
    threshold_fen: int = Field(default=0)   # coupons: the order total that unlocks them
    coupon_days: int = Field(default=0)     # coupons: valid for this many days after claiming
    budget_fen: int = Field(default=0)
    spent_fen: int = Field(default=0)
    claims: int = Field(default=0)
    contact_limit: int = Field(default=1)
    daily_limit: int = Field(default=0)     # 0: no daily limit
    starts_at: datetime | None = Field(default=None, sa_column=_at(True))
    ends_at: datetime | None = Field(default=None, sa_column=_at(True))
    segment: str | None = Field(default=None, max_length=100)
    tag: str | None = Field(default=None, max_length=200)
    status: str = Field(default="active", max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    created_by: str = Field(default="", max_length=100)


class RewardItem(SQLModel, table=True):
    """One thing a pool hands out once: a coupon code, or a share of a lucky split."""

    __tablename__ = "reward_item"
    __table_args__ = (sa.UniqueConstraint("pool_id", "code", name="uq_reward_item_code"),
                      sa.Index("ix_reward_item_free", "pool_id", "claim_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    pool_id: int = Field(foreign_key="reward_pool.id", ondelete="CASCADE")
    amount_fen: int = Field(default=0)
    code: str | None = Field(default=None, max_length=64)
    claim_id: int | None = Field(default=None, sa_column_kwargs={"unique": True})


class RewardQuota(SQLModel, table=True):
    """How many times a contact has claimed from a pool, in all and on its latest day."""

    __tablename__ = "reward_quota"

    pool_id: int = Field(foreign_key="reward_pool.id", primary_key=True, ondelete="CASCADE")
    contact_id: int = Field(primary_key=True)
    claimed: int = Field(default=0)
    day: str = Field(default="", max_length=10)
    day_claimed: int = Field(default=0)


class RewardClaim(SQLModel, table=True):
    """The ledger: one row per reward granted."""

    __tablename__ = "reward_claim"
    __table_args__ = (
        sa.UniqueConstraint("pool_id", "contact_id", "seq", name="uq_reward_claim_seq"),
        sa.CheckConstraint("seq >= 1 AND seq <= contact_limit", name="ck_reward_claim_seq"),
        sa.CheckConstraint("amount_fen >= 0", name="ck_reward_claim_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pool_id: int = Field(foreign_key="reward_pool.id", index=True)
    contact_id: int = Field(index=True)
    seq: int
    contact_limit: int
    amount_fen: int = Field(default=0)
    item_id: int | None = Field(default=None, sa_column_kwargs={"unique": True})
    code: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = Field(default=None, sa_column=_at(True))
    redeemed_order_id: int | None = Field(default=None)
    redeemed_at: datetime | None = Field(default=None, sa_column=_at(True))
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=_at())
    source: str = Field(default="", max_length=64)


class RewardPayout(SQLModel, table=True):
    """Paying one red-packet claim through WeChat Pay; ``billno`` is the idempotency key."""

    __tablename__ = "reward_payout"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="reward_claim.id", sa_column_kwargs={"unique": True})
    billno: str = Field(max_length=28, sa_column_kwargs={"unique": True})
    amount_fen: int
    status: str = Field(default="pending", max_length=10, index=True)
    attempts: int = Field(default=0)
    err_code: str = Field(default="", max_length=64)
    message: str = Field(default="", max_length=500)
    send_listid: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_at())


TABLES = [RewardPool.__table__, RewardItem.__table__, RewardQuota.__table__,
          RewardClaim.__table__, RewardPayout.__table__]
