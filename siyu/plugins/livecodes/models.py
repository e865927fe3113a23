"""Tables of the live-code plugin.

``live_code`` is one WeCom 「联系我」 code with its routing and welcome settings;
``live_code_member`` the staff it routes to; ``live_code_day`` per-member adds per local day
(what daily caps and least-loaded routing read); ``live_code_add`` one row per arrival.

Group codes (「加入群聊」 join ways): ``live_group_code`` one join way with its rotation
thresholds; ``live_group_chat`` the groups it uses, holds in its pool or has retired;
``live_group_join`` one customer joining (and later leaving) through it; ``live_code_invite``
a staff code whose welcome invites new customers into a group code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

STRATEGIES = ("round_robin", "weighted", "least_loaded", "schedule")
STATUSES = ("active", "paused", "deleted")
#: A change sent to WeCom is recorded before the call and settled after it (never inside a
#: transaction that is open during the call): ``pending`` names it (:data:`PENDING`),
#: ``pending_state`` is ``intent`` while the call may be under way and ``unknown`` once its
#: answer was lost; ``pending_change`` is what to store when WeCom took it; ``pending_by`` and
#: ``pending_at`` say who asked and when. All empty when nothing is pending.
PENDING_COLUMNS = ("pending", "pending_state", "pending_change", "pending_by", "pending_at")
PENDING = ("create", "update", "pause", "resume", "relist", "rotate", "delete")


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable,
                                                   index=index))


class LiveCode(SQLModel, table=True):
    """A staff live code.

    ``listed`` is the member list WeCom currently has for the code; ``next_change_at`` the
    next moment the plan changes without an arrival (a shift boundary, local midnight for a
    daily cap), which the shift job looks up by index. The ``pending*`` columns hold a change
    sent to WeCom whose outcome is not recorded yet (see :data:`PENDING_COLUMNS`).
    """

    __tablename__ = "live_code"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    state: str = Field(default="", max_length=30, index=True)
    config_id: str = Field(default="", max_length=64)
    qr_url: str = Field(default="", max_length=500)
    strategy: str = Field(default="round_robin", max_length=20)
    channel: str = Field(default="", max_length=100)
    tags: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    remark_template: str = Field(default="", max_length=200)
    welcome: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    backup: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    daily_cap: int | None = Field(default=None)
    round_cap: int | None = Field(default=None)
    status: str = Field(default="active", max_length=20, index=True)
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True,
                                 ondelete="SET NULL")
    listed: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    next_change_at: datetime | None = _ts(index=True)
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    pending: str = Field(default="", max_length=10)
    pending_state: str = Field(default="", max_length=10)
    pending_change: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    pending_by: str = Field(default="", max_length=64)
    pending_at: datetime | None = _ts()


class LiveCodeMember(SQLModel, table=True):
    """A staff member a code routes to. ``round_adds`` counts adds in the current round."""

    __tablename__ = "live_code_member"

    code_id: int = Field(foreign_key="live_code.id", primary_key=True, ondelete="CASCADE")
    userid: str = Field(primary_key=True, max_length=64)
    position: int = Field(default=0)
    weight: int = Field(default=1)
    daily_cap: int | None = Field(default=None)
    slots: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    round_adds: int = Field(default=0)


class LiveCodeDay(SQLModel, table=True):
    """Adds one member received from one code on one local day."""

    __tablename__ = "live_code_day"

    code_id: int = Field(foreign_key="live_code.id", primary_key=True, ondelete="CASCADE")
    userid: str = Field(primary_key=True, max_length=64)
    day: str = Field(primary_key=True, max_length=10)
    adds: int = Field(default=0)


class LiveCodeAdd(SQLModel, table=True):
    """One customer arriving through a live code (``code_id`` is empty for an unknown state).

    ``welcome`` is ``pending`` until handled, then ``sent``, ``failed`` or ``none`` with a
    ``reason``: message keys and their values as JSON, turned into text in the reader's
    language by ``engine.note_text`` (rows written before that hold plain English text, shown
    as it is); ``latency_ms`` runs from the add event to WeCom accepting the welcome.
    """

    __tablename__ = "live_code_add"
    __table_args__ = (sa.UniqueConstraint("state", "contact_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    code_id: int | None = Field(default=None, foreign_key="live_code.id", index=True,
                                ondelete="SET NULL")
    state: str = Field(default="", max_length=30)
    contact_id: int | None = Field(default=None, index=True)
    userid: str = Field(default="", max_length=64)
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    welcome: str = Field(default="pending", max_length=10)
    reason: str = Field(default="", max_length=500)
    latency_ms: int | None = Field(default=None)


TABLES = (LiveCode.__table__, LiveCodeMember.__table__, LiveCodeDay.__table__,
          LiveCodeAdd.__table__)


# -- group live codes (群活码) ---------------------------------------------------------------

GROUP_CHAT_ROLES = ("in_use", "pool", "retired")


class LiveGroupCode(SQLModel, table=True):
    """A group live code: one WeCom 「加入群聊」 join way over at most five customer groups.

    ``warn_at`` and ``rotate_at`` are member counts (staff included, as WeCom counts them): a
    group in use that reaches ``warn_at`` raises a ``warning``; one that reaches ``rotate_at``
    is taken out of the join way and replaced by a fresh group from the pool. With
    ``auto_create_room`` WeCom itself opens ``room_base_name`` + ``room_base_id`` (then the
    next number) when every group of the way is full.
    """

    __tablename__ = "live_group_code"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    state: str = Field(default="", max_length=30, index=True)
    config_id: str = Field(default="", max_length=64)
    qr_url: str = Field(default="", max_length=500)
    auto_create_room: bool = Field(default=True)
    room_base_name: str = Field(default="", max_length=40)
    room_base_id: int = Field(default=1)
    warn_at: int = Field(default=180)
    rotate_at: int = Field(default=190)
    tags: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    status: str = Field(default="active", max_length=20, index=True)
    #: Message keys and their values as JSON, read back as text in the reader's language by
    #: ``groups.warning_text`` (older rows: plain English text).
    warning: str = Field(default="", max_length=1000)
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    pending: str = Field(default="", max_length=10)
    pending_state: str = Field(default="", max_length=10)
    pending_change: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    pending_by: str = Field(default="", max_length=64)
    pending_at: datetime | None = _ts()


class LiveGroupChat(SQLModel, table=True):
    """A customer group of a group code: ``in_use`` (on the join way, in ``position``
    order), ``pool`` (fresh, waiting to rotate in) or ``retired`` (rotated out)."""

    __tablename__ = "live_group_chat"

    code_id: int = Field(foreign_key="live_group_code.id", primary_key=True,
                         ondelete="CASCADE")
    chat_id: str = Field(primary_key=True, max_length=64, index=True)
    role: str = Field(default="in_use", max_length=10)
    position: int = Field(default=0)
    changed_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class LiveGroupJoin(SQLModel, table=True):
    """One customer joining a group through a group code (``code_id`` is empty for an
    unknown ``gl:`` state); ``left_at`` is set when they leave the group."""

    __tablename__ = "live_group_join"
    __table_args__ = (sa.UniqueConstraint("chat_id", "member_id", "joined_at"),)

    id: int | None = Field(default=None, primary_key=True)
    code_id: int | None = Field(default=None, foreign_key="live_group_code.id", index=True,
                                ondelete="SET NULL")
    state: str = Field(default="", max_length=30)
    chat_id: str = Field(max_length=64, index=True)
    member_id: str = Field(max_length=64)
    contact_id: int | None = Field(default=None, index=True)
    join_scene: int = Field(default=0)
    joined_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    left_at: datetime | None = _ts()


class LiveCodeInvite(SQLModel, table=True):
    """A staff live code whose new customers get a group code's QR in their welcome."""

    __tablename__ = "live_code_invite"

    code_id: int = Field(foreign_key="live_code.id", primary_key=True, ondelete="CASCADE")
    group_code_id: int = Field(foreign_key="live_group_code.id", index=True,
                               ondelete="CASCADE")


GROUP_TABLES = (LiveGroupCode.__table__, LiveGroupChat.__table__, LiveGroupJoin.__table__,
                LiveCodeInvite.__table__)
TABLES = TABLES + GROUP_TABLES
