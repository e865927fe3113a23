"""Escaping for the console: the one layer every data-derived string passes before it is HTML.

Names come from customers, staff, WeCom and whatever an operator types, and Panel renders a
lot as HTML: notifications (Notyf), Markdown, HTML and Alert panes, the template's title,
Card titles and MultiChoice labels (Choices.js). So:

- **Notifications** escape themselves: the console's notification area is a
  :class:`SafeNotificationArea`, so ``pn.state.notifications.error(name)`` is safe even when a
  plugin calls it directly. Send plain text.
- **Panes** get their text from :func:`md` or :func:`html`: the template is trusted code, every
  value is escaped (``md`` also neutralises Markdown, so ``[x](javascript:…)`` or ``**`` in a
  name stays literal). ``tests/test_escaping.py`` fails on a pane built from an f-string.
- **MultiChoice** options go through :func:`labels`.
- The **template title** is escaped by :class:`EscapedTitles`.

Text already made safe is a :class:`Safe` (what these helpers return); wrapping data in
``Safe(...)`` yourself switches escaping off and is a bug.
"""

from __future__ import annotations

import html as _html
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

import markupsafe
import panel as pn
from markupsafe import Markup
from panel.io.notifications import NotificationArea

__all__ = ["EscapedTitles", "Safe", "SafeNotificationArea", "escape", "html", "join",
           "labels", "md", "md_escape", "notification_area"]

#: Characters with a meaning anywhere in a line of Markdown: escapes, code, emphasis,
#: strikethrough, links and images, tables, math. The HTML characters ``& < > " '`` become
#: entities instead (a backslash before one would show it). Left as they are, so the text
#: stays readable: ``. , : ( )`` and the like, which mean nothing in the middle of a line.
_MD_INLINE = re.compile(r"([\\`*_~\[\]|$])")
#: What starts a block (heading, list item, setext underline, definition) at the start of a
#: value, which may be the start of a line: ``#``, ``+``, ``-``, ``=``, ``:``, ``1.``, ``1)``.
_MD_BLOCK_START = re.compile(r"^(\d*)([#+\-=:.)])")
_NEWLINES = re.compile(r"\r\n|\r|\n")


class Safe(str):
    """Text that may go into HTML or Markdown as it is: what the helpers return.

    Otherwise a plain ``str``. (Not :class:`markupsafe.Markup`, whose ``replace`` and other
    methods escape their arguments: Panel escapes a pane's text for transport with
    ``html.escape``, which would then garble it.) ``__html__`` is how markupsafe, and so
    :func:`html`, :func:`join` and the notification area, know it needs no escaping.
    """

    __slots__ = ()

    def __html__(self) -> Safe:
        return self  # itself, not a plain str: markupsafe escapes what __html__ returns again


def escape(value: Any) -> Safe:
    """``value`` as HTML text (``& < > " '`` as entities); :class:`Safe` text unchanged."""
    return Safe(markupsafe.escape(value))


def md_escape(value: Any) -> Safe:
    """``value`` as literal Markdown text: Markdown punctuation backslash-escaped, HTML
    characters as entities, line breaks as spaces (so a value cannot start a heading, list or
    code block). :class:`Safe` text is returned unchanged."""
    if hasattr(value, "__html__"):
        return Safe(value.__html__())
    # No line breaks and no leading blanks: a value cannot open a block of its own (leading
    # blanks would not show anyway; four of them would make a code block).
    text = _NEWLINES.sub(" ", "" if value is None else str(value)).lstrip(" \t")
    text = _MD_BLOCK_START.sub(r"\1\\\2", _MD_INLINE.sub(r"\\\1", text))
    return Safe(_html.escape(text))


