"""The Leaderboards console page (排行榜): pick a board and watch its ranking as a wall screen
— large rank, name and value, movement since yesterday (▲2 ▼1 —) — refreshed every 10
seconds while the page is open; a download of what it shows; and, for roles that may change
data, a form to define, change and delete boards.

The ranking is one HTML block built with :func:`siyu.apps.safe.html` (every name escaped);
its rows wrap at 390 px and grow with the screen, so the page also works full screen on a
wall display. Opening the page needs ``data.read``; the form needs ``data.write``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import downloads, empty_state, fmt_int, fmt_money, fmt_time, page_header
from siyu.apps.pages.common import (
    notify_errors,
    notify_success,
    readonly_note,
    section,
)
from siyu.apps.safe import html, join
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.leaderboards import store
from siyu.plugins.leaderboards.models import DIMENSIONS, METRICS, PERIODS
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.leaderboards")

#: Milliseconds between refreshes of the shown ranking.
REFRESH_MS = 10_000

BOARD_CSS = """
:host { width: 100%; }
.siyu-board { background: #0f172a; color: #f8fafc; border-radius: 12px; padding: 16px;
  font-size: clamp(16px, 2.2vw, 30px); }
.siyu-board-title { font-size: 1.4em; font-weight: 700; margin: 0 0 4px 0; }
.siyu-board-sub { color: #94a3b8; font-size: 0.6em; margin-bottom: 12px; }
.siyu-board-row { display: grid; grid-template-columns: 2.6em 1fr auto 3.2em;
  align-items: center; gap: 0.5em; padding: 0.35em 0.2em; border-top: 1px solid #1e293b; }
.siyu-board-rank { font-size: 1.5em; font-weight: 800; text-align: center; color: #fbbf24; }
.siyu-board-name { overflow-wrap: anywhere; font-weight: 600; }
.siyu-board-value { font-variant-numeric: tabular-nums; font-weight: 700; text-align: right; }
.siyu-board-move { font-size: 0.7em; text-align: right; }
.siyu-up { color: #4ade80; } .siyu-down { color: #f87171; } .siyu-same { color: #94a3b8; }
.siyu-board-empty { color: #94a3b8; padding: 1em 0; }
@media (max-width: 480px) {
  .siyu-board { font-size: 16px; padding: 10px; }
  .siyu-board-row { grid-template-columns: 2em 1fr auto 2.8em; gap: 0.3em; }
}
"""


def movement(change: Any) -> tuple[str, str]:
    """(text, css class) of a change in places: ``▲2``, ``▼1``, ``—`` (same, or new)."""
    if change is None or pd.isna(change):
        return _("new"), "siyu-same"
    change = int(change)
    if change > 0:
        return f"▲{change}", "siyu-up"
    if change < 0:
        return f"▼{-change}", "siyu-down"
    return "—", "siyu-same"


def value_text(metric: str, value: Any) -> str:
    """A ranking value as the board shows it (money as ¥)."""
    return fmt_money(value) if metric == "sales_fen" else fmt_int(value)


def board_html(board: store.BoardInfo, frame: pd.DataFrame, tz: Any) -> str:
    """The wall-screen block of one ranking (every data-derived string escaped)."""
    first, last = frame.attrs.get("period", (None, None))
    period = store.period_labels()[board.period]
    days = f"{first.isoformat()} – {last.isoformat()}" if isinstance(first, date) else ""
    sub = _("{metric} · {period} {days} · updated {time}",
            metric=store.metric_labels()[board.metric], period=period, days=days,
            time=fmt_time(utcnow(), tz, "%H:%M:%S"))
    rows = []
    for row in frame.to_dict("records"):
        text, css = movement(row["change"])
        rows.append(html('<div class="siyu-board-row"><div class="siyu-board-rank">{rank}</div>'
                         '<div class="siyu-board-name">{name}</div>'
                         '<div class="siyu-board-value">{value}</div>'
                         '<div class="siyu-board-move {css}" title="{title}">{move}</div>'
                         '</div>', rank=int(row["rank"]), name=row["name"],
                         value=value_text(board.metric, row["value"]), css=css, move=text,
                         title=_("places since yesterday")))
    body = join("", rows) if rows else html('<div class="siyu-board-empty">{text}</div>',
                                            text=_("Nothing ranked yet in this period."))
    return html('<div class="siyu-board"><div class="siyu-board-title">{title}</div>'
                '<div class="siyu-board-sub">{sub}</div>{body}</div>',
                title=board.title, sub=sub, body=body)


class BoardForm(pn.viewable.Viewer):
    """Define a new board, or change the one loaded."""

    def __init__(self, ws: Workspace, on_saved: Any = None, **params: Any):
        super().__init__(**params)
        self.ws, self.on_saved, self.editing = ws, on_saved, None
        self.board_name = pn.widgets.TextInput(label=_("Name (letters, digits, - and _)"),
                                               sizing_mode="stretch_width")
        self.board_title = pn.widgets.TextInput(label=_("Title shown on the board"),
                                          sizing_mode="stretch_width")
        self.metric = pn.widgets.Select(label=_("Rank by"), options={
            store.metric_labels()[m]: m for m in METRICS}, sizing_mode="stretch_width")
        self.dimension = pn.widgets.Select(label=_("Who is ranked"), options={
            store.dimension_labels()[d]: d for d in DIMENSIONS}, sizing_mode="stretch_width")
        self.period = pn.widgets.Select(label=_("Period"), options={
            store.period_labels()[p]: p for p in PERIODS}, value="this_month",
            sizing_mode="stretch_width")
        self.start = pn.widgets.DatePicker(label=_("First day"), sizing_mode="stretch_width")
        self.end = pn.widgets.DatePicker(label=_("Last day"), sizing_mode="stretch_width")
        self.sources = pn.widgets.TextInput(label=_("Only these order sources (comma "
                                                   "separated; empty: all)"),
                                            sizing_mode="stretch_width")
        self.stores = pn.widgets.TextInput(label=_("Only these store codes (comma separated; "
                                                  "empty: all)"), sizing_mode="stretch_width")
        self.top = pn.widgets.IntInput(label=_("Places shown"), value=20, start=1,
                                       end=store.MAX_TOP, sizing_mode="stretch_width")
        self.save = pn.widgets.Button(label=_("Save board"), color="primary",
                                      css_classes=["siyu-leaderboards-save"])
        self.save.on_click(lambda _event: self.submit())
        self.period.param.watch(lambda _event: self._window(), "value")
        self._window()

    def _window(self) -> None:
        shown = self.period.value == "window"
        self.start.visible = self.end.visible = shown

    def load(self, board: store.BoardInfo) -> None:
        """Fill the form with ``board`` to change it."""
        self.editing = board.name
        self.board_name.value, self.board_name.disabled = board.name, True
        self.board_title.value = board.title
        self.metric.value, self.dimension.value = board.metric, board.dimension
        self.period.value = board.period
        self.start.value, self.end.value = board.start, board.end
        self.sources.value = ",".join(board.sources)
        self.stores.value = ",".join(board.stores)
        self.top.value = board.top

    def reset(self) -> None:
        """An empty form for a new board."""
        self.editing = None
        self.board_name.value, self.board_name.disabled, self.board_title.value = "", False, ""
        self.sources.value = self.stores.value = ""
        self.start.value = self.end.value = None

    @notify_errors
    def submit(self) -> store.BoardInfo | None:
        """Save the form: a new board, or the changes of the one loaded."""
        window = self.period.value == "window"
        fields = {"title": self.board_title.value, "metric": self.metric.value,
                  "dimension": self.dimension.value, "period": self.period.value,
                  "start": self.start.value if window else None,
                  "end": self.end.value if window else None,
                  "sources": [s for s in self.sources.value.split(",") if s.strip()],
                  "stores": [s for s in self.stores.value.split(",") if s.strip()],
                  "top": self.top.value}
        if self.editing:
            info = store.update(self.ws, self.editing, **fields)
            notify_success(_("leaderboard {name} changed", name=info.name))
        else:
            name = self.board_name.value.strip()
            if not name:
                raise ValidationError(_("give the board a name"))
            info = store.define(self.ws, name, **fields)
            notify_success(_("leaderboard {name} added", name=info.name))
        if self.on_saved is not None:
            self.on_saved(info.name)
        return info

    def __panel__(self) -> pn.Column:
        return pn.Column(
            pn.Row(self.board_name, self.board_title, sizing_mode="stretch_width"),
            pn.Row(self.metric, self.dimension, self.period, sizing_mode="stretch_width"),
            pn.Row(self.start, self.end, sizing_mode="stretch_width"),
            self.sources, self.stores, self.top, self.save,
            css_classes=["siyu-leaderboards-form"], sizing_mode="stretch_width")


class LeaderboardsPage(pn.viewable.Viewer):
    """The Leaderboards page."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws, self.tz = ws, ws.timezone
        self.can_write = ws.principal.can("data.write")
        self.chosen = pn.widgets.Select(label=_("Board"), options={}, width=320,
                                        css_classes=["siyu-leaderboards-choice"])
        self.board = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[BOARD_CSS],
                                  css_classes=["siyu-leaderboards-board"])
        self.empty = empty_state(_("No leaderboards yet."),
                                 _("Define one below: rank stores by this month's sales, for "
                                   "example.") if self.can_write else
                                 _("Ask someone who may change data to define one."),
                                 css_class="siyu-leaderboards-empty")
        self.frame = pd.DataFrame(columns=list(store.COLUMNS))
        self.form = BoardForm(ws, on_saved=self._saved) if self.can_write else None
        self.edit_button = pn.widgets.Button(label=_("Edit this board"),
                                             css_classes=["siyu-leaderboards-edit"])
        self.delete_button = pn.widgets.Button(label=_("Delete this board"),
                                               color="danger",
                                               css_classes=["siyu-leaderboards-delete"])
        self.new_button = pn.widgets.Button(label=_("New board"),
                                            css_classes=["siyu-leaderboards-new"])
        self.edit_button.on_click(lambda _event: self.edit())
        self.delete_button.on_click(lambda _event: self.delete())
        self.new_button.on_click(lambda _event: self.form and self.form.reset())
        self.download = downloads(self._export, "leaderboard",
                                  css_class="siyu-leaderboards-download")
        self.chosen.param.watch(lambda _event: self.show(), "value")
        self.load()
        self._poll = None
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            self._poll = pn.state.add_periodic_callback(self.show, period=REFRESH_MS)
            pn.state.on_session_destroyed(lambda _context: self.stop())

    def stop(self) -> None:
        """Stop refreshing (the session ended)."""
        if self._poll is not None:
            self._poll.stop()
            self._poll = None

    def load(self, keep: str | None = None) -> None:
        """Read the boards into the chooser and show the chosen one."""
        boards = store.boards(self.ws)
        options = {f"{b.title} ({b.name})" if b.title != b.name else b.name: b.name
                   for b in boards}
        keep = keep or self.chosen.value
        self.chosen.options = options
        value = keep if keep in options.values() else next(iter(options.values()), None)
        if self.chosen.value != value:
            self.chosen.value = value
        else:
            self.show()

    def show(self) -> None:
        """Show the chosen board's ranking now."""
        name = self.chosen.value
        has = name is not None
        self.empty.visible = not has
        self.board.visible = self.download.visible = has
        for button in (self.edit_button, self.delete_button):
            button.visible = has and self.can_write
        if not has:
            self.frame = pd.DataFrame(columns=list(store.COLUMNS))
            self.board.object = ""
            return
        try:
            board = store.get(self.ws, name)
        except Exception:  # removed meanwhile, in another session
            self.load()
            return
        self.frame = store.ranking(self.ws, name)
        self.board.object = board_html(board, self.frame, self.tz)

    def _export(self) -> pd.DataFrame:
        return store.export_frame(self.ws, self.chosen.value)

    def _saved(self, name: str) -> None:
        self.load(keep=name)

    @notify_errors
    def edit(self) -> None:
        """Load the chosen board into the form."""
        if self.form is not None and self.chosen.value is not None:
            self.form.load(store.get(self.ws, self.chosen.value))

    @notify_errors
    def delete(self) -> None:
        """Delete the chosen board with its snapshots."""
        name = self.chosen.value
        if name is None or not self.can_write:
            return
        store.remove(self.ws, name)
        if self.form is not None and self.form.editing == name:
            self.form.reset()
        notify_success(_("leaderboard {name} removed", name=name))
        self.load()

    def __panel__(self) -> pn.Column:
        parts: list[Any] = [
            page_header(_("Leaderboards"),
                        _("Live rankings of stores, staff and customers; they follow new "
                          "orders within seconds and refresh every 10 seconds."),
                        css_class="siyu-leaderboards-header"),
            *readonly_note(self.can_write, _("leaderboards")),
            pn.Row(self.chosen, sizing_mode="stretch_width"),
            self.empty, self.board, self.download]
        if self.form is not None:
            parts.append(pn.Row(self.edit_button, self.delete_button, self.new_button,
                                sizing_mode="stretch_width"))
            parts.append(section(_("Define a board"), self.form))
        return pn.Column(*parts, css_classes=["siyu-leaderboards-page"],
                         sizing_mode="stretch_width")
