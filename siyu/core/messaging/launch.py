"""Launching a campaign: its audience becomes outbox rows in one ``INSERT … SELECT``.

Each recipient gets one ``delivery`` row, ``queued`` or ``skipped`` with the reason it will not
receive the message, decided in SQL for the whole audience at once:

- ``holdout``: the random control group (``holdout_pct``), which receives nothing;
- ``not a WeCom customer`` / ``not a friend any more`` / ``no owner``: on WeCom channels;
- ``receive quota``: the customer already has as many WeCom mass messages in the current
  period as the corp's rule allows (``wecom.receive_cap``: ``month`` = as many as the month
  has days, ``week`` = 7, ``day`` = 1), counting what is queued, in flight, waiting for
  confirmation or sent;
- ``frequency cap``: the brand's own cap across channels (``campaigns.frequency_cap`` =
  ``{"messages": N, "days": D}``: at most N messages in any D days).

The split into holdout and A/B variants hashes ``(contact id + the campaign's salt)`` into
10,000 buckets (Knuth's multiplicative hash), so it is random-like, stable and the same on
SQLite and PostgreSQL. :func:`breakdown` runs the same SELECT grouped, for the preview.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from siyu.core.errors import PluginError, ValidationError
from siyu.core.i18n import core as _
from siyu.core.records import LaunchRule
from siyu.storage.models import Contact, Delivery, SegmentSnapshotMember, Staff

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

D = Delivery.__table__
#: Statuses that count against a quota or cap (the message is out or on its way).
COUNTED = ("queued", "sending", "pending", "sent")
#: WeCom's receive-cap rules (``wecom.receive_cap``).
RECEIVE_CAPS = ("month", "week", "day")
BUCKETS = 10_000

#: Skip reasons, as stored (the console translates them with :data:`REASON_TITLES`).
HOLDOUT = "holdout"
NOT_WECOM = "not a WeCom customer"
NOT_FRIEND = "not a friend any more"
NO_OWNER = "no owner"
QUOTA = "receive quota"
FREQUENCY = "frequency cap"
REASON_TITLES = {
    HOLDOUT: _.lazy("holdout (control group)"),
    NOT_WECOM: _.lazy("not a WeCom customer"),
    NOT_FRIEND: _.lazy("not a friend any more"),
    NO_OWNER: _.lazy("no owner to send it"),
    QUOTA: _.lazy("WeCom receive quota used up"),
    FREQUENCY: _.lazy("brand frequency cap reached"),
    # Reasons of the built-in risk plugin's launch rules (a plugin's own reasons are shown
    # as the plugin wrote them).
    "do not contact": _.lazy("on the do-not-contact list"),
    "quiet hours": _.lazy("quiet hours: sent when they end"),
}


def quota_window(rule: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, int]:
    """``(start of the current period, messages allowed in it)`` under WeCom rule ``rule``.

    :raises ValidationError: ``rule`` is not one of :data:`RECEIVE_CAPS`.
    """
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if rule == "day":
        return midnight, 1
    if rule == "week":
        return midnight - timedelta(days=local.weekday()), 7
    if rule == "month":
        return midnight.replace(day=1), calendar.monthrange(local.year, local.month)[1]
    raise ValidationError(_("wecom.receive_cap must be one of {allowed}, not {value!r}",
                            allowed=", ".join(RECEIVE_CAPS), value=rule))


def frequency_cap(ws: Workspace) -> tuple[int, int] | None:
    """``(messages, days)`` of the brand's frequency cap, or ``None`` when not set.

    :raises ValidationError: the setting is not ``{"messages": N, "days": D}`` with N, D ≥ 1.
    """
    value = ws.settings.get("campaigns.frequency_cap")
    if not value:
        return None
    try:
        messages, days = int(value["messages"]), int(value["days"])
    except (TypeError, KeyError, ValueError):
        raise ValidationError(_("campaigns.frequency_cap must be {{\"messages\": N, \"days\": "
                                "D}}, not {value!r}", value=value)) from None
    if messages < 1 or days < 1:
        raise ValidationError(_("campaigns.frequency_cap needs messages and days of at "
                                "least 1"))
    return messages, days


def _counts_since(channels: list[str] | None, since: datetime) -> sa.Subquery:
    """contact_id → deliveries counted since ``since`` (on ``channels``, or all)."""
    from siyu.storage.models import Campaign

    C = Campaign.__table__
    query = (sa.select(D.c.contact_id, sa.func.count().label("n"))
             .where(D.c.status.in_(COUNTED), D.c.contact_id.is_not(None),
                    sa.func.coalesce(D.c.sent_at, D.c.updated_at) >= since)
             .group_by(D.c.contact_id))
    if channels is not None:
        query = query.where(D.c.campaign_id.in_(
            sa.select(C.c.id).where(C.c.channel.in_(channels))))
    return query.subquery()


def variant_case(bucket: Any, holdout_pct: int, variants: list[Mapping[str, Any]]) -> Any:
    """SQL choosing ``holdout`` or a variant name from ``bucket`` (0 ≤ bucket < 10,000)."""
    whens = []
    edge = holdout_pct * BUCKETS // 100
    if edge:
        whens.append((bucket < edge, HOLDOUT))
    rest = BUCKETS - edge
    if variants:
        total = 0.0
        for entry in variants[:-1]:
            total += float(entry["share"])
            whens.append((bucket < edge + round(rest * total / 100), entry["name"]))
        last = variants[-1]["name"]
    else:
        last = ""
    return sa.case(*whens, else_=sa.literal(last)) if whens else sa.literal(last)


def snapshot_members(snapshot_id: int) -> sa.Subquery:
    """A snapshot's contacts, as the ``members`` of :func:`audience_select`."""
    m = SegmentSnapshotMember.__table__
    return sa.select(m.c.contact_id).where(m.c.snapshot_id == snapshot_id).subquery("member")


