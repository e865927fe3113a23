"""Anti-poaching alerts: a daily digest, per store, of the customers staff deleted.

When a staff member deletes a customer (WeCom's ``del_external_contact``, not a transfer),
the callback processor records a ``contact.removed`` event (or ``contact.follow_removed``
when colleagues still follow the customer) with ``payload.by == "staff"``
(:mod:`siyu.plugins.wecom.apply`). A guide about to leave who deletes customers after moving
them to a personal WeChat shows up here: the digest lists, per store, who deleted how many
customers on one day (workspace timezone), and sends one message per store to the admins'
group robot (the ``robot`` channel of the robots plugin, named in the settings).

Each store's digest of a day is sent at most once: the intent is recorded (an event with a
unique dedupe key) and committed before the robot is called, so a crash or a second run
never sends it twice; a digest whose send failed is recorded as failed and not retried
(the next day's digest still comes). From a notebook::

    from siyu.plugins.wecom.deletion_alerts import daily_digest, send_daily_digest
    daily_digest(ws, "2026-12-03")           # what would be sent, per store
    send_daily_digest(ws)                    # yesterday's, to the configured robot
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.core.records import OutgoingMessage
from siyu.storage.models import Event, Staff, Store

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.wecom")

ROBOT_SETTING = "wecom.deletion_alerts.robot"
#: Event kinds that may be a staff member's deletion (``payload.by`` says who deleted).
KINDS = ("contact.removed", "contact.follow_removed")
DIGEST_KIND = "wecom.deletion_digest"
#: The robot channel's text limit (WeCom group robots take 2048 bytes).
TEXT_LIMIT = 2048
#: Staff lines shown per store before "… and N more".
MOST_LINES = 20


@dataclass
class StoreDigest:
    """One store's deletions on one day: per staff member ``(userid, name, count)``."""

    day: date
    store: str  # store code, "" for staff without a store
    store_name: str
    staff: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(count for _userid, _name, count in self.staff)

    def text(self) -> str:
        """The alert as the robot posts it (in the current language, at most 2048 bytes)."""
        where = self.store_name or _("staff without a store")
        lines = [_("Customers deleted by staff on {day} — {store}: {n}",
                   day=self.day.isoformat(), store=where, n=self.total)]
        for userid, name, count in self.staff[:MOST_LINES]:
            lines.append(_("· {name} ({userid}): {n}", name=name, userid=userid, n=count))
        if len(self.staff) > MOST_LINES:
            lines.append(_("… and {n} more staff", n=len(self.staff) - MOST_LINES))
        text = "\n".join(lines)
        while len(text.encode("utf-8")) > TEXT_LIMIT:
            text = text[:-2]
        return text


@dataclass
class DigestReport:
    """What :func:`send_daily_digest` did, per store code: ``sent``, ``failed`` (with the
    reason), or ``already`` (sent before)."""

    day: date
    outcomes: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        sent = sum(1 for v in self.outcomes.values() if v == "sent")
        return _("deletion digest for {day}: {sent} of {n} stores alerted",
                 day=self.day.isoformat(), sent=sent, n=len(self.outcomes))


