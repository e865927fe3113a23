"""Overview: headline numbers and daily charts, all aggregated by ``ws.reports`` in SQL.

Charts are Bokeh figures (pan, zoom, hover) built fresh for each session and each period.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, LinearAxis, Range1d
from bokeh.plotting import figure

from siyu.apps.pages.common import notify_errors, yuan

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90}
ADDED, REMOVED, ORDERS, REVENUE = "#2e7d32", "#c62828", "#0078d4", "#ef6c00"
DAY_WIDTH_MS = 0.8 * 24 * 3600 * 1000
TOOLS = "pan,xwheel_zoom,box_zoom,reset,save"


def _figure(title: str, **kwargs: Any) -> figure:
    fig = figure(title=title, height=300, sizing_mode="stretch_width", tools=TOOLS,
                 toolbar_location="above", **kwargs)
    fig.xgrid.grid_line_color = None
    return fig


def contacts_chart(daily: pd.DataFrame) -> figure:
    """Contacts added (up) and removed (down) per day."""
    source = ColumnDataSource({"day": daily["day"], "added": daily["added"],
                               "removed": -daily["removed"], "lost": daily["removed"]})
    fig = _figure("Contacts added and removed per day", x_axis_type="datetime")
    fig.vbar(x="day", top="added", width=DAY_WIDTH_MS, color=ADDED, legend_label="added",
             source=source)
    fig.vbar(x="day", top="removed", width=DAY_WIDTH_MS, color=REMOVED,
             legend_label="removed", source=source)
    fig.add_tools(HoverTool(tooltips=[("day", "@day{%F}"), ("added", "@added"),
                                      ("removed", "@lost")], formatters={"@day": "datetime"}))
    fig.legend.location = "top_left"
    return fig


def channels_chart(channels: pd.DataFrame, top: int = 15) -> figure:
    """Current contacts by source channel, the biggest ``top`` channels."""
    shown = channels.head(top).iloc[::-1]
    names = [name or "(unknown)" for name in shown["channel"]]
    source = ColumnDataSource({"channel": names, "contacts": shown["contacts"]})
    fig = _figure("Contacts by source channel", y_range=names or ["(none)"])
    fig.x_range.start = 0
    fig.hbar(y="channel", right="contacts", height=0.7, color=ORDERS, source=source)
    fig.add_tools(HoverTool(tooltips=[("channel", "@channel"), ("contacts", "@contacts")]))
    fig.ygrid.grid_line_color = None
    return fig


def orders_chart(daily: pd.DataFrame) -> figure:
    """Paid orders (bars, left axis) and revenue in yuan (line, right axis) per day."""
    revenue = daily["revenue_fen"] / 100
    source = ColumnDataSource({"day": daily["day"], "orders": daily["orders"],
                               "revenue": revenue})
    fig = _figure("Paid orders and revenue per day", x_axis_type="datetime")
    fig.y_range.start = 0
    fig.yaxis.axis_label = "orders"
    fig.extra_y_ranges = {"revenue": Range1d(0, max(float(revenue.max() or 0), 1.0) * 1.1)}
    fig.add_layout(LinearAxis(y_range_name="revenue", axis_label="revenue (¥)"), "right")
    bars = fig.vbar(x="day", top="orders", width=DAY_WIDTH_MS, color=ORDERS,
                    legend_label="orders", source=source)
    fig.y_range.renderers = [bars]  # the left axis fits the orders, not the revenue
    fig.line(x="day", y="revenue", color=REVENUE, line_width=2, y_range_name="revenue",
             legend_label="revenue", source=source)
    fig.scatter(x="day", y="revenue", color=REVENUE, size=5, y_range_name="revenue",
                source=source)
    fig.add_tools(HoverTool(tooltips=[("day", "@day{%F}"), ("orders", "@orders"),
                                      ("revenue", "¥@revenue{0,0.00}")],
                            formatters={"@day": "datetime"}))
    fig.legend.location = "top_left"
    return fig


class OverviewPage(pn.viewable.Viewer):
    """The Overview page (permission ``console.view``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("console.view")
        self.ws = ws
        self.period = pn.widgets.RadioButtonGroup(
            options=PERIODS, value=30, css_classes=["siyu-overview-period"])
        self.indicators = {
            key: pn.indicators.Number(label=label, value=0, format="{value:,}", font_size="28pt",
                                      title_size="11pt", css_classes=[f"siyu-kpi-{key}"])
            for key, label in [("contacts_active", "Active contacts"),
                               ("contacts_total", "Contacts ever added"),
                               ("added_today", "Added today"), ("added_7d", "Added, 7 days"),
                               ("orders_30d", "Paid orders, 30 days")]}
        self.revenue = pn.indicators.String(label="Revenue, 30 days", value="¥0.00",
                                            font_size="28pt", title_size="11pt",
                                            css_classes=["siyu-kpi-revenue_30d"])
        self.contacts_pane = pn.pane.Bokeh(sizing_mode="stretch_width", height=320,
                                           css_classes=["siyu-chart-contacts"])
        self.channels_pane = pn.pane.Bokeh(sizing_mode="stretch_width", height=320,
                                           css_classes=["siyu-chart-channels"])
        self.orders_pane = pn.pane.Bokeh(sizing_mode="stretch_width", height=320,
                                         css_classes=["siyu-chart-orders"])
        self.kpis: dict[str, int] = {}
        self.contacts_daily = self.orders_daily = pd.DataFrame()
        self.period.param.watch(lambda _event: self.refresh(), "value")
        self.refresh()

    @notify_errors
    def refresh(self) -> None:
        """Reload the numbers and redraw the charts for the chosen period."""
        reports = self.ws.reports
        self.kpis = reports.kpis()
        for key, indicator in self.indicators.items():
            indicator.value = self.kpis[key]
        self.revenue.value = yuan(self.kpis["revenue_30d_fen"])
        today = pd.Timestamp.now(tz=self.ws.timezone).date()
        since = today - timedelta(days=int(self.period.value) - 1)
        self.contacts_daily = reports.contacts_daily(since=since)
        self.orders_daily = reports.orders_daily(since=since)
        self.contacts_pane.object = contacts_chart(self.contacts_daily)
        self.channels_pane.object = channels_chart(reports.contacts_by_channel())
        self.orders_pane.object = orders_chart(self.orders_daily)

    def __panel__(self) -> pn.Column:
        numbers = pn.FlexBox(*self.indicators.values(), self.revenue,
                             css_classes=["siyu-kpis"])
        return pn.Column(
            pn.Row(pn.pane.Markdown("## Overview"), pn.Spacer(), self.period,
                   sizing_mode="stretch_width"),
            numbers, pn.Row(self.contacts_pane, self.channels_pane, sizing_mode="stretch_width"),
            self.orders_pane, css_classes=["siyu-overview-page"], sizing_mode="stretch_width")
