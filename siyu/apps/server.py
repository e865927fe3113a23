"""``siyu serve``: the console, plugin routes, the health endpoint and the scheduler in one
Tornado process.

Every page is its own Panel app at ``/<page name>``; Panel calls the page factory once per
browser session, so sessions never share objects. Authorization runs before a page is
built: a role that may not open a page gets Panel's 403 page.
"""

from __future__ import annotations

import logging
import secrets
from functools import partial
from typing import TYPE_CHECKING, Any

import panel as pn
from panel.config import config

from siyu.apps.auth import make_auth_provider
from siyu.apps.routes import route_patterns
from siyu.apps.shell import build_page
from siyu.core.scheduler import SchedulerBusy

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.console")

COOKIE_SECRET_SETTING = "console.cookie_secret"


def cookie_secret(ws: Workspace, given: str | None) -> str:
    """The secret that signs session cookies: ``given``, else one kept in the workspace
    (created on first use), so sessions survive restarts."""
    if given:
        return given
    stored = ws.settings.get(COOKIE_SECRET_SETTING)
    if not stored:
        stored = secrets.token_urlsafe(32)
        ws.settings.set(COOKIE_SECRET_SETTING, stored)
    return stored


def _page_app(ws: Workspace, name: str):
    """A plain function Panel calls once per browser session to build page ``name``
    (Panel treats only functions as app factories)."""
    def app():
        return build_page(ws, name)
    app.__name__ = f"page_{name}"
    return app


def _authorize(ws: Workspace, user_info: dict | None, path: str) -> bool:
    name = (user_info or {}).get("user") or pn.state.user
    principal = ws.users.principal(name or "")
    if principal is None:
        return False
    page = ws.pages().get(path.strip("/").split("/")[0])
    return page is None or principal.can(page.permission)


def make_server(ws: Workspace, *, port: int = 5006, address: str = "127.0.0.1",
                secret: str | None = None, session_hours: float = 12.0, num_procs: int = 1,
                scheduler: bool = True, show: bool = False) -> Any:
    """Build (not start) the console server for ``ws``.

    :param port: TCP port; 0 picks a free one (read it from ``server.port``).
    :param address: interface to listen on.
    :param secret: cookie secret; default: kept in the workspace settings.
    :param session_hours: a sign-in lasts this long.
    :param num_procs: Tornado worker processes (PostgreSQL only; run the scheduler in one).
    :param scheduler: run the workspace's scheduler in this process.
    :return: a started-but-not-looping Bokeh ``Server``; call ``server.io_loop.start()``.
    """
    config.oauth_expiry = session_hours / 24
    config.notifications = True
    apps = {name: _page_app(ws, name) for name in ws.pages()}
    config.authorize_callback = partial(_authorize, ws)
    if scheduler:
        try:
            ws.scheduler.start()
        except SchedulerBusy as exc:
            log.warning("%s; this process serves the console without it", exc)
    server = pn.serve(
        apps, port=port, address=address, show=show, start=False, threaded=False,
        title={name: spec.title for name, spec in ws.pages().items()},
        cookie_secret=cookie_secret(ws, secret), auth_provider=make_auth_provider(ws),
        extra_patterns=route_patterns(ws), num_procs=num_procs,
        websocket_origin="*" if address in ("0.0.0.0", "::") else None,
        admin=False, verbose=False)
    return server


class BackgroundServer:
    """A console server running in a thread of this process (notebooks, tests, demos).

    :ivar url: the base URL, e.g. ``http://127.0.0.1:53124``.
    """

    def __init__(self, ws: Workspace, **options: Any):
        import asyncio
        import threading

        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            try:
                self.server = make_server(ws, **options)
                self.server.start()
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                started.set()
                return
            started.set()
            self.server.io_loop.start()

        self._thread = threading.Thread(target=run, name="siyu-console", daemon=True)
        self._thread.start()
        if not started.wait(60):
            raise RuntimeError("the console did not start within 60 s")
        if failure:
            raise failure[0]
        self.url = f"http://{options.get('address', '127.0.0.1')}:{self.server.port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.io_loop.add_callback(self.server.io_loop.stop)
        self._thread.join(10)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_in_background(ws: Workspace, *, port: int = 0, scheduler: bool = False,
                        **options: Any) -> BackgroundServer:
    """Serve the console for ``ws`` from a background thread; returns at once.

    ``with serve_in_background(ws) as console: print(console.url)``. Options as
    :func:`make_server`; the port defaults to any free one and the scheduler to off.
    """
    return BackgroundServer(ws, port=port, scheduler=scheduler, **options)
