"""The Risk center's event tabs: recent risk events (what was blocked, held or skipped, a
page at a time, filtered by rule and decision) and the daily summary (a table and a chart of
events by decision next to the messages sent).

Everything comes from :mod:`siyu.plugins.risk.events` (aggregated and paged in SQL). Phones
are masked unless the role holds ``pii.view``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn
from bokeh.models import (
    BasicTicker,
    ColumnDataSource,
    DatetimeTickFormatter,
    HoverTool,
    LinearAxis,
    Range1d,
)
from bokeh.plotting import figure

from siyu.apps.kit import Col, data_table, display_frame, empty_state, fmt_int, tidy_chart
from siyu.apps.pages.common import Pager, notify_errors, toggle_empty
from siyu.core.i18n import translator
from siyu.plugins.risk import events
from siyu.plugins.risk.models import DECISIONS
from siyu.plugins.risk.rules import decision_title, rule_title

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

EVENT_COLS = (
    Col("at", _.lazy("Time"), "time"), Col("rule_title", _.lazy("Rule")),
    Col("decision_title", _.lazy("Decision")), Col("campaign", _.lazy("Campaign")),
    Col("contact", _.lazy("Contact")), Col("phone", _.lazy("Phone")),
    Col("staff", _.lazy("Staff")), Col("reason", _.lazy("Reason"), width=280),
    Col("excerpt", _.lazy("Message"), width=220), Col("until", _.lazy("Waits until"), "time"),
)
#: Events per page.
PAGE_SIZE = 50
#: The periods of the summary: label → days.
PERIODS = {_.lazy("7 days"): 7, _.lazy("14 days"): 14, _.lazy("30 days"): 30}
#: Bar colours of the decisions, and of the line of messages sent.
COLOURS = {"blocked": "#c62828", "held": "#ef6c00", "skipped": "#6d4c41"}
SENT = "#0078d4"
DAY_WIDTH_MS = 0.8 * 24 * 3600 * 1000


def _count_events(n: int) -> str:
    return _.ngettext("{count} event", "{count} events", n, count=fmt_int(n))


def contact_label(row: dict[str, Any]) -> str | None:
    """An event's contact as ``name (#id)``, or ``None`` without one."""
    if row.get("contact_id") is None:
        return None
    return _("{name} (#{id})", name=row.get("contact") or "", id=row["contact_id"])


