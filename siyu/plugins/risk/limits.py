"""Quiet hours and the staff daily cap: their settings, checked when they are written, and the
local-time arithmetic the checks need.

Settings (``ws.settings``):

- ``risk.quiet_hours`` = ``{"start": "22:00", "end": "08:00"}``, in the workspace timezone;
  the period may wrap midnight (22:00–08:00) or not (12:00–13:30); unset or ``None``: no
  quiet hours. Start is inside the period, end is not.
- ``risk.staff_daily_cap`` = how many campaign messages one staff member sends per local day,
  across campaigns; unset, ``None`` or ``0``: no cap.

Times are aware UTC everywhere but in the settings, which are local wall-clock times. The
checks read the time from :func:`clock`, which tests replace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

QUIET_SETTING = "risk.quiet_hours"
CAP_SETTING = "risk.staff_daily_cap"
#: The largest daily cap accepted (WeCom itself stops far below it).
MAX_CAP = 1_000_000
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def clock() -> datetime:
    """The time the send-time checks go by, aware UTC: now (tests put another in its place
    with ``monkeypatch.setattr(limits, "clock", …)``)."""
    return utcnow()


# -- quiet hours -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """A daily quiet period in local wall-clock time: from ``start`` (inside) to ``end`` (not
    inside); ``end`` before ``start`` wraps midnight."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def wraps(self) -> bool:
        """Whether the period runs over midnight (22:00–08:00)."""
        return self.end < self.start

    def as_setting(self) -> dict[str, str]:
        """The value stored in ``risk.quiet_hours``."""
        return {"start": f"{self.start:%H:%M}", "end": f"{self.end:%H:%M}"}

    def end_of(self, moment: datetime, tz: ZoneInfo) -> datetime | None:
        """When the quiet period ``moment`` falls in ends (aware UTC), or ``None`` when
        ``moment`` is outside quiet hours.

        :param moment: an aware time.
        :param tz: the workspace timezone the period is read in.
        """
        local = moment.astimezone(tz)
        now = local.time().replace(tzinfo=None)
        if self.wraps:
            if now >= self.start:
                ends_on = local.date() + timedelta(days=1)
            elif now < self.end:
                ends_on = local.date()
            else:
                return None
        elif self.start <= now < self.end:
            ends_on = local.date()
        else:
            return None
        return local_time(ends_on, self.end, tz)


def local_time(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The wall-clock time ``at`` of local ``day`` in ``tz``, as aware UTC."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def parse_clock(value: Any, what: str) -> time:
    """``"22:00"`` (or ``"8:00"``) as a time of day.

    :param what: what the value is, for the message (``"start"``).
    :raises ValidationError: not ``HH:MM`` with an hour 0–23 and minutes 0–59.
    """
    match = _CLOCK_TIME.match(str(value).strip()) if value is not None else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValidationError(_("quiet hours: the {what} time {value!r} is not a time of day; "
                                "write it as HH:MM, e.g. 22:00", what=what, value=value))
    return time(int(match[1]), int(match[2]))


def parse_quiet_hours(value: Any) -> QuietHours | None:
    """The ``risk.quiet_hours`` setting as :class:`QuietHours` (``None`` when unset).

    :raises ValidationError: not ``{"start": "HH:MM", "end": "HH:MM"}``, or start equals end.
    """
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise ValidationError(_("quiet hours must be {{\"start\": \"HH:MM\", \"end\": "
                                "\"HH:MM\"}}, not {value!r}", value=value))
    start, end = parse_clock(value["start"], _("start")), parse_clock(value["end"], _("end"))
    if start == end:
        same = start.strftime("%H:%M")
        raise ValidationError(_("quiet hours cannot start and end at the same time "
                                "({start}); to turn them off, clear them", start=same))
    return QuietHours(start, end)


def quiet_hours(ws: Workspace) -> QuietHours | None:
    """The workspace's quiet hours, or ``None``.

    :raises ValidationError: the stored setting is malformed (written by hand).
    """
    return parse_quiet_hours(ws.settings.get(QUIET_SETTING))


def set_quiet_hours(ws: Workspace, start: str, end: str) -> QuietHours:
    """Set the quiet hours (local ``HH:MM``; ``end`` before ``start`` wraps midnight).

    :raises ValidationError: a bad time, or start equals end; nothing is stored.
    :raises PermissionDenied: the principal may not change settings.
    """
    hours = parse_quiet_hours({"start": start, "end": end})
    ws.settings.set(QUIET_SETTING, hours.as_setting())
    return hours


def clear_quiet_hours(ws: Workspace) -> None:
    """Turn the quiet hours off.

    :raises PermissionDenied: the principal may not change settings.
    """
    ws.settings.set(QUIET_SETTING, None)


# -- the staff daily cap -----------------------------------------------------------------------


def parse_cap(value: Any) -> int | None:
    """The ``risk.staff_daily_cap`` setting as a positive number, or ``None`` (no cap).

    :raises ValidationError: not a whole number from 0 to :data:`MAX_CAP`.
    """
    if value is None or value == "":
        return None
    text = str(value).strip()  # True is "True": not a number
    if not text.isdigit() or int(text) > MAX_CAP:
        most = f"{MAX_CAP:,}"
        raise ValidationError(_("the staff daily cap must be a whole number from 0 (no cap) "
                                "to {most}, not {value!r}", most=most, value=value))
    return int(text) or None


def staff_daily_cap(ws: Workspace) -> int | None:
    """Messages one staff member may send per local day, or ``None`` (no cap).

    :raises ValidationError: the stored setting is malformed (written by hand).
    """
    return parse_cap(ws.settings.get(CAP_SETTING))


def set_staff_cap(ws: Workspace, cap: int | str | None) -> int | None:
    """Set the staff daily cap; ``0`` or ``None`` turns it off. Returns the cap stored.

    :raises ValidationError: not a whole number from 0 to :data:`MAX_CAP`; nothing stored.
    :raises PermissionDenied: the principal may not change settings.
    """
    value = parse_cap(cap)
    ws.settings.set(CAP_SETTING, value)
    return value


# -- days ------------------------------------------------------------------------------------


def local_day(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local calendar day ``moment`` falls in, as ``(its midnight, the next midnight)``
    in aware UTC."""
    day = moment.astimezone(tz).date()
    return local_time(day, time(0), tz), local_time(day + timedelta(days=1), time(0), tz)


def cap_resumes(moment: datetime, tz: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """When a staff member whose cap is used up at ``moment`` may send again: the next local
    midnight, or the end of the quiet period that midnight falls in."""
    midnight = local_day(moment, tz)[1]
    after_quiet = quiet.end_of(midnight, tz) if quiet is not None else None
    return after_quiet or midnight
