"""The page kit: the pieces every console page is built from, so pages look and behave alike.

- :func:`page_header` — the page title and one line of help.
- :func:`kpi_cards` — headline numbers as cards that wrap on a phone.
- :class:`Col` + :func:`display_frame` + :func:`data_table` — tables with human column labels
  (their page buttons, when paged, worded in the reader's language: :func:`pager_words`),
  numbers, money and times formatted for the reader (workspace timezone), ``—`` for missing
  values, the key column pinned when the table scrolls sideways.
- :func:`downloads` — CSV and XLSX of what a table shows.
- :func:`tidy_chart` — Bokeh charts without toolbars, with readable axes (``12万``, never
  ``1.2e+5``) and the legend outside the data.
- :func:`empty_state` — what an empty table says: what is missing and what to do next.
- :func:`follow` — form fields that appear with the option that needs them.
- :func:`fmt_int`, :func:`fmt_money`, :func:`fmt_compact`, :func:`fmt_time` — the formats.

Every string the kit shows goes through the translation layer (:mod:`siyu.core.i18n`); every
data-derived string is escaped (:mod:`siyu.apps.safe`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import panel as pn
import panel.models.tabulator  # noqa: F401 - the table's model: see below

from siyu.apps.safe import Safe, html, join
from siyu.core.i18n import core as _
from siyu.core.i18n import current_language

# ``panel.models.tabulator`` is imported with the kit so that a page whose tables are all
# taken out while empty (an empty state in their place) still gets Tabulator's JavaScript:
# Panel ships the scripts of the models imported when the page is served.

__all__ = ["MISSING", "Col", "data_table", "display_frame", "downloads", "empty_state",
           "export_frame",
           "fmt_compact", "fmt_int", "fmt_money", "fmt_time", "follow", "kpi_cards",
           "page_header", "pager_words", "tidy_chart"]

#: What a table shows for a missing value.
MISSING = "—"
#: How times are shown: the workspace timezone, to the minute.
TIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"

#: Column kinds :class:`Col` knows.
KINDS = ("text", "id", "int", "money", "percent", "time", "date", "bool")


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_int(value: Any) -> str:
    """``1234567`` → ``"1,234,567"``; missing → ``"—"``."""
    if _missing(value):
        return MISSING
    return f"{int(value):,}"


def fmt_money(fen: Any) -> str:
    """Integer fen as yuan: ``123456`` → ``"¥1,234.56"``; missing → ``"—"``."""
    if _missing(fen):
        return MISSING
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) / 100:,.2f}"


def fmt_compact(value: Any) -> str:
    """A large figure for a chart axis or a card: ``123456`` → ``"12.3万"`` in Chinese,
    ``"123.5K"`` in English; figures under 10,000 keep their digits."""
    if _missing(value):
        return MISSING
    number = float(value)
    size = abs(number)
    if current_language().startswith("zh"):
        steps = ((1e8, "亿"), (1e4, "万"))
    else:
        steps = ((1e9, "B"), (1e6, "M"), (1e4, "K"))
    for step, suffix in steps:
        if size >= step:
            divisor = 1e3 if suffix == "K" else step
            text = f"{number / divisor:,.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"


def fmt_time(value: Any, tz: ZoneInfo, fmt: str = TIME_FORMAT) -> str:
    """An aware (or UTC-naive) time as text in ``tz``; missing → ``"—"``."""
    if _missing(value):
        return MISSING
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(tz).strftime(fmt)


@dataclass(frozen=True)
class Col:
    """One column of a kit table.

    :param key: the frame's column.
    :param label: the header the user reads (a translated string or a ``LazyText``).
    :param kind: how values are shown: ``text``, ``id`` (digits as they are), ``int``
        (thousands separators), ``money`` (integer fen as ¥), ``percent`` (0.123 → 12.3%),
        ``time``, ``date`` (workspace timezone), ``bool`` (是/否).
    :param width: pixels, or ``None`` to fit the content.
    """

    key: str
    label: Any
    kind: str = "text"
    width: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}; use one of {KINDS}")

    @property
    def title(self) -> str:
        """The header text in the current language."""
        return str(self.label)


def _show(value: Any, kind: str, tz: ZoneInfo) -> str:
    if _missing(value) or (kind in ("text", "id") and value == ""):
        return MISSING
    if kind == "int":
        return fmt_int(value)
    if kind == "money":
        return fmt_money(value)
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    if kind == "time":
        return fmt_time(value, tz)
    if kind == "date":
        return fmt_time(value, tz, DATE_FORMAT) if isinstance(value, (datetime, pd.Timestamp)) \
            else str(value)[:10]
    if kind == "bool":
        return _("Yes") if value else _("No")
    if kind == "id" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def display_frame(frame: pd.DataFrame, columns: Sequence[Col], tz: ZoneInfo) -> pd.DataFrame:
    """The text a table shows: ``columns`` in order, each value formatted by its kind,
    missing values as ``—``, headers as the columns' labels. Columns the frame lacks are
    shown empty.

    Every column is text (``object``) even with no rows: a Tabulator picks each column's
    cell formatter once, from the first data it is drawn with, so a table first drawn empty
    with number columns would later show a name as ``NaN`` and an id as ``1.0``.
    """
    shown: dict[str, list[str]] = {}
    for col in columns:
        values = frame[col.key] if col.key in frame else [None] * len(frame)
        shown[col.title] = [_show(value, col.kind, tz) for value in values]
    return pd.DataFrame(shown, columns=[col.title for col in columns], dtype=object)


def export_frame(frame: pd.DataFrame, columns: Sequence[Col], tz: ZoneInfo) -> pd.DataFrame:
    """What a download holds: the same columns and headers as the table, numbers kept as
    numbers (money in yuan), times as text in the workspace timezone."""
    out: dict[str, Any] = {}
    for col in columns:
        values = frame[col.key] if col.key in frame else pd.Series([None] * len(frame))
        if col.kind == "money":
            out[col.title] = pd.to_numeric(values, errors="coerce") / 100
        elif col.kind in ("time", "date", "bool", "text", "id"):
            out[col.title] = [_show(v, col.kind, tz) if not _missing(v) else "" for v in values]
        else:
            out[col.title] = values
    return pd.DataFrame(out, columns=[col.title for col in columns])


def data_table(columns: Sequence[Col], *, css_class: str, pin_first: bool = True,
               **kwargs: Any) -> pn.widgets.Tabulator:
    """A read-only table for frames made by :func:`display_frame` with ``columns``.

    It scrolls sideways inside its own frame (the page does not), the first column stays
    pinned while it does, and widths follow :attr:`Col.width`.
    """
    titles = [col.title for col in columns]
    options: dict[str, Any] = {
        "disabled": True, "show_index": False, "pagination": None,
        "sizing_mode": "stretch_width", "layout": "fit_data_fill", "selectable": False,
        "widths": {col.title: col.width for col in columns if col.width},
        "frozen_columns": titles[:1] if pin_first and titles else [],
        "text_align": {col.title: "right" for col in columns
                       if col.kind in ("int", "money", "percent")},
        "header_align": {col.title: "right" for col in columns
                         if col.kind in ("int", "money", "percent")},
        "css_classes": [css_class, "siyu-table"],
        "stylesheets": [TABLE_CSS],
    }
    options.update(kwargs)
    if options["pagination"] and "configuration" not in options:
        options["configuration"] = pager_words()
    return pn.widgets.Tabulator(pd.DataFrame(columns=titles, dtype=object), **options)


def pager_words() -> dict[str, Any]:
    """Tabulator configuration that words its page buttons in the current language: their
    texts, the titles and screen-reader labels (``"Show Page 2"``), the page-size choice and
    the row counter. Tabulator's own words are English and it has no Chinese, so every
    ``pagination`` key of Tabulator 6 is given, under a locale named after the language."""
    language = current_language()
    words = {"page_size": _("Rows per page"), "page_title": _("Show page"),
             "first": _("First"), "first_title": _("First page"),
             "last": _("Last"), "last_title": _("Last page"),
             "prev": _("Previous"), "prev_title": _("Previous page"),
             "next": _("Next"), "next_title": _("Next page"), "all": _("All"),
             "counter": {"showing": _("Showing"), "of": _("of"), "rows": _("rows"),
                         "pages": _("pages")}}
    locale = language.lower().replace("_", "-")
    return {"locale": locale, "langs": {locale: {"pagination": words}}}


def downloads(frame: Callable[[], pd.DataFrame], filename: str, *, css_class: str
              ) -> pn.Row:
    """CSV and XLSX download buttons for what ``frame()`` returns (called when clicked, so
    the download holds the current data). ``filename`` has no extension."""
    def csv() -> io.BytesIO:
        return io.BytesIO(frame().to_csv(index=False).encode("utf-8-sig"))

    def xlsx() -> io.BytesIO:
        buffer = io.BytesIO()
        frame().to_excel(buffer, index=False, engine="openpyxl")
        buffer.seek(0)
        return buffer

    return pn.Row(
        pn.widgets.FileDownload(callback=csv, filename=f"{filename}.csv",
                                label=_("Download CSV"), css_classes=[f"{css_class}-csv"],
                                width=140),
        pn.widgets.FileDownload(callback=xlsx, filename=f"{filename}.xlsx",
                                label=_("Download Excel"), css_classes=[f"{css_class}-xlsx"],
                                width=140),
        css_classes=[css_class])


def page_header(title: Any, help_text: Any = "", *, css_class: str = "") -> pn.pane.HTML:
    """The page's title and one line saying what the page is for."""
    return pn.pane.HTML(_header_html(title, help_text), sizing_mode="stretch_width",
                        css_classes=["siyu-page-header", *([css_class] if css_class else [])],
                        stylesheets=[HEADER_CSS], margin=(0, 10))


