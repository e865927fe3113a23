"""Console sign-in: siyu's own signed session, plugged into Panel's auth hooks.

The principal of a request or a page comes only from the ``siyu_session`` cookie: a random
token, signed with the workspace secret (:mod:`siyu.core.secret_key`), whose hash names a row
of ``console_session``. Nothing the browser can set unsigned — Panel's ``is_guest`` cookie,
its ``user`` cookie, ``pn.state.user`` — is ever read. Pages are built from the cookies inside
the Bokeh session token, which the server signs, so a websocket cannot claim another
session's cookies.

The login form carries a CSRF token (double-submit: a cookie and a form field that must
match). Password checks (scrypt) run on a worker thread, never on the event loop, and are
throttled per user (in the database), per address and per unknown name
(:mod:`siyu.apps.throttle`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import tornado.web
from panel.auth import BasicAuthProvider
from tornado.web import decode_signed_value

from siyu.apps.standalone import LOGIN_ERRORS, login_page
from siyu.apps.throttle import LoginThrottle
from siyu.core.errors import NotFound, RateLimited
from siyu.core.i18n import normalize_language, use_language

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.permissions import Principal
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.console")

SESSION_COOKIE = "siyu_session"
CSRF_COOKIE = "siyu_csrf"
#: The language chosen on the sign-in page (before anyone is signed in).
LANGUAGE_COOKIE = "siyu_lang"
#: Cookies Panel's own auth would read or set; cleared at sign-in and sign-out.
PANEL_COOKIES = ("user", "id_token", "is_guest", "access_token", "refresh_token")

@dataclass
class ConsoleSecurity:
    """How the console signs and guards sessions; one per server.

    :ivar secret: signs the session cookie (and, derived, Bokeh's session tokens).
    :ivar session_hours: how long a sign-in lasts.
    :ivar secure_cookies: mark cookies ``Secure`` (the console is reached over HTTPS).
    :ivar trust_proxy: a reverse proxy the admin declared sets ``X-Forwarded-Proto`` and
        ``X-Forwarded-For``; cookies become ``Secure`` when it says ``https``.
    """

    secret: str
    session_hours: float = 12.0
    secure_cookies: bool = False
    trust_proxy: bool = False
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    #: One worker: sign-ins queue behind each other instead of taking both cores from
    #: every other request when many arrive at once.
    hasher: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="siyu-login"))
    #: Sign-ins allowed to wait for the hasher; past that, "try again" at once, so a flood
    #: of guesses cannot keep real users waiting for minutes.
    max_waiting: int = 64
    waiting: int = 0

    @property
    def max_age_days(self) -> float:
        """How old a signed session cookie may be, in days."""
        return self.session_hours / 24

    def bokeh_secret(self) -> str:
        """The key that signs Bokeh session tokens, derived so it differs from the cookie
        key."""
        return hmac.new(self.secret.encode(), b"siyu bokeh session tokens",
                        "sha256").hexdigest()

    def cookie_options(self, handler: tornado.web.RequestHandler) -> dict[str, Any]:
        """``HttpOnly``, ``SameSite=Lax``, and ``Secure`` when the console is on HTTPS."""
        secure = self.secure_cookies or (self.trust_proxy
                                         and handler.request.protocol == "https")
        options: dict[str, Any] = {"httponly": True, "samesite": "Lax", "path": "/"}
        if secure:
            options["secure"] = True
        return options


def session_token(security: ConsoleSecurity, cookie: str | None) -> str | None:
    """The session token inside a signed ``siyu_session`` cookie value, or ``None`` when
    the value is missing, forged or older than a session may be."""
    if not cookie:
        return None
    raw = decode_signed_value(security.secret, SESSION_COOKIE, cookie,
                              max_age_days=security.max_age_days)
    return raw.decode("utf-8") if raw else None


def current_principal(ws: Workspace, security: ConsoleSecurity,
                      handler: tornado.web.RequestHandler) -> Principal | None:
    """The signed-in :class:`~siyu.core.permissions.Principal` of a Tornado request.

    ``None`` when the session cookie is missing, forged, expired or ended, or names a user
    who is gone or disabled.
    """
    return ws.users.session_principal(session_token(security, handler.get_cookie(
        SESSION_COOKIE)))


def document_principal(ws: Workspace, security: ConsoleSecurity) -> Principal | None:
    """The principal of the Panel session being built, from the cookies in its (signed)
    Bokeh session token; ``None`` outside a session or when the session is not valid."""
    import panel as pn

    doc = pn.state.curdoc
    context = getattr(doc, "session_context", None) if doc is not None else None
    request = getattr(context, "request", None)
    cookies = getattr(request, "cookies", None) or {}
    return ws.users.session_principal(session_token(security, cookies.get(SESSION_COOKIE)))


def _local_path(url: str | None) -> str:
    """``url`` if it is a path on this server, else ``/`` (no open redirects)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


class _ConsoleHandler(tornado.web.RequestHandler):
    """What the login and logout handlers share."""

    ws: Workspace
    security: ConsoleSecurity

    def clear_panel_cookies(self) -> None:
        for name in PANEL_COOKIES:
            if name in self.request.cookies:
                self.clear_cookie(name, path="/")


class LoginHandler(_ConsoleHandler):
    """``GET /login`` shows the form; ``POST /login`` checks it and opens a session."""

    def get(self) -> None:
        """The login form with a fresh CSRF token."""
        token = secrets.token_urlsafe(24)
        options = self.security.cookie_options(self)
        options["samesite"] = "Strict"
        self.set_cookie(CSRF_COOKIE, token, **options)
        next_url = self.get_argument("next", "")
        if next_url:
            self.set_cookie("next_url", _local_path(next_url), **self.security.cookie_options(self))
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        with use_language(self.page_language()):
            self.finish(login_page(self.ws.name, token, self._message()))

    def page_language(self) -> str:
        """The sign-in page's language: ``?lang=`` (remembered in a cookie for the form's
        next showing), else the remembered one, else the workspace's."""
        for value, remember in ((self.get_argument("lang", ""), True),
                                (self.get_cookie(LANGUAGE_COOKIE, ""), False)):
            try:
                language = normalize_language(value)
            except ValueError:
                continue
            if remember:
                self.set_cookie(LANGUAGE_COOKIE, language, **self.security.cookie_options(self))
            return language
        return self.ws.language

    def _chosen_language(self) -> str | None:
        """The language the sign-in page was switched to (its cookie), if any."""
        try:
            return normalize_language(self.get_cookie(LANGUAGE_COOKIE, ""))
        except ValueError:
            return None

    def _message(self) -> str:
        code = self.get_argument("error", "")
        text = str(LOGIN_ERRORS.get(code, ""))
        if code == "locked":
            try:
                minutes = max(1, int(self.get_argument("minutes", "1")))
            except ValueError:
                minutes = 1
            text = text.format(minutes=min(minutes, 24 * 60))
        return text

    def _back(self, code: str, **extra: Any) -> None:
        self.redirect(f"/login?{urlencode({'error': code, **extra})}")

    async def post(self) -> None:
        """Check the CSRF token, the throttles and the password; open a session."""
        form_token = self.get_body_argument("csrf_token", "")
        cookie_token = self.get_cookie(CSRF_COOKIE, "")
        if not form_token or not hmac.compare_digest(form_token, cookie_token):
            log.info("console login without a valid form token from %s", self.request.remote_ip)
            self._back("csrf")
            return
        username = self.get_body_argument("username", "").strip()[:100]
        password = self.get_body_argument("password", "")
        address = self.request.remote_ip or ""
        wait = self.security.throttle.retry_after(address, username)
        if wait:
            self._back("locked", minutes=int(wait // 60) + 1)
            return
        if self.security.waiting >= self.security.max_waiting:
            self._back("busy")
            return
        loop = asyncio.get_running_loop()
        self.security.waiting += 1  # only the event loop thread touches the count
        try:
            principal, known = await loop.run_in_executor(
                self.security.hasher, self._check, username, password)
        except RateLimited as exc:
            self._back("locked", minutes=int(exc.retry_after // 60) + 1)
            return
        finally:
            self.security.waiting -= 1
        if principal is None:
            log.info("failed console login for %r from %s", username, address)
            self.security.throttle.failed(address, username, known_user=known)
            self._back("failed")
            return
        self.security.throttle.succeeded(address, username)
        token = await loop.run_in_executor(None, lambda: self.ws.users.start_session(
            principal.name, hours=self.security.session_hours, address=address))
        chosen = self._chosen_language()
        if chosen and principal.language is None and chosen != self.ws.language:
            # The language picked on the sign-in page becomes the user's own, so the
            # console speaks it too (a user who already chose one keeps theirs).
            await loop.run_in_executor(None, lambda: self.ws.as_user(principal).users
                                       .set_language(principal.name, chosen))
        self.clear_panel_cookies()
        options = self.security.cookie_options(self)
        self.set_signed_cookie(SESSION_COOKIE, token, expires_days=self.security.max_age_days,
                               **options)
        next_url = _local_path(self.get_cookie("next_url"))
        self.clear_cookie("next_url", path="/")
        self.redirect(next_url)

    def _check(self, username: str, password: str) -> tuple[Principal | None, bool]:
        if not username:
            return None, False
        principal = self.ws.users.authenticate(username, password)
        if principal is not None:
            return principal, True
        try:
            self.ws.users.get(username)
            return None, True
        except NotFound:
            return None, False


class LogoutHandler(_ConsoleHandler):
    """``GET /logout``: end every session of the user, clear the cookie, show the login."""

    def get(self) -> None:
        """Sign out and go to the login page."""
        principal = current_principal(self.ws, self.security, self)
        if principal is not None:
            self.ws.users.end_sessions(principal.name)
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.clear_panel_cookies()
        self.redirect("/login")


def make_auth_provider(ws: Workspace, security: ConsoleSecurity) -> BasicAuthProvider:
    """A Panel auth provider whose users are siyu's signed sessions (no guests)."""

    class Login(LoginHandler):
        pass

    class Logout(LogoutHandler):
        pass

    Login.ws = Logout.ws = ws
    Login.security = Logout.security = security

    class SiyuAuthProvider(BasicAuthProvider):
        @property
        def get_user(self):
            def get_user(request_handler):
                token = session_token(security, request_handler.get_cookie(SESSION_COOKIE))
                principal = ws.users.session_principal(token)
                return principal.name if principal is not None else None
            return get_user

        @property
        def login_handler(self):
            return Login

        @property
        def logout_handler(self):
            return Logout

    return SiyuAuthProvider()
