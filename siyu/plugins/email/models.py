"""Tables of the e-mail plugin.

``email_unsubscribe`` holds one row per contact who asked for no more e-mail: the address the
message went to when they did, when, and how (``link``: the page's button, ``one-click``: the
mail client's RFC 8058 request, ``operator``: recorded by hand).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

#: The longest e-mail address (RFC 5321: 64 + 1 + 255, rounded as usual).
MAX_ADDRESS = 320


class EmailUnsubscribe(SQLModel, table=True):
    """A contact who unsubscribed from e-mail (at most one row per contact)."""

    __tablename__ = "email_unsubscribe"

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    address: str = Field(default="", max_length=MAX_ADDRESS)
    at: datetime = Field(default_factory=utcnow,
                         sa_column=sa.Column(UTCDateTime(), nullable=False))
    via: str = Field(default="link", max_length=20)


TABLES = (EmailUnsubscribe.__table__,)
