"""Who is listed on a live code now, and why — a pure function of the code and its counters.

WeCom hands a scanning customer to a random one of the code's *current* members, so every
strategy works by choosing that list:

``round_robin``
    exactly one member listed, in member order; a member who had its turn this round
    (``round_cap`` adds, default 1) steps aside until every available member had theirs.
``weighted``
    the one member furthest below its weighted share of today's adds.
``least_loaded``
    the member(s) with the fewest adds today.
``schedule``
    every member on duty now.

Whatever the strategy, a member outside their time slots is *off duty*, a member who reached
their daily cap is *capped*, and with ``round_cap`` set a member who took that many in the
current round waits for the next round. When nobody is left, the backup staff are listed;
without backup staff the least-loaded member(s) keep the code open (WeCom refuses an empty
list) and the reason says so.

Time slots are ``{"days": [0..6], "start": "09:00", "end": "18:00"}`` with Monday = 0, read in
the timezone of ``now``; a slot whose end is not after its start runs past midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from siyu.core.errors import ValidationError
from siyu.core.i18n import current_language, translator

_ = translator("siyu.plugins.livecodes")

#: Weekdays as time slots number them (Monday = 0), translated when shown.
DAY_NAMES = (_.lazy("Mon"), _.lazy("Tue"), _.lazy("Wed"), _.lazy("Thu"), _.lazy("Fri"),
             _.lazy("Sat"), _.lazy("Sun"))


@dataclass(frozen=True)
class CodeRules:
    """The routing settings of one code."""

    strategy: str = "round_robin"
    daily_cap: int | None = None
    round_cap: int | None = None
    backup: tuple[str, ...] = ()


@dataclass(frozen=True)
class Member:
    """A member of a code: ``daily_cap`` overrides the code's; ``slots`` empty = always on."""

    userid: str
    weight: int = 1
    daily_cap: int | None = None
    slots: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Counts:
    """A member's adds today (local day) and in the current round."""

    today: int = 0
    round: int = 0


@dataclass
class Plan:
    """The member list to give WeCom, a reason for every member and backup, and when the
    plan next changes on its own.

    :ivar listed: userids WeCom should hold, in order.
    :ivar reasons: userid → why they are (or are not) listed, in words of the language of
        the call: reasons are only shown (the console's preview, ``siyu livecode preview``),
        never stored or compared, so they are made in the reader's language.
    :ivar new_round: every available member finished the round; round counts restart.
    :ivar next_change_at: the next shift boundary or local midnight that matters, or ``None``.
    """

    listed: list[str]
    reasons: dict[str, str] = field(default_factory=dict)
    new_round: bool = False
    next_change_at: datetime | None = None

    def explain(self) -> list[tuple[str, bool, str]]:
        """``(userid, listed, reason)`` rows, listed members first."""
        rows = [(u, True, self.reasons[u]) for u in self.listed]
        return rows + [(u, False, r) for u, r in self.reasons.items() if u not in self.listed]


def parse_clock(value: str) -> time:
    """``"09:30"`` → ``time(9, 30)``; ``"24:00"`` is the end of the day (``time.max``)."""
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
    except ValueError:
        raise ValidationError(_("time {value!r} must look like 09:30", value=value)) from None
    if (hours, minutes) == (24, 0):
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValidationError(_("time {value!r} is not a time of day (00:00-24:00)",
                                value=value))
    return time(hours, minutes)


