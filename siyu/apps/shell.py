"""The console shell: one template around every page, with navigation and the user.

Which template the console uses is decided in :func:`make_template` alone, so it can change
in one place.
"""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import panel as pn
import param
from panel.io.resources import CDN_DIST
from panel.theme.base import Inherit
from panel.theme.fast import Fast

from siyu.apps.auth import ConsoleSecurity, document_principal
from siyu.apps.safe import EscapedTitles, html, join, md, notification_area
from siyu.apps.theme import (
    BADGE_CSS,
    BUTTON_GROUP_CSS,
    CONSOLE_CSS,
    FONT_STACK,
    META_VIEWPORT,
    PICKER_CSS,
    console_js,
)
from siyu.core.errors import SiyuError
from siyu.core.i18n import LANGUAGES, set_language_resolver, use_language
from siyu.core.i18n import core as _
from siyu.core.permissions import Principal, role_label

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.records import PageSpec
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.console")

#: The language of each browser session's document, for callbacks that run after the page
#: was built (button clicks, notifications): see :func:`document_language`.
_DOCUMENT_LANGUAGES: WeakKeyDictionary[Any, str] = WeakKeyDictionary()


def document_language() -> str | None:
    """The language of the browser session whose callback is running, if any."""
    doc = pn.state.curdoc
    if doc is None:
        return None
    try:
        return _DOCUMENT_LANGUAGES.get(doc)
    except TypeError:  # not weak-referenceable
        return None


set_language_resolver(document_language)


def session_language(ws: Workspace, principal: Principal) -> str:
    """The console language for ``principal``: their own choice, else the workspace's."""
    return principal.language or ws.language


def allowed_pages(ws: Workspace, principal: Principal) -> list[PageSpec]:
    """The pages ``principal`` may open, in navigation order."""
    pages = sorted(ws.pages().values(), key=lambda p: (p.order, p.name))
    return [p for p in pages if principal.can(p.permission)]


def navigation(pages: list[PageSpec], current: str) -> pn.pane.HTML:
    """The sidebar: one link per page, the current one marked."""
    items = [html('<li><a href="/{name}" class="siyu-nav-current" aria-current="page">'
                  '{title}</a></li>' if page.name == current else
                  '<li><a href="/{name}">{title}</a></li>', name=page.name,
                  title=str(page.title))
             for page in pages]
    return pn.pane.HTML(html('<nav class="siyu-nav"><ul>{items}</ul></nav>',
                             items=join("", items)),
                        sizing_mode="stretch_width",
                        stylesheets=[".siyu-nav ul{list-style:none;padding:0;margin:0}"
                                     ".siyu-nav li a{display:block;padding:8px 12px;"
                                     "text-decoration:none;color:inherit;border-radius:4px}"
                                     ".siyu-nav li a:hover{background:rgba(0,0,0,.06)}"
                                     ".siyu-nav-current{font-weight:600;"
                                     "background:rgba(0,120,212,.12)}"])


def user_badge(ws: Workspace, principal: Principal) -> pn.pane.HTML:
    """Workspace name, signed-in user and role, and the logout link."""
    return pn.pane.HTML(html(
        '<span class="siyu-user"><span class="siyu-user-ws">{workspace} · </span>'
        '<b class="siyu-user-name">{user}</b> <span class="siyu-user-role">({role})</span> · '
        '<a href="/logout" style="color:inherit">{sign_out}</a></span>',
        workspace=ws.name, user=principal.name, role=str(role_label(principal.role)),
        sign_out=_("Sign out")), styles={"color": "white"}, css_classes=["siyu-user-badge"],
        stylesheets=[BADGE_CSS], margin=(5, 4))


def language_picker(ws: Workspace, principal: Principal, language: str) -> pn.widgets.Select:
    """The header's language choice: saved as the user's own and the page reloaded in it."""
    picker = pn.widgets.Select(options={name: code for code, name in LANGUAGES.items()},
                               value=language, width=110, css_classes=["siyu-language"],
                               margin=(8, 4), stylesheets=[PICKER_CSS])

    def changed(event: Any) -> None:
        try:
            ws.users.set_language(principal.name, event.new)
        except SiyuError as exc:
            notification_area() and notification_area().error(str(exc))
            return
        pn.state.location.reload = True

    picker.param.watch(changed, "value")
    return picker


