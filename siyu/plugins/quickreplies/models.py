"""Table of the quick-replies plugin (Alembic history ``quickreplies``).

- ``quick_reply`` — one approved answer of the shared library (话术库): a text, or an image
  kept in the database itself (PNG or JPEG, so a SQLite file or a PostgreSQL schema holds the
  whole library), filed under a category and ordered within it, with how often staff sent it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

#: What a reply is.
KINDS = ("text", "image")
MAX_CATEGORY = 32
MAX_TITLE = 40
#: WeCom's text messages take at most 4000 bytes of UTF-8 (``text.content``); a reply is
#: also kept to 2000 characters, so it reads as one message on a phone.
MAX_TEXT = 2000
MAX_TEXT_BYTES = 4000
MAX_IMAGE_NAME = 100
#: Largest image kept (2 MB).
MAX_IMAGE_BYTES = 2 * 1024 * 1024


class QuickReplyRow(SQLModel, table=True):
    """One quick reply. Queries that list replies select columns by name and never
    ``image``, so a listing never loads the pictures."""

    __tablename__ = "quick_reply"
    __table_args__ = (
        sa.UniqueConstraint("category", "title", name="uq_quick_reply_category_title"),
        sa.Index("ix_quick_reply_category_position", "category", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(max_length=MAX_CATEGORY)
    title: str = Field(max_length=MAX_TITLE)
    kind: str = Field(default="text", max_length=10)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    image: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary(),
                                                                  nullable=True))
    image_name: str | None = Field(default=None, max_length=MAX_IMAGE_NAME)
    image_type: str | None = Field(default=None, max_length=20)
    image_size: int = Field(default=0)
    #: order within the category, from 1
    position: int = Field(default=1)
    enabled: bool = Field(default=True)
    use_count: int = Field(default=0)
    last_used_at: datetime | None = Field(default=None,
                                          sa_column=sa.Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str = Field(default="", max_length=100)
    updated_by: str = Field(default="", max_length=100)


TABLES = [QuickReplyRow.__table__]
