"""Overview: headline numbers and daily charts, all aggregated by ``ws.reports`` in SQL.

Days are calendar days in the workspace timezone. Charts are Bokeh figures built fresh for
each session and each period and made readable by :func:`siyu.apps.kit.tidy_chart` (no
toolbar, ``12万`` instead of ``1.2e+5``, the legend below the bars); every title, axis, legend
and hover label is translated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn
from bokeh.models import (
    CategoricalTickFormatter,
    ColumnDataSource,
    DatetimeTickFormatter,
    HoverTool,
    LinearAxis,
    Range1d,
)
from bokeh.plotting import figure

from siyu.apps.kit import (
    KPI_CSS,
    compact_ticks,
    empty_state,
    fmt_compact,
    fmt_int,
    page_header,
    tidy_chart,
)
from siyu.apps.pages.common import notify_errors, yuan
from siyu.apps.safe import Safe, html, join
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: The periods the charts can show: label → days.
PERIODS = {_.lazy("Last 7 days"): 7, _.lazy("Last 30 days"): 30, _.lazy("Last 90 days"): 90}
ADDED, REMOVED, ORDERS, REVENUE = "#2e7d32", "#c62828", "#0078d4", "#ef6c00"
DAY_WIDTH_MS = 0.8 * 24 * 3600 * 1000
CHART_HEIGHT = 320
#: The headline numbers: ``kpis()`` key → label (each card keeps the CSS class
#: ``siyu-kpi-<key>``).
KPI_LABELS = {
    "contacts_active": _.lazy("Active contacts"),
    "contacts_total": _.lazy("Contacts ever added"),
    "added_today": _.lazy("Added today"),
    "added_7d": _.lazy("Added, last 7 days"),
    "orders_30d": _.lazy("Paid orders, last 30 days"),
    "revenue_30d_fen": _.lazy("Revenue, last 30 days"),
}
#: The CSS class of each headline card (``revenue_30d`` as before the page kit).
KPI_CLASSES = {key: f"siyu-kpi-{key}" for key in KPI_LABELS} | {
    "revenue_30d_fen": "siyu-kpi-revenue_30d"}


def money_card(fen: int) -> str:
    """An amount for a headline card: ``¥139.9万`` once it has five digits (the full amount
    would not fit a card on a phone), ``¥1,234.50`` below that."""
    yuan_amount = fen / 100
    if abs(yuan_amount) < 10_000:
        return yuan(fen)
    return f"¥{fmt_compact(yuan_amount)}"


def kpi_html(cards: Iterable[tuple[str, Any, str, str]]) -> Safe:
    """Headline numbers as :func:`siyu.apps.kit.kpi_cards` draws them (same look and CSS,
    :data:`~siyu.apps.kit.KPI_CSS`, wrapping on a phone), each card also carrying a CSS class
    of its own: ``cards`` are ``(css_class, label, value, note)``."""
    items = [html('<div class="siyu-kpi {css}"><div class="siyu-kpi-label">{label}</div>'
                  '<div class="siyu-kpi-value">{value}</div>'
                  '<div class="siyu-kpi-note">{note}</div></div>',
                  css=css, label=str(label), value=value, note=note)
             for css, label, value, note in cards]
    return html('<div class="siyu-kpis">{cards}</div>', cards=join("", items))


def _figure(title: str, **kwargs: Any) -> figure:
    fig = figure(title=title, height=CHART_HEIGHT, sizing_mode="stretch_width", tools="",
                 toolbar_location=None, **kwargs)
    fig.xgrid.grid_line_color = None
    return fig


def _days_axis(fig: figure) -> None:
    """Days as ``11-01`` (numbers, not English month names)."""
    fig.xaxis.formatter = DatetimeTickFormatter(days="%m-%d", months="%Y-%m", years="%Y")


def contacts_chart(daily: pd.DataFrame) -> figure:
    """Contacts added (up) and removed (down) per day."""
    source = ColumnDataSource({"day": daily["day"], "added": daily["added"],
                               "removed": -daily["removed"], "lost": daily["removed"]})
    fig = _figure(_("Contacts added and removed per day"), x_axis_type="datetime")
    fig.vbar(x="day", top="added", width=DAY_WIDTH_MS, color=ADDED, legend_label=_("Added"),
             source=source)
    fig.vbar(x="day", top="removed", width=DAY_WIDTH_MS, color=REMOVED,
             legend_label=_("Removed"), source=source)
    fig.add_tools(HoverTool(tooltips=[(_("Day"), "@day{%F}"), (_("Added"), "@added"),
                                      (_("Removed"), "@lost")], formatters={"@day": "datetime"}))
    fig.yaxis.axis_label = _("Contacts")
    _days_axis(fig)
    return tidy_chart(fig)


def channels_chart(channels: pd.DataFrame, top: int = 15) -> figure:
    """Current contacts by source channel, the biggest ``top`` channels."""
    shown = channels.head(top).iloc[::-1]
    names = [name or _("(unknown)") for name in shown["channel"]]
    source = ColumnDataSource({"channel": names, "contacts": shown["contacts"]})
    fig = _figure(_("Contacts by source channel"), y_range=names or [_("(none)")])
    fig.x_range.start = 0
    fig.hbar(y="channel", right="contacts", height=0.7, color=ORDERS, source=source)
    fig.add_tools(HoverTool(tooltips=[(_("Source channel"), "@channel"),
                                      (_("Contacts"), "@contacts")]))
    fig.ygrid.grid_line_color = None
    tidy_chart(fig, legend=False)
    # The kit gives y axes compact number ticks; here the y axis names channels and the
    # numbers run along x.
    fig.yaxis.formatter = CategoricalTickFormatter()
    fig.xaxis.formatter = compact_ticks()
    return fig


def orders_chart(daily: pd.DataFrame) -> figure:
    """Paid orders (bars, left axis) and revenue in yuan (line, right axis) per day."""
    revenue = daily["revenue_fen"] / 100
    source = ColumnDataSource({"day": daily["day"], "orders": daily["orders"],
                               "revenue": revenue})
    fig = _figure(_("Paid orders and revenue per day"), x_axis_type="datetime")
    fig.y_range.start = 0
    fig.yaxis.axis_label = _("Paid orders")
    fig.extra_y_ranges = {"revenue": Range1d(0, max(float(revenue.max() or 0), 1.0) * 1.1)}
    revenue_axis = LinearAxis(y_range_name="revenue", axis_label=_("Revenue (¥)"))
    fig.add_layout(revenue_axis, "right")
    bars = fig.vbar(x="day", top="orders", width=DAY_WIDTH_MS, color=ORDERS,
                    legend_label=_("Paid orders"), source=source)
    fig.y_range.renderers = [bars]  # the left axis fits the orders, not the revenue
    fig.line(x="day", y="revenue", color=REVENUE, line_width=2, y_range_name="revenue",
             legend_label=_("Revenue"), source=source)
    fig.scatter(x="day", y="revenue", color=REVENUE, size=5, y_range_name="revenue",
                source=source)
    fig.add_tools(HoverTool(tooltips=[(_("Day"), "@day{%F}"), (_("Paid orders"), "@orders"),
                                      (_("Revenue"), "¥@revenue{0,0.00}")],
                            formatters={"@day": "datetime"}))
    _days_axis(fig)
    return tidy_chart(fig, y_axes=[revenue_axis])


class OverviewPage(pn.viewable.Viewer):
    """The Overview page (permission ``console.view``).

    ``kpis`` holds the headline numbers as ``ws.reports.kpis()`` gives them.
    """

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("console.view")
        self.ws = ws
        self.period = pn.widgets.RadioButtonGroup(
            options={str(label): days for label, days in PERIODS.items()}, value=30,
            css_classes=["siyu-overview-period"])
        self.numbers = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[KPI_CSS],
                                    css_classes=["siyu-overview-kpis"])
        self.empty = empty_state(_("No contacts yet."),
                                 _("Import contacts, or connect WeCom to sync them; the "
                                   "numbers and charts fill in from then on."),
                                 css_class="siyu-overview-empty")
        self.contacts_pane = pn.pane.Bokeh(sizing_mode="stretch_width", height=CHART_HEIGHT,
                                           css_classes=["siyu-chart-contacts"],
                                           styles={"flex": "1 1 420px", "min-width": "0"})
        self.channels_pane = pn.pane.Bokeh(sizing_mode="stretch_width", height=CHART_HEIGHT,
                                           css_classes=["siyu-chart-channels"],
                                           styles={"flex": "1 1 420px", "min-width": "0"})
        self.orders_pane = pn.pane.Bokeh(sizing_mode="stretch_width", height=CHART_HEIGHT,
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
        cards = []
        for key, label in KPI_LABELS.items():
            value = self.kpis[key]
            if key.endswith("_fen"):  # a compact amount keeps the exact one as its note
                shown = money_card(value)
                cards.append((KPI_CLASSES[key], label, shown,
                              "" if shown == yuan(value) else yuan(value)))
            else:
                cards.append((KPI_CLASSES[key], label, fmt_int(value), ""))
        self.numbers.object = kpi_html(cards)
        self.empty.visible = self.kpis["contacts_total"] == 0
        today = pd.Timestamp.now(tz=self.ws.timezone).date()
        since = today - timedelta(days=int(self.period.value) - 1)
        self.contacts_daily = reports.contacts_daily(since=since)
        self.orders_daily = reports.orders_daily(since=since)
        self.contacts_pane.object = contacts_chart(self.contacts_daily)
        self.channels_pane.object = channels_chart(reports.contacts_by_channel())
        self.orders_pane.object = orders_chart(self.orders_daily)

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("Overview"), _("Headline numbers and daily trends of contacts and "
                                         "sales; days are in the workspace timezone.")),
            pn.FlexBox(self.period, flex_wrap="wrap"),
            self.numbers, self.empty,
            pn.FlexBox(self.contacts_pane, self.channels_pane, flex_wrap="wrap",
                       sizing_mode="stretch_width"),
            self.orders_pane, css_classes=["siyu-overview-page"], sizing_mode="stretch_width")