def error_card(title: str, exc: BaseException) -> pn.pane.Alert:
    """What a page that failed to build shows instead of a blank console."""
    log.error("page %s failed:\n%s", title, "".join(traceback.format_exception(exc)))
    return pn.pane.Alert(
        md(_("**{title} could not be shown.** {kind}: {message}\n\n"
             "The error was logged on the server."),
           title=title, kind=type(exc).__name__, message=str(exc)),
        alert_type="danger", css_classes=["siyu-error-card"])


class ConsoleDesign(Fast):
    """Panel's Fast design without the web font it links (Open Sans from Google Fonts):
    the console uses :data:`~siyu.apps.theme.FONT_STACK`, fonts the reader already has, and
    loads nothing from outside its own server. Button groups wrap onto more lines where the
    screen is too narrow for them (:data:`~siyu.apps.theme.BUTTON_GROUP_CSS`)."""

    modifiers = {group: {"stylesheets": [Inherit, BUTTON_GROUP_CSS]}
                 for group in (pn.widgets.RadioButtonGroup, pn.widgets.CheckButtonGroup)}

    _resources = {
        kind: ({name: url if "//" in url else f"{CDN_DIST}bundled/fast/{url}"
                for name, url in value.items()}
               # Fast names its own files relative to its class; keep them Fast's.
               if kind in ("js", "js_modules", "css") else value)
        for kind, value in Fast._resources.items() if kind != "font"}


class ConsoleTemplate(EscapedTitles, pn.template.FastListTemplate):
    """FastListTemplate whose header title is escaped (it holds the workspace name), with
    the console's own script (:func:`~siyu.apps.theme.console_js`)."""

    script = param.String(default="", doc="""
        JavaScript the page runs right after the navigation is drawn (trusted code, never
        data).""")

    def _update_vars(self) -> None:
        super()._update_vars()
        # The Fast list template runs ``{{ js }}`` right after its navigation.
        self._render_variables["js"] = self.script


def make_template(*, title: str, sidebar: list, header: list, main: list,
                  language: str = "zh_CN"):
    """Build the console template. The single place that picks the template class.

    ``title`` is plain text (the template escapes it); notifications go to the session's
    escaping area (:func:`siyu.apps.safe.notification_area`). ``language`` is the page's
    (the document says so to the browser). Everything the page loads comes from the
    console's own server: no web fonts, no CDN (:class:`ConsoleDesign`), the look from
    :mod:`siyu.apps.theme`; no light/dark switch (the console has one look).
    """
    return ConsoleTemplate(title=title, sidebar=sidebar, header=header, main=main,
                           design=ConsoleDesign, sidebar_width=220,
                           accent_base_color="#0078d4", header_background="#0f3d66",
                           notifications=notification_area(), raw_css=[CONSOLE_CSS],
                           font=FONT_STACK, font_url="", theme_toggle=False,
                           meta_viewport=META_VIEWPORT,
                           script=console_js(language, header_labels()))


def header_labels() -> dict[str, str]:
    """The tooltips of the template's own header controls, in the current language."""
    return {"sidebar-button": _("Show or hide the navigation"),
            "busy-container": _("Turns while the console is working")}


def build_page(ws: Workspace, security: ConsoleSecurity, name: str):
    """Build page ``name`` for the signed-in user of the current browser session.

    The user comes from siyu's signed session inside the (signed) Bokeh session token, and
    is checked again here — expiry, sign-out, disabled user, the page's permission — because
    a websocket session can outlive the request that authorised it.
    """
    principal = document_principal(ws, security)
    if principal is None:  # signed out, expired or forged between the request and now
        with use_language(ws.language):
            return pn.pane.Markdown(md(_("Your session ended. [Sign in again](/login)")))
    language = session_language(ws, principal)
    if pn.state.curdoc is not None:
        _DOCUMENT_LANGUAGES[pn.state.curdoc] = language
    with use_language(language):
        spec = ws.pages().get(name)
        if spec is None or not principal.can(spec.permission):
            return pn.pane.Markdown(md(_("Your role may not open this page. [Back](/)")))
        user_ws = ws.as_user(principal)
        pages = allowed_pages(ws, principal)
        try:
            content = spec.factory(user_ws)
        except Exception as exc:  # a broken page must not blank the console
            content = error_card(str(spec.title), exc)
        return make_template(title=f"{spec.title} · {ws.name}",
                             sidebar=[navigation(pages, name)],
                             header=[user_badge(ws, principal),
                                     language_picker(user_ws, principal, language)],
                             main=[content], language=language)
