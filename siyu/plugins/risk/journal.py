"""Recording risk decisions in ``risk_event``: one row per delivery, rule and decision.

Every row carries a ``dedupe`` key (:func:`dedupe_key`) and is inserted with ``ON CONFLICT
DO NOTHING``, so recording a decision again — a redelivered ``on_delivery`` notice, a batch
checked again after a crash — leaves one row. A hold is a new decision each time it is made
for a later time (a delivery held by the daily cap on two days is held twice).

A launch's do-not-contact skips are recorded when the first of their ``on_delivery`` notices
arrives, all of the campaign's at once (:func:`record_launch_skips`): one read and one write
however many were skipped, and the later notices of the same launch find them recorded.

Launch-time delays (quiet hours) change no delivery's status, so no notice tells of them;
:func:`record_launch_delays` finds them in the outbox instead: the send-time check does it
for its batch, a scheduled job every minute, and the readers before they read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.i18n import translator
from siyu.plugins.risk.models import MAX_EXCERPT, MAX_REASON, RiskEvent
from siyu.plugins.risk.rules import DNC, DNC_SKIP, QUIET_DELAY, QUIET_HOURS
from siyu.storage.dialect import insert_for
from siyu.storage.models import Campaign, Delivery
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

E = RiskEvent.__table__
D = Delivery.__table__
C = Campaign.__table__
#: Columns of an event row, as :func:`event_row` builds them.
COLUMNS = ("at", "rule", "decision", "campaign_id", "delivery_id", "contact_id", "staff",
           "excerpt", "reason", "until", "dedupe")
#: How far back :func:`record_launch_delays` looks for launches (a quiet period is shorter).
LAUNCH_WINDOW = timedelta(days=2)
#: The dedupe key's suffix of a launch-time delay.
_LAUNCH = "launch"


def dedupe_key(delivery_id: int, rule: str, decision: str, until: datetime | None = None
               ) -> str:
    """``"<delivery>:<rule>:<decision>"``, with the time a hold lasts until."""
    key = f"{delivery_id}:{rule}:{decision}"
    return f"{key}:{until:%Y%m%dT%H%M%S}" if until is not None else key


def event_row(*, at: datetime, rule: str, decision: str, delivery_id: int,
              campaign_id: int | None, contact_id: int | None, staff: str | None, text: str,
              reason: str, until: datetime | None = None, dedupe: str | None = None
              ) -> dict[str, Any]:
    """One ``risk_event`` row (excerpt and reason cut to their columns).

    :param dedupe: the row's key; default :func:`dedupe_key` of the decision."""
    return {"at": at, "rule": rule, "decision": decision, "campaign_id": campaign_id,
            "delivery_id": delivery_id, "contact_id": contact_id, "staff": staff,
            "excerpt": (text or "")[:MAX_EXCERPT], "reason": str(reason)[:MAX_REASON],
            "until": until,
            "dedupe": dedupe or dedupe_key(delivery_id, rule, decision, until)}


def write_rows(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert event rows in ``conn``'s transaction with one ``executemany``; a row whose
    decision is recorded already is left out."""
    if rows:
        conn.execute(insert_for(conn, E).on_conflict_do_nothing(index_elements=["dedupe"]),
                     list(rows))


def write(ws: Workspace, rows: Sequence[dict[str, Any]]) -> None:
    """Insert event rows in a transaction of their own (nothing happens for none)."""
    if rows:
        with ws.engine.begin() as conn:
            write_rows(conn, rows)


class _Texts:
    """Each launched campaign's text, kept per workspace (a launched campaign's content does
    not change), for the excerpts of launch-time events."""

    def __init__(self, ws: Workspace):
        self.lock = threading.Lock()
        self.texts: dict[int, str] = {}


def campaign_text(ws: Workspace, campaign_id: int) -> str:
    """The text of a campaign's content (``""`` when it has none, or no such campaign)."""
    kept = ws.extension("risk.campaign_texts", _Texts)
    with kept.lock:
        if campaign_id in kept.texts:
            return kept.texts[campaign_id]
    with ws.engine.connect() as conn:
        content = conn.execute(sa.select(C.c.content).where(C.c.id == campaign_id)).scalar()
    text = str((content or {}).get("text") or "")
    with kept.lock:
        if len(kept.texts) > 1000:
            kept.texts.clear()
        kept.texts[campaign_id] = text
    return text


