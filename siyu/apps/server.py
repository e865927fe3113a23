"""``siyu serve``: the console, plugin routes, the health endpoint and the scheduler in one
Tornado process.

Every page is its own Panel app at ``/<page name>``; Panel calls the page factory once per
browser session, so sessions never share objects. Authorization runs before a page is
built: a role that may not open a page gets Panel's 403 page.
"""

from __future__ import annotations

import logging
import socket
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import panel as pn
from bokeh.settings import settings as bokeh_settings
from panel.config import config
from tornado.websocket import WebSocketClosedError

from siyu.apps.auth import ConsoleSecurity, document_principal, make_auth_provider
from siyu.apps.routes import route_patterns
from siyu.apps.shell import build_page
from siyu.core.errors import ConfigError
from siyu.core.scheduler import SchedulerBusy
from siyu.core.secret_key import load_secret

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.console")

#: Largest request body any console route accepts. WeCom callbacks are a few KB, the login
#: form less; uploads go over the websocket. Tornado's default (100 MB) would let a few
#: parallel posts take gigabytes of memory.
MAX_BODY_BYTES = 1024 * 1024


#: The loggers that report a browser that went away while the server was writing to it, and
#: the warnings Bokeh and Panel log for it (each closed tab can log several).
_CLOSED_SOCKET_LOGGERS = ("asyncio", "tornado.application", "bokeh.server.views.ws",
                          "panel.io.document")
_CLOSED_SOCKET_WARNINGS = frozenset({"Failed sending message as connection was closed"})


