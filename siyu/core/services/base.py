"""What every service shares: the workspace, time handling and the pandas door."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from siyu.core.errors import ValidationError, listing
from siyu.core.i18n import LANGUAGES, normalize_language
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sqlmodel import Session

    from siyu.core.workspace import Workspace


class Service:
    """Base class: holds the workspace."""

    def __init__(self, ws: Workspace):
        self.ws = ws

    @contextmanager
    def _tx(self, session: Session | None) -> Iterator[Session]:
        """The caller's session (its transaction, committed by the caller), or a session of
        its own committed at the end of the block."""
        if session is not None:
            yield session
            return
        with self.ws.session() as own:
            yield own

    def _read_df(self, query: sa.Select, time_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """Run ``query`` and return a DataFrame with times in the workspace timezone."""
        import pandas as pd  # here, not at the top: the CLI's commands mostly need no pandas

        with self.ws.engine.connect() as conn:
            result = conn.execute(query)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        tz = self.ws.timezone
        for column in time_columns:
            if column in frame:
                frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
        return frame


def as_utc(value: datetime | date | str | None, tz: ZoneInfo) -> datetime | None:
    """Turn a user-given time into aware UTC.

    Naive datetimes and dates are read in the workspace timezone ``tz`` (a date means its
    midnight); strings are parsed as ISO 8601.

    :raises ValidationError: the string is not a date or time.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValidationError(_("{value!r} is not a date or time (use 2026-11-25 or "
                                    "2026-11-25T10:30)", value=value)) from exc
    # A pandas Timestamp can only exist once pandas is imported; never import it just to ask.
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def checked_language(value: str) -> str:
    """``value`` as a language siyu ships (``"zh"`` → ``"zh_CN"``, see
    :func:`siyu.core.i18n.normalize_language`).

    :raises ValidationError: for a language siyu does not ship, naming the ones it does.
    """
    try:
        return normalize_language(value)
    except ValueError:
        raise ValidationError(_("unknown language {value!r}; use one of: {languages}",
                                value=value, languages=listing(LANGUAGES))) from None


def first(rows: Any) -> Any:
    """The first row or ``None``."""
    for row in rows:
        return row
    return None
