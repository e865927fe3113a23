"""One form field per segment rule parameter (:class:`~siyu.core.records.SegmentParam`).

The parameter's type picks the widget: a menu of values (``MultiChoice``) for a list whose
values come from ``choices_from`` (tags, staff, stores…), a ``Select`` for a ``choice`` or a
strict menu, an ``IntInput`` with the parameter's bounds, a ``DatePicker``, a ``Checkbox``,
and a ``TextInput`` for the rest. A :class:`ParamField` turns the widget's value into the
value a spec holds (``None``: leave the key out) and back.

Menus are read once per page through :class:`Menus`; staff and stores are labelled with their
names. Every menu label that reaches a ``MultiChoice`` is escaped (:func:`siyu.apps.safe.labels`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import panel as pn

from siyu.apps.safe import labels
from siyu.core.i18n import core as _
from siyu.core.segments.choices import choices

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.records import SegmentParam
    from siyu.core.workspace import Workspace

#: What a menu shows for "no value".
NONE_LABEL = "—"
#: Separators between values typed into one text field (ASCII and Chinese commas, 、, lines).
_SEPARATORS = re.compile(r"[,，、;；\n]+")
#: Widths and margins that let two fields share a phone's row and five a laptop's.
FIELD_WIDTH = 150
MENU_WIDTH = 300
FIELD_MARGIN = (5, 5)


class Menus:
    """The values each ``choices_from`` source offers, read from the database once per page
    (:meth:`reload` reads them again), with readable labels: ``张三 (zhangsan)`` for staff,
    ``上海南京西路店 (SH001)`` for stores, the value itself otherwise."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._cache: dict[Any, dict[str, str]] = {}

    def options(self, source: str | Callable[..., list[str]]) -> dict[str, str]:
        """``{label: value}`` for ``source`` (a provider name or a plugin's callable)."""
        if source not in self._cache:
            values = choices(self.ws, source)
            names = self._names(source)
            self._cache[source] = {
                (f"{names[value]} ({value})" if names.get(value) not in (None, "", value)
                 else value): value
                for value in values}
        return self._cache[source]

    def _names(self, source: Any) -> dict[str, str]:
        if source == "staff":
            return {s.userid: s.name for s in self.ws.staff.list()}
        if source == "stores":
            return {s.code: s.name for s in self.ws.stores.list()}
        return {}

    def staff_names(self) -> dict[str, str]:
        """Staff user ids → names (to show an owner by name)."""
        return self._names("staff")

    def reload(self, source: Any = None) -> None:
        """Forget the values of ``source`` (all sources when ``None``)."""
        if source is None:
            self._cache.clear()
        else:
            self._cache.pop(source, None)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclass
class ParamField:
    """A widget for one rule parameter and the conversions between its value and the
    spec's.

    :ivar param: the parameter.
    :ivar widget: what the user edits.
    """

    param: SegmentParam
    widget: pn.widgets.Widget
    read: Callable[[Any], Any]
    write: Callable[[Any], Any]

    def value(self) -> Any:
        """The spec's value, or ``None`` when the field is empty or holds the default (the
        key is then left out of the spec: the rule uses its default)."""
        value = self.read(self.widget.value)
        if _empty(value) or value == self.param.default:
            return None
        return value

    def load(self, value: Any) -> None:
        """Show ``value`` (from a saved spec; ``None``: the default)."""
        self.widget.value = self.write(self.param.default if value is None else value)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


def _as_int(text: str) -> int | str:
    """Digits as an integer; anything else as typed (the checker names it)."""
    try:
        return int(text)
    except ValueError:
        return text


