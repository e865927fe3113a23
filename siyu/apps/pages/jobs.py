"""Jobs: the scheduled jobs plugins register, when they run, their last run, and
run / pause / resume.

Pausing and resuming act on the scheduler, so they work in the process that runs it
(``siyu serve``); elsewhere the reason is shown as a notification. Every action is written
to the audit log. A job's schedule is described in words (:func:`describe_trigger`: "every 5
minutes", "daily at 03:00"), in the workspace timezone the scheduler runs in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, empty_state, fmt_time, page_header
from siyu.apps.pages.common import (
    notify_error,
    notify_errors,
    notify_success,
    plain_value,
    toggle_empty,
)
from siyu.apps.safe import md
from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    from zoneinfo import ZoneInfo

    from siyu.core.workspace import Workspace

#: What ``ws.scheduler.jobs()`` gives per job.
COLUMNS = ["name", "title", "trigger", "next_run", "paused", "last_status", "last_started",
           "last_message"]
#: How the table shows them. The columns have fixed widths and long text wraps inside its
#: cell (:data:`WRAPPED`), so that the pinned job column leaves a phone room for the others.
COLS = (
    Col("title", _.lazy("Job"), width=160),
    Col("schedule", _.lazy("Schedule"), width=150),
    Col("next_run", _.lazy("Next run"), "time", width=140),
    Col("paused", _.lazy("Paused"), "bool", width=80),
    Col("last_status_label", _.lazy("Last run"), width=100),
    Col("last_started", _.lazy("Last started"), "time", width=140),
    Col("last_message", _.lazy("Message"), width=260),
)
#: Columns whose text wraps onto more lines instead of being cut at the column's width.
WRAPPED = ("title", "schedule", "last_message")
#: How a run ended, as the table says it.
RUN_STATUSES: dict[str, Any] = {"ok": _.lazy("Succeeded"), "failed": _.lazy("Failed"),
                                "running": _.lazy("Running")}

# -- describing a trigger ------------------------------------------------------------------

INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
CRON_FIELDS = ("year", "month", "week", "day", "day_of_week", "hour", "minute", "second")
CRON_LABELS: dict[str, Any] = {
    "year": _.lazy("year"), "month": _.lazy("month"), "week": _.lazy("week"),
    "day": _.lazy("day"), "day_of_week": _.lazy("weekday"), "hour": _.lazy("hour"),
    "minute": _.lazy("minute"), "second": _.lazy("second")}
WEEKDAYS: dict[str, Any] = {
    "mon": _.lazy("Monday"), "tue": _.lazy("Tuesday"), "wed": _.lazy("Wednesday"),
    "thu": _.lazy("Thursday"), "fri": _.lazy("Friday"), "sat": _.lazy("Saturday"),
    "sun": _.lazy("Sunday")}
_WEEKDAY_NUMBERS = dict(zip("0123456", WEEKDAYS, strict=True))  # APScheduler: 0 is Monday
_STEP = re.compile(r"^\*/(\d+)$")


def _unit(unit: str, n: int) -> str:
    """``n`` of an interval ``unit`` in words: ``"5 minutes"``."""
    if unit == "weeks":
        return _.ngettext("{n} week", "{n} weeks", n)
    if unit == "days":
        return _.ngettext("{n} day", "{n} days", n)
    if unit == "hours":
        return _.ngettext("{n} hour", "{n} hours", n)
    if unit == "minutes":
        return _.ngettext("{n} minute", "{n} minutes", n)
    return _.ngettext("{n} second", "{n} seconds", n)


def _every(unit: str, n: int) -> str:
    """Every ``n`` ``unit``: ``"every hour"``, ``"every 5 minutes"``."""
    if n == 1:
        return {"weeks": _("every week"), "days": _("every day"), "hours": _("every hour"),
                "minutes": _("every minute"), "seconds": _("every second")}[unit]
    return {"weeks": _("every {n} weeks", n=n), "days": _("every {n} days", n=n),
            "hours": _("every {n} hours", n=n), "minutes": _("every {n} minutes", n=n),
            "seconds": _("every {n} seconds", n=n)}[unit]


def _describe_interval(args: Mapping[str, Any]) -> str | None:
    parts = [(unit, int(args[unit])) for unit in INTERVAL_UNITS if args.get(unit)]
    if not parts:
        return None
    if len(parts) == 1:
        return _every(*parts[0])
    return _("every {duration}", duration=" ".join(_unit(u, n) for u, n in parts))


def _weekdays(value: str) -> str | None:
    """A cron ``day_of_week`` (``"mon-fri"``, ``"sat,sun"``, ``"0"``) in words."""
    def day(token: str) -> str | None:
        token = _WEEKDAY_NUMBERS.get(token, token)
        return str(WEEKDAYS[token]) if token in WEEKDAYS else None

    names = []
    for part in value.lower().split(","):
        first, _dash, last = part.strip().partition("-")
        if last:
            a, b = day(first), day(last)
            if a is None or b is None:
                return None
            names.append(_("{first} to {last}", first=a, last=b))
        else:
            one = day(first)
            if one is None:
                return None
            names.append(one)
    return _(", ").join(names)


def _describe_cron(args: Mapping[str, Any]) -> str | None:
    a = {key: str(args[key]).strip() for key in CRON_FIELDS if args.get(key) is not None}
    second, minute, hour = a.get("second"), a.get("minute"), a.get("hour")
    day, dow = a.get("day"), a.get("day_of_week")
    if any(key in a for key in ("year", "month", "week")):
        return None

    def number(value: str | None) -> bool:
        return value is not None and value.isdigit()

    zero_second = second is None or second == "0"
    if hour is None and not day and not dow:
        if minute is None and number(second):
            return _("every minute at second {second}", second=int(second))
        if number(minute) and zero_second:
            return _("every hour at minute {minute}", minute=int(minute))
        step = _STEP.match(minute or "")
        if step and zero_second:
            return _every("minutes", int(step.group(1)))
        return None
    step = _STEP.match(hour or "")
    if step and (minute is None or number(minute)) and zero_second and not day and not dow:
        n = int(step.group(1))
        return _("every {n} hours at minute {minute}", n=n, minute=int(minute or 0))
    if not (number(hour) and (minute is None or number(minute))
            and (second is None or number(second))):
        return None
    time = f"{int(hour):02d}:{int(minute or 0):02d}"
    if second is not None and int(second):
        time += f":{int(second):02d}"
    if not day and not dow:
        return _("daily at {time}", time=time)
    if dow and not day:
        days = _weekdays(dow)
        return _("every {days} at {time}", days=days, time=time) if days else None
    if number(day) and not dow:
        return _("monthly on day {day} at {time}", day=int(day), time=time)
    return None


def describe_trigger(trigger: str, args: Mapping[str, Any] | None, tz: ZoneInfo) -> str:
    """A job's schedule in words, in the user's language: ``interval {"minutes": 5}`` →
    ``"every 5 minutes"`` (每 5 分钟), ``cron {"second": 0}`` → ``"every minute at second 0"``
    (每分钟第 0 秒), ``cron {"hour": 3}`` → ``"daily at 03:00"`` (每天 03:00); a schedule too
    unusual for a sentence lists its fields (``"cron: hour 9-18, minute */5"``).

    Cron times are in the scheduler's timezone, the workspace's ``tz``; a one-off
    (``date``) time is shown in ``tz`` too.
    """
    args = dict(args or {})
    text: str | None = None
    if trigger == "interval":
        text = _describe_interval(args)
    elif trigger == "cron":
        text = _describe_cron(args)
    elif trigger == "date" and args.get("run_date") is not None:
        stamp = pd.Timestamp(args["run_date"])
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)  # APScheduler reads a naive time in its timezone
        return _("once at {time}", time=fmt_time(stamp, tz))
    if text is not None:
        return text
    if trigger == "cron":
        fields = [_("{field} {value}", field=CRON_LABELS[key], value=args[key])
                  for key in CRON_FIELDS if args.get(key) is not None]
        return _("cron: {fields}", fields=_(", ").join(fields))
    shown = {key: value for key, value in args.items() if key != "timezone"}
    return _("{trigger}: {fields}", trigger=trigger, fields=plain_value(shown, tz))


class JobsPage(pn.viewable.Viewer):
    """The Jobs page (permission ``jobs.manage``).

    ``rows`` holds ``ws.scheduler.jobs()`` as read; the table shows it in words.
    """

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("jobs.manage")
        self.ws = ws
        self.rows = pd.DataFrame(columns=COLUMNS)
        self.status = pn.pane.Markdown("", css_classes=["siyu-jobs-scheduler"])
        self.table = data_table(COLS, css_class="siyu-jobs-table", selectable=1,
                                formatters={col.title: {"type": "textarea"}
                                            for col in COLS if col.key in WRAPPED})
        self.empty = empty_state(_("No plugin registers a scheduled job yet."),
                                 _("Jobs appear here when a plugin that registers one is "
                                   "enabled."), css_class="siyu-jobs-empty")
        self.job = pn.widgets.Select(label=_("Job"), css_classes=["siyu-jobs-select"],
                                     width=240)
        self.run_button = pn.widgets.Button(label=_("Run now"), color="primary",
                                            css_classes=["siyu-jobs-run"],
                                            margin=(24, 10, 10, 10))
        self.pause_button = pn.widgets.Button(label=_("Pause"),
                                              css_classes=["siyu-jobs-pause"],
                                              margin=(24, 10, 10, 10))
        self.resume_button = pn.widgets.Button(label=_("Resume"),
                                               css_classes=["siyu-jobs-resume"],
                                               margin=(24, 10, 10, 10))
        self.refresh_button = pn.widgets.Button(label=_("Refresh"),
                                                css_classes=["siyu-jobs-refresh"],
                                                margin=(24, 10, 10, 10))
        self.table.param.watch(self._row_selected, "selection")
        self.run_button.on_click(lambda _event: self.run_now())
        self.pause_button.on_click(lambda _event: self.pause())
        self.resume_button.on_click(lambda _event: self.resume())
        self.refresh_button.on_click(lambda _event: self.refresh())
        self.refresh()

    def frame(self) -> pd.DataFrame:
        """The jobs as read, with ``schedule`` (the trigger in words) and
        ``last_status_label`` added; ``paused`` is ``None`` (unknown) unless the scheduler
        runs in this process."""
        tz = self.ws.timezone
        specs = self.ws.jobs
        running = self.ws.scheduler.running
        rows = []
        for job in self.ws.scheduler.jobs():
            spec = specs.get(job["name"])
            schedule = (describe_trigger(spec.trigger, spec.trigger_args, tz) if spec
                        else str(job["trigger"]))
            status = job["last_status"]
            # Paused or not is known only where the scheduler runs: elsewhere "—".
            rows.append({**job, "title": str(job["title"]), "schedule": schedule,
                         "paused": job["paused"] if running else None,
                         "last_status_label": str(RUN_STATUSES.get(status, status))
                         if status else None})
        return pd.DataFrame(rows, columns=[*COLUMNS, "schedule", "last_status_label"])

    def refresh(self) -> None:
        """Reload the job list and whether the scheduler runs here."""
        frame = self.frame()
        self.rows = frame
        self.table.selection = []
        self.table.value = display_frame(frame, COLS, self.ws.timezone)
        has_jobs = not frame.empty
        toggle_empty(self.table, self.empty, has_jobs)
        selected = self.job.value
        titles = [str(t) for t in frame["title"]]
        options: dict[str, str] = {}
        for title, name in zip(titles, frame["name"], strict=True):
            label = title if titles.count(title) == 1 else _("{title} ({name})", title=title,
                                                              name=name)
            options[label] = name
        self.job.options = options
        names = list(frame["name"])
        self.job.value = selected if selected in names else (names[0] if names else None)
        running = self.ws.scheduler.running
        self.status.object = (
            md(_("The scheduler runs in this process.")) if running else
            md(_("The scheduler does not run in this process: **{run}** works, pausing and "
                 "resuming need the server that runs the scheduler."), run=_("Run now")))
        for button in (self.run_button, self.pause_button, self.resume_button):
            button.disabled = not has_jobs

    def _row_selected(self, event: Any) -> None:
        if event.new and 0 <= event.new[0] < len(self.rows):
            self.job.value = self.rows["name"].iloc[event.new[0]]

    def _chosen(self) -> str:
        if not self.job.value:
            raise ValidationError(_("choose a job first"))
        return self.job.value

    @notify_errors
    def run_now(self) -> Any:
        """Run the chosen job in this process and report how it ended."""
        name = self._chosen()
        run = self.ws.scheduler.run_now(name)
        self.ws.audit("job.run", name, {"status": run.status})
        self.refresh()
        if run.status == "ok":
            notify_success(_("job {name} finished: {message}", name=name, message=run.message)
                           if run.message else _("job {name} finished", name=name))
        else:
            notify_error(_("job {name} failed: {message}", name=name, message=run.message))
        return run

    @notify_errors
    def pause(self) -> None:
        """Pause the chosen job (it stays paused across restarts)."""
        name = self._chosen()
        self.ws.scheduler.pause(name)
        self.ws.audit("job.pause", name)
        self.refresh()
        notify_success(_("job {name} paused", name=name))

    @notify_errors
    def resume(self) -> None:
        """Resume the chosen job."""
        name = self._chosen()
        self.ws.scheduler.resume(name)
        self.ws.audit("job.resume", name)
        self.refresh()
        notify_success(_("job {name} resumed", name=name))

    def __panel__(self) -> pn.Column:
        actions = pn.FlexBox(self.job, self.run_button, self.pause_button, self.resume_button,
                             self.refresh_button, flex_wrap="wrap",
                             css_classes=["siyu-jobs-actions"])
        return pn.Column(
            page_header(_("Jobs"), _("Scheduled jobs the plugins register: when they run, how "
                                     "their last run ended; run, pause or resume one.")),
            self.status, self.table, self.empty, actions,
            css_classes=["siyu-jobs-page"], sizing_mode="stretch_width")
