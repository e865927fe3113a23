"""The Live-code reports console page: a period, headline numbers, a chart of each code's
adds and removals, and the reports by code, by channel and per staff member, each
downloadable as CSV or Excel.

Every number comes from :mod:`siyu.plugins.livecodes.reports` (aggregated in SQL); the page
reloads them when the period changes. Reading needs ``data.read``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Range1d
from bokeh.plotting import figure
from bokeh.transform import dodge

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    downloads,
    empty_state,
    export_frame,
    fmt_int,
    kpi_cards,
    page_header,
    tidy_chart,
)
from siyu.apps.pages.common import notify_errors, section
from siyu.apps.safe import md
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes import reports
from siyu.plugins.livecodes.engine import local_now
from siyu.plugins.livecodes.pages import STATUS_LABELS, label_of

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.livecodes")

#: Period presets: days back from today (today included); 0 is every day, -1 the picker's.
PERIODS = {_.lazy("7 days"): 7, _.lazy("30 days"): 30, _.lazy("90 days"): 90,
           _.lazy("All time"): 0, _.lazy("Custom"): -1}
TABS = ("code", "channel", "staff")
GROWTH, LOSS = "#2e7d32", "#c62828"
#: Codes in the chart: the ones with the most adds.
CHART_CODES = 20
#: Rows per table page (one row per code, channel, or staff member and code).
PAGE_SIZE = 50
#: Chart geometry: pixels per code, the rest (title, axis, legend), and each of a code's
#: two bars as a share of its row. One code gets a slim row, never the whole chart.
ROW_PX, FRAME_PX, BAR = 44, 120, 0.34
ROLE_LABELS = {"member": _.lazy("Member"), "backup": _.lazy("Backup"),
               "former": _.lazy("Former member")}


def measure_columns() -> list[Col]:
    """The measures every report has, labelled in the current language."""
    return [Col("arrivals", _("Arrivals"), "int"), Col("adds", _("Adds"), "int"),
            Col("new_contacts", _("New customers"), "int"),
            Col("removals", _("Removals"), "int"), Col("net_growth", _("Net growth"), "int"),
            Col("retention_1d", _("Retained after 1 day"), "percent"),
            Col("retention_7d", _("Retained after 7 days"), "percent"),
            Col("retention_30d", _("Retained after 30 days"), "percent"),
            Col("converted", _("First orders"), "int"),
            Col("conversion", _("Ordered"), "percent"),
            Col("welcome_p50_ms", _("Welcome time, median (ms)"), "int"),
            Col("welcome_p99_ms", _("Welcome time, slowest 1% (ms)"), "int")]


def report_columns() -> dict[str, list[Col]]:
    """The columns of each tab's table (and download), labelled in the current language."""
    return {
        "code": [Col("code", _("Code"), width=140), Col("code_id", _("ID"), "id", 60),
                 Col("channel", _("Channel")), Col("store", _("Store")),
                 Col("status", _("Status")), *measure_columns(),
                 Col("state", _("Channel parameter"))],
        "channel": [Col("channel", _("Channel"), width=120), Col("codes", _("Codes"), "int"),
                    *measure_columns()],
        "staff": [Col("staff", _("Staff"), width=110), Col("userid", _("Staff ID"), "id"),
                  Col("code", _("Code")), Col("code_id", _("Code ID"), "id"),
                  Col("role", _("Role")), Col("adds_today", _("Adds today"), "int"),
                  Col("daily_cap", _("Daily cap"), "int"),
                  Col("cap_use", _("Daily cap used"), "percent"),
                  Col("adds", _("Adds"), "int"), Col("removals", _("Removals"), "int"),
                  Col("net_growth", _("Net growth"), "int")]}


