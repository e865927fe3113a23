"""Jobs: the scheduled jobs plugins register, their last run, and run / pause / resume.

Pausing and resuming act on the scheduler, so they work in the process that runs it
(``siyu serve``); elsewhere the reason is shown as a notification. Every action is written
to the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.pages.common import notify_error, notify_errors, notify_success, show_times, table
from siyu.core.errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["name", "title", "trigger", "next_run", "paused", "last_status", "last_started",
           "last_message"]


class JobsPage(pn.viewable.Viewer):
    """The Jobs page (permission ``jobs.manage``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("jobs.manage")
        self.ws = ws
        self.status = pn.pane.Markdown("", css_classes=["siyu-jobs-scheduler"])
        self.table = table(css_class="siyu-jobs-table", selectable=1)
        self.job = pn.widgets.Select(label="Job", css_classes=["siyu-jobs-select"], width=240)
        self.run_button = pn.widgets.Button(label="Run now", color="primary",
                                            css_classes=["siyu-jobs-run"],
                                            margin=(24, 10, 10, 10))
        self.pause_button = pn.widgets.Button(label="Pause", css_classes=["siyu-jobs-pause"],
                                              margin=(24, 10, 10, 10))
        self.resume_button = pn.widgets.Button(label="Resume",
                                               css_classes=["siyu-jobs-resume"],
                                               margin=(24, 10, 10, 10))
        self.refresh_button = pn.widgets.Button(label="Refresh",
                                                css_classes=["siyu-jobs-refresh"],
                                                margin=(24, 10, 10, 10))
        self.table.param.watch(self._row_selected, "selection")
        self.run_button.on_click(lambda _event: self.run_now())
        self.pause_button.on_click(lambda _event: self.pause())
        self.resume_button.on_click(lambda _event: self.resume())
        self.refresh_button.on_click(lambda _event: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        """Reload the job list and whether the scheduler runs here."""
        rows = self.ws.scheduler.jobs()
        frame = pd.DataFrame(rows, columns=COLUMNS)
        self.table.selection = []
        self.table.value = show_times(frame, ["next_run", "last_started"], self.ws.timezone)
        selected = self.job.value
        names = list(frame["name"])
        self.job.options = names
        self.job.value = selected if selected in names else (names[0] if names else None)
        running = self.ws.scheduler.running
        self.status.object = (
            "The scheduler runs in this process." if running else
            "The scheduler does not run in this process: *Run now* works, pausing and "
            "resuming need the server that runs the scheduler.")
        has_jobs = bool(rows)
        if not has_jobs:
            self.status.object += "\n\nNo plugin registers a scheduled job yet."
        for button in (self.run_button, self.pause_button, self.resume_button):
            button.disabled = not has_jobs

    def _row_selected(self, event: Any) -> None:
        if event.new and 0 <= event.new[0] < len(self.table.value):
            self.job.value = self.table.value["name"].iloc[event.new[0]]

    def _chosen(self) -> str:
        if not self.job.value:
            raise ValidationError("choose a job first")
        return self.job.value

    @notify_errors
    def run_now(self) -> Any:
        """Run the chosen job in this process and report how it ended."""
        name = self._chosen()
        run = self.ws.scheduler.run_now(name)
        self.ws.audit("job.run", name, {"status": run.status})
        self.refresh()
        if run.status == "ok":
            notify_success(f"job {name} finished" + (f": {run.message}" if run.message else ""))
        else:
            notify_error(f"job {name} failed: {run.message}")
        return run

    @notify_errors
    def pause(self) -> None:
        """Pause the chosen job (it stays paused across restarts)."""
        name = self._chosen()
        self.ws.scheduler.pause(name)
        self.ws.audit("job.pause", name)
        self.refresh()
        notify_success(f"job {name} paused")

    @notify_errors
    def resume(self) -> None:
        """Resume the chosen job."""
        name = self._chosen()
        self.ws.scheduler.resume(name)
        self.ws.audit("job.resume", name)
        self.refresh()
        notify_success(f"job {name} resumed")

    def __panel__(self) -> pn.Column:
        actions = pn.Row(self.job, self.run_button, self.pause_button, self.resume_button,
                         self.refresh_button, css_classes=["siyu-jobs-actions"])
        return pn.Column(pn.pane.Markdown("## Jobs"), self.status, self.table, actions,
                         css_classes=["siyu-jobs-page"], sizing_mode="stretch_width")
