"""Tables of the risk plugin.

``risk_word`` is one sensitive word in one category: the word as written, its normalised form
(what screening compares, see :func:`siyu.plugins.risk.screen.normalise`), where it came from
and who added it. ``risk_word_version`` is a single row whose counter every change of the
words raises in the same transaction, so that a process holding a screen knows, with one
cheap read, whether the words changed since it built it.
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


TABLES = (RiskWord.__table__, RiskWordVersion.__table__)