def query_members(query: sa.Select) -> sa.Subquery:
    """A segment query's contacts (column ``id``), as the ``members`` of
    :func:`audience_select` (the launch preview)."""
    sub = query.subquery()
    return sa.select(sub.c.id.label("contact_id")).subquery("member")


def launch_rules(ws: Workspace, campaign: Any, now: datetime) -> list[LaunchRule]:
    """The plugins' :class:`~siyu.core.records.LaunchRule` records for this launch.

    :raises PluginError: a plugin answered something else.
    """
    if not ws.has_hook("launch_rules"):
        return []
    rules = []
    for answer in ws.hook.launch_rules(ws=ws, campaign=campaign, now=now):
        for rule in answer or ():
            if not isinstance(rule, LaunchRule):
                raise PluginError(_("launch_rules must answer LaunchRule records, not "
                                    "{value!r}", value=rule))
            rules.append(rule)
    return rules


def audience_select(ws: Workspace, campaign: Any, spec: Any, *, members: sa.Subquery,
                    now: datetime, rules: list[LaunchRule] | None = None) -> sa.Select:
    """The rows the campaign's deliveries are made of: ``(campaign_id, recipient,
    contact_id, variant, sender, status, reason, attempts, updated_at, not_before)``.

    :param members: a subquery with a ``contact_id`` column (:func:`snapshot_members`,
        :func:`query_members`).
    :param rules: the plugins' launch rules (:func:`launch_rules`): skips become
        ``skipped`` rows with their reason, after the built-in reasons; delays set
        ``not_before`` (the latest delay that applies wins) and the reason of a queued row.
    """
    ct = Contact.__table__
    staff = Staff.__table__
    member = members
    big = sa.BigInteger()
    bucket = ((sa.cast(member.c.contact_id, big) + sa.literal(campaign.salt, big))
              * sa.literal(2654435761, big)) % sa.literal(4294967296, big) % BUCKETS
    policy = (campaign.sender or {}).get("policy", "owner")
    sender = (staff.c.userid if policy == "owner"
              else sa.literal((campaign.sender or {}).get("userid")))
    # The inner SELECT computes each input once; the outer one derives the status from them.
    columns: list[Any] = [member.c.contact_id,
                          variant_case(bucket, campaign.holdout_pct,
                                       campaign.variants or []).label("variant"),
                          sender.label("sender")]
    query = sa.select(member.c.contact_id).select_from(
        member.join(ct, ct.c.id == member.c.contact_id)
        .outerjoin(staff, staff.c.id == ct.c.owner_id))
    checks: list[tuple[str, Any]] = []
    if spec.wecom_quota:
        columns += [ct.c.external_userid.is_(None).label("not_wecom"),
                    ct.c.removed_at.is_not(None).label("not_friend")]
        checks += [("not_wecom", NOT_WECOM), ("not_friend", NOT_FRIEND)]
        if policy == "owner":
            columns.append(staff.c.userid.is_(None).label("no_owner"))
            checks.append(("no_owner", NO_OWNER))
        rule = ws.settings.get("wecom.receive_cap", "month")
        start, allowed = quota_window(rule, now, ws.timezone)
        wecom_channels = [name for name, c in ws.channels.items() if c.wecom_quota]
        used = _counts_since(wecom_channels, start)
        query = query.outerjoin(used, used.c.contact_id == member.c.contact_id)
        columns.append((sa.func.coalesce(used.c.n, 0) >= allowed).label("quota"))
        checks.append(("quota", QUOTA))
    cap = frequency_cap(ws)
    if cap is not None:
        recent = _counts_since(None, now - timedelta(days=cap[1])).alias("recent")
        query = query.outerjoin(recent, recent.c.contact_id == member.c.contact_id)
        columns.append((sa.func.coalesce(recent.c.n, 0) >= cap[0]).label("frequency"))
        checks.append(("frequency", FREQUENCY))
    delays: list[tuple[str, LaunchRule]] = []
    for n, rule in enumerate(rules or ()):
        label = f"rule_{n}"
        if rule.contacts is None:
            columns.append(sa.true().label(label))
        else:
            columns.append(member.c.contact_id.in_(rule.contacts).label(label))
        if rule.until is None:
            checks.append((label, rule.reason))
        else:
            delays.append((label, rule))
    inner = query.with_only_columns(*columns).subquery("audience")
    whens = [(inner.c.variant == HOLDOUT, HOLDOUT)] + [
        (inner.c[name], reason) for name, reason in checks]
    delays.sort(key=lambda item: item[1].until, reverse=True)  # the latest wait wins
    reason = sa.case(*whens, *[(inner.c[label], rule.reason) for label, rule in delays],
                     else_=sa.literal(""))
    status = sa.case(*[(cond, sa.literal("skipped")) for cond, _r in whens],
                     else_=sa.literal("queued"))
    ts = D.c.not_before.type
    not_before = (sa.case(*[(inner.c[label], sa.literal(rule.until, ts))
                            for label, rule in delays], else_=sa.null())
                  if delays else sa.null().cast(ts))
    recipient = sa.literal("contact:") + sa.cast(inner.c.contact_id, sa.String)
    return sa.select(
        sa.literal(campaign.id).label("campaign_id"), recipient.label("recipient"),
        inner.c.contact_id, inner.c.variant, inner.c.sender, status.label("status"),
        reason.label("reason"), sa.literal(0).label("attempts"),
        sa.literal(now, D.c.updated_at.type).label("updated_at"),
        not_before.label("not_before"))