def shown_report(tab: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A report with its stored words (status, role) in the reader's language."""
    if tab == "code":
        return frame.assign(status=frame["status"].map(lambda v: label_of(STATUS_LABELS, v)))
    if tab == "staff":
        return frame.assign(role=frame["role"].map(lambda v: label_of(ROLE_LABELS, v)))
    return frame


def growth_chart(frame: pd.DataFrame, top: int = CHART_CODES) -> figure:
    """Adds and removals of the ``top`` codes with the most adds, as pairs of horizontal
    bars (adds green, removals red; net growth on hover), the most adds on top; titled only
    when there are more codes than it shows.

    Made with :func:`~siyu.apps.kit.tidy_chart`: no toolbar, compact ticks on the count
    axis, the legend below the bars. Each code gets a row of :data:`ROW_PX` pixels, so a
    single code is a slim pair of bars, not a block filling the chart; the count axis starts
    at 0 with room after the longest bar.
    """
    shown = frame.sort_values(["adds", "code_id"], ascending=[False, True]).head(top)
    shown = shown.iloc[::-1]
    names = [f"{i} · {n}" for i, n in zip(shown["code_id"], shown["code"], strict=True)]
    source = ColumnDataSource({
        "code": names, "net": shown["net_growth"].tolist(), "adds": shown["adds"].tolist(),
        "removals": shown["removals"].tolist()})
    longest = max([*shown["adds"].tolist(), *shown["removals"].tolist(), 1])
    # The section above names the chart; a title only says when codes are left out (short:
    # a Bokeh title does not wrap on a phone).
    title = _("The {top} codes with the most adds", top=top) if len(frame) > top else ""
    fig = figure(title=title,
                 y_range=FactorRange(factors=names or [" "]), x_range=Range1d(0, longest * 1.1),
                 height=FRAME_PX + ROW_PX * max(len(names), 1), sizing_mode="stretch_width",
                 tools="")
    fig.hbar(y=dodge("code", BAR / 2, range=fig.y_range), right="adds", height=BAR,
             color=GROWTH, source=source, legend_label=_("Adds"))
    fig.hbar(y=dodge("code", -BAR / 2, range=fig.y_range), right="removals", height=BAR,
             color=LOSS, source=source, legend_label=_("Removals"))
    fig.add_tools(HoverTool(tooltips=[(_("Code"), "@code"), (_("Adds"), "@adds"),
                                      (_("Removals"), "@removals"),
                                      (_("Net growth"), "@net")]))
    fig.ygrid.grid_line_color = None
    fig.xaxis.ticker.min_interval = 1  # whole customers
    return tidy_chart(fig, y_axes=fig.xaxis)


class LiveCodeReportsPage(pn.viewable.Viewer):
    """The Live-code reports page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        today = local_now(ws).date()
        self.period = pn.widgets.RadioButtonGroup(
            options={str(label): days for label, days in PERIODS.items()}, value=30,
            css_classes=["siyu-lcreports-period"])
        # Two pickers, not one range picker: Bokeh's range picker joins its days with an
        # English " to " and takes no locale.
        self.first_day = pn.widgets.DatePicker(
            label=_("Start date"), value=today - timedelta(days=29), disabled=True, width=150,
            css_classes=["siyu-lcreports-first-day"])
        self.last_day = pn.widgets.DatePicker(
            label=_("End date"), value=today, disabled=True, width=150,
            css_classes=["siyu-lcreports-last-day"])
        self.days = pn.Row(self.first_day, self.last_day, css_classes=["siyu-lcreports-days"])
        self._moving_days = False
        self.totals: dict[str, int] = {}
        self.kpis = kpi_cards([], css_class="siyu-lcreports-kpis")
        self.chart = pn.pane.Bokeh(sizing_mode="stretch_width",
                                   css_classes=["siyu-lcreports-chart"])
        self.no_data = empty_state("", css_class="siyu-lcreports-empty")
        self.columns = report_columns()
        # Only the open tab is drawn (dynamic): else the tabs are as tall as the longest
        # table, a blank gap under a short one.
        self.tables = {
            tab: data_table(self.columns[tab], css_class=f"siyu-lcreports-{tab}-table",
                            pagination="local", page_size=PAGE_SIZE)
            for tab in TABS}
        self.tabs = pn.Tabs((_("By code"), self.tables["code"]),
                            (_("By channel"), self.tables["channel"]),
                            (_("Staff load"), self.tables["staff"]),
                            css_classes=["siyu-lcreports-tabs"], sizing_mode="stretch_width",
                            dynamic=True)
        self.downloads = downloads(self.export, "livecode-report-code",
                                   css_class="siyu-lcreports-download")
        self.download, self.download_xlsx = self.downloads.objects
        self.frames: dict[str, pd.DataFrame] = {}
        self.span: tuple[date | None, date | None] = (None, None)
        self.period.param.watch(self._on_period, "value")
        for picker in (self.first_day, self.last_day):
            picker.param.watch(self._on_day, "value")
        self.tabs.param.watch(lambda _event: self._name_file(), "active")
        self.refresh()

    # -- the period -----------------------------------------------------------------------

    def bounds(self) -> tuple[date | None, date | None]:
        """``(since, until)`` of the chosen period: first local day counted and first day
        not counted; ``(None, None)`` for all time.

        :raises ValidationError: a custom period without both days, or ending before it
            starts.
        """
        preset = self.period.value
        if preset == 0:
            return None, None
        if preset > 0:
            today = local_now(self.ws).date()
            return today - timedelta(days=preset - 1), today + timedelta(days=1)
        first, last = self.first_day.value, self.last_day.value
        if first is None or last is None:
            raise ValidationError(_("pick the first and the last day of the period"))
        if last < first:
            raise ValidationError(_("the period ends on {last}, before it starts on {first}",
                                    first=first, last=last))
        return first, last + timedelta(days=1)

    def _on_period(self, _event: Any) -> None:
        """A preset shows its days in the (disabled) pickers, so Custom starts from them."""
        preset = self.period.value
        self.first_day.disabled = self.last_day.disabled = preset != -1
        if preset > 0:
            since, until = self.bounds()
            self._moving_days = True
            try:
                self.first_day.value, self.last_day.value = since, until - timedelta(days=1)
            finally:
                self._moving_days = False
        self.refresh()

    def _on_day(self, _event: Any) -> None:
        if not self._moving_days:
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
            self.tables[tab].value = display_frame(shown_report(tab, frame), self.columns[tab],
                                                 self.ws.timezone)
        codes = self.frames["code"]
        self.totals = {key: int(codes[key].sum())
                       for key in ("arrivals", "adds", "new_contacts", "removals",
                                   "net_growth", "converted")}
        totals = self.totals
        self.kpis.object = kpi_cards([
            (_("Arrivals"), fmt_int(totals["arrivals"])),
            (_("Adds"), fmt_int(totals["adds"]),
             _.ngettext("{n} new customer", "{n} new customers", totals["new_contacts"])),
            (_("Removals"), fmt_int(totals["removals"])),
            (_("Net growth"), fmt_int(totals["net_growth"])),
            (_("First orders"), fmt_int(totals["converted"]),
             _("{share} of adds", share=format(totals["converted"] / totals["adds"], ".1%"))
             if totals["adds"] else "")], css_class="siyu-lcreports-kpis").object
        self._show_chart(codes)
        self._name_file()

    def _show_chart(self, codes: pd.DataFrame) -> None:
        if codes.empty:
            self.no_data.object = empty_state(
                _("No live codes yet."),
                _("Create a live code on the Live codes page: what it brings in shows up "
                  "here.")).object
        elif not (codes["adds"].sum() or codes["removals"].sum()):
            self.no_data.object = empty_state(
                _("No customer was added or removed through a live code in this period."),
                _("Choose a longer period, or share your codes' QR codes.")).object
        else:
            self.chart.object = growth_chart(codes)
            self.chart.visible, self.no_data.visible = True, False
            return
        self.chart.object = None
        self.chart.visible, self.no_data.visible = False, True

    def _tab(self) -> str:
        return TABS[self.tabs.active]

    def _name_file(self) -> None:
        since, until = self.span
        days = f"-{since}-to-{until - timedelta(days=1)}" if since and until else "-all-time"
        stem = f"livecode-report-{self._tab()}{days}"
        self.download.filename = f"{stem}.csv"
        self.download_xlsx.filename = f"{stem}.xlsx"

    def export(self) -> pd.DataFrame:
        """The report of the open tab as the downloads hold it: the table's columns and
        headers, numbers as numbers, shares as fractions."""
        tab = self._tab()
        return export_frame(shown_report(tab, self.frames[tab]), self.columns[tab],
                            self.ws.timezone)

    def __panel__(self) -> pn.Column:
        header = page_header(
            _("Live-code reports"),
            _("What each live code, channel and member brought in over a period: adds, "
              "removals, retention and first orders."))
        controls = pn.FlexBox(self.period, self.days, self.downloads, flex_wrap="wrap",
                              sizing_mode="stretch_width")
        note = pn.pane.Markdown(
            md(_("Retention at 1, 7 and 30 days counts only the adds at least that old (— "
                 "while none is); removals, retention and first orders follow each add up to "
                 "today.")), css_classes=["siyu-lcreports-note"])
        return pn.Column(header, controls, self.kpis,
                         section(_("Adds and removals"), self.chart, self.no_data,
                                 css_class="siyu-lcreports-growth"),
                         self.tabs, note, css_classes=["siyu-lcreports-page"],
                         sizing_mode="stretch_width")
