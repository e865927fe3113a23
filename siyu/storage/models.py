"""The core tables. Plugins add their own through ``register_models``.

Money is integer fen (分). Times are timezone-aware UTC (:class:`UTCDateTime`). Phone
numbers are stored normalised (``13800000001``) and leave the services masked unless the
acting role may see them (see :mod:`siyu.core.pii`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow


def _ts(nullable: bool = True, index: bool = False, default=None) -> Any:
    return Field(default=default, sa_column=sa.Column(UTCDateTime(), nullable=nullable,
                                                      index=index))


def _created() -> Any:
    return Field(default_factory=utcnow,
                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class Setting(SQLModel, table=True):
    """Workspace settings (name, timezone, plugin settings), one JSON value per key."""

    key: str = Field(primary_key=True, max_length=200)
    value: Any = Field(default=None, sa_column=sa.Column(sa.JSON))


class Store(SQLModel, table=True):
    """A physical or online store; orders, staff and contacts attribute to it."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(max_length=200)
    region: str = Field(default="", max_length=100)
    city: str = Field(default="", max_length=100)
    created_at: datetime = _created()


class Staff(SQLModel, table=True):
    """A staff member (a WeCom member who serves customers)."""

    id: int | None = Field(default=None, primary_key=True)
    userid: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(max_length=200)
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True,
                                 ondelete="SET NULL")
    status: str = Field(default="active", max_length=20)
    created_at: datetime = _created()


class Contact(SQLModel, table=True):
    """A customer in the private domain (a WeCom external contact, or an imported member)."""

    __table_args__ = (sa.Index("ix_contact_channel_removed", "source_channel", "removed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    external_userid: str | None = Field(default=None, max_length=64,
                                        sa_column_kwargs={"unique": True})
    unionid: str | None = Field(default=None, max_length=64, index=True)
    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20, index=True)
    gender: int = Field(default=0)
    city: str = Field(default="", max_length=100)
    owner_id: int | None = Field(default=None, foreign_key="staff.id", index=True,
                                 ondelete="SET NULL")
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True,
                                 ondelete="SET NULL")
    source_channel: str = Field(default="", max_length=100, index=True)
    remark: str = Field(default="", max_length=200)
    added_at: datetime | None = _ts(index=True)
    removed_at: datetime | None = _ts(index=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class TagGroup(SQLModel, table=True):
    """A group of tags. ``kind`` is ``manual``, ``auto`` (rule-applied) or ``plugin``."""

    __tablename__ = "tag_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True}, nullable=False)
    kind: str = Field(default="manual", max_length=20)
    source: str = Field(default="", max_length=100)
    wecom_group_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


class Tag(SQLModel, table=True):
    """A tag inside a group; contacts carry tags through :class:`ContactTag`."""

    __table_args__ = (sa.UniqueConstraint("group_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="tag_group.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    wecom_tag_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


class ContactTag(SQLModel, table=True):
    """A tag on a contact, with who put it there."""

    __tablename__ = "contact_tag"

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, index=True,
                        ondelete="CASCADE")
    source: str = Field(default="manual", max_length=100)
    created_at: datetime = _created()


class Event(SQLModel, table=True):
    """One step of a customer journey. ``dedupe_key`` makes a replayed event a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64, index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True,
                                   ondelete="CASCADE")
    occurred_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False,
                                                      index=True))
    dedupe_key: str = Field(max_length=255, sa_column_kwargs={"unique": True}, nullable=False)
    source: str = Field(default="", max_length=100)
    payload: Any = Field(default=None, sa_column=sa.Column(sa.JSON))


class Order(SQLModel, table=True):
    """An order from a connector or an import; ``(source, external_id)`` is unique."""

    __tablename__ = "orders"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(default="import", max_length=64)
    external_id: str = Field(max_length=128)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True,
                                   ondelete="SET NULL")
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True,
                                 ondelete="SET NULL")
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True,
                                 ondelete="SET NULL")
    amount_fen: int = Field(default=0)
    status: str = Field(default="paid", max_length=20)
    paid_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    buyer_phone: str | None = Field(default=None, max_length=20, index=True)
    buyer_unionid: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


CORE_TABLES = tuple(m.__table__ for m in (Setting, Store, Staff, Contact, TagGroup, Tag,
                                          ContactTag, Event, Order))


class JobRun(SQLModel, table=True):
    """One run of a scheduled job: when, how it ended, and what it said."""

    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200, index=True)
    started_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = _ts()
    status: str = Field(default="running", max_length=20)
    message: str = Field(default="", max_length=2000)


CORE_TABLES = CORE_TABLES + (JobRun.__table__,)


class User(SQLModel, table=True):
    """A console user. ``password_hash`` is scrypt (see :mod:`siyu.core.passwords`)."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True}, nullable=False)
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=300)
    disabled: bool = Field(default=False)
    failed_logins: int = Field(default=0)
    last_failed_at: datetime | None = _ts()
    last_login_at: datetime | None = _ts()
    locked_until: datetime | None = _ts()
    created_at: datetime = _created()


class ConsoleSession(SQLModel, table=True):
    """A console sign-in. The browser holds a random token in a signed cookie; the table
    keeps only its SHA-256, so reading the database does not yield usable sessions."""

    __tablename__ = "console_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_name: str = Field(max_length=100, index=True)
    address: str = Field(default="", max_length=64)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = _ts()


class AuditLog(SQLModel, table=True):
    """Who changed what, when, on what. Written for every state-changing action."""

    __tablename__ = "audit_log"
    # "How many searches did this user run in the last minute" (contact search rate limit).
    __table_args__ = (sa.Index("ix_audit_log_actor_action_at", "actor", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=100, index=True)
    action: str = Field(max_length=100, index=True)
    target: str = Field(default="", max_length=300)
    detail: Any = Field(default=None, sa_column=sa.Column(sa.JSON))


CORE_TABLES = CORE_TABLES + (User.__table__, AuditLog.__table__)