def launch_delay_rows(ws: Workspace, found: Iterable[Any]) -> list[dict[str, Any]]:
    """Event rows for deliveries a launch delayed for quiet hours.

    :param found: rows with ``id``, ``campaign_id``, ``contact_id``, ``sender``,
        ``not_before`` and ``launched_at`` (the delivery and its campaign).
    """
    reason = _("launched during quiet hours: waits until they end")
    return [event_row(at=row.launched_at or utcnow(), rule=QUIET_HOURS, decision="held",
                      delivery_id=row.id, campaign_id=row.campaign_id,
                      contact_id=row.contact_id, staff=row.sender,
                      text=campaign_text(ws, row.campaign_id), reason=reason,
                      until=row.not_before, dedupe=launch_key(row.id))
            for row in found]


def launch_key(delivery_id: int) -> str:
    """The dedupe key of a launch-time quiet-hours delay (one per delivery)."""
    return f"{dedupe_key(delivery_id, QUIET_HOURS, 'held')}:{_LAUNCH}"


def delayed_at_launch(*where: Any) -> sa.Select:
    """Deliveries a launch delayed for quiet hours and still waiting (or being sent), with
    their campaign's launch time; ``where`` narrows them."""
    return (sa.select(D.c.id, D.c.campaign_id, D.c.contact_id, D.c.sender, D.c.not_before,
                      C.c.launched_at)
            .select_from(D.join(C, C.c.id == D.c.campaign_id))
            .where(D.c.status.in_(("queued", "sending")), D.c.reason == QUIET_DELAY,
                   D.c.not_before.is_not(None), *where))


def record_launch_delays(ws: Workspace, *, now: datetime | None = None) -> int:
    """Record the launch-time quiet-hours delays of campaigns launched in the last
    :data:`LAUNCH_WINDOW` not recorded yet; returns how many rows were new.

    Reads the waiting deliveries of those campaigns only (the outbox's queue index), and
    writes nothing when all are recorded."""
    now = now or utcnow()
    with ws.engine.connect() as conn:
        campaigns = list(conn.execute(sa.select(C.c.id).where(
            C.c.status.in_(("sending", "paused")),
            C.c.launched_at >= now - LAUNCH_WINDOW)).scalars())
        if not campaigns:
            return 0
        recorded = E.alias("recorded")
        key = (sa.cast(D.c.id, sa.String)
               + sa.literal(f":{QUIET_HOURS}:held:{_LAUNCH}", sa.String))
        found = conn.execute(delayed_at_launch(
            D.c.campaign_id.in_(campaigns),
            ~sa.exists().where(recorded.c.dedupe == key))).all()
    write(ws, launch_delay_rows(ws, found))
    return len(found)


class _Recorded:
    """The campaigns whose launch skips this process recorded (bounded)."""

    def __init__(self, ws: Workspace):
        self.lock = threading.Lock()
        self.campaigns: set[int] = set()


def record_launch_skips(ws: Workspace, campaign_id: int) -> int:
    """Record every do-not-contact skip of a campaign's launch not recorded yet; returns
    how many rows were new. Once per campaign and process: a launch writes all its skipped
    deliveries in one transaction, and its notices arrive after that commit, so the first
    notice finds every skip (a redelivered notice in a new process finds them recorded).
    """
    kept = ws.extension("risk.recorded_skips", _Recorded)
    with kept.lock:
        if campaign_id in kept.campaigns:
            return 0
    recorded = E.alias("recorded")
    key = sa.cast(D.c.id, sa.String) + sa.literal(f":{DNC}:skipped", sa.String)
    with ws.engine.connect() as conn:
        found = conn.execute(sa.select(D.c.id, D.c.contact_id, D.c.sender, D.c.updated_at)
                             .where(D.c.campaign_id == campaign_id, D.c.status == "skipped",
                                    D.c.reason == DNC_SKIP,
                                    ~sa.exists().where(recorded.c.dedupe == key))).all()
    text = campaign_text(ws, campaign_id) if found else ""
    reason = _("on the do-not-contact list: skipped at launch")
    write(ws, [event_row(at=row.updated_at, rule=DNC, decision="skipped", delivery_id=row.id,
                         campaign_id=campaign_id, contact_id=row.contact_id,
                         staff=row.sender, text=text, reason=reason) for row in found])
    with kept.lock:
        if len(kept.campaigns) > 10_000:
            kept.campaigns.clear()
        kept.campaigns.add(campaign_id)
    return len(found)


def fetch_masked(ws: Workspace, query: sa.Select, *, limit: int | None,
                 reveal_pii: bool) -> list[dict[str, Any]]:
    """Rows of ``query`` (with a ``phone`` column) as dicts, at most ``limit``, the phone
    masked unless ``reveal_pii`` (the caller checked the permission)."""
    from siyu.core.pii import mask_phone

    if limit is not None:
        query = query.limit(limit)
    with ws.engine.connect() as conn:
        found = [dict(row._mapping) for row in conn.execute(query)]
    if not reveal_pii:
        for row in found:
            row["phone"] = mask_phone(row["phone"])
    return found