def check_slots(slots: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate time slots; returns them as plain dicts.

    :raises ValidationError: a missing/bad day list or time.
    """
    checked = []
    for slot in slots:
        days = slot.get("days", list(range(7)))
        if not days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise ValidationError(_("slot {slot!r}: days must be weekday numbers 0-6 "
                                    "(Monday = 0)", slot=dict(slot)))
        parse_clock(slot.get("start", "")), parse_clock(slot.get("end", ""))
        checked.append({"days": sorted(set(days)), "start": slot["start"], "end": slot["end"]})
    return checked


def _intervals(slot: Mapping[str, Any], day: datetime) -> list[tuple[datetime, datetime]]:
    """The slot's on-duty interval starting on ``day`` (midnight, aware), if it runs then."""
    if day.weekday() not in slot.get("days", range(7)):
        return []
    start, end = parse_clock(slot["start"]), parse_clock(slot["end"])
    begin = day.replace(hour=start.hour, minute=start.minute)
    finish = (day + timedelta(days=1) if end == time.max
              else day.replace(hour=end.hour, minute=end.minute))
    if finish <= begin:
        finish += timedelta(days=1)
    return [(begin, finish)]


def _midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def on_duty(slots: Sequence[Mapping[str, Any]], now: datetime) -> bool:
    """Whether a member with these slots works at ``now`` (no slots: always)."""
    if not slots:
        return True
    today = _midnight(now)
    for slot in slots:
        for offset in (-1, 0):
            for begin, finish in _intervals(slot, today + timedelta(days=offset)):
                if begin <= now < finish:
                    return True
    return False


def next_boundary(slots: Sequence[Mapping[str, Any]], now: datetime) -> datetime | None:
    """The next start or end of any slot after ``now`` (within a week), or ``None``."""
    today = _midnight(now)
    found = [edge for slot in slots for offset in range(-1, 8)
             for interval in _intervals(slot, today + timedelta(days=offset))
             for edge in interval if edge > now]
    return min(found, default=None)


def join_clauses(parts: Iterable[Any]) -> str:
    """Clauses of one note joined as the reader's language writes them: ``a; b`` in
    English, ``a；b`` in Chinese (empty parts dropped)."""
    separator = "；" if current_language().startswith("zh") else "; "
    return separator.join(str(part) for part in parts if str(part))


def describe_slots(slots: Sequence[Mapping[str, Any]]) -> str:
    """Time slots in words, in the reader's language: ``Mon,Tue 09:00-18:00; Sat
    10:00-12:00`` (``每周一、二 09:00-18:00；每周六 10:00-12:00`` in Chinese)."""
    comma = "、" if current_language().startswith("zh") else ","
    return join_clauses(_("{days} {start}-{end}",
                          days=comma.join(str(DAY_NAMES[d]) for d in s.get("days", range(7))),
                          start=s["start"], end=s["end"]) for s in slots)


def plan_members(code: CodeRules, members: Sequence[Member], counters: Mapping[str, Counts],
                 now: datetime) -> Plan:
    """Choose the member list for ``code`` at ``now``.

    :param code: the code's strategy, caps and backup staff.
    :param members: the code's members, in order.
    :param counters: adds per userid (missing = none).
    :param now: an aware datetime in the workspace timezone (slots are read in it).
    :return: a :class:`Plan`; ``listed`` is never empty while the code has members or backup.
    """
    reasons: dict[str, str] = {}
    counts = {m.userid: counters.get(m.userid, Counts()) for m in members}
    changes: list[datetime] = []
    available: list[Member] = []
    daily_capped = False
    for m in members:
        if m.slots:
            edge = next_boundary(m.slots, now)
            if edge is not None:
                changes.append(edge)
        cap = m.daily_cap if m.daily_cap is not None else code.daily_cap
        if not on_duty(m.slots, now):
            reasons[m.userid] = _("off duty (works {slots})", slots=describe_slots(m.slots))
        elif cap is not None and counts[m.userid].today >= cap:
            reasons[m.userid] = _("capped: {adds} of {cap} adds today",
                                  adds=counts[m.userid].today, cap=cap)
            daily_capped = True
        else:
            available.append(m)
    if daily_capped:
        changes.append(_midnight(now) + timedelta(days=1))
    per_round = code.round_cap or (1 if code.strategy == "round_robin" else None)
    new_round = False
    if per_round is not None and available:
        if all(counts[m.userid].round >= per_round for m in available):
            new_round = True
            counts = {u: Counts(c.today, 0) for u, c in counts.items()}
        waiting = [m for m in available if counts[m.userid].round >= per_round]
        for m in waiting:
            reasons[m.userid] = _("had {adds} of {cap} this round; waits for the next round",
                                  adds=counts[m.userid].round, cap=per_round)
        available = [m for m in available if m not in waiting]
    listed = _choose(code.strategy, available, counts, reasons)
    for userid in code.backup:
        if listed and userid not in listed:
            reasons.setdefault(userid, _("backup: stands by while members are available"))
    if not listed:
        listed = [u for u in code.backup]
        for userid in listed:
            reasons[userid] = _("backup: every member is capped or off duty")
    if not listed and members:
        fewest = min(counts[m.userid].today for m in members)
        listed = [m.userid for m in members if counts[m.userid].today == fewest]
        for userid in listed:
            reasons[userid] = _("everyone is capped or off duty and there is no backup; "
                                "kept listed so the code stays open (fewest adds today)")
    return Plan(listed, reasons, new_round, min(changes, default=None))


def _choose(strategy: str, available: list[Member], counts: Mapping[str, Counts],
            reasons: dict[str, str]) -> list[str]:
    if not available:
        return []
    if strategy == "round_robin":
        chosen = [available[0]]
        first = _("next in turn")
        later = _("waits for its turn this round")
    elif strategy == "weighted":
        total = sum(counts[m.userid].today for m in available) + 1
        weights = sum(max(m.weight, 0) for m in available) or 1

        def deficit(m: Member) -> float:
            return max(m.weight, 0) / weights * total - counts[m.userid].today

        best = max(available, key=deficit)  # first of equals: member order breaks ties
        chosen = [best]
        first = _("furthest below its weighted share (weight {weight} of {weights}, "
                  "{adds} adds today)", weight=best.weight, weights=weights,
                  adds=counts[best.userid].today)
        later = _("at or above its weighted share")
    elif strategy == "least_loaded":
        fewest = min(counts[m.userid].today for m in available)
        chosen = [m for m in available if counts[m.userid].today == fewest]
        first = _("fewest adds today ({fewest})", fewest=fewest)
        later = _("has more adds today than the least loaded")
    elif strategy == "schedule":
        chosen = list(available)
        first, later = _("on duty now"), ""
    else:
        raise ValidationError(_("unknown strategy {strategy!r}; use round_robin, weighted, "
                                "least_loaded or schedule", strategy=strategy))
    for m in available:
        reasons[m.userid] = first if m in chosen else later
    return [m.userid for m in chosen]
