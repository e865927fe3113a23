"""Hooks: the deliveries of hook notices (``on_contact_added``…) to plugins, with counts per
plugin and hook, the errors of failed ones, retry, and "deliver due now".

A notice is delivered right after the commit that wrote it; one a plugin failed on waits in
backoff and is parked as *failed* after :data:`~siyu.core.dispatch.MAX_ATTEMPTS` attempts
(see the "Durable delivery" chapter of ``docs/plugins.md``). Retrying is audited by
``ws.hooks.retry``; *Deliver due now* is audited here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.pages.common import (
    TIME_FORMAT,
    notify_error,
    notify_errors,
    notify_success,
    section,
    show_times,
    table,
)
from siyu.apps.safe import html, md
from siyu.core.dispatch import KEEP_DONE, backoff, lease_seconds
from siyu.core.errors import ValidationError
from siyu.storage.models import HookDelivery
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: The status filter: label → the statuses shown, in this order (failed first).
STATUS_FILTERS = {"Failed and pending": ("failed", "pending"), "Failed": ("failed",),
                  "Pending": ("pending",), "Done": ("done",),
                  "All": ("failed", "pending", "done")}
#: Rows read per status.
LIMIT = 500
#: Deliveries *Deliver due now* runs at most (it runs in the console's thread).
DELIVER_LIMIT = 100
#: An error is cut to this many characters, on one line, in the table and in notifications
#: (the detail below the table shows all of it).
ERROR_CHARS = 200
#: How long *Retry* waits for a dispatcher thread to report how the retry ended.
RETRY_WAIT_S = 2.0

COLUMNS = ["id", "status", "plugin", "hook", "subject", "attempts", "error", "next_attempt",
           "created_at", "delivered_at", "delivery_id", "progress"]
SUMMARY_COLUMNS = ["plugin", "hook", "failed", "pending", "done"]
STATUS_COLORS = {"failed": "color: #c62828; font-weight: 600",
                 "pending": "color: #ef6c00", "done": "color: #2e7d32"}
DETAIL_CSS = (".siyu-hooks-error{white-space:pre-wrap;word-break:break-word;max-height:220px;"
              "overflow:auto;background:#fdecea;border-radius:4px;padding:8px;margin:6px 0 0;"
              "font-size:12px}")


def summary_frame(summary: dict[str, dict[str, int]]) -> pd.DataFrame:
    """``ws.hooks.summary()`` as one row per plugin and hook, most failures first."""
    rows = []
    for key, counts in summary.items():
        plugin, _, hook = key.rpartition(".")  # hook names hold no dot; plugin names may
        rows.append([plugin, hook, *(int(counts.get(s, 0)) for s in SUMMARY_COLUMNS[2:])])
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.sort_values(["failed", "pending", "plugin", "hook"],
                             ascending=[False, False, True, True], ignore_index=True)


def delivery_id(notice_id: int, item: Any, items: int) -> str:
    """The ``delivery_id`` the plugin is called with: ``"12"`` for a single notice,
    ``"12:17"`` for an item of a bulk one, ``"12:*"`` for a whole bulk notice."""
    if item is not None and not pd.isna(item):
        return f"{notice_id}:{int(item)}"
    return f"{notice_id}:*" if items > 1 else str(notice_id)


def one_line(error: str) -> str:
    """``error`` on one line, cut to :data:`ERROR_CHARS` characters."""
    error = " ".join(error.split())
    return error if len(error) <= ERROR_CHARS else error[:ERROR_CHARS - 1] + "…"


def subject_text(subject: Any) -> str:
    """A delivery's subject as shown: ``"contact:42"``, or ``"bulk"`` for a bulk notice."""
    return subject if isinstance(subject, str) and subject else "bulk"


