"""Tables of the connectors plugin (Alembic history ``connectors``).

- ``connector`` — one configured source: its kind (``rest``, ``sql``…), settings, secrets
  (kept apart: never read back by the console, the CLI or ``connectors.get``), the field
  mapping per entity, and how often it runs.
- ``connector_cursor`` — where each entity of a connector stands in its source; written in
  the transaction that stores the records it passed, so it never runs ahead of them.
- ``connector_run`` — one sync of one entity: when, how it ended, what it stored, and the
  records it could not store and why (the first :data:`MAX_PROBLEMS`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

#: How a run ended: still going (or killed while it ran), every page stored, stopped by an
#: error after storing what came before it.
RUN_STATUSES = ("running", "ok", "failed")
#: Problems kept per run (the counts are always complete).
MAX_PROBLEMS = 200
MAX_ERROR = 2000


class Connector(SQLModel, table=True):
    """A configured source of orders and members."""

    __tablename__ = "connector"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    kind: str = Field(max_length=32)
    title: str = Field(default="", max_length=200)
    entities: str = Field(default="orders", max_length=100)  # comma-separated
    settings: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    secrets: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: ``{"orders": {"external_id": "order_id", …}, "members": {…}}``
    mapping: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: Minutes between scheduled runs; 0 runs only by hand.
    every_minutes: int = Field(default=60)
    enabled: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="", max_length=100)


class ConnectorCursor(SQLModel, table=True):
    """Where one entity of a connector stands in its source."""

    __tablename__ = "connector_cursor"

    connector_id: int = Field(sa_column=sa.Column(
        sa.Integer(), sa.ForeignKey("connector.id", ondelete="CASCADE"), primary_key=True))
    entity: str = Field(sa_column=sa.Column(sa.String(20), primary_key=True))
    cursor: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class ConnectorRun(SQLModel, table=True):
    """One sync of one entity of a connector."""

    __tablename__ = "connector_run"

    id: int | None = Field(default=None, primary_key=True)
    connector_id: int = Field(sa_column=sa.Column(
        sa.Integer(), sa.ForeignKey("connector.id", ondelete="CASCADE"), nullable=False,
        index=True))
    entity: str = Field(max_length=20)
    status: str = Field(default="running", max_length=10)
    trigger: str = Field(default="hand", max_length=10)  # hand, schedule
    started_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None,
                                         sa_column=sa.Column(UTCDateTime(), nullable=True))
    #: when the run last stored a page: a ``running`` run silent for long was interrupted
    heartbeat_at: datetime = Field(default_factory=utcnow,
                                   sa_column=sa.Column(UTCDateTime(), nullable=False))
    pages: int = Field(default=0)
    records: int = Field(default=0)
    created: int = Field(default=0)
    updated: int = Field(default=0)
    unchanged: int = Field(default=0)
    skipped: int = Field(default=0)
    #: customers left for a person to match (the identity queue)
    queued: int = Field(default=0)
    error: str = Field(default="", max_length=MAX_ERROR)
    #: ``[{"record": n, "field": f, "value": v, "reason": r}, …]`` (the first few)
    problems: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    started_by: str = Field(default="", max_length=100)
    #: where the run's process runs: a ``running`` run whose process on this host is gone
    #: was interrupted (a kill, a crash), whatever its heartbeat says
    host: str = Field(default="", max_length=255)
    pid: int = Field(default=0)


#: Why a record waits in the identity queue: its keys point at two contacts, or at a contact
#: that is already another member (``conflict``); an order's buyer matched no contact
#: (``unmatched``).
QUEUE_REASONS = ("conflict", "unmatched")
QUEUE_STATUSES = ("open", "resolved", "dismissed")


class IdentityQueueItem(SQLModel, table=True):
    """A source customer siyu could not match to one contact by itself, waiting for a person.

    ``key`` identifies the customer within its source (``member:M001``, ``phone:138…``), so a
    customer seen again on the next run adds to its open item instead of queueing twice.
    """

    __tablename__ = "identity_queue"
    __table_args__ = (sa.Index("ix_identity_queue_open", "source", "key", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    entity: str = Field(max_length=20)  # members, orders
    key: str = Field(max_length=200)
    reason: str = Field(max_length=20)
    status: str = Field(default="open", max_length=20, index=True)
    member_id: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    unionid: str | None = Field(default=None, max_length=64)
    external_userid: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=200)
    #: contact ids the keys pointed at (a conflict's)
    candidates: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: a member: its mapped fields, imported when resolved; a buyer: its order numbers
    record: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    detail: str = Field(default="", max_length=500)
    seen: int = Field(default=1)
    contact_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None,
                                         sa_column=sa.Column(UTCDateTime(), nullable=True))
    resolved_by: str = Field(default="", max_length=100)


class IdentityLink(SQLModel, table=True):
    """A match siyu or a person made between a source customer and a contact: the member
    number put on the contact and the orders given to it, kept so the match can be undone."""

    __tablename__ = "identity_link"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(index=True)
    source: str = Field(max_length=64)
    how: str = Field(max_length=10)  # auto, manual
    #: the key that found the contact (unionid, phone, external_userid) or "hand"
    matched_by: str = Field(max_length=20)
    member_id: str | None = Field(default=None, max_length=64)
    #: the contact's member number before the link (restored by an undo)
    previous_member_id: str | None = Field(default=None, max_length=64)
    #: ids of the orders the link gave to the contact
    orders: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    queue_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="", max_length=100)
    undone_at: datetime | None = Field(default=None,
                                       sa_column=sa.Column(UTCDateTime(), nullable=True))
    undone_by: str = Field(default="", max_length=100)


TABLES = [Connector.__table__, ConnectorCursor.__table__, ConnectorRun.__table__,
          IdentityQueueItem.__table__, IdentityLink.__table__]
