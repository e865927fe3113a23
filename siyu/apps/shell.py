"""The console shell: one template around every page, with navigation and the user.

Which template the console uses is decided in :func:`make_template` alone, so it can change
in one place.
"""

from __future__ import annotations

import html
import logging
import traceback
from typing import TYPE_CHECKING

import panel as pn

from siyu.core.permissions import Principal

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.records import PageSpec
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.console")


def allowed_pages(ws: Workspace, principal: Principal) -> list[PageSpec]:
    """The pages ``principal`` may open, in navigation order."""
    pages = sorted(ws.pages().values(), key=lambda p: (p.order, p.name))
    return [p for p in pages if principal.can(p.permission)]


def navigation(pages: list[PageSpec], current: str) -> pn.pane.HTML:
    """The sidebar: one link per page, the current one marked."""
    items = []
    for page in pages:
        mark = ' class="siyu-nav-current" aria-current="page"' if page.name == current else ""
        items.append(f'<li><a href="/{page.name}"{mark}>{html.escape(page.title)}</a></li>')
    return pn.pane.HTML(f'<nav class="siyu-nav"><ul>{"".join(items)}</ul></nav>',
                        sizing_mode="stretch_width",
                        stylesheets=[".siyu-nav ul{list-style:none;padding:0;margin:0}"
                                     ".siyu-nav li a{display:block;padding:8px 12px;"
                                     "text-decoration:none;color:inherit;border-radius:4px}"
                                     ".siyu-nav li a:hover{background:rgba(0,0,0,.06)}"
                                     ".siyu-nav-current{font-weight:600;"
                                     "background:rgba(0,120,212,.12)}"])


def user_badge(ws: Workspace, principal: Principal) -> pn.pane.HTML:
    """Workspace name, signed-in user and role, and the logout link."""
    return pn.pane.HTML(
        f'<span class="siyu-user">{html.escape(ws.name)} · '
        f'<b class="siyu-user-name">{html.escape(principal.name)}</b> '
        f'({html.escape(principal.role)}) · <a href="/logout" style="color:inherit">'
        f'Sign out</a></span>', styles={"color": "white"})


def error_card(title: str, exc: BaseException) -> pn.pane.Alert:
    """What a page that failed to build shows instead of a blank console."""
    log.error("page %s failed:\n%s", title, "".join(traceback.format_exception(exc)))
    return pn.pane.Alert(
        f"**{html.escape(title)} could not be shown.** {html.escape(type(exc).__name__)}: "
        f"{html.escape(str(exc))}\n\nThe error was logged on the server.",
        alert_type="danger", css_classes=["siyu-error-card"])


def make_template(*, title: str, sidebar: list, header: list, main: list):
    """Build the console template. The single place that picks the template class."""
    return pn.template.FastListTemplate(title=title, sidebar=sidebar, header=header,
                                        main=main, sidebar_width=220,
                                        accent_base_color="#0078d4",
                                        header_background="#0f3d66",
                                        notifications=pn.state.notifications)


def build_page(ws: Workspace, name: str):
    """Build page ``name`` for the signed-in user of the current browser session."""
    principal = ws.users.principal(pn.state.user or "")
    if principal is None:  # signed out between the request and the session
        return pn.pane.Markdown("Your session ended. [Sign in again](/login)")
    user_ws = ws.as_user(principal)
    pages = allowed_pages(ws, principal)
    spec = ws.pages().get(name)
    try:
        content = spec.factory(user_ws)
    except Exception as exc:  # a broken page must not blank the console
        content = error_card(spec.title, exc)
    return make_template(title=f"{spec.title} · {ws.name}",
                         sidebar=[navigation(pages, name)],
                         header=[user_badge(ws, principal)],
                         main=[content])
