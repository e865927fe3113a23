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

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    empty_state,
    fmt_int,
    fmt_time,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import (
    notify_error,
    notify_errors,
    notify_success,
    section,
    toggle_empty,
)
from siyu.apps.safe import html, join, md
from siyu.core.dispatch import KEEP_DONE, backoff, lease_seconds
from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _
from siyu.storage.models import HookDelivery
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: The status filter: key → (label, the statuses shown, in this order: failed first).
STATUS_FILTERS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "open": (_.lazy("Failed and pending"), ("failed", "pending")),
    "failed": (_.lazy("Failed"), ("failed",)),
    "pending": (_.lazy("Pending"), ("pending",)),
    "done": (_.lazy("Delivered"), ("done",)),
    "all": (_.lazy("All"), ("failed", "pending", "done")),
}
#: What each delivery status is called.
STATUS_LABELS: dict[str, Any] = {"failed": _.lazy("Failed"), "pending": _.lazy("Pending"),
                                 "done": _.lazy("Delivered")}
#: Rows read per status.
LIMIT = 500
#: Deliveries *Deliver due now* runs at most (it runs in the console's thread).
DELIVER_LIMIT = 100
#: An error is cut to this many characters, on one line, in the table and in notifications
#: (the detail below the table shows all of it).
ERROR_CHARS = 200
#: How long *Retry* waits for a dispatcher thread to report how the retry ended.
RETRY_WAIT_S = 2.0

#: The columns :func:`shown` gives (the deliveries as read, plus what the table derives).
COLUMNS = ["id", "status", "plugin", "hook", "subject", "attempts", "error", "next_attempt",
           "created_at", "delivered_at", "delivery_id", "progress"]
