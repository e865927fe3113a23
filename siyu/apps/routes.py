"""HTTP routes served next to the console: health, the root redirect, plugin routes.

Plugin routes (``register_routes``) are Tornado handlers. Their ``initialize`` receives
``ws`` (the server's workspace) plus the record's ``kwargs``; subclass :class:`SiyuHandler`
to get that for free. A route not marked ``public`` answers 401 to anyone not signed in.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import tornado.web

from siyu import __version__
from siyu.apps.auth import ConsoleSecurity, current_principal
from siyu.apps.standalone import denied_page
from siyu.core.i18n import use_language

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.permissions import Principal
    from siyu.core.records import RouteSpec
    from siyu.core.workspace import Workspace


class SiyuHandler(tornado.web.RequestHandler):
    """Base class for plugin routes: ``self.ws`` is the server's workspace and
    :attr:`principal` the signed-in console user, if any."""

    def initialize(self, ws: Workspace, security: ConsoleSecurity | None = None,
                   **kwargs: Any) -> None:
        """Keep the workspace, the console's session settings and the route's extra
        keyword arguments."""
        self.ws = ws
        self.security = security
        self.route_kwargs = kwargs

    @property
    def principal(self) -> Principal | None:
        """The console user signed in on this request (siyu's signed session), or
        ``None``."""
        if self.security is None:
            return None
        return current_principal(self.ws, self.security, self)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer errors as one short JSON object, never a traceback."""
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": self._reason, "status": status_code}))


class HealthHandler(SiyuHandler):
    """``GET /health``: JSON status (public); signed-in users also see the database,
    scheduler, version and workspace name."""

    def get(self) -> None:
        """Answer 200 when the database answers, 503 otherwise. Anonymous callers (load
        balancers, monitors) learn only the status: nothing that helps an attacker."""
        try:
            with self.ws.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            database = f"error: {type(exc).__name__}"
        self.set_status(200 if database == "ok" else 503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        answer: dict[str, Any] = {"status": "ok" if database == "ok" else "degraded"}
        if database == "ok" and self.principal is not None:
            answer.update(database=database, version=__version__,
                          scheduler=self.ws.scheduler.running, workspace=self.ws.name)
        self.finish(json.dumps(answer))


class RootHandler(SiyuHandler):
    """``GET /``: send a signed-in user to their first page, anyone else to the login."""

    def get(self) -> None:
        """Redirect to the first page the user may open."""
        principal = self.principal
        if principal is None:
            self.redirect("/login")
            return
        for spec in sorted(self.ws.pages().values(), key=lambda p: (p.order, p.name)):
            if principal.can(spec.permission):
                self.redirect(f"/{spec.name}")
                return
        self.redirect("/denied")


class DeniedHandler(SiyuHandler):
    """``GET /denied?page=<name>``: the console's own "no access" page (403), saying which
    page, what it needs and which roles have that. Anyone not signed in goes to the
    login."""

    def get(self) -> None:
        """Show the page in the user's language."""
        principal = self.principal
        if principal is None:
            self.redirect("/login")
            return
        spec = self.ws.pages().get(self.get_argument("page", ""))
        with use_language(principal.language or self.ws.language):
            page = denied_page(self.ws.name, principal.name, principal.role,
                               str(spec.title) if spec is not None else None,
                               spec.permission if spec is not None else None)
        self.set_status(403)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(page)


def protect(handler: type, ws: Workspace, security: ConsoleSecurity) -> type:
    """A subclass of ``handler`` that answers 401 unless a console user is signed in."""

    class Protected(handler):
        def prepare(self):
            if current_principal(ws, security, self) is None:
                self.set_status(401)
                self.set_header("Content-Type", "application/json")
                self.finish(json.dumps({"error": "sign in to the console first",
                                        "status": 401}))
                return None
            return super().prepare()

    Protected.__name__ = f"Protected{handler.__name__}"
    return Protected


def route_patterns(ws: Workspace, security: ConsoleSecurity) -> list[tuple]:
    """Tornado patterns for the built-in routes and every plugin's ``register_routes``.

    Handlers that are :class:`SiyuHandler` subclasses receive ``ws`` and ``security``;
    others receive only ``ws`` and the record's ``kwargs``.
    """
    base = {"ws": ws, "security": security}
    patterns: list[tuple] = [(r"/health/?", HealthHandler, base),
                             (r"/", RootHandler, base),
                             (r"/denied/?", DeniedHandler, base)]
    spec: RouteSpec
    for spec in ws.routes().values():
        handler = spec.handler if spec.public else protect(spec.handler, ws, security)
        extra = base if issubclass(spec.handler, SiyuHandler) else {"ws": ws}
        patterns.append((spec.pattern, handler, {**extra, **spec.kwargs}))
    return patterns