def _day_bounds(ws: Workspace, day: date | str | None) -> tuple[date, datetime, datetime]:
    """The day (yesterday in the workspace timezone when ``None``) and its UTC bounds."""
    tz = ws.timezone
    if day is None:
        day = datetime.now(tz).date() - timedelta(days=1)
    elif isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip())
        except ValueError:
            raise ValidationError(_("{day!r} is not a day; use 2026-12-03", day=day)) from None
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return day, start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def staff_deletions(ws: Workspace, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Customers staff deleted in ``[since, until)``: one dict per deletion with
    ``occurred_at``, ``userid``, ``staff``, ``store``, ``store_name`` and ``contact_id``,
    oldest first. Customers who deleted staff and transfers are not counted."""
    ws.principal.require("data.read")
    ev = Event.__table__
    with ws.engine.connect() as conn:
        events = conn.execute(
            sa.select(ev.c.occurred_at, ev.c.contact_id, ev.c.payload)
            .where(ev.c.kind.in_(KINDS), ev.c.occurred_at >= since, ev.c.occurred_at < until)
            .order_by(ev.c.occurred_at, ev.c.id)).all()
        wanted = [(at, cid, p) for at, cid, p in events
                  if isinstance(p, dict) and p.get("by") == "staff" and p.get("userid")]
        userids = sorted({p["userid"] for _at, _cid, p in wanted})
        staff = {row.userid: row for row in conn.execute(
            sa.select(Staff.userid, Staff.name, Store.code, Store.name.label("store_name"))
            .select_from(Staff.__table__.outerjoin(Store.__table__,
                                                   Staff.store_id == Store.id))
            .where(Staff.userid.in_(userids)))} if userids else {}
    rows = []
    for at, contact_id, payload in wanted:
        member = staff.get(payload["userid"])
        rows.append({"occurred_at": at, "userid": payload["userid"],
                     "staff": member.name if member else payload["userid"],
                     "store": (member.code or "") if member else "",
                     "store_name": (member.store_name or "") if member else "",
                     "contact_id": contact_id})
    return rows


def daily_digest(ws: Workspace, day: date | str | None = None) -> list[StoreDigest]:
    """Per store, who deleted how many customers on ``day`` (yesterday when ``None``), the
    stores with most deletions first; stores without deletions are left out.

    :raises ValidationError: ``day`` is not a day.
    """
    day, since, until = _day_bounds(ws, day)
    by_store: dict[str, StoreDigest] = {}
    counts: dict[tuple[str, str], int] = {}
    names: dict[str, str] = {}
    for row in staff_deletions(ws, since, until):
        by_store.setdefault(row["store"], StoreDigest(day, row["store"], row["store_name"]))
        counts[(row["store"], row["userid"])] = counts.get((row["store"], row["userid"]), 0) + 1
        names[row["userid"]] = row["staff"]
    for (store, userid), count in counts.items():
        by_store[store].staff.append((userid, names[userid], count))
    for digest in by_store.values():
        digest.staff.sort(key=lambda item: (-item[2], item[0]))
    return sorted(by_store.values(), key=lambda d: (-d.total, d.store))


def configure(ws: Workspace, *, robot: str) -> None:
    """Send the digests to group robot ``robot`` (a name ``siyu robot list`` shows; ``""``
    turns the alerts off). Administrators only (``settings.write``)."""
    ws.settings.set(ROBOT_SETTING, (robot or "").strip())


def send_daily_digest(ws: Workspace, day: date | str | None = None, *,
                      robot: str | None = None) -> DigestReport:
    """Send ``day``'s digest (yesterday when ``None``), one message per store with
    deletions, to ``robot`` (the configured one when ``None``). Each store's digest of a
    day goes out at most once.

    :raises ValidationError: no robot is configured or the ``robot`` channel is missing
        (robots plugin disabled); ``day`` is not a day.
    """
    ws.principal.require("data.write")
    robot = (robot if robot is not None else ws.settings.get(ROBOT_SETTING) or "").strip()
    if not robot:
        raise ValidationError(_("no robot for deletion alerts; choose one with "
                                "deletion_alerts.configure(ws, robot=NAME)"))
    if "robot" not in ws.channels:
        raise ValidationError(_("the robot channel is not available: enable the robots "
                                "plugin to send deletion alerts"))
    digests = daily_digest(ws, day)
    report = DigestReport(_day_bounds(ws, day)[0])
    for digest in digests:
        key = f"deletion-digest:{digest.day.isoformat()}:{digest.store or '-'}"
        # Intent first, committed before the robot is called: never twice.
        if not ws.events.record(DIGEST_KIND, dedupe_key=key, source="wecom",
                                payload={"store": digest.store, "robot": robot,
                                         "total": digest.total, "status": "sending"}):
            report.outcomes[digest.store] = "already"
            continue
        message = OutgoingMessage(delivery_id=0, key=key, campaign_id=0, channel="robot",
                                  recipient=robot, text=digest.text())
        results = ws.hook.send(ws=ws, channel="robot", batch=[message]) or []
        result = results[0] if results else None
        status = result.status if result is not None else "failed"
        reason = "" if result is None else (result.reason or "")
        _note(ws, key, status, reason)
        if status == "sent":
            report.outcomes[digest.store] = "sent"
        else:
            report.outcomes[digest.store] = "failed: " + (reason or _("no answer"))
    return report


def _note(ws: Workspace, key: str, status: str, reason: str) -> None:
    """Record how a digest's send ended on its intent event."""
    ev = Event.__table__
    with ws.session() as s:
        conn = s.connection()
        payload = conn.execute(sa.select(ev.c.payload).where(ev.c.dedupe_key == key)).scalar()
        conn.execute(sa.update(ev).where(ev.c.dedupe_key == key).values(
            payload={**(payload or {}), "status": status, "reason": reason[:300]}))


def run_digest_job(ws: Workspace) -> str:
    """Scheduled daily digest: skipped quietly while no robot is configured."""
    if not ws.settings.get(ROBOT_SETTING):
        return "no robot for deletion alerts; skipped"
    return send_daily_digest(ws).summary()


__all__ = ["DigestReport", "StoreDigest", "configure", "daily_digest", "send_daily_digest",
           "staff_deletions"]