class _MarkdownFormatter(string.Formatter):
    """``str.format`` whose fields are :func:`md_escape`-d (:class:`Safe` kept as it is)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if hasattr(value, "__html__"):
            return str(value.__html__())
        return str(md_escape(format(value, format_spec)))


def md(template: str, /, **values: Any) -> Safe:
    """Markdown from a trusted ``template`` with ``{name}`` fields filled by ``values``,
    each escaped with :func:`md_escape`.

    >>> print(md("Created tag **{tag}**", tag="a_b*"))
    Created tag **a\\_b\\***
    """
    return Safe(_MarkdownFormatter().vformat(template, (), values))


def html(template: str, /, **values: Any) -> Safe:
    """HTML from a trusted ``template`` with ``{name}`` fields filled by ``values``, each
    HTML-escaped (quotes too, so a value may fill an attribute).

    >>> print(html('<b title="{t}">{t}</b>', t='"><x>'))
    <b title="&#34;&gt;&lt;x&gt;">&#34;&gt;&lt;x&gt;</b>
    """
    return Safe(Markup(template).format(**values))


def join(separator: str, items: Iterable[Any]) -> Safe:
    """``separator`` (trusted) between ``items``, each HTML-escaped unless it is already
    :class:`Safe` (built with :func:`html` or :func:`md`; in Markdown, join ``md()`` items)."""
    return Safe(Markup(separator).join(items))


def labels(options: Mapping[str, Any] | Iterable[str]) -> dict[str, Any]:
    """MultiChoice options with HTML-escaped labels; the values are unchanged.

    Choices.js, which draws Bokeh's MultiChoice, renders labels as HTML (``allowHTML``
    defaults to true and Bokeh does not set it), so a staff or group name would run. A list
    of strings becomes ``{escaped: original}``.
    """
    if isinstance(options, Mapping):
        return {str(escape(label)): value for label, value in options.items()}
    return {str(escape(option)): option for option in options}


class SafeNotificationArea(NotificationArea):
    """Panel's notification area with every message HTML-escaped before it is sent (Notyf
    puts messages in the page with ``innerHTML``). :class:`Safe` messages pass as they
    are."""

    def send(self, message, duration=3000, type=None, background=None, icon=None):  # noqa: A002
        """Send ``message`` (plain text) as a notification; see Panel's ``send``."""
        return super().send(str(escape(message)), duration=duration, type=type,
                            background=background, icon=icon)


def _install() -> None:
    """Make Panel create :class:`SafeNotificationArea` for every new session."""
    from panel.reactive import ReactiveHTMLMetaclass

    state = type(pn.state)
    if state._notification_type is not SafeNotificationArea:
        state._notification_type = SafeNotificationArea
        # What ``pn.config.notifications = True`` does for Panel's own class: without it the
        # area's JavaScript (Notyf) is not served with the page.
        ReactiveHTMLMetaclass._loaded_extensions.add(SafeNotificationArea._extension_name)


def notification_area() -> NotificationArea | None:
    """The notification area to send to: in a browser session a :class:`SafeNotificationArea`;
    elsewhere whatever Panel has (``None`` when notifications are off).

    An area Panel made in a session before :func:`_install` ran (a page built before the
    first template of the process) is replaced while it is not drawn yet; its pending
    messages are re-sent escaped.
    """
    _install()
    area = pn.state.notifications
    doc = pn.state.curdoc
    if area is None or isinstance(area, SafeNotificationArea) or doc is None or area._models:
        return area
    safe = SafeNotificationArea(js_events=area.js_events, position=area.position,
                                max_notifications=area.max_notifications)
    for sent in list(area.notifications):
        safe.send(sent.message, duration=sent.duration, type=sent.notification_type,
                  background=sent.background, icon=sent.icon)
    pn.state._notifications[doc] = safe
    return safe


class EscapedTitles:
    """Mixin for a Panel template class: escapes the title and site name.

    Panel's templates print ``{{ app_title }}`` and ``{{ site_title }}`` into the page header
    unescaped (only ``<title>`` escapes), and the console's title holds the workspace name.
    """

    def _update_vars(self, *args: Any) -> None:
        super()._update_vars(*args)  # type: ignore[misc]
        variables = self._render_variables  # type: ignore[attr-defined]
        for key in ("app_title", "meta_name", "site_title"):
            if variables.get(key):
                variables[key] = escape(variables[key])