COLS = (
    Col("id", _.lazy("ID"), "id"),
    Col("status_label", _.lazy("Status")),
    Col("plugin", _.lazy("Plugin")),
    Col("hook", _.lazy("Hook")),
    Col("subject", _.lazy("Subject")),
    Col("attempts", _.lazy("Attempts"), "int"),
    Col("error", _.lazy("Error"), width=340),
    Col("next_attempt", _.lazy("Next attempt"), "time"),
    Col("created_at", _.lazy("Created at"), "time"),
    Col("delivered_at", _.lazy("Delivered at"), "time"),
    Col("delivery_id", _.lazy("Delivery ID"), "id"),
    Col("progress", _.lazy("Progress")),
)
SUMMARY_COLUMNS = ["plugin", "hook", "failed", "pending", "done"]
SUMMARY_COLS = (
    Col("plugin", _.lazy("Plugin")),
    Col("hook", _.lazy("Hook")),
    Col("failed", _.lazy("Failed"), "int"),
    Col("pending", _.lazy("Pending"), "int"),
    Col("done", _.lazy("Delivered"), "int"),
)
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
    """A delivery's subject as shown: ``"contact:42"``, or "bulk" (translated) for a bulk
    notice."""
    return subject if isinstance(subject, str) and subject else _("bulk")


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Deliveries from ``ws.hooks.df()`` with what the table derives: the next attempt of a
    pending one, the ``delivery_id`` the plugin gets, a bulk notice's progress, the subject
    and error as shown, the status in words. Times stay times (the table formats them)."""
    if frame.empty:
        return pd.DataFrame(columns=[*COLUMNS, "status_label"])
    frame = frame.copy()
    frame["next_attempt"] = frame["due_at"].where(frame["status"] == "pending")
    frame["delivery_id"] = [delivery_id(n, i, c) for n, i, c in
                            zip(frame["notice_id"], frame["item"], frame["items"], strict=True)]
    bulk = frame["item"].isna() & (frame["items"] > 1)
    frame["progress"] = [f"{fmt_int(p)}/{fmt_int(c)}" if b else "" for p, c, b in
                         zip(frame["position"], frame["items"], bulk, strict=True)]
    frame["subject"] = frame["subject"].map(subject_text)
    frame["error"] = frame["error"].fillna("").map(one_line)
    frame["status_label"] = [str(STATUS_LABELS.get(s, s)) for s in frame["status"]]
    return frame[[*COLUMNS, "status_label"]].reset_index(drop=True)


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
    """The Hooks page (permission ``jobs.manage``).

    ``frame`` holds the deliveries as read, ``rows`` what the table shows (:func:`shown`),
    in the table's order; ``totals`` the failed / pending / done counts.
    """

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("jobs.manage")
        self.ws = ws
        self.frame = pd.DataFrame(columns=COLUMNS)
        self.rows = shown(self.frame)
        self.totals = {"failed": 0, "pending": 0, "done": 0}
        self.summary_rows = summary_frame({})
        self._quiet = False
        self.dispatcher = pn.pane.Markdown("", css_classes=["siyu-hooks-dispatcher"])
        self.numbers = pn.Column(sizing_mode="stretch_width", css_classes=["siyu-hooks-kpis"])
        self.summary = data_table(SUMMARY_COLS, css_class="siyu-hooks-summary", selectable=1)
        failed_title = SUMMARY_COLS[2].title
        self.summary.style.map(
            lambda n: STATUS_COLORS["failed"] if n not in ("0", "—", "") else "",
            subset=[failed_title])
        self.status_filter = pn.widgets.Select(
            label=_("Status"), options={str(label): key
                                       for key, (label, _s) in STATUS_FILTERS.items()},
            value="open", width=180, css_classes=["siyu-hooks-status"])
        self.source = pn.widgets.Select(label=_("Plugin and hook"), options={_("All"): ""},
                                        value="", width=260, css_classes=["siyu-hooks-source"])
        self.count = pn.pane.Markdown("", css_classes=["siyu-hooks-count"],
                                      margin=(22, 10, 0, 10))
        self.table = data_table(COLS, css_class="siyu-hooks-table", selectable=1,
                                max_height=420)
        colors = {str(STATUS_LABELS[status]): style for status, style in STATUS_COLORS.items()}
        self.table.style.map(lambda label: colors.get(label, ""), subset=[COLS[1].title])
        self.empty = empty_state(_("No delivery with this status."),
                                 _("Choose another status or plugin above."),
                                 css_class="siyu-hooks-empty")
        self.detail = pn.pane.HTML("", css_classes=["siyu-hooks-detail"],
                                   sizing_mode="stretch_width", stylesheets=[DETAIL_CSS])
        self.delivery = pn.widgets.Select(label=_("Failed delivery"), width=300,
                                          css_classes=["siyu-hooks-delivery"])
        self.retry_button = pn.widgets.Button(label=_("Retry"), color="primary",
                                              css_classes=["siyu-hooks-retry"],
                                              margin=(24, 10, 10, 10))
        self.deliver_button = pn.widgets.Button(label=_("Deliver due now"),
                                                css_classes=["siyu-hooks-deliver"],
                                                margin=(24, 10, 10, 10))
        self.refresh_button = pn.widgets.Button(label=_("Refresh"),
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
        self.totals = {status: int(counts[status].sum()) for status in self.totals}
        failed = self.totals["failed"]
        self.numbers.objects = [kpi_cards(
            [(_("Failed"), fmt_int(failed), _("needs attention") if failed else ""),
             (_("Pending"), fmt_int(self.totals["pending"])),
             (_("Delivered, last {days} days", days=KEEP_DONE.days),
              fmt_int(self.totals["done"]))],
            css_class="siyu-hooks-numbers")]
        self._quiet = True
        try:
            self.summary.selection = []
            self.summary_rows = counts
            self.summary.value = display_frame(counts, SUMMARY_COLS, self.ws.timezone)
            self.summary.visible = not counts.empty
            keys = [f"{p}.{h}" for p, h in zip(counts["plugin"], counts["hook"], strict=True)]
            current = self.source.value
            self.source.options = {_("All"): "", **{key: key for key in sorted(keys)}}
            self.source.value = current if current in keys else ""
        finally:
            self._quiet = False
        running = md(_("The hook dispatcher runs in this process: it retries due deliveries "
                       "every few seconds."))
        idle = md(_("The hook dispatcher does not run in this process: deliveries are made "
                    "right after the change that notifies, retries when **{deliver}** is "
                    "clicked or a server that runs the dispatcher (`siyu serve`) picks them "
                    "up."), deliver=_("Deliver due now"))
        parts = [running if self.ws.hooks.running else idle]
        if not summary:
            parts.append(md(_("No hook deliveries yet: they appear when a plugin that "
                              "implements a notification hook (`on_contact_added`…) is "
                              "notified.")))
        self.dispatcher.object = join("\n\n", parts)
        self.load()

    def _filters_changed(self) -> None:
        if not self._quiet:
            self.load()

    def filters(self) -> dict[str, Any]:
        """The plugin and hook filter as ``ws.hooks.df()`` keyword arguments."""
        plugin, _dot, hook = (self.source.value or "").rpartition(".")
        return {"plugin": plugin or None, "hook": hook or None}

    def load(self) -> None:
        """Show the deliveries the filters select: failed first, then pending, then done,
        newest first within each."""
        _label, statuses = STATUS_FILTERS[self.status_filter.value]
        frames = [self.ws.hooks.df(status=status, limit=LIMIT, **self.filters())
                  for status in statuses]
        full = any(len(frame) >= LIMIT for frame in frames)
        frames = [frame for frame in frames if not frame.empty]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.frame = frame
        self.rows = shown(frame)
        self.table.selection = []
        self.table.value = display_frame(self.rows, COLS, self.ws.timezone)
        toggle_empty(self.table, self.empty, not self.rows.empty)
        n = len(frame)
        count = _.ngettext("{count} delivery shown", "{count} deliveries shown", n,
                           count=fmt_int(n))
        self.count.object = (md(_("{shown} (the newest {limit} of each status)"),
                                shown=count, limit=fmt_int(LIMIT))
                             if full else md("{shown}", shown=count))
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
        if self._quiet or not event.new or not 0 <= event.new[0] < len(self.summary_rows):
            return
        row = self.summary_rows.iloc[event.new[0]]
        self.source.value = f"{row['plugin']}.{row['hook']}"

    def _row_selected(self, event: Any) -> None:
        if not event.new or not 0 <= event.new[0] < len(self.rows):
            return
        chosen = int(self.rows["id"].iloc[event.new[0]])
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
        attempts = int(row["attempts"])
        return html('<div><b>{title}</b> · {status} · {plugin}.{hook} · {subject} · '
                    '{attempts} · {label} <code>{delivery}</code></div>{error}',
                    title=_("Delivery {id}", id=int(row["id"])),
                    status=str(STATUS_LABELS.get(row["status"], row["status"])),
                    plugin=row["plugin"], hook=row["hook"],
                    subject=subject_text(row["subject"]),
                    attempts=_.ngettext("{n} attempt", "{n} attempts", attempts),
                    label=_("Delivery ID"),
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
            raise ValidationError(_("choose a failed delivery first"))
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
            notify_success(_("delivery {id} was delivered", id=chosen))
        elif row.status == "done":
            notify_success(_("delivery {id} ({plugin}.{hook}) delivered", id=chosen,
                             plugin=row.plugin, hook=row.hook))
        elif settled(row) and row.status == "failed":
            notify_error(_("delivery {id} ({plugin}.{hook}) failed again: {error}", id=chosen,
                           plugin=row.plugin, hook=row.hook, error=one_line(row.error)))
        elif settled(row):
            notify_error(_("delivery {id} ({plugin}.{hook}) failed again: {error}, next "
                           "attempt at {time}", id=chosen, plugin=row.plugin, hook=row.hook,
                           error=one_line(row.error),
                           time=fmt_time(row.due_at, self.ws.timezone)))
        else:
            notify_success(_("delivery {id} ({plugin}.{hook}) is being retried; {refresh} "
                             "shows how it ends", id=chosen, plugin=row.plugin, hook=row.hook,
                             refresh=_("Refresh")))
        return row

    @notify_errors
    def deliver(self) -> int:
        """Run the deliveries that are due now (at most :data:`DELIVER_LIMIT`)."""
        ran = self.ws.hooks.deliver(limit=DELIVER_LIMIT)
        if ran:
            self.ws.audit("hook.deliver", "", {"ran": ran})
        self.refresh()
        if not ran:
            notify_success(_("no delivery was due"))
        elif ran >= DELIVER_LIMIT:
            notify_success(_("ran {n} due deliveries; more may be due, click again", n=ran))
        else:
            notify_success(_.ngettext("ran {n} due delivery", "ran {n} due deliveries", ran))
        return ran

    def __panel__(self) -> pn.Column:
        filters = pn.FlexBox(self.status_filter, self.source, self.count, flex_wrap="wrap",
                             css_classes=["siyu-hooks-filters"])
        actions = pn.FlexBox(self.delivery, self.retry_button, self.deliver_button,
                             self.refresh_button, flex_wrap="wrap",
                             css_classes=["siyu-hooks-actions"])
        return pn.Column(
            page_header(_("Hooks"), _("Notices delivered to plugins: what failed and why; "
                                      "retry a failed one or deliver what is due now.")),
            self.dispatcher, self.numbers,
            section(_("By plugin and hook"), self.summary, css_class="siyu-hooks-by-source"),
            section(_("Deliveries"), filters, self.table, self.empty, self.detail, actions,
                    css_class="siyu-hooks-deliveries"),
            css_classes=["siyu-hooks-page"], sizing_mode="stretch_width")
