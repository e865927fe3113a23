"""Tables of the leaderboards plugin (Alembic history ``leaderboards``).

- ``leaderboard`` — one board: what it ranks (metric), by what (dimension), over which days
  (period), with optional filters and how many places it shows.
- ``leaderboard_daily`` — the aggregate rankings are read from: per day (in the workspace
  timezone), order source, store and staff, the paid amount net of refunds, the paid orders
  and the contacts added. Store or staff ``0`` means "none".
- ``leaderboard_contact_daily`` — the same per day, source, store and buying contact; kept
  only while a board ranks contacts.
- ``leaderboard_watermark`` — per aggregate, the highest ``orders.id`` / ``contact.id``
  already counted, and the timezone its days are in.
- ``leaderboard_gap`` — PostgreSQL only: ids below a watermark whose rows were not visible
  yet when it moved (a transaction still running), looked at again until that transaction
  ended.
- ``leaderboard_applied`` — the ``on_order_changed`` deliveries already applied.
- ``leaderboard_snapshot`` — a board's ranking as it stood at the end of a period.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

METRICS = ("sales_fen", "orders", "new_contacts")
DIMENSIONS = ("store", "staff", "region", "contact")
PERIODS = ("today", "this_week", "this_month", "window")


class Leaderboard(SQLModel, table=True):
    """A ranking of stores, staff, regions or contacts over a period."""

    __tablename__ = "leaderboard"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    title: str = Field(default="", max_length=200)
    metric: str = Field(max_length=20)
    dimension: str = Field(max_length=20)
    period: str = Field(max_length=20)
    #: a ``window`` board's first and last day (inclusive, workspace timezone)
    start_day: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    end_day: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    #: order sources counted (``None``: all)
    sources: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: store codes counted (``None``: all)
    stores: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    top: int = Field(default=20)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class LeaderboardDaily(SQLModel, table=True):
    """Per day, source, store and staff: what the rankings sum."""

    __tablename__ = "leaderboard_daily"

    day: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    source: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    staff_id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    sales_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    orders: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    new_contacts: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))


class LeaderboardContactDaily(SQLModel, table=True):
    """Per day, source, store and buying contact: what contact rankings sum."""

    __tablename__ = "leaderboard_contact_daily"

    day: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    source: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    contact_id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True))
    sales_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    orders: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))


class LeaderboardWatermark(SQLModel, table=True):
    """How far one aggregate has counted its source table."""

    __tablename__ = "leaderboard_watermark"

    name: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    last_id: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    timezone: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class LeaderboardGap(SQLModel, table=True):
    """Ids ``lo``–``hi`` below a watermark not yet seen (PostgreSQL: a transaction that had
    taken them was still running); closed once every transaction running then has ended."""

    __tablename__ = "leaderboard_gap"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=32, index=True)
    lo: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    hi: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    #: the first transaction id not yet started when the gap was seen
    xid_after: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class LeaderboardApplied(SQLModel, table=True):
    """An ``on_order_changed`` delivery already applied (redeliveries are skipped)."""

    __tablename__ = "leaderboard_applied"

    delivery_id: str = Field(sa_column=sa.Column(sa.String(100), primary_key=True))
    at: datetime = Field(default_factory=utcnow,
                         sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


class LeaderboardSnapshot(SQLModel, table=True):
    """A board's ranking at the end of one period."""

    __tablename__ = "leaderboard_snapshot"
    __table_args__ = (sa.UniqueConstraint("leaderboard_id", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    leaderboard_id: int = Field(sa_column=sa.Column(
        sa.Integer(), sa.ForeignKey("leaderboard.id", ondelete="CASCADE"), nullable=False,
        index=True))
    period_start: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    period_end: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    #: ``[{"rank": 1, "key": "SH001", "name": "…", "value": 128800}, …]``
    rows: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    taken_at: datetime = Field(default_factory=utcnow,
                               sa_column=sa.Column(UTCDateTime(), nullable=False))
    taken_by: str = Field(default="", max_length=100)


TABLES = [Leaderboard.__table__, LeaderboardDaily.__table__,
          LeaderboardContactDaily.__table__, LeaderboardWatermark.__table__,
          LeaderboardGap.__table__, LeaderboardApplied.__table__,
          LeaderboardSnapshot.__table__]
