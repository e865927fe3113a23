"""Counts for the WeCom status line and console page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.plugins.wecom.models import WeComCallback

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace


def callback_counts(ws: Workspace) -> dict[str, int]:
    """Stored callbacks by status (``pending``, ``processing``, ``done``, ``ignored``,
    ``failed``)."""
    table = WeComCallback.__table__
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.status, sa.func.count())
                            .group_by(table.c.status)).all()
    counts = {"pending": 0, "processing": 0, "done": 0, "ignored": 0, "failed": 0}
    counts.update({status: n for status, n in rows})
    return counts
