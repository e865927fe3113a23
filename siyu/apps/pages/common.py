"""Pieces every console page shares: notifications, a pager, read-only tables, formatting.

Nothing here holds state between browser sessions: every function builds new objects.
Text that reaches HTML is escaped by :mod:`siyu.apps.safe`: notifications take plain text,
pane text is built with ``md()`` / ``html()``.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import panel as pn
import param

from siyu.apps.safe import escape, md, notification_area
from siyu.core.errors import SiyuError

log = logging.getLogger("siyu.console")

F = TypeVar("F", bound=Callable[..., Any])

#: How times are shown in tables: the workspace timezone, to the minute.
TIME_FORMAT = "%Y-%m-%d %H:%M"


def notify_error(message: str) -> None:
    """Show ``message`` (plain text: the area escapes it) as an error notification (logged
    when no notification area exists, e.g. outside a browser session)."""
    area = notification_area()
    if area is None:
        log.warning("%s", message)
        return
    area.error(message, duration=8000)


def notify_success(message: str) -> None:
    """Show ``message`` (plain text) as a success notification (logged when there is no
    area)."""
    area = notification_area()
    if area is None:
        log.info("%s", message)
        return
    area.success(message, duration=4000)


def notify_errors(func: F) -> F:
    """Decorate a callback so that a :class:`SiyuError` (something the user can fix) is
    shown as an error notification instead of being raised; the callback returns ``None``.

    Any other exception is a bug and propagates with its traceback.
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SiyuError as exc:
            notify_error(str(exc))
            return None
    return wrapper  # type: ignore[return-value]


class Pager(pn.viewable.Viewer):
    """Previous / next buttons and a "Page 1 of 5 · 250 contacts" indicator.

    With ``total`` set the pager knows the last page; with ``total=None`` (a source that
    cannot count cheaply) it relies on ``has_more`` to enable *Next*.
    """

    page = param.Integer(default=1, bounds=(1, None), doc="Current page, from 1.")
    page_size = param.Integer(default=50, bounds=(1, None), doc="Rows per page.")
    total = param.Integer(default=None, allow_None=True, doc="Rows in all pages, if known.")
    has_more = param.Boolean(default=False, doc="Whether a next page exists (total unknown).")
    noun = param.String(default="row", doc="What a row is, singular.")
    nouns = param.String(default="rows", doc="What rows are, plural.")

    def __init__(self, *, css_class: str = "siyu-pager", **params: Any):
        super().__init__(**params)
        self.previous = pn.widgets.Button(label="‹ Previous", width=110,
                                          css_classes=[f"{css_class}-previous"])
        self.next = pn.widgets.Button(label="Next ›", width=110,
                                      css_classes=[f"{css_class}-next"])
        self.indicator = pn.pane.HTML("", css_classes=[f"{css_class}-text"],
                                      margin=(12, 10, 0, 10))
        self.previous.on_click(lambda _event: self.go(self.page - 1))
        self.next.on_click(lambda _event: self.go(self.page + 1))
        self.param.watch(self._update, ["page", "page_size", "total", "has_more"])
        self._layout = pn.Row(self.previous, self.indicator, self.next,
                              css_classes=[css_class])
        self._update()

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1); the current page when ``total`` is
        unknown."""
        if self.total is None:
            return self.page + (1 if self.has_more else 0)
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def offset(self) -> int:
        """Rows before the current page."""
        return (self.page - 1) * self.page_size

    @property
    def text(self) -> str:
        """The indicator text, e.g. ``"Page 1 of 5 · 250 contacts"``."""
        if self.total is None:
            return f"Page {self.page}"
        noun = self.noun if self.total == 1 else self.nouns
        return f"Page {self.page} of {self.pages} · {self.total:,} {noun}"

    def go(self, page: int) -> None:
        """Move to ``page``, clamped to the pages that exist."""
        self.page = min(max(1, page), self.pages)

    def _update(self, *_events: Any) -> None:
        self.indicator.object = escape(self.text)
        self.previous.disabled = self.page <= 1
        self.next.disabled = (not self.has_more if self.total is None
                              else self.page >= self.pages)

    def __panel__(self) -> pn.Row:
        return self._layout


def table(frame: pd.DataFrame | None = None, *, css_class: str, **kwargs: Any
          ) -> pn.widgets.Tabulator:
    """A read-only table (no cell editing, no client-side paging) with a stable CSS class."""
    options: dict[str, Any] = {"disabled": True, "show_index": False, "pagination": None,
                               "sizing_mode": "stretch_width", "layout": "fit_data_table",
                               "selectable": False}
    options.update(kwargs)
    return pn.widgets.Tabulator(frame if frame is not None else pd.DataFrame(),
                                css_classes=[css_class], **options)


def show_times(frame: pd.DataFrame, columns: Iterable[str], tz: ZoneInfo) -> pd.DataFrame:
    """A copy of ``frame`` with the time ``columns`` as text in the timezone ``tz``
    (``""`` for missing times), the way tables show them."""
    frame = frame.copy()
    for column in columns:
        if column not in frame:
            continue
        values = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
        frame[column] = values.dt.strftime(TIME_FORMAT).fillna("")
    return frame


def yuan(fen: int | float | None) -> str:
    """``123456`` fen → ``"¥1,234.56"``."""
    return f"¥{(fen or 0) / 100:,.2f}"


def readonly_note(can_write: bool, what: str) -> list[pn.pane.Alert]:
    """``[]`` for a role that may change ``what``; else one note saying it can only look."""
    if can_write:
        return []
    return [pn.pane.Alert(md("Your role can see {what} but not change them.", what=what),
                          alert_type="info", css_classes=["siyu-readonly-note"])]


def section(title: str, *objects: Any, css_class: str = "") -> pn.Column:
    """A titled block of a page."""
    return pn.Column(pn.pane.Markdown(md("### {title}", title=title), margin=(0, 10)), *objects,
                     css_classes=[css_class] if css_class else [],
                     sizing_mode="stretch_width")


def contact_ref(text: str) -> int | str:
    """A contact as typed by a user: digits are an id, anything else an external_userid."""
    text = text.strip()
    return int(text) if text.isdigit() else text
