"""What the risk plugin decides when a campaign launches (and in its preview): the
do-not-contact list as a skip and quiet hours as a delay, both applied by the core in SQL to
the whole audience (``launch_rules``); and the events of the skips, recorded when the launch's
``on_delivery`` notices arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.records import LaunchRule
from siyu.plugins.risk import journal, limits
from siyu.plugins.risk.models import RiskDnc
from siyu.plugins.risk.rules import DNC, DNC_SKIP, QUIET_DELAY, QUIET_HOURS

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace


def launch_rules(ws: Workspace, now: datetime) -> list[LaunchRule]:
    """The skip of the contacts on the do-not-contact list, and — when ``now`` is inside
    quiet hours — a delay of everyone until they end.

    :raises ValidationError: the quiet-hours setting is malformed (written by hand).
    """
    rules = [LaunchRule(DNC, DNC_SKIP, contacts=sa.select(RiskDnc.__table__.c.contact_id))]
    quiet = limits.quiet_hours(ws)
    end = quiet.end_of(now, ws.timezone) if quiet is not None else None
    if end is not None:
        rules.append(LaunchRule(QUIET_HOURS, QUIET_DELAY, until=end))
    return rules


def record_skip(ws: Workspace, delivery: Any, status: str) -> bool:
    """``on_delivery``: a delivery the launch skipped for the do-not-contact list has its
    campaign's skips recorded (all at once, the first time; see
    :func:`~siyu.plugins.risk.journal.record_launch_skips`); ``False`` for any other
    change. A notice delivered again records nothing twice."""
    if status != "skipped" or getattr(delivery, "reason", None) != DNC_SKIP:
        return False
    journal.record_launch_skips(ws, delivery.campaign_id)
    return True
