"""The Live-code reports console page: a period, headline numbers, a net-growth chart, and
the reports by code, by channel and per staff member, each downloadable as CSV.

Every number comes from :mod:`siyu.plugins.livecodes.reports` (aggregated in SQL); the page
reloads them when the period changes. Reading needs ``data.read``.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.models.widgets.tables import NumberFormatter
from bokeh.plotting import figure

from siyu.apps.pages.common import notify_errors, section, table
from siyu.core.errors import ValidationError
from siyu.plugins.livecodes import reports
from siyu.plugins.livecodes.engine import local_now

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: Period presets: days back from today (today included); 0 is every day, -1 the picker's.
PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "All time": 0,
           "Custom": -1}
TABS = ("code", "channel", "staff")
GROWTH, LOSS = "#2e7d32", "#c62828"
#: Codes in the chart: the ones with the most adds.
CHART_CODES = 20
#: Rows per table page (one row per code, channel, or staff member and code).
PAGE_SIZE = 50
PERCENT = NumberFormatter(format="0.0%", nan_format="–", null_format="–")
WHOLE = NumberFormatter(format="0,0", nan_format="–", null_format="–")
FORMATS = {**{column: PERCENT for column in reports.RATE_COLUMNS},
           **{column: WHOLE for column in ("welcome_p50_ms", "welcome_p99_ms", "daily_cap")}}


def growth_chart(frame: pd.DataFrame, top: int = CHART_CODES) -> figure:
    """Net growth of the ``top`` codes with the most adds, as horizontal bars (gains green,
    losses red), with adds and removals on hover."""
    shown = frame.sort_values(["adds", "code_id"], ascending=[False, True]).head(top)
    shown = shown.iloc[::-1]
    names = [f"{i} · {n}" for i, n in zip(shown["code_id"], shown["code"], strict=True)]
    source = ColumnDataSource({
        "code": names, "net": shown["net_growth"].tolist(), "adds": shown["adds"].tolist(),
        "removals": shown["removals"].tolist(),
        "color": [GROWTH if v >= 0 else LOSS for v in shown["net_growth"]]})
    fig = figure(title=f"Net growth per code (the {top} codes with the most adds)",
                 y_range=names or ["(no codes)"], height=max(220, 28 * len(names) + 80),
                 sizing_mode="stretch_width", tools="save", toolbar_location="above")
    fig.hbar(y="code", right="net", height=0.7, color="color", source=source)
    fig.add_tools(HoverTool(tooltips=[("code", "@code"), ("net growth", "@net"),
                                      ("adds", "@adds"), ("removals", "@removals")]))
    fig.ygrid.grid_line_color = None
    fig.xaxis.ticker.min_interval = 1  # whole customers
    return fig


class LiveCodeReportsPage(pn.viewable.Viewer):
    """The Live-code reports page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        today = local_now(ws).date()
        self.period = pn.widgets.RadioButtonGroup(options=PERIODS, value=30,
                                                  css_classes=["siyu-lcreports-period"])
        self.days = pn.widgets.DateRangePicker(
            label="Days (first and last)", value=(today - timedelta(days=29), today),
            disabled=True, width=260, css_classes=["siyu-lcreports-days"])
        self.indicators = {
            key: pn.indicators.Number(label=label, value=0, format="{value:,}",
                                      font_size="24pt", title_size="11pt",
                                      css_classes=[f"siyu-lcreports-kpi-{key}"])
            for key, label in [("arrivals", "Arrivals"), ("adds", "Adds"),
                               ("removals", "Removals"), ("net_growth", "Net growth"),
                               ("converted", "First orders")]}
        self.chart = pn.pane.Bokeh(sizing_mode="stretch_width",
                                   css_classes=["siyu-lcreports-chart"])
        self.tables = {
            tab: table(css_class=f"siyu-lcreports-{tab}-table", pagination="local",
                       page_size=PAGE_SIZE, formatters=dict(FORMATS))
            for tab in TABS}
        self.tabs = pn.Tabs(("By code", self.tables["code"]),
                            ("By channel", self.tables["channel"]),
                            ("Staff load", self.tables["staff"]),
                            css_classes=["siyu-lcreports-tabs"], sizing_mode="stretch_width")
        self.download = pn.widgets.FileDownload(
            callback=self._csv_file, filename="livecode-report-code.csv",
            label="Download CSV", color="default",
            css_classes=["siyu-lcreports-download"])
        self.frames: dict[str, pd.DataFrame] = {}
        self.span: tuple[date | None, date | None] = (None, None)
        self.period.param.watch(self._on_period, "value")
        self.days.param.watch(lambda _event: self.refresh(), "value")
        self.tabs.param.watch(lambda _event: self._name_file(), "active")
        self.refresh()

    # -- the period -----------------------------------------------------------------------

    def bounds(self) -> tuple[date | None, date | None]:
        """``(since, until)`` of the chosen period: first local day counted and first day
        not counted; ``(None, None)`` for all time.

        :raises ValidationError: a custom period without both days.
        """
        preset = self.period.value
        if preset == 0:
            return None, None
        if preset > 0:
            today = local_now(self.ws).date()
            return today - timedelta(days=preset - 1), today + timedelta(days=1)
        first, last = self.days.value or (None, None)
        if first is None or last is None:
            raise ValidationError("pick the first and the last day of the period")
        return first, last + timedelta(days=1)

    def _on_period(self, _event: Any) -> None:
        self.days.disabled = self.period.value != -1
        self.refresh()

    # -- the numbers ----------------------------------------------------------------------

    @notify_errors
    def refresh(self) -> None:
        """Reload the three reports, the headline numbers and the chart for the period."""
        since, until = self.span = self.bounds()
        self.frames = {
            "code": reports.code_report(self.ws, since=since, until=until),
            "channel": reports.channel_report(self.ws, since=since, until=until),
            "staff": reports.staff_load(self.ws, since=since, until=until)}
        for tab, frame in self.frames.items():
            self.tables[tab].value = frame
        codes = self.frames["code"]
        for key, indicator in self.indicators.items():
            indicator.value = int(codes[key].sum())
        self.chart.object = growth_chart(codes)
        self._name_file()

    def _tab(self) -> str:
        return TABS[self.tabs.active]

    def _name_file(self) -> None:
        since, until = self.span
        days = f"-{since}-to-{until - timedelta(days=1)}" if since and until else "-all-time"
        self.download.filename = f"livecode-report-{self._tab()}{days}.csv"

    @notify_errors
    def _csv_file(self) -> io.BytesIO:
        """The report of the open tab as CSV (the numbers the table shows)."""
        return io.BytesIO(reports.report_csv(self.frames[self._tab()]))

    def __panel__(self) -> pn.Column:
        controls = pn.Row(self.period, self.days, pn.Spacer(), self.download,
                          sizing_mode="stretch_width")
        numbers = pn.FlexBox(*self.indicators.values(), css_classes=["siyu-lcreports-kpis"])
        note = pn.pane.Markdown(
            "Retention at 1, 7 and 30 days counts only the adds at least that old (– while "
            "none is); removals, retention and first orders follow each add up to today.",
            css_classes=["siyu-lcreports-note"])
        return pn.Column(pn.pane.Markdown("## Live-code reports"), controls, numbers,
                         section("Net growth", self.chart, css_class="siyu-lcreports-growth"),
                         self.tabs, note, css_classes=["siyu-lcreports-page"],
                         sizing_mode="stretch_width")