def shown(frame: pd.DataFrame, tz: Any) -> pd.DataFrame:
    """Deliveries from ``ws.hooks.df()`` as the table shows them."""
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame.copy()
    frame["next_attempt"] = frame["due_at"].where(frame["status"] == "pending")
    frame["delivery_id"] = [delivery_id(n, i, c) for n, i, c in
                            zip(frame["notice_id"], frame["item"], frame["items"], strict=True)]
    bulk = frame["item"].isna() & (frame["items"] > 1)
    frame["progress"] = [f"{p:,}/{c:,}" if b else "" for p, c, b in
                         zip(frame["position"], frame["items"], bulk, strict=True)]
    frame["subject"] = frame["subject"].map(subject_text)
    frame["error"] = frame["error"].fillna("").map(one_line)
    return show_times(frame[COLUMNS], ["next_attempt", "created_at", "delivered_at"], tz)


def settled(row: Any) -> bool:
    """Whether a retried delivery ``row`` was attempted and its outcome stored: not waiting
    for its first attempt, not claimed by a dispatcher right now (a claimed row's ``due_at``
    is a lease ahead, one that failed again waits only its backoff)."""
    if row.status != "pending":
        return True
    wait = backoff(row.attempts)
    if row.attempts == 0 or lease_seconds() <= wait.total_seconds():
        return False  # not attempted yet, or a lease too short to tell
    return row.due_at <= utcnow() + wait


