"""Pieces every console page shares: notifications, a translated pager, read-only tables,
payload and detail values as readable text, formatting.

New page code builds its headers, tables, charts and empty states with the page kit
(:mod:`siyu.apps.kit`); :func:`table` and :func:`show_times` stay for pages not moved to it
yet. Every string shown goes through the translation layer (:mod:`siyu.core.i18n`).

Nothing here holds state between browser sessions: every function builds new objects.
Text that reaches HTML is escaped by :mod:`siyu.apps.safe`: notifications take plain text,
pane text is built with ``md()`` / ``html()``.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import panel as pn
import param

from siyu.apps.kit import MISSING, fmt_int, fmt_money, fmt_time, pager_words
from siyu.apps.safe import escape, md, notification_area
from siyu.core.errors import SiyuError
from siyu.core.i18n import core as _

log = logging.getLogger("siyu.console")

F = TypeVar("F", bound=Callable[..., Any])

#: How times are shown in tables: the workspace timezone, to the minute.
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _notify(kind: str, message: str, duration: int, level: int) -> None:
    """Show ``message`` (plain text: the area escapes it) as a ``kind`` notification, or log
    it at ``level`` when no notification area exists (e.g. outside a browser session)."""
    area = notification_area()
    if area is None:
        log.log(level, "%s", message)
        return
    getattr(area, kind)(message, duration=duration)


def notify_error(message: str) -> None:
    """Show ``message`` (plain text) as an error notification (logged when there is no
    area)."""
    _notify("error", message, 8000, logging.WARNING)


def notify_warning(message: str) -> None:
    """Show ``message`` (plain text) as a warning notification (logged when there is no
    area)."""
    _notify("warning", message, 8000, logging.WARNING)


def notify_info(message: str) -> None:
    """Show ``message`` (plain text) as an information notification (logged when there is no
    area)."""
    _notify("info", message, 6000, logging.INFO)


def notify_success(message: str) -> None:
    """Show ``message`` (plain text) as a success notification (logged when there is no
    area)."""
    _notify("success", message, 4000, logging.INFO)


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


def _count_contacts(n: int) -> str:
    return _.ngettext("{count} contact", "{count} contacts", n, count=fmt_int(n))


def _count_entries(n: int) -> str:
    return _.ngettext("{count} entry", "{count} entries", n, count=fmt_int(n))


def _count_rows(n: int) -> str:
    return _.ngettext("{count} row", "{count} rows", n, count=fmt_int(n))


#: How a pager counts the nouns it knows, in the user's language (``Pager(noun="contact")``).
COUNTERS: dict[str, Callable[[int], str]] = {
    "contact": _count_contacts, "entry": _count_entries, "row": _count_rows}


class Pager(pn.viewable.Viewer):
    """Previous / next buttons and a "Page 1 of 5 · 250 contacts" indicator, translated.

    With ``total`` set the pager knows the last page; with ``total=None`` (a source that
    cannot count cheaply) it relies on ``has_more`` to enable *Next*.

    How the total is counted: ``counter`` (a function ``n -> "250 contacts"``, translated with
    ``_.ngettext``) when given, else the counter :data:`COUNTERS` has for ``noun``, else
    ``"250 <nouns>"`` untranslated (pass a counter for a noun of your own).
    """

    page = param.Integer(default=1, bounds=(1, None), doc="Current page, from 1.")
    page_size = param.Integer(default=50, bounds=(1, None), doc="Rows per page.")
    total = param.Integer(default=None, allow_None=True, doc="Rows in all pages, if known.")
    has_more = param.Boolean(default=False, doc="Whether a next page exists (total unknown).")
    noun = param.String(default="row", doc="What a row is, singular (a key of COUNTERS).")
    nouns = param.String(default="rows", doc="What rows are, plural.")
    counter = param.Callable(default=None, allow_None=True,
                             doc="n -> the translated count text, e.g. '250 contacts'.")

    def __init__(self, *, css_class: str = "siyu-pager", **params: Any):
        super().__init__(**params)
        self.previous = pn.widgets.Button(label=_("‹ Previous"), width=110,
                                          css_classes=[f"{css_class}-previous"])
        self.next = pn.widgets.Button(label=_("Next ›"), width=110,
                                      css_classes=[f"{css_class}-next"])
        self.indicator = pn.pane.HTML("", css_classes=[f"{css_class}-text"],
                                      margin=(12, 10, 0, 10))
        self.previous.on_click(lambda _event: self.go(self.page - 1))
        self.next.on_click(lambda _event: self.go(self.page + 1))
        self.param.watch(self._update, ["page", "page_size", "total", "has_more"])
        self._layout = pn.FlexBox(self.previous, self.indicator, self.next,
                                  flex_wrap="wrap", align_items="center",
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

    def count_text(self, n: int) -> str:
        """``n`` rows counted in the user's language, e.g. ``"250 contacts"``."""
        counter = self.counter or COUNTERS.get(self.noun)
        if counter is not None:
            return counter(n)
        return f"{fmt_int(n)} {self.noun if n == 1 else self.nouns}"

    @property
    def text(self) -> str:
        """The indicator text, e.g. ``"Page 1 of 5 · 250 contacts"`` (``"第 1/5 页 · 共 250
        位客户"`` in Chinese)."""
        if self.total is None:
            return _("Page {page}", page=self.page)
        return _("Page {page} of {pages} · {count}", page=self.page, pages=self.pages,
                 count=self.count_text(self.total))

    def go(self, page: int) -> None:
        """Move to ``page``, clamped to the pages that exist."""
        self.page = min(max(1, page), self.pages)

    def _update(self, *_events: Any) -> None:
        self.indicator.object = escape(self.text)
        self.previous.disabled = self.page <= 1
        self.next.disabled = (not self.has_more if self.total is None
                              else self.page >= self.pages)

    def __panel__(self) -> pn.FlexBox:
        return self._layout