def _as_date(value: Any) -> date | None:
    """A spec's date (``date``, ``datetime`` or ISO text) as the date a picker shows."""
    if _empty(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _date_text(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _keep_known(widget: pn.widgets.Widget, values: list[Any], *, escape: bool = True
                ) -> list[Any]:
    """``values`` for a menu widget, adding values its menu lacks (a tag deleted since the
    segment was saved stays visible, and the checker reports it). ``escape``: the widget
    draws labels as HTML (``MultiChoice``)."""
    options = widget.options
    known = set(options.values()) if isinstance(options, dict) else set(options)
    missing = [value for value in values if value not in known]
    if missing:
        extra = (labels([str(v) for v in missing]) if escape
                 else {str(v): v for v in missing})
        widget.options = ({**options, **extra} if isinstance(options, dict)
                          else [*options, *extra])
    return values


def _label(param: SegmentParam) -> str:
    title = str(param.title or param.name)
    return f"{title} *" if param.required else title


def _choice_options(param: SegmentParam) -> dict[str, Any]:
    options = {}
    for choice in param.choices:
        value, title = choice if isinstance(choice, tuple) else (choice, choice)
        options[str(title)] = value
    if not param.required and param.default is None:
        options = {NONE_LABEL: "", **options}
    return options


def param_field(param: SegmentParam, menus: Menus, *, css_class: str) -> ParamField:
    """The field for ``param``; its widget carries ``css_class`` and
    ``<css_class>-<param name>``.

    :param menus: where menus of ``choices_from`` values come from.
    """
    common = {"label": _label(param), "css_classes": [css_class, f"{css_class}-{param.name}"],
              "margin": FIELD_MARGIN}
    kind, source = param.type, param.choices_from
    if kind == "list" and source is not None:
        widget = pn.widgets.MultiChoice(options=labels(menus.options(source)), value=[],
                                        placeholder=_("Choose…"), width=MENU_WIDTH,
                                        search_option_limit=50, **common)
        return ParamField(param, widget, list, lambda v: _keep_known(widget, list(v or [])))
    if kind == "ints" and param.minimum is not None and param.maximum is not None:
        options = {str(i): i for i in range(param.minimum, param.maximum + 1)}
        widget = pn.widgets.MultiChoice(options=labels(options), value=[], width=MENU_WIDTH,
                                        placeholder=_("Choose…"), **common)
        return ParamField(param, widget, lambda v: sorted(v or []),
                          lambda v: _keep_known(widget, list(v or [])))
    if kind in ("list", "ints"):
        convert = _as_int if kind == "ints" else str
        widget = pn.widgets.TextInput(value="", width=MENU_WIDTH,
                                      placeholder=_("Separate values with commas"), **common)
        return ParamField(param, widget, lambda v: [convert(p) for p in _split(v)],
                          lambda v: ", ".join(str(x) for x in (v or [])))
    if kind == "int":
        widget = pn.widgets.IntInput(value=param.default, start=param.minimum,
                                     end=param.maximum, width=FIELD_WIDTH, **common)
        return ParamField(param, widget, lambda v: v,
                          lambda v: v if isinstance(v, int) and not isinstance(v, bool)
                          else None)
    if kind == "bool":
        widget = pn.widgets.Checkbox(value=bool(param.default), width=FIELD_WIDTH,
                                     **{**common, "margin": (28, 5, 5, 5)})
        return ParamField(param, widget, bool, bool)
    if kind == "date":
        widget = pn.widgets.DatePicker(value=None, width=FIELD_WIDTH, **common)
        return ParamField(param, widget, _date_text, _as_date)
    if kind == "choice":
        widget = pn.widgets.Select(options=_choice_options(param),
                                   value=param.default if param.default is not None else "",
                                   width=FIELD_WIDTH, **common)
        return ParamField(param, widget, lambda v: v or None,
                          lambda v: _keep_known(widget, [v], escape=False)[0] if v else "")
    if source is not None and param.strict:
        widget = pn.widgets.Select(options={NONE_LABEL: "", **menus.options(source)},
                                   value="", width=FIELD_WIDTH, **common)
        return ParamField(param, widget, lambda v: v or None,
                          lambda v: _keep_known(widget, [v], escape=False)[0] if v else "")
    if source is not None:  # suggestions, free text allowed (e.g. an event kind "livecode.*")
        widget = pn.widgets.AutocompleteInput(options=list(menus.options(source).values()),
                                              restrict=False, min_characters=1,
                                              case_sensitive=False, value="",
                                              width=FIELD_WIDTH, **common)
        return ParamField(param, widget, lambda v: (v or "").strip() or None,
                          lambda v: "" if v is None else str(v))
    widget = pn.widgets.TextInput(value="", width=FIELD_WIDTH, **common)
    return ParamField(param, widget, lambda v: (v or "").strip() or None,
                      lambda v: "" if v is None else str(v))
