"""Tables of the risk plugin.

``risk_word`` is one sensitive word in one category: the word as written, its normalised form
(what screening compares, see :func:`siyu.plugins.risk.screen.normalise`), where it came from
and who added it. ``risk_word_version`` is a single row whose counter every change of the
words raises in the same transaction, so that a process holding a screen knows, with one
cheap read, whether the words changed since it built it.

``risk_dnc`` is the do-not-contact list: one row per contact who must receive no campaign
message. ``risk_event`` records every decision the risk checks make (a message blocked, held
or skipped), one row per delivery and rule; its ``dedupe`` key makes recording a decision
twice (a redelivered notice, a batch checked again after a crash) write it once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow

#: The longest word and category name, as :data:`siyu.plugins.risk.screen.MAX_WORD_LENGTH`
#: (not imported from there: that module loads the Aho-Corasick extension).
MAX_WORD = 50
#: Room for a normalised word: compatibility folding can make one character several
#: (``㍻`` is ``平成``), so the normalised form may be longer than the word.
MAX_NORMALISED = 500
#: ``source`` of a word added one at a time rather than imported from a file.
MANUAL = "manual"


class RiskWord(SQLModel, table=True):
    """A sensitive word in one category (the same word in two categories is two rows)."""

    __tablename__ = "risk_word"
    __table_args__ = (sa.UniqueConstraint("normalised", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    word: str = Field(max_length=MAX_WORD)
    normalised: str = Field(max_length=MAX_NORMALISED)
    category: str = Field(max_length=MAX_WORD, index=True)
    source: str = Field(default=MANUAL, max_length=255)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_by: str | None = Field(default=None, max_length=100)


class RiskWordVersion(SQLModel, table=True):
    """The one row (``id`` 1) counting changes of ``risk_word``."""

    __tablename__ = "risk_word_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)


#: The longest excerpt of a message an event keeps, and the longest reason.
MAX_EXCERPT = 200
MAX_REASON = 500
#: What a risk event decided.
DECISIONS = ("blocked", "held", "skipped")


class RiskDnc(SQLModel, table=True):
    """A contact on the do-not-contact list: campaigns skip them at launch and block a
    message to them at send time."""

    __tablename__ = "risk_dnc"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(sa_column=sa.Column(
        sa.Integer(), sa.ForeignKey("contact.id", ondelete="CASCADE"), nullable=False,
        unique=True))
    reason: str = Field(default="", max_length=200)
    added_at: datetime = Field(default_factory=utcnow,
                               sa_column=sa.Column(UTCDateTime(), nullable=False))
    added_by: str = Field(default="", max_length=100)


class RiskEvent(SQLModel, table=True):
    """One decision of a risk check about one delivery: ``blocked``, ``held`` (it waits
    until ``until``) or ``skipped`` (at launch)."""

    __tablename__ = "risk_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow,
                         sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    rule: str = Field(max_length=50, index=True)
    decision: str = Field(max_length=10)
    campaign_id: int | None = Field(default=None, index=True)
    delivery_id: int | None = Field(default=None, sa_column=sa.Column(
        sa.BigInteger(), nullable=True))
    contact_id: int | None = Field(default=None)
    staff: str | None = Field(default=None, max_length=64)
    excerpt: str = Field(default="", max_length=MAX_EXCERPT)
    reason: str = Field(default="", max_length=MAX_REASON)
    until: datetime | None = Field(default=None,
                                   sa_column=sa.Column(UTCDateTime(), nullable=True))
    #: ``<delivery>:<rule>:<decision>`` (a hold adds its time): one row per decision.
    dedupe: str = Field(max_length=120, sa_column_kwargs={"unique": True})


TABLES = (RiskWord.__table__, RiskWordVersion.__table__, RiskDnc.__table__,
          RiskEvent.__table__)
