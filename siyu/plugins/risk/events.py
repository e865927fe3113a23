"""The notebook door to risk events: what the checks blocked, held and skipped, and a daily
summary next to the messages sent.

    from siyu.plugins.risk import events
    events.events(ws, since="2026-11-01", rule="dnc")
    events.daily_summary(ws, days=14)

Reading needs ``data.read``; phones are masked unless ``reveal_pii`` (needs ``pii.view``).
Times are in the workspace timezone; days are its calendar days. Before reading, the
launch-time quiet-hours delays not recorded yet are recorded (see
:func:`siyu.plugins.risk.journal.record_launch_delays`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ValidationError, listing
from siyu.core.i18n import translator
from siyu.core.services.base import as_utc
from siyu.core.services.reports import local_day
from siyu.plugins.risk import journal
from siyu.plugins.risk.models import DECISIONS, RiskEvent
from siyu.plugins.risk.rules import NAMES
from siyu.storage.models import Campaign, Contact, Delivery

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "count", "daily_summary", "event_rows", "events"]

E = RiskEvent.__table__
C = Campaign.__table__
CT = Contact.__table__
D = Delivery.__table__
#: The columns of :func:`events` and :func:`event_rows`, in order.
COLUMNS = ("id", "at", "rule", "decision", "campaign_id", "campaign", "delivery_id",
           "contact_id", "contact", "phone", "staff", "excerpt", "reason", "until")
#: The fixed columns of :func:`daily_summary` (a column per rule and decision follows).
SUMMARY_COLUMNS = ("day", "sent", *DECISIONS)
#: Events :func:`events` returns unless told otherwise.
DEFAULT_LIMIT = 1000


def _filters(ws: Workspace, since: Any, rule: str | None, decision: str | None) -> list[Any]:
    """The WHERE terms of a listing.

    :raises ValidationError: an unknown rule or decision, or a bad date."""
    where: list[Any] = []
    if since is not None:
        where.append(E.c.at >= as_utc(since, ws.timezone))
    if rule is not None:
        known = sorted(ws.risk_rules)
        if rule not in known:
            raise ValidationError(_("unknown risk rule {rule!r}; the rules are {rules}",
                                    rule=rule, rules=listing(known)))
        where.append(E.c.rule == rule)
    if decision is not None:
        if decision not in DECISIONS:
            raise ValidationError(_("unknown decision {decision!r}; choose one of "
                                    "{decisions}", decision=decision,
                                    decisions=listing(DECISIONS)))
        where.append(E.c.decision == decision)
    return where


def event_rows(ws: Workspace, *, since: Any = None, rule: str | None = None,
               decision: str | None = None, limit: int | None = DEFAULT_LIMIT,
               offset: int = 0, reveal_pii: bool = False) -> list[dict[str, Any]]:
    """Risk events as dicts (keys :data:`COLUMNS`), newest first, read without pandas;
    times aware UTC.

    :param since: only events at or after this date or time (workspace timezone when naive,
        ISO text accepted).
    :param rule: only this rule's (``dnc``, ``staff_cap``…).
    :param decision: only ``blocked``, ``held`` or ``skipped``.
    :param limit: most rows (``None``: all); with ``offset``, one page.
    :param reveal_pii: phones in full (needs ``pii.view``).
    :raises ValidationError: an unknown rule or decision, or ``since`` is not a date.
    :raises PermissionDenied: the principal may not read data (or see PII).
    """
    ws.principal.require("data.read")
    if reveal_pii:
        ws.principal.require("pii.view")
    where = _filters(ws, since, rule, decision)
    journal.record_launch_delays(ws)
    query = (sa.select(E.c.id, E.c.at, E.c.rule, E.c.decision, E.c.campaign_id,
                       C.c.name.label("campaign"), E.c.delivery_id, E.c.contact_id,
                       CT.c.name.label("contact"), CT.c.phone, E.c.staff, E.c.excerpt,
                       E.c.reason, E.c.until)
             .select_from(E.outerjoin(C, C.c.id == E.c.campaign_id)
                          .outerjoin(CT, CT.c.id == E.c.contact_id))
             .where(*where).order_by(E.c.at.desc(), E.c.id.desc()).offset(offset))
    return journal.fetch_masked(ws, query, limit=limit, reveal_pii=reveal_pii)


def count(ws: Workspace, *, since: Any = None, rule: str | None = None,
          decision: str | None = None) -> int:
    """How many events :func:`event_rows` would list without a limit.

    :raises ValidationError: an unknown rule or decision, or ``since`` is not a date.
    :raises PermissionDenied: the principal may not read data.
    """
    ws.principal.require("data.read")
    where = _filters(ws, since, rule, decision)
    journal.record_launch_delays(ws)
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(E).where(*where)
                            ).scalar_one()


def events(ws: Workspace, *, since: Any = None, rule: str | None = None,
           decision: str | None = None, limit: int | None = DEFAULT_LIMIT, offset: int = 0,
           reveal_pii: bool = False) -> pd.DataFrame:
    """Risk events as a DataFrame (columns :data:`COLUMNS`, times in the workspace
    timezone), newest first. Parameters as :func:`event_rows`.

    :raises ValidationError: an unknown rule or decision, or ``since`` is not a date.
    :raises PermissionDenied: the principal may not read data (or see PII).
    """
    import pandas as pd

    frame = pd.DataFrame(event_rows(ws, since=since, rule=rule, decision=decision,
                                    limit=limit, offset=offset, reveal_pii=reveal_pii),
                         columns=list(COLUMNS))
    for column in ("at", "until"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(ws.timezone)
    return frame


# -- the daily summary -------------------------------------------------------------------------




def _day_counts(ws: Workspace, column: Any, start: datetime, end: datetime,
                keys: tuple[Any, ...] = (), where: tuple[Any, ...] = ()) -> list[Any]:
    """``(day, *keys, n)`` rows: counts per local day (and ``keys``) in SQL."""
    day = local_day(ws.engine.dialect.name, column, start, end, ws.timezone).label("day")
    inner = sa.select(day, *keys).where(column >= start, column < end, *where).subquery()
    grouped = [inner.c.day, *(inner.c[key.name] for key in keys)]
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(*grouped, sa.func.count()).group_by(*grouped)).all()


def daily_summary(ws: Workspace, days: int = 14, *, today: date | str | None = None
                  ) -> pd.DataFrame:
    """Per local day, the risk events by decision and by rule, and the campaign messages
    sent, aggregated in SQL.

    :param days: how many days, ending with ``today`` (included).
    :param today: the last day (default: today in the workspace timezone).
    :returns: one row per day, oldest first: ``day`` (local midnight, naive), ``sent``
        (deliveries sent that day, by ``sent_at``), ``blocked``, ``held``, ``skipped``
        (events by decision), then a column ``"<rule>:<decision>"`` for each pair with
        events in the period (``"dnc:blocked"``…), rules in the order the plugin lists
        them. Days without anything are zeros.
    :raises ValidationError: ``days`` is not from 1 to 366, or ``today`` is not a date.
    :raises PermissionDenied: the principal may not read data.
    """
    import pandas as pd

    ws.principal.require("data.read")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
        raise ValidationError(_("days must be a whole number from 1 to 366, not {value!r}",
                                value=days))
    tz = ws.timezone
    last = (as_utc(today, tz).astimezone(tz).date() if today is not None
            else datetime.now(tz).date())
    first = last - timedelta(days=days - 1)
    start, end = as_utc(first, tz), as_utc(last + timedelta(days=1), tz)
    journal.record_launch_delays(ws)
    found = _day_counts(ws, E.c.at, start, end, (E.c.rule, E.c.decision))
    sent = _day_counts(ws, D.c.sent_at, start, end, where=(D.c.status == "sent",))
    index = pd.date_range(first, last, freq="D", name="day")
    frame = pd.DataFrame(0, index=index, columns=list(SUMMARY_COLUMNS[1:]), dtype="int64")
    order = {name: i for i, name in enumerate(NAMES)}
    pairs = sorted({(rule, decision) for _day, rule, decision, _n in found},
                   key=lambda p: (order.get(p[0], len(order)), p[0], DECISIONS.index(p[1])
                                  if p[1] in DECISIONS else len(DECISIONS)))
    for rule, decision in pairs:
        frame[f"{rule}:{decision}"] = 0
    for day, rule, decision, n in found:
        stamp = pd.Timestamp(str(day))
        frame.loc[stamp, f"{rule}:{decision}"] += int(n)
        if decision in DECISIONS:
            frame.loc[stamp, decision] += int(n)
    for day, n in sent:
        frame.loc[pd.Timestamp(str(day)), "sent"] += int(n)
    return frame.reset_index()
