"""Tables of the WeCom plugin: every received callback, stored before it is processed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow


class WeComCallback(SQLModel, table=True):
    """One verified, decrypted callback. ``dedupe_key`` makes WeCom's retries no-ops.

    ``status`` is ``pending`` until the processor applied it (``done``), skipped it as stale
    or unknown (``ignored``) or gave up (``failed``, with ``error``).
    """

    __tablename__ = "wecom_callback"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255, sa_column_kwargs={"unique": True}, nullable=False)
    event: str = Field(max_length=64, index=True)
    change_type: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    received_at: datetime = Field(default_factory=utcnow,
                                  sa_column=sa.Column(UTCDateTime(), nullable=False))
    fields: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = Field(default=0)
    error: str = Field(default="", max_length=2000)
    processed_at: datetime | None = Field(default=None,
                                          sa_column=sa.Column(UTCDateTime(), nullable=True))


class WeComGroupChat(SQLModel, table=True):
    """A customer group chat (客户群) as WeCom last described it."""

    __tablename__ = "wecom_group_chat"

    chat_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=200)
    owner: str = Field(default="", max_length=64, index=True)
    notice: str = Field(default="", max_length=2000)
    member_version: str = Field(default="", max_length=64)
    members: int = Field(default=0)
    status: str = Field(default="active", max_length=20)
    created_at: datetime | None = Field(default=None,
                                        sa_column=sa.Column(UTCDateTime(), nullable=True))
    dismissed_at: datetime | None = Field(default=None,
                                          sa_column=sa.Column(UTCDateTime(), nullable=True))


class WeComGroupMember(SQLModel, table=True):
    """A member of a group chat: a staff member (type 1) or a customer (type 2)."""

    __tablename__ = "wecom_group_member"

    chat_id: str = Field(primary_key=True, max_length=64, foreign_key="wecom_group_chat.chat_id",
                         ondelete="CASCADE")
    member_id: str = Field(primary_key=True, max_length=64)
    type: int = Field(default=2)
    contact_id: int | None = Field(default=None, index=True)
    join_scene: int = Field(default=0)
    state: str = Field(default="", max_length=64)
    joined_at: datetime | None = Field(default=None,
                                       sa_column=sa.Column(UTCDateTime(), nullable=True))
    left_at: datetime | None = Field(default=None,
                                     sa_column=sa.Column(UTCDateTime(), nullable=True))


class WeComMassSend(SQLModel, table=True):
    """One add_msg_template call: a mass message one member (``sender``) must confirm."""

    __tablename__ = "wecom_mass_send"

    msgid: str = Field(primary_key=True, max_length=64)
    sender: str = Field(max_length=64, index=True)
    text: str = Field(default="", max_length=4000)
    recipients: int = Field(default=0)
    status: str = Field(default="waiting", max_length=20, index=True)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    checked_at: datetime | None = Field(default=None,
                                        sa_column=sa.Column(UTCDateTime(), nullable=True))


class WeComMassResult(SQLModel, table=True):
    """What became of one recipient of a mass message (WeCom's send_result status)."""

    __tablename__ = "wecom_mass_result"

    msgid: str = Field(primary_key=True, max_length=64,
                       foreign_key="wecom_mass_send.msgid", ondelete="CASCADE")
    external_userid: str = Field(primary_key=True, max_length=64)
    contact_id: int | None = Field(default=None, index=True)
    delivery_id: str = Field(default="", max_length=64)
    status: str = Field(default="pending", max_length=20, index=True)
    sent_at: datetime | None = Field(default=None,
                                     sa_column=sa.Column(UTCDateTime(), nullable=True))


class WeComCallbackRejection(SQLModel, table=True):
    """Requests to the public callback URL that were refused, counted per reason.

    One row per reason, not per request: anyone can post to the callback URL, so a row each
    would let them fill the database (see :mod:`siyu.plugins.wecom.rejections`). ``total``
    adds up every process's counts; ``sample_*`` describe the latest refusal written.
    """

    __tablename__ = "wecom_callback_rejection"

    reason: str = Field(primary_key=True, max_length=64)
    # 64-bit: a steady flood of 1,000 requests a second overflows 32 bits in 25 days.
    total: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    first_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    sample_ip: str = Field(default="", max_length=64)
    sample_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    sample_detail: str = Field(default="", max_length=200)


class WeComDepartment(SQLModel, table=True):
    """A department of the corp's address book as the last org sync read it, and the store
    it stands for (see :mod:`siyu.plugins.wecom.org_sync`).

    ``store_code`` stays once given, so a renamed department keeps its store; ``present`` is
    false once WeCom stopped listing the department.
    """

    __tablename__ = "wecom_department"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(default="", max_length=200)
    parentid: int = Field(default=0)
    level: int = Field(default=1)
    store_code: str | None = Field(default=None, max_length=64)
    present: bool = Field(default=True)
    seen_at: datetime = Field(default_factory=utcnow,
                              sa_column=sa.Column(UTCDateTime(), nullable=False))


class WeComMember(SQLModel, table=True):
    """A member of the address book the org sync has seen: what makes "no longer listed"
    mean "left" only for members WeCom once listed (staff added by hand stay as they are)."""

    __tablename__ = "wecom_member"

    userid: str = Field(primary_key=True, max_length=64)
    main_department: int | None = Field(default=None)
    status: int = Field(default=1)
    present: bool = Field(default=True)
    seen_at: datetime = Field(default_factory=utcnow,
                              sa_column=sa.Column(UTCDateTime(), nullable=False))