def target_rows(campaign: Any, targets: list[str], now: datetime) -> list[dict[str, Any]]:
    """Delivery rows for a campaign addressed to channel targets (group robots)."""
    sender = (campaign.sender or {}).get("userid")
    return [{"campaign_id": campaign.id, "recipient": key, "contact_id": None,
             "variant": "", "sender": sender, "status": "queued", "reason": "",
             "attempts": 0, "updated_at": now, "not_before": None}
            for key in dict.fromkeys(targets)]


COLUMNS = ["campaign_id", "recipient", "contact_id", "variant", "sender", "status", "reason",
           "attempts", "updated_at", "not_before"]


def write_outbox(conn: sa.Connection, select: sa.Select, campaign_id: int) -> int:
    """``INSERT INTO delivery … SELECT``; returns how many rows the campaign has."""
    conn.execute(D.insert().from_select(COLUMNS, select))
    return conn.execute(sa.select(sa.func.count()).where(
        D.c.campaign_id == campaign_id)).scalar_one()


def breakdown(conn: sa.Connection, select: sa.Select) -> dict[str, Any]:
    """How the audience would split: ``{"selected", "will_receive", "reasons": {reason: n},
    "delayed": {reason: n}, "variants": {name: n}}`` (variants count the recipients who will
    receive it; ``delayed`` those of them who wait first, e.g. for quiet hours to end)."""
    sub = select.subquery()
    waits = sub.c.not_before.is_not(None).label("waits")
    rows = conn.execute(sa.select(sub.c.status, sub.c.reason, sub.c.variant, waits,
                                  sa.func.count()).group_by(sub.c.status, sub.c.reason,
                                                            sub.c.variant, waits)).all()
    out: dict[str, Any] = {"selected": 0, "will_receive": 0, "reasons": {}, "delayed": {},
                           "variants": {}}
    for status, reason, variant, wait, n in rows:
        out["selected"] += n
        if status == "queued":
            out["will_receive"] += n
            out["variants"][variant] = out["variants"].get(variant, 0) + n
            if wait:
                out["delayed"][reason] = out["delayed"].get(reason, 0) + n
        else:
            out["reasons"][reason] = out["reasons"].get(reason, 0) + n
    return out
