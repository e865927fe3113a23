"""Tables of the robots plugin.

``robot`` is one group robot the operator registered: its unique name (the ``robot``
channel's target key), its kind (``wecom``, ``feishu``, ``dingtalk``…), its webhook URL (which
holds the provider's key), an optional signing secret, who added it and when, and how its
last send went. ``robot_send`` is the send log the per-robot rate limit counts: one row per
call, written and committed before the call, so every process sees it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

#: The longest robot name.
MAX_NAME = 50
#: The longest webhook URL.
MAX_URL = 1000
#: The longest error kept in ``robot.last_error``.
MAX_ERROR = 500


class Robot(SQLModel, table=True):
    """A group robot messages can be sent to."""

    __tablename__ = "robot"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_robot_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=MAX_NAME)
    kind: str = Field(max_length=20)
    url: str = Field(max_length=MAX_URL)
    secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str | None = Field(default=None, max_length=100)
    last_sent_at: datetime | None = Field(default=None,
                                          sa_column=sa.Column(UTCDateTime(), nullable=True))
    last_error: str | None = Field(default=None, max_length=MAX_ERROR)
    last_error_at: datetime | None = Field(default=None,
                                           sa_column=sa.Column(UTCDateTime(), nullable=True))


class RobotSend(SQLModel, table=True):
    """One call to a robot (made or about to be made): what the rate limit counts."""

    __tablename__ = "robot_send"
    __table_args__ = (sa.Index("ix_robot_send_robot_sent_at", "robot", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    robot: str = Field(max_length=MAX_NAME)
    sent_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


TABLES = (Robot.__table__, RobotSend.__table__)