def _header_html(title: Any, help_text: Any) -> Safe:
    if help_text:
        return html('<h1 class="siyu-page-title">{title}</h1>'
                    '<p class="siyu-page-help">{help}</p>', title=str(title), help=str(help_text))
    return html('<h1 class="siyu-page-title">{title}</h1>', title=str(title))


def kpi_cards(cards: Iterable[tuple[Any, Any] | tuple[Any, Any, Any]], *, css_class: str
              ) -> pn.pane.HTML:
    """Headline numbers: ``(label, value)`` or ``(label, value, note)`` each, values already
    formatted (:func:`fmt_int`, :func:`fmt_money`…). Cards wrap onto more lines on narrow
    screens."""
    items = []
    for card in cards:
        label, value, note = (tuple(card) + ("",))[:3]
        items.append(html('<div class="siyu-kpi"><div class="siyu-kpi-label">{label}</div>'
                          '<div class="siyu-kpi-value">{value}</div>'
                          '<div class="siyu-kpi-note">{note}</div></div>',
                          label=str(label), value=str(value), note=str(note)))
    return pn.pane.HTML(html('<div class="siyu-kpis">{cards}</div>', cards=join("", items)),
                        sizing_mode="stretch_width", css_classes=[css_class],
                        stylesheets=[KPI_CSS])