class EventsTab(pn.viewable.Viewer):
    """Recent risk events, newest first, filtered by rule and decision."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.reveal_pii = ws.principal.can("pii.view")
        rules = {str(rule.title): name for name, rule in sorted(ws.risk_rules.items())}
        self.rule = pn.widgets.Select(label=_("Rule"), options={_("All rules"): "", **rules},
                                      value="", width=220, css_classes=["siyu-risk-event-rule"])
        self.decision = pn.widgets.Select(
            label=_("Decision"), value="", width=160, css_classes=["siyu-risk-event-decision"],
            options={_("All decisions"): "", **{decision_title(d): d for d in DECISIONS}})
        self.refresh_button = pn.widgets.Button(label=_("Refresh"), margin=(24, 10, 10, 10),
                                                css_classes=["siyu-risk-events-refresh"])
        self.table = data_table(EVENT_COLS, css_class="siyu-risk-events-table")
        self.empty = empty_state(_("No risk events."),
                                 _("Messages the rules block or hold, and launches that skip "
                                   "someone, are listed here."),
                                 css_class="siyu-risk-events-empty")
        self.pager = Pager(page_size=PAGE_SIZE, counter=_count_events,
                           css_class="siyu-risk-events-pager")
        for widget in (self.rule, self.decision):
            widget.param.watch(lambda _e: self.refresh(first_page=True), "value")
        self.refresh_button.on_click(lambda _e: self.refresh())
        self.pager.param.watch(lambda _e: self.show_page(), "page")
        self.refresh()

    def _filters(self) -> dict[str, Any]:
        return {"rule": self.rule.value or None, "decision": self.decision.value or None}

    @notify_errors
    def refresh(self, first_page: bool = False) -> None:
        """Count the events again and show the current (or first) page."""
        self.pager.total = events.count(self.ws, **self._filters())
        self.pager.go(1 if first_page else self.pager.page)
        self.show_page()

    def show_page(self) -> None:
        """The current page of events."""
        rows = events.event_rows(self.ws, limit=PAGE_SIZE, offset=self.pager.offset,
                                 reveal_pii=self.reveal_pii, **self._filters())
        shown = [{**row, "rule_title": rule_title(row["rule"]),
                  "decision_title": decision_title(row["decision"]),
                  "contact": contact_label(row)} for row in rows]
        frame = pd.DataFrame(shown, columns=[col.key for col in EVENT_COLS])
        self.table.value = display_frame(frame, EVENT_COLS, self.ws.timezone)
        toggle_empty(self.table, self.empty, bool(self.pager.total))

    def __panel__(self) -> pn.Column:
        return pn.Column(pn.FlexBox(self.rule, self.decision, self.refresh_button,
                                    flex_wrap="wrap"),
                         self.table, self.empty, self.pager, sizing_mode="stretch_width",
                         css_classes=["siyu-risk-events-tab"])


def summary_columns(frame: pd.DataFrame) -> list[Col]:
    """The summary table's columns: the day, messages sent, each decision, each rule and
    decision found in ``frame``."""
    cols = [Col("day", _("Day"), "date"), Col("sent", _("Messages sent"), "int")]
    cols += [Col(d, decision_title(d), "int") for d in DECISIONS]
    for key in frame.columns[len(events.SUMMARY_COLUMNS):]:
        rule, _sep, decision = key.partition(":")
        cols.append(Col(key, _("{rule}: {decision}", rule=rule_title(rule),
                               decision=decision_title(decision)), "int"))
    return cols


def summary_chart(frame: pd.DataFrame) -> figure:
    """Events per day stacked by decision (left axis) and messages sent (line, right
    axis)."""
    data = {"day": frame["day"], "sent": frame["sent"]}
    data.update({d: frame[d] for d in DECISIONS})
    source = ColumnDataSource(data)
    fig = figure(title=_("Risk events and messages sent per day"), height=300,
                 x_axis_type="datetime", sizing_mode="stretch_width", tools="",
                 toolbar_location=None)
    fig.xgrid.grid_line_color = None
    most = float(frame[list(DECISIONS)].sum(axis=1).max() or 0)
    fig.y_range = Range1d(0, max(most, 1.0) * 1.15)  # counts: whole numbers, bars below the top
    fig.yaxis.axis_label = _("Events")
    fig.vbar_stack(list(DECISIONS), x="day", width=DAY_WIDTH_MS,
                   color=[COLOURS[d] for d in DECISIONS],
                   legend_label=[decision_title(d) for d in DECISIONS], source=source)
    top = float(frame["sent"].max() or 0)
    fig.extra_y_ranges = {"sent": Range1d(0, max(top, 1.0) * 1.15)}
    sent_axis = LinearAxis(y_range_name="sent", axis_label=_("Messages sent"),
                           ticker=BasicTicker(min_interval=1))
    fig.yaxis[0].ticker = BasicTicker(min_interval=1)
    fig.add_layout(sent_axis, "right")
    fig.line(x="day", y="sent", color=SENT, line_width=2, y_range_name="sent",
             legend_label=_("Messages sent"), source=source)
    fig.add_tools(HoverTool(tooltips=[(_("Day"), "@day{%F}"), (_("Messages sent"), "@sent"),
                                      *[(decision_title(d), f"@{d}") for d in DECISIONS]],
                            formatters={"@day": "datetime"}))
    fig.xaxis.formatter = DatetimeTickFormatter(days="%m-%d", months="%Y-%m", years="%Y")
    return tidy_chart(fig, y_axes=[sent_axis])


class SummaryTab(pn.viewable.Viewer):
    """Per day: events by decision and by rule, and the messages sent; as a chart and a
    table."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.period = pn.widgets.Select(label=_("Period"),
                                        options={str(k): v for k, v in PERIODS.items()},
                                        value=14, width=160,
                                        css_classes=["siyu-risk-summary-period"])
        self.chart = pn.pane.Bokeh(sizing_mode="stretch_width",
                                   css_classes=["siyu-risk-summary-chart"])
        self.table_box = pn.Column(sizing_mode="stretch_width")
        self.frame = pd.DataFrame(columns=list(events.SUMMARY_COLUMNS))
        self.period.param.watch(lambda _e: self.refresh(), "value")
        self.refresh()

    def refresh(self) -> None:
        """Aggregate the chosen period again."""
        self.frame = events.daily_summary(self.ws, int(self.period.value))
        cols = summary_columns(self.frame)
        table = data_table(cols, css_class="siyu-risk-summary-table")
        table.value = display_frame(self.frame.iloc[::-1], cols, self.ws.timezone)
        self.table_box.objects = [table]
        self.chart.object = summary_chart(self.frame)

    def __panel__(self) -> pn.Column:
        return pn.Column(self.period, self.chart, self.table_box, sizing_mode="stretch_width",
                         css_classes=["siyu-risk-summary-tab"])
