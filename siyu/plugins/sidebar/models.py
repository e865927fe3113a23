"""Tables of the chat sidebar plugin (Alembic history ``sidebar``).

- ``sidebar_session`` — a WeCom member signed in to the chat sidebar through WeCom's OAuth:
  the hash of the random token in their signed cookie (never the token), who they are and
  until when the session lasts.
- ``sidebar_media`` — the WeCom media id of each quick-reply image, so an image is uploaded
  once per version and three days (temporary media expire then), not once per send.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow


class SidebarSession(SQLModel, table=True):
    """A guide's sign-in to the chat sidebar."""

    __tablename__ = "sidebar_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    userid: str = Field(max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow,
                                   sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class SidebarMedia(SQLModel, table=True):
    """The uploaded WeCom media of one version of a quick-reply image."""

    __tablename__ = "sidebar_media"

    reply_id: int = Field(primary_key=True)
    #: The reply's ``updated_at`` when the image was uploaded: an edited reply uploads anew.
    version: str = Field(max_length=40)
    media_id: str = Field(max_length=200)
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


TABLES = [SidebarSession.__table__, SidebarMedia.__table__]
