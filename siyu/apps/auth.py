"""Console login on Panel's own auth machinery, checked against the workspace's users.

:class:`SiyuAuthProvider` is a Panel ``BasicAuthProvider`` whose login handler asks
``ws.users.authenticate``; so ``pn.state.user``, signed cookies, ``/logout`` and
``--cookie-secret`` work as Panel users expect. A session expires after the configured
hours (the signed cookie's age is checked on every request); signing out ends every session
of that user, copies of the cookie included; a user who is deleted or disabled is signed out
on their next request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import tornado.escape
from panel.auth import BasicAuthProvider, BasicLoginHandler, LogoutHandler
from panel.config import config

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.console")

LOGIN_FAILED = "Invalid user name or password"


def _issued_at(cookie: str | None) -> float:
    """The signing time inside a Tornado v2 signed cookie (``2|1:0|10:<time>|…``)."""
    try:
        return float(cookie.split("|")[2].split(":", 1)[1])
    except (AttributeError, IndexError, ValueError):
        return 0.0


def current_principal(ws: Workspace, handler) -> object | None:
    """The signed-in :class:`~siyu.core.permissions.Principal` of a Tornado request.

    ``None`` when the cookie is missing, forged, expired, issued before the user last signed
    out, or names a user who is gone or disabled.
    """
    raw = handler.get_secure_cookie("user", max_age_days=config.oauth_expiry)
    if not raw:
        return None
    name = raw.decode("utf-8")
    if _issued_at(handler.get_cookie("user")) <= ws.users.sessions_ended_at(name):
        return None
    return ws.users.principal(name)


def make_auth_provider(ws: Workspace) -> BasicAuthProvider:
    """A Panel auth provider that signs users in against ``ws.users``."""

    class SiyuLoginHandler(BasicLoginHandler):
        """``POST /login``: check the user table, slow down repeated failures."""

        async def post(self):
            username = self.get_argument("username", "").strip()
            password = self.get_argument("password", "")
            await asyncio.sleep(ws.users.failure_delay(username))
            principal = ws.users.authenticate(username, password) if username else None
            if principal is None:
                log.info("failed console login for %r from %s", username,
                         self.request.remote_ip)
                self.redirect(f"{self._login_endpoint}?error="
                              f"{tornado.escape.url_escape(LOGIN_FAILED)}")
                return
            self.set_current_user(principal.name)
            self.redirect(self.get_cookie("next_url", "/") or "/")

    class SiyuLogoutHandler(LogoutHandler):
        """``GET /logout``: end every session of the user, then show Panel's page."""

        def get(self):
            principal = current_principal(ws, self)
            if principal is not None:
                ws.users.end_sessions(principal.name)
            super().get()

    class SiyuAuthProvider(BasicAuthProvider):
        @property
        def get_user(self):
            def get_user(request_handler):
                principal = current_principal(ws, request_handler)
                return principal.name if principal is not None else None
            return get_user

        @property
        def logout_handler(self):
            SiyuLogoutHandler._login_endpoint = self._login_endpoint
            SiyuLogoutHandler._logout_template = self._logout_template
            return SiyuLogoutHandler

        @property
        def login_handler(self):
            SiyuLoginHandler._login_endpoint = self._login_endpoint
            SiyuLoginHandler._login_template = self._login_template
            return SiyuLoginHandler

    return SiyuAuthProvider()