def empty_state(message: Any, next_step: Any = "", *, css_class: str = "") -> pn.pane.HTML:
    """What an empty table or chart shows: what is missing and what to do next."""
    return pn.pane.HTML(html('<div class="siyu-empty"><p class="siyu-empty-message">{message}'
                             '</p><p class="siyu-empty-next">{next}</p></div>',
                             message=str(message), next=str(next_step)),
                        sizing_mode="stretch_width",
                        css_classes=["siyu-empty-state", *([css_class] if css_class else [])],
                        stylesheets=[EMPTY_CSS])


def follow(selector: pn.widgets.Widget, fields: Mapping[Any, Sequence[pn.viewable.Viewable]]
           ) -> None:
    """Show the fields of the option ``selector`` has chosen and hide the others:
    ``fields`` maps an option value to the widgets only it needs."""
    everything = {id(w): w for group in fields.values() for w in group}

    def update(*_events: Any) -> None:
        wanted = {id(w) for w in fields.get(selector.value, ())}
        for key, widget in everything.items():
            widget.visible = key in wanted

    selector.param.watch(update, "value")
    update()


#: A JS tick formatter: 12000 → 1.2万 / 1.2亿 (Chinese) or 12K / 1.2M (English).
_COMPACT_TICKS_JS = """
const zh = %s; const a = Math.abs(tick);
function f(x){ return (Math.round(x*10)/10).toLocaleString(); }
if (zh) { if (a >= 1e8) return f(tick/1e8) + '亿'; if (a >= 1e4) return f(tick/1e4) + '万'; }
else { if (a >= 1e9) return f(tick/1e9) + 'B'; if (a >= 1e6) return f(tick/1e6) + 'M';
       if (a >= 1e4) return f(tick/1e3) + 'K'; }
return tick.toLocaleString();
"""