class ClosedSocketFilter(logging.Filter):
    """Turns what a closed browser tab logs into one DEBUG line (shown only where DEBUG
    logging is on); every other record passes unchanged.

    A tab that closes (or navigates away) while the server is writing to its websocket is
    normal. Panel writes some updates — e.g. the template's busy spinner turning off half a
    second after the page loaded — as several Tornado writes it does not all await; when the
    socket is already gone, the orphaned writes fail with :class:`WebSocketClosedError` and
    asyncio logs ``Task exception was never retrieved`` with a traceback for each, and Bokeh
    and Panel warn ``Failed sending message as connection was closed``. Only those records
    are demoted: a ``WebSocketClosedError`` reported by asyncio or Tornado, and that exact
    warning from Bokeh's or Panel's websocket code.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, WebSocketClosedError) or (
                record.name in ("bokeh.server.views.ws", "panel.io.document")
                and isinstance(record.msg, str) and record.msg in _CLOSED_SOCKET_WARNINGS):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.msg = "a browser page closed while the console was writing to it"
            record.args, record.exc_info, record.exc_text = (), None, None
            # Logged as DEBUG: only where that logger's DEBUG output is on.
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def quiet_closed_sockets() -> None:
    """Install :class:`ClosedSocketFilter` on the loggers that report closed websockets
    (once per process)."""
    for name in _CLOSED_SOCKET_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ClosedSocketFilter) for f in logger.filters):
            logger.addFilter(ClosedSocketFilter())


def _page_app(ws: Workspace, security: ConsoleSecurity, name: str):
    """A plain function Panel calls once per browser session to build page ``name``
    (Panel treats only functions as app factories)."""
    def app():
        return build_page(ws, security, name)
    app.__name__ = f"page_{name}"
    return app


def _authorize(ws: Workspace, security: ConsoleSecurity, user_info: dict | None,
               path: str) -> bool | str:
    """Panel's authorization callback. ``user_info`` is ignored on purpose: Panel derives it
    from cookies the browser can set (``is_guest``); the principal comes from siyu's signed
    session in the document being built.

    :return: ``True`` to build the page; otherwise where to send the browser: the login when
        the session ended, the console's own "no access" page (:mod:`siyu.apps.standalone`)
        when the user's role may not open it.
    """
    principal = document_principal(ws, security)
    if principal is None:
        return "/login"
    name = path.strip("/").split("/")[0]
    page = ws.pages().get(name)
    if page is None or principal.can(page.permission):
        return True
    return f"/denied?{urlencode({'page': name})}"


def free_port(address: str) -> int:
    """A TCP port that is free on ``address`` now (for ``port=0``: the websocket origins
    must name the real port before the server binds it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def websocket_origins(address: str, port: int, allowed: tuple[str, ...] | list[str]
                      ) -> list[str]:
    """The ``host:port`` values a browser's websocket ``Origin`` may carry: this machine's
    names for the console, plus every ``--allow-origin`` the admin gave (a host without a
    port means port 80, or 443 for an ``https://`` value)."""
    origins = {f"localhost:{port}", f"127.0.0.1:{port}"}
    if address not in ("0.0.0.0", "::", "", "localhost", "127.0.0.1", "::1"):
        origins.add(f"{address}:{port}")
    for value in allowed:
        value = value.strip().rstrip("/")
        default = "443" if value.startswith("https://") else "80"
        host = value.split("://", 1)[-1]
        if not host:
            continue
        if host == "*":
            raise ConfigError("--allow-origin '*' would let any web site drive the console "
                              "with its users' sessions; name the hosts instead")
        origins.add(host if ":" in host else f"{host}:{default}")
    return sorted(origins)


def make_server(ws: Workspace, *, port: int = 5006, address: str = "127.0.0.1",
                secret: str | None = None, session_hours: float = 12.0, num_procs: int = 1,
                scheduler: bool = True, show: bool = False, secure_cookies: bool = False,
                trust_proxy: bool = False, allow_origins: tuple[str, ...] = ()) -> Any:
    """Build (not start) the console server for ``ws``.

    :param port: TCP port; 0 picks a free one (read it from ``server.port``).
    :param address: interface to listen on.
    :param secret: the signing secret; default: ``$SIYU_SECRET_KEY`` or the workspace's
        secret file (:mod:`siyu.core.secret_key`), never the database.
    :param session_hours: a sign-in lasts this long.
    :param num_procs: Tornado worker processes (PostgreSQL only; run the scheduler in one).
    :param scheduler: run the workspace's scheduler in this process.
    :param secure_cookies: mark cookies ``Secure`` (serve behind HTTPS).
    :param trust_proxy: honour ``X-Forwarded-Proto`` / ``X-Forwarded-For`` from a reverse
        proxy in front of the console (only when one is there: clients could forge them).
    :param allow_origins: extra ``host[:port]`` names browsers reach the console by (for
        ``--address 0.0.0.0`` behind a DNS name or proxy).
    :return: a started-but-not-looping Bokeh ``Server``; call ``server.io_loop.start()``.
    """
    quiet_closed_sockets()
    # Every script and style sheet from this server, whatever BOKEH_RESOURCES says: pages
    # must not depend on a CDN (blocked in mainland China, absent on an intranet).
    bokeh_settings.resources.set_value("server")
    security = ConsoleSecurity(secret=secret or load_secret(ws.url),
                               session_hours=session_hours, secure_cookies=secure_cookies,
                               trust_proxy=trust_proxy)
    if port == 0:
        port = free_port(address if address not in ("0.0.0.0", "") else "127.0.0.1")
    origins = websocket_origins(address, port, allow_origins)
    config.oauth_expiry = session_hours / 24
    config.notifications = True
    apps = {name: _page_app(ws, security, name) for name in ws.pages()}
    config.authorize_callback = partial(_authorize, ws, security)
    if address in ("0.0.0.0", "::") and not allow_origins:
        log.warning("the console listens on every interface but no --allow-origin was "
                    "given: browsers reaching it by a name other than localhost will be "
                    "refused; pass --allow-origin console.example.com")
    if scheduler:
        try:
            ws.scheduler.start()
        except SchedulerBusy as exc:
            log.warning("%s; this process serves the console without it", exc)
    # Retries, bulk notices and what a crashed process left (every serving process may).
    ws.hooks.start()
    server = pn.serve(
        apps, port=port, address=address, show=show, start=False, threaded=False,
        title={name: str(spec.title) for name, spec in ws.pages().items()},
        cookie_secret=security.secret, auth_provider=make_auth_provider(ws, security),
        extra_patterns=route_patterns(ws, security), num_procs=num_procs,
        websocket_origin=origins,
        sign_sessions=True, secret_key=security.bokeh_secret(),
        use_xheaders=trust_proxy,
        http_server_kwargs={"max_body_size": MAX_BODY_BYTES, "xheaders": trust_proxy},
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
