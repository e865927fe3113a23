"""Counts for the WeCom status line and console page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from siyu.plugins.wecom.models import WeComCallback, WeComCallbackRejection

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace


def callback_counts(ws: Workspace) -> dict[str, int]:
    """Stored callbacks by status (``pending``, ``processing``, ``done``, ``ignored``,
    ``failed``), then ``rejected``: requests the receiver refused (bad signature, stale,
    too large…), which are counted, not stored; a running server writes its count every
    few seconds (:mod:`siyu.plugins.wecom.rejections`)."""
    table = WeComCallback.__table__
    refused = WeComCallbackRejection.__table__
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.status, sa.func.count())
                            .group_by(table.c.status)).all()
        rejected = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(refused.c.total), 0))
                                ).scalar()
    counts = {"pending": 0, "processing": 0, "done": 0, "ignored": 0, "failed": 0}
    counts.update({status: n for status, n in rows})
    counts["rejected"] = int(rejected or 0)
    return counts
