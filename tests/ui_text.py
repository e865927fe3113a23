"""What a console page shows as text, for tests that check the page speaks the user's language.

:func:`visible_texts` walks a Panel object tree (Viewers through ``__panel__()``, layouts
through their children, Bokeh figures through their models) and collects every string a user
reads: widget labels, button labels, placeholders, descriptions, option labels, Markdown /
HTML / Alert / Str pane text (tags stripped, entities decoded; inline code such as a command
or hook name left out), Tabulator column titles,
indicator titles, tab and card titles, and Bokeh titles, axis labels, legend labels and hover
labels. :func:`english_words` then finds the English words left in them::

    from ui_text import english_words, visible_texts   # tests/ is on sys.path under pytest

    with use_language("zh_CN"):
        page = ContactsPage(ws)
        texts = visible_texts(page)
    assert not english_words(texts, allow=["Demo shop"])

Data values (names, tag names, ids, plugin and hook names) are not translated: pass the ones
a test seeded in ``allow`` (each is cut out of the texts as a whole, so allowing
``"on_contact_added"`` does not allow "added" elsewhere). Table cells are data and are only
collected with ``cells=True``.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["DEFAULT_ALLOW", "english_hits", "english_words", "visible_texts"]

#: Words a Chinese page may show as they are: product names, file formats, technical terms.
DEFAULT_ALLOW = frozenset(w.lower() for w in (
    "WeCom", "CSV", "Excel", "XLSX", "URL", "API", "siyu", "JSON", "HTTP", "HTTPS", "UTC",
    "ID", "IDs",
))

_TAG = re.compile(r"<[^>]*>")
#: Not text a person reads: styles and scripts; code (commands, hook names) is not
#: translated either.
_STYLE = re.compile(r"<(style|script|code)\b[^>]*>.*?</\1>", re.S | re.I)
_MD_CODE = re.compile(r"`[^`]*`")
_MD_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_MD_ESCAPE = re.compile(r"\\(.)")
_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{3,}(?![A-Za-z])")


def _html_text(text: str) -> str:
    text = _STYLE.sub(" ", text)
    return _html.unescape(_TAG.sub(" ", text))


def _markdown_text(text: str) -> str:
    text = _MD_CODE.sub(" ", _MD_LINK_TARGET.sub("]", text))
    return _MD_ESCAPE.sub(r"\1", _html_text(text))


def _option_labels(options: Any) -> list[str]:
    if isinstance(options, dict):
        labels: list[str] = []
        for key, value in options.items():
            labels.append(str(key))
            if isinstance(value, (list, dict)):  # Select groups: {group: [options]}
                labels.extend(_option_labels(value))
        return labels
    if isinstance(options, (list, tuple)):
        return [str(option) for option in options]
    return []


def _bokeh_texts(model: Any) -> list[str]:
    """Titles, axis labels, legend labels, hover labels and Div text of a Bokeh model."""
    from bokeh.models import Axis, Div, HoverTool, LegendItem, Title

    texts: list[str] = []
    for ref in model.references():
        if isinstance(ref, Title):
            texts.append(ref.text or "")
        elif isinstance(ref, Axis):
            texts.append(str(ref.axis_label or ""))
        elif isinstance(ref, LegendItem):
            label = ref.label
            if isinstance(label, dict):
                label = label.get("value", "")
            elif hasattr(label, "value"):
                label = getattr(label, "value", "")
            texts.append(str(label or ""))
        elif isinstance(ref, HoverTool):
            tooltips = ref.tooltips
            if isinstance(tooltips, str):
                texts.append(_html_text(re.sub(r"@\{?[\w ]+\}?(\{[^}]*\})?", " ", tooltips)))
            elif tooltips:
                texts.extend(str(label) for label, _field in tooltips)
        elif isinstance(ref, Div):
            texts.append(_html_text(ref.text or ""))
    return texts


def _widget_texts(widget: Any, cells: bool) -> list[str]:
    import panel as pn

    texts: list[str] = []
    params = widget.param
    if isinstance(widget, pn.widgets.Tabulator):
        frame = widget.value
        titles = dict(widget.titles or {})
        if frame is not None:
            columns = list(frame.columns)
            if widget.show_index:
                columns = [frame.index.name or "", *columns]
            texts.extend(str(titles.get(column, column)) for column in columns)
            if cells:
                texts.extend(str(v) for v in frame.astype(str).to_numpy().ravel())
        return [t for t in texts if t]
    for attr in ("name", "label", "placeholder", "description", "button_type_label"):
        if attr in params:
            value = getattr(widget, attr)
            if isinstance(value, str) and value:
                texts.append(value)
    if "options" in params:
        texts.extend(_option_labels(widget.options))
    if "groups" in params and isinstance(getattr(widget, "groups", None), dict):
        texts.extend(_option_labels(widget.groups))
    if isinstance(widget, (pn.widgets.StaticText, pn.indicators.String)):
        texts.append(_html_text(str(widget.value or "")))
    if isinstance(widget, pn.widgets.DataFrame) and widget.value is not None:
        texts.extend(str(c) for c in widget.value.columns)
    return list(dict.fromkeys(t for t in texts if t))


def visible_texts(viewable: Any, *, cells: bool = False) -> list[str]:
    """Every string a user reads in ``viewable`` (a Panel object, a Viewer or a Bokeh model).

    :param cells: also collect table cell values (off by default: cells are data).
    """
    import panel as pn
    from bokeh.model import Model

    texts: list[str] = []
    seen: set[int] = set()
    # Everything visited stays referenced until the walk ends: a temporary list or a
    # ``__panel__()`` result freed early would let a later object reuse its id() and be
    # skipped as seen.
    visited: list[Any] = []

    def walk(obj: Any) -> None:
        if obj is None or id(obj) in seen:
            return
        seen.add(id(obj))
        visited.append(obj)
        if isinstance(obj, (list, tuple)):
            for item in obj:
                walk(item)
            return
        if isinstance(obj, Model):
            texts.extend(_bokeh_texts(obj))
            return
        if isinstance(obj, pn.viewable.Viewer):
            walk(obj.__panel__())
            return
        if isinstance(obj, pn.widgets.Widget):
            texts.extend(_widget_texts(obj, cells))
            if isinstance(obj, pn.widgets.CompositeWidget):
                walk(list(obj._composite))
            return
        if isinstance(obj, pn.pane.Bokeh):
            walk(obj.object)
            return
        if isinstance(obj, (pn.pane.Markdown,)):
            texts.append(_markdown_text(str(obj.object or "")))
            return
        if isinstance(obj, pn.pane.DataFrame):
            if obj.object is not None:
                texts.extend(str(c) for c in obj.object.columns)
            return
        if isinstance(obj, (pn.pane.HTML, pn.pane.Str)):
            texts.append(_html_text(str(obj.object or "")))
            return
        if isinstance(obj, pn.layout.Card):
            if obj.title:
                texts.append(obj.title)
            walk(obj.header)
        if isinstance(obj, (pn.Tabs, pn.Accordion)):
            texts.extend(str(name) for name in obj._names)
        if isinstance(obj, pn.layout.ListLike) or hasattr(obj, "objects"):
            objects = obj.objects
            walk(list(objects.values()) if isinstance(objects, dict) else list(objects))
            return
        if isinstance(obj, pn.pane.PaneBase):
            inner = getattr(obj, "object", None)
            if isinstance(inner, (pn.viewable.Viewable, Model)):
                walk(inner)

    walk(viewable)
    return [text.strip() for text in texts if text and text.strip()]


def english_hits(texts: Iterable[str], allow: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(word, text)`` for each English word (3+ ASCII letters) in ``texts`` that is not
    allowed.

    ``allow`` holds data values and terms the page may show as they are (``"zhangsan"``,
    ``"on_contact_added"``, ``"Demo shop"``): each is taken out of the text wherever it
    occurs (case-insensitively, longest first) before the words are looked for, so allowing
    ``"on_contact_added"`` does not allow the word "added" elsewhere. The words of
    :data:`DEFAULT_ALLOW` are allowed anywhere.
    """
    entries = sorted({str(entry) for entry in allow if str(entry).strip()}, key=len,
                     reverse=True)
    pattern = (re.compile("|".join(re.escape(entry) for entry in entries), re.I)
               if entries else None)
    hits: list[tuple[str, str]] = []
    for text in texts:
        text = str(text)
        rest = pattern.sub(" ", text) if pattern is not None else text
        for word in _WORD.findall(rest):
            if word.lower() not in DEFAULT_ALLOW:
                hits.append((word, text))
    return hits


def english_words(texts: Iterable[str], allow: Iterable[str] = ()) -> list[str]:
    """The English words (3+ ASCII letters) in ``texts`` that are not allowed, each once, in
    the order found. ``allow``: data values and terms the page may show (see
    :func:`english_hits`)."""
    return list(dict.fromkeys(word for word, _text in english_hits(texts, allow)))
