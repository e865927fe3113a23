"""Tables of the transfers plugin.

``transfer_plan`` is one hand-over decided by a user: a departing member (``handover``), how
their customers were split over the successors, and the message customers get. Each customer
of it is one ``transfer_item`` row, which carries the customer through the states of a
WeCom transfer:

- ``planned`` — decided, not sent to WeCom yet;
- ``requested`` — about to be sent (committed before the call, so a crash leaves a trace);
- ``waiting`` — WeCom accepted it: the successor takes over after 24 hours;
- ``taken_over`` — done: the successor serves the customer (owner changed);
- ``refused`` — the customer refused (``customer_refused``);
- ``limit_exceeded`` — the successor's customer list is full (``customer_limit_exceed``), or
  the customer was already handed over twice in 90 days (checked before calling WeCom);
- ``failed`` — WeCom refused the request (``errcode`` and ``reason`` say why);
- ``unknown`` — the request may have reached WeCom but its answer was lost: reconciled
  through ``transfer_result``, never sent again blindly.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

#: Every state of a transfer item, in the order of the life of a transfer.
STATUSES = ("planned", "requested", "waiting", "taken_over", "refused", "limit_exceeded",
            "failed", "unknown")
#: States WeCom may still change (``transfer_result`` is asked about them).
OPEN = ("requested", "waiting", "unknown")
#: States after which nothing changes any more.
FINAL = ("taken_over", "refused", "limit_exceeded", "failed")
#: The two kinds of transfer: 在职继承 and 离职继承.
KINDS = ("onjob", "resigned")
#: How a plan splits the customers over the successors.
SPLITS = ("even", "store", "manual")
MAX_REASON = 500


class TransferPlan(SQLModel, table=True):
    """A departing member's customers, split over successors."""

    __tablename__ = "transfer_plan"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    handover: str = Field(max_length=64, index=True)
    successors: str = Field(default="", max_length=2000)  # userids, comma-separated
    split: str = Field(default="even", max_length=10)
    message: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="", max_length=100)


class TransferItem(SQLModel, table=True):
    """One customer of a plan, handed from ``handover`` to ``takeover``."""

    __tablename__ = "transfer_item"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(sa_column=sa.Column(
        sa.Integer(), sa.ForeignKey("transfer_plan.id", ondelete="CASCADE"), nullable=False,
        index=True))
    kind: str = Field(max_length=10)
    external_userid: str = Field(max_length=64, index=True)
    contact_id: int | None = Field(default=None, index=True)
    handover: str = Field(max_length=64)
    takeover: str = Field(max_length=64)
    status: str = Field(default="planned", max_length=20, index=True)
    errcode: int | None = Field(default=None)
    reason: str = Field(default="", max_length=MAX_REASON)
    requested_at: datetime | None = Field(default=None,
                                          sa_column=sa.Column(UTCDateTime(), nullable=True))
    #: when WeCom hands the customer over (waiting), or did (taken_over)
    takeover_at: datetime | None = Field(default=None,
                                         sa_column=sa.Column(UTCDateTime(), nullable=True))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))


TABLES = (TransferPlan.__table__, TransferItem.__table__)