def compact_ticks():
    """A Bokeh tick formatter for large figures (万/亿 in Chinese), never ``1.2e+5``."""
    from bokeh.models import CustomJSTickFormatter

    zh = "true" if current_language().startswith("zh") else "false"
    return CustomJSTickFormatter(code=_COMPACT_TICKS_JS % zh)


def tidy_chart(fig: Any, *, legend: bool = True, y_axes: Iterable[Any] = ()) -> Any:
    """Make a Bokeh figure read like a report: no toolbar or zoom tools (hover stays),
    compact number ticks on the numeric y axes, the legend in one row below the plot (never
    over bars). Bar widths stay the chart's business: give a lone bar a fixed width or a
    padded range so it does not fill the plot."""
    from bokeh.models import CategoricalAxis, Legend

    fig.toolbar_location = None
    fig.toolbar.logo = None
    fig.tools = [tool for tool in fig.tools if type(tool).__name__ == "HoverTool"]
    for axis in [*fig.yaxis, *y_axes]:
        if not isinstance(axis, CategoricalAxis):  # category names stay as they are
            axis.formatter = compact_ticks()
    fig.title.text_font_size = "14px"
    fig.sizing_mode = fig.sizing_mode or "stretch_width"
    if legend and fig.legend:
        items = [item for lg in fig.legend for item in lg.items]
        for old in list(fig.legend):
            if old in fig.center:
                fig.center.remove(old)
        if items:
            fig.add_layout(Legend(items=items, orientation="horizontal",
                                  location="center", click_policy="hide"), "below")
    return fig


HEADER_CSS = """
.siyu-page-title{font-size:22px;font-weight:600;margin:4px 0 2px}
.siyu-page-help{color:#5f6b7a;margin:0 0 8px;font-size:14px;line-height:1.5}
"""

KPI_CSS = """
.siyu-kpis{display:flex;flex-wrap:wrap;gap:12px}
.siyu-kpi{flex:1 1 150px;min-width:140px;background:#fff;border:1px solid #e3e7ed;
border-radius:8px;padding:12px 14px;box-sizing:border-box}
.siyu-kpi-label{color:#5f6b7a;font-size:13px}
.siyu-kpi-value{font-size:24px;font-weight:600;margin-top:4px;white-space:nowrap}
.siyu-kpi-note{color:#8a94a3;font-size:12px;margin-top:2px;min-height:1em}
"""

EMPTY_CSS = """
.siyu-empty{border:1px dashed #c5cdd8;border-radius:8px;padding:20px;text-align:center;
color:#5f6b7a}
.siyu-empty-message{font-size:15px;margin:0 0 6px;color:#33404f}
.siyu-empty-next{margin:0;font-size:13px}
"""

TABLE_CSS = """
:host{max-width:100%;overflow-x:auto}
.tabulator{font-size:13px}
"""


class Spot(pn.viewable.Viewer):
    """Where a kit table goes: the table while it has rows, its empty state
    (:func:`empty_state`) in its place while it has none.

    The one shown is the only one in the page; a table without rows is taken out rather than
    hidden. A Tabulator drawn while hidden waits for a size it never gets: rows sent to it are
    dropped, and once it appears its headers stay blank. Put back, it is drawn afresh with its
    rows. ``table.visible`` and ``empty.visible`` still say which one is shown.
    """

    def __init__(self, table: pn.widgets.Tabulator, empty: pn.pane.HTML, **params: Any):
        super().__init__(**params)
        self.table, self.empty = table, empty
        self.holder = pn.Column(empty, sizing_mode="stretch_width", margin=0)

    def show(self, frame: pd.DataFrame, columns: Sequence[Col], tz: Any) -> None:
        """Show ``frame`` (in ``columns``, times in ``tz``), or the empty state."""
        self.table.value = display_frame(frame, columns, tz)
        self.table.visible, self.empty.visible = not frame.empty, frame.empty
        shown = self.empty if frame.empty else self.table
        if self.holder.objects != [shown]:
            self.holder.objects = [shown]

    def __panel__(self) -> pn.Column:
        return self.holder


def form_row(*objects: Any, css_class: str = "") -> pn.FlexBox:
    """Fields side by side, wrapping onto more lines on a narrow screen."""
    return pn.FlexBox(*objects, flex_wrap="wrap", align_items="flex-end",
                      sizing_mode="stretch_width", css_classes=[css_class] if css_class else [])