class HooksPage(pn.viewable.Viewer):
    """The Hooks page (permission ``jobs.manage``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("jobs.manage")
        self.ws = ws
        self.frame = pd.DataFrame(columns=COLUMNS)
        self._quiet = False
        self.dispatcher = pn.pane.Markdown("", css_classes=["siyu-hooks-dispatcher"])
        kpi = {"font_size": "28pt", "title_size": "11pt", "format": "{value:,}"}
        self.indicators = {
            "failed": pn.indicators.Number(label="Failed", value=0,
                                           colors=[(0, "#2e7d32"), (float("inf"), "#c62828")],
                                           css_classes=["siyu-hooks-kpi-failed"], **kpi),
            "pending": pn.indicators.Number(label="Pending", value=0,
                                            css_classes=["siyu-hooks-kpi-pending"], **kpi),
            "done": pn.indicators.Number(label=f"Done, last {KEEP_DONE.days} days",
                                         value=0,
                                         css_classes=["siyu-hooks-kpi-done"], **kpi),
        }
        self.summary = table(css_class="siyu-hooks-summary", selectable=1, max_height=240)
        self.summary.style.map(lambda n: STATUS_COLORS["failed"] if n else "", subset=["failed"])
        self.status_filter = pn.widgets.Select(label="Status", options=list(STATUS_FILTERS),
                                               value="Failed and pending", width=180,
                                               css_classes=["siyu-hooks-status"])
        self.source = pn.widgets.Select(label="Plugin and hook", options={"All": ""}, value="",
                                        width=260, css_classes=["siyu-hooks-source"])
        self.count = pn.pane.Markdown("", css_classes=["siyu-hooks-count"],
                                      margin=(22, 10, 0, 10))
        self.table = table(css_class="siyu-hooks-table", selectable=1, max_height=420,
                           widths={"error": 340})
        self.table.style.map(lambda status: STATUS_COLORS.get(status, ""), subset=["status"])
        self.detail = pn.pane.HTML("", css_classes=["siyu-hooks-detail"],
                                   sizing_mode="stretch_width", stylesheets=[DETAIL_CSS])
        self.delivery = pn.widgets.Select(label="Failed delivery", width=300,
                                          css_classes=["siyu-hooks-delivery"])
        self.retry_button = pn.widgets.Button(label="Retry", color="primary",
                                              css_classes=["siyu-hooks-retry"],
                                              margin=(24, 10, 10, 10))
        self.deliver_button = pn.widgets.Button(label="Deliver due now",
                                                css_classes=["siyu-hooks-deliver"],
                                                margin=(24, 10, 10, 10))
        self.refresh_button = pn.widgets.Button(label="Refresh",
                                                css_classes=["siyu-hooks-refresh"],
                                                margin=(24, 10, 10, 10))
        self.summary.param.watch(self._summary_selected, "selection")
        self.table.param.watch(self._row_selected, "selection")
        self.delivery.param.watch(lambda event: self._show(event.new), "value")
        for widget in (self.status_filter, self.source):
            widget.param.watch(lambda _event: self._filters_changed(), "value")
        self.retry_button.on_click(lambda _event: self.retry())
        self.deliver_button.on_click(lambda _event: self.deliver())
        self.refresh_button.on_click(lambda _event: self.refresh())
        self.refresh()

    # -- loading --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the counts, the deliveries and whether the dispatcher runs here."""
        summary = self.ws.hooks.summary()
        counts = summary_frame(summary)
        for status, indicator in self.indicators.items():
            indicator.value = int(counts[status].sum())
        self._quiet = True
        try:
            self.summary.selection = []
            self.summary.value = counts
            keys = [f"{p}.{h}" for p, h in zip(counts["plugin"], counts["hook"], strict=True)]
            current = self.source.value
            self.source.options = {"All": "", **{key: key for key in sorted(keys)}}
            self.source.value = current if current in keys else ""
        finally:
            self._quiet = False
        self.dispatcher.object = (
            "The hook dispatcher runs in this process: it retries due deliveries every few "
            "seconds." if self.ws.hooks.running else
            "The hook dispatcher does not run in this process: deliveries are made right "
            "after the change that notifies, retries when *Deliver due now* is clicked or a "
            "server that runs the dispatcher (`siyu serve`) picks them up.")
        if not summary:
            self.dispatcher.object += ("\n\nNo hook deliveries yet: they appear when a "
                                       "plugin that implements a notification hook "
                                       "(`on_contact_added`…) is notified.")
        self.load()

    def _filters_changed(self) -> None:
        if not self._quiet:
            self.load()

    def filters(self) -> dict[str, Any]:
        """The plugin and hook filter as ``ws.hooks.df()`` keyword arguments."""
        plugin, _, hook = (self.source.value or "").rpartition(".")
        return {"plugin": plugin or None, "hook": hook or None}

    def load(self) -> None:
        """Show the deliveries the filters select: failed first, then pending, then done,
        newest first within each."""
        statuses = STATUS_FILTERS[self.status_filter.value]
        frames = [self.ws.hooks.df(status=status, limit=LIMIT, **self.filters())
                  for status in statuses]
        full = any(len(frame) >= LIMIT for frame in frames)
        frames = [frame for frame in frames if not frame.empty]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.frame = frame
        self.table.selection = []
        self.table.value = shown(frame, self.ws.timezone)
        self.count.object = md("{n:,} {noun} shown{more}", n=len(frame),
                               noun="delivery" if len(frame) == 1 else "deliveries",
                               more=f" (the newest {LIMIT} of each status)" if full else "")
        failed = frame[frame["status"] == "failed"] if not frame.empty else frame
        chosen = self.delivery.value
        options = {f"{row.id} · {row.plugin}.{row.hook} · {subject_text(row.subject)}":
                   int(row.id) for row in failed.itertuples()}
        self.delivery.options = options
        ids = list(options.values())
        self.delivery.value = chosen if chosen in ids else (ids[0] if ids else None)
        self.retry_button.disabled = not ids
        self._show(self.delivery.value)

    # -- choosing -------------------------------------------------------------------------

    def _summary_selected(self, event: Any) -> None:
        if self._quiet or not event.new or not 0 <= event.new[0] < len(self.summary.value):
            return
        row = self.summary.value.iloc[event.new[0]]
        self.source.value = f"{row['plugin']}.{row['hook']}"

    def _row_selected(self, event: Any) -> None:
        if not event.new or not 0 <= event.new[0] < len(self.table.value):
            return
        chosen = int(self.table.value["id"].iloc[event.new[0]])
        if chosen in self.delivery.values:
            self.delivery.value = chosen  # its watcher shows it
        self._show(chosen)

    def _show(self, chosen: int | None) -> None:
        """Show delivery ``chosen`` (of the rows loaded) in full below the table."""
        rows = (self.frame[self.frame["id"] == chosen]
                if chosen is not None and not self.frame.empty else self.frame.iloc[0:0])
        self.detail.object = self._detail(rows.iloc[0]) if len(rows) else ""

    def _detail(self, row: Any) -> str:
        """A delivery (a table row, or a row of ``ws.hooks.query()``) in full, escaped."""
        error = html('<pre class="siyu-hooks-error">{error}</pre>', error=row["error"])
        return html('<div><b>Delivery {id}</b> · {status} · {plugin}.{hook} · {subject} · '
                    '{attempts} attempt(s) · delivery_id <code>{delivery}</code></div>{error}',
                    id=int(row["id"]), status=row["status"], plugin=row["plugin"],
                    hook=row["hook"], subject=subject_text(row["subject"]),
                    attempts=int(row["attempts"]),
                    delivery=delivery_id(row["notice_id"], row["item"], row["items"]),
                    error=error if row["error"] else "")

    # -- actions --------------------------------------------------------------------------

    def _row(self, chosen: int) -> Any:
        query = self.ws.hooks.query().where(HookDelivery.__table__.c.id == chosen)
        with self.ws.engine.connect() as conn:
            return conn.execute(query).first()

    @notify_errors
    def retry(self) -> Any:
        """Retry the chosen failed delivery now and report how it ended (waiting up to
        :data:`RETRY_WAIT_S` when a dispatcher thread delivers it)."""
        if self.delivery.value is None:
            raise ValidationError("choose a failed delivery first")
        chosen = int(self.delivery.value)
        self.ws.hooks.retry(chosen)
        row = self._row(chosen)
        # Without a dispatcher thread, retry() has delivered it already, in this thread.
        deadline = time.monotonic() + (RETRY_WAIT_S if self.ws.hooks.running else 0)
        while row is not None and not settled(row) and time.monotonic() < deadline:
            time.sleep(0.05)
            row = self._row(chosen)
        self.refresh()
        # How the retried one ended, even when the status filter no longer lists it.
        self.detail.object = self._detail(row._mapping) if row is not None else ""
        if row is None:  # purged meanwhile: it was delivered a week ago
            notify_success(f"delivery {chosen} was delivered")
        elif row.status == "done":
            notify_success(f"delivery {chosen} ({row.plugin}.{row.hook}) delivered")
        elif settled(row):
            then = ("" if row.status == "failed" else
                    ", next attempt at " + pd.Timestamp(row.due_at).tz_convert(
                        self.ws.timezone).strftime(TIME_FORMAT))
            notify_error(f"delivery {chosen} ({row.plugin}.{row.hook}) failed again: "
                         f"{one_line(row.error)}{then}")
        else:
            notify_success(f"delivery {chosen} ({row.plugin}.{row.hook}) is being retried; "
                           f"Refresh shows how it ends")
        return row

    @notify_errors
    def deliver(self) -> int:
        """Run the deliveries that are due now (at most :data:`DELIVER_LIMIT`)."""
        ran = self.ws.hooks.deliver(limit=DELIVER_LIMIT)
        if ran:
            self.ws.audit("hook.deliver", "", {"ran": ran})
        self.refresh()
        if not ran:
            notify_success("no delivery was due")
        elif ran >= DELIVER_LIMIT:
            notify_success(f"ran {ran} due deliveries; more may be due, click again")
        else:
            notify_success(f"ran {ran} due {'delivery' if ran == 1 else 'deliveries'}")
        return ran

    def __panel__(self) -> pn.Column:
        numbers = pn.FlexBox(*self.indicators.values(), css_classes=["siyu-hooks-kpis"])
        filters = pn.FlexBox(self.status_filter, self.source, self.count,
                             css_classes=["siyu-hooks-filters"])
        actions = pn.FlexBox(self.delivery, self.retry_button, self.deliver_button,
                             self.refresh_button, css_classes=["siyu-hooks-actions"])
        return pn.Column(
            pn.pane.Markdown("## Hooks"), self.dispatcher, numbers,
            section("By plugin and hook", self.summary, css_class="siyu-hooks-by-source"),
            section("Deliveries", filters, self.table, self.detail, actions,
                    css_class="siyu-hooks-deliveries"),
            css_classes=["siyu-hooks-page"], sizing_mode="stretch_width")