def table(frame: pd.DataFrame | None = None, *, css_class: str, **kwargs: Any
          ) -> pn.widgets.Tabulator:
    """A read-only table (no cell editing, no client-side paging unless asked) with a stable
    CSS class; asked to page, its page buttons are worded in the reader's language."""
    options: dict[str, Any] = {"disabled": True, "show_index": False, "pagination": None,
                               "sizing_mode": "stretch_width", "layout": "fit_data_table",
                               "selectable": False}
    options.update(kwargs)
    if options["pagination"] and "configuration" not in options:
        options["configuration"] = pager_words()
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
    """``123456`` fen → ``"¥1,234.56"`` (``None`` → ``"¥0.00"``)."""
    return fmt_money(fen or 0)


def readonly_note(can_write: bool, what: Any) -> list[pn.pane.Alert]:
    """``[]`` for a role that may change ``what`` (translated by the caller: ``_("tags")``);
    else one note saying it can only look."""
    if can_write:
        return []
    return [pn.pane.Alert(md(_("Your role can see {what} but not change them."),
                             what=str(what)),
                          alert_type="info", css_classes=["siyu-readonly-note"])]


def section(title: Any, *objects: Any, css_class: str = "") -> pn.Column:
    """A titled block of a page (``title`` translated by the caller, or a ``LazyText``)."""
    return pn.Column(pn.pane.Markdown(md("### {title}", title=str(title)), margin=(0, 10)),
                     *objects,
                     css_classes=[css_class] if css_class else [],
                     sizing_mode="stretch_width")


def contact_ref(text: str) -> int | str:
    """A contact as typed by a user: digits are an id, anything else an external_userid."""
    text = text.strip()
    return int(text) if text.isdigit() else text


#: An ISO 8601 time with an offset (``2026-11-01T02:00:00+00:00``, ``…Z``): a moment that a
#: payload or audit detail stored as text, shown in the workspace timezone.
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def plain_value(value: Any, tz: ZoneInfo) -> str:
    """A value from a JSON payload or an audit detail as text a person reads: times (aware
    ``datetime``, ISO text with an offset, ``{"$at": …}`` of hook notices) in the workspace
    timezone ``tz``, lists joined with commas, mappings as ``key: value``, yes/no for
    booleans, ``—`` for nothing. Never JSON."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Mapping):
        if set(value) == {"$at"}:
            return plain_value(value["$at"], tz)
        parts = [f"{key}: {plain_value(item, tz)}" for key, item in value.items()]
        return "; ".join(parts) or MISSING
    if isinstance(value, (list, tuple, set)):
        return ", ".join(plain_value(item, tz) for item in value) or MISSING
    if isinstance(value, (datetime, pd.Timestamp)):
        return fmt_time(value, tz)
    if isinstance(value, str) and _ISO_TIME.match(value.strip()):
        try:
            return fmt_time(pd.Timestamp(value.strip()), tz)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def labelled(values: Mapping[str, Any] | None, labels: Mapping[str, Any], tz: ZoneInfo,
             *, skip: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(label, text)`` for each entry of ``values`` (a payload or audit detail): keys that
    ``labels`` names first, in its order, with their translated label; other keys after,
    under their own name. Values go through :func:`plain_value`; empty ones are left out."""
    values = dict(values or {})
    skipped = set(skip)
    keys = [key for key in labels if key in values] + [
        key for key in values if key not in labels]
    out = []
    for key in keys:
        if key in skipped:
            continue
        text = plain_value(values[key], tz)
        if text != MISSING:
            out.append((str(labels.get(key, key)), text))
    return out


def toggle_empty(table: pn.viewable.Viewable, empty: pn.viewable.Viewable, has_rows: bool
                 ) -> None:
    """Show ``table`` when it has rows, else its ``empty`` state (an :func:`empty_state`)."""
    table.visible = has_rows
    empty.visible = not has_rows
