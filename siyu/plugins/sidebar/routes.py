"""The chat sidebar's HTTP routes (聊天工具栏), served next to the console.

``/sidebar`` is the address configured in WeCom's admin console as the app's chat-toolbar
page. The flow, as in WeCom:

1. No sidebar session → WeCom OAuth (``/connect/oauth2/authorize``, ``snsapi_base``) with a
   one-time ``state`` kept in a signed cookie; WeCom sends the browser back to
   ``/sidebar/oauth`` with a code, which ``auth/getuserinfo`` turns into the member's userid;
   an active staff member gets a signed sidebar session (see :mod:`.sessions`).
2. ``/sidebar`` loads WeCom's JS-SDK, signs ``wx.config``/``wx.agentConfig`` through
   ``/sidebar/signature`` and asks ``getCurExternalContact`` who the chat is with, then opens
   ``/sidebar/customer`` for that customer — only if the member follows them.
3. The customer page shows the card (phones masked), lets the guide tag the customer and add
   a note (forms with a CSRF token), and sends quick replies into the chat with
   ``sendChatMessage`` (images through ``/sidebar/replies/<id>/media``).

Against the built-in sandbox (the WeCom API base URL is not WeCom's) OAuth and the JS-SDK come
from the sandbox, which simulates the WeCom client. Network calls run on worker threads and
never inside a database transaction.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from tornado.web import create_signed_value, decode_signed_value

from siyu.apps.routes import SiyuHandler
from siyu.core.errors import NotFound, PermissionDenied, SiyuError, ValidationError
from siyu.core.i18n import translator, use_language
from siyu.plugins.sidebar import jsapi, sessions, views
from siyu.storage.models import ContactFollow, Staff

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.sidebar")

COOKIE = "siyu_sidebar"
STATE_COOKIE = "siyu_sidebar_oauth"
#: Minutes a guide has to come back from WeCom's OAuth page.
STATE_MINUTES = 10
#: WeCom's OAuth and JS-SDK (the sandbox serves its own when the API base URL is not WeCom's).
WECOM_OAUTH = "https://open.weixin.qq.com"
WECOM_JSSDK = ("https://res.wx.qq.com/open/js/jweixin-1.2.0.js",
               "https://open.work.weixin.qq.com/wwopen/js/jwxwork-1.0.0.js")
SCRIPT = Path(__file__).parent / "static" / "sidebar.js"
#: What a page says after a form, by ``?done=`` code (never free text from the address).
DONE: dict[str, Any] = {"tagged": _.lazy("Tag added."), "untagged": _.lazy("Tag removed."),
                        "noted": _.lazy("Note saved.")}


def has_quick_replies(ws: Workspace) -> bool:
    """Whether the quick-reply library plugin is loaded."""
    return "quickreplies" in ws.model_sets


def contact_key(text: str) -> int | str:
    """A contact named in a form or an address: digits are an id, anything else an external
    userid."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else text


def own_contact(ws: Workspace, userid: str, contact: int | str) -> int:
    """The id of ``contact`` (an id or external userid) when ``userid`` follows them now.

    :raises NotFound: no such contact.
    :raises PermissionDenied: the contact is not one of the member's customers.
    """
    contact_id = ws.contacts.get(contact_key(contact) if isinstance(contact, str)
                                 else contact).id
    f, s = ContactFollow.__table__.c, Staff.__table__.c
    with ws.engine.connect() as conn:
        theirs = conn.execute(sa.select(f.id).select_from(
            ContactFollow.__table__.join(Staff.__table__, s.id == f.staff_id)).where(
            f.contact_id == contact_id, s.userid == userid, f.deleted_at.is_(None))).first()
    if theirs is None:
        raise PermissionDenied(_("this customer is not one of your customers in siyu"))
    return contact_id


class SidebarHandler(SiyuHandler):
    """Base of the sidebar routes: the guide's session, CSRF, the language, the answers."""

    def check_xsrf_cookie(self) -> None:  # the sidebar checks its own token (see csrf)
        return None

    @contextmanager
    def language(self):
        """Speak the workspace's language."""
        with use_language(self.ws.language):
            yield

    def set_default_headers(self) -> None:
        """Never cached, never sniffed, never framed by another site's page."""
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")

    @property
    def secret(self) -> str:
        return self.security.secret if self.security else ""

    def _token(self) -> str | None:
        raw = self.get_cookie(COOKIE)
        if not raw or not self.secret:
            return None
        value = decode_signed_value(self.secret, COOKIE, raw,
                                    max_age_days=sessions.SESSION_HOURS / 24)
        return value.decode() if value else None

    def guide(self) -> str | None:
        """The signed-in guide's userid, or ``None``."""
        return sessions.userid_of(self.ws, self._token())

    def guide_ws(self, userid: str) -> Workspace:
        """The workspace acting as the guide."""
        return self.ws.as_user(sessions.guide_principal(userid))

    def csrf(self) -> str:
        """The form token of this session (derived from it, so nothing else is stored)."""
        token = self._token() or ""
        return hmac.new(self.secret.encode(), f"sidebar csrf {token}".encode(),
                        "sha256").hexdigest()[:40]

    def csrf_ok(self) -> bool:
        sent = self.request.headers.get("X-Siyu-Csrf") or self.get_body_argument("csrf", "")
        return bool(self._token()) and hmac.compare_digest(sent, self.csrf())

    def config(self) -> Any:
        from siyu.plugins.wecom.service import wecom

        return wecom(self.ws).config

    def scripts(self) -> list[str]:
        """The JS-SDK (WeCom's, or the sandbox's stand-in) and the sidebar's own script."""
        from siyu.plugins.wecom.config import DEFAULT_BASE_URL

        base = self.config().base_url.rstrip("/")
        sdk = list(WECOM_JSSDK) if base == DEFAULT_BASE_URL else [f"{base}/jssdk/jweixin.js"]
        return [*sdk, "/sidebar/app.js"]

    def oauth_base(self) -> str:
        from siyu.plugins.wecom.config import DEFAULT_BASE_URL

        base = self.config().base_url.rstrip("/")
        return WECOM_OAUTH if base == DEFAULT_BASE_URL else base

    def here(self, path: str) -> str:
        """The absolute address of ``path`` on this server, as the browser reaches it."""
        return f"{self.request.protocol}://{self.request.host}{path}"

    def page(self, text: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(text)

    def notice(self, title: str, text: str, status: int = 200,
               link: tuple[str, str] | None = None) -> None:
        self.page(views.notice(title, text, link=link), status)

    def answer(self, payload: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, ensure_ascii=False))

    def refuse(self, message: str, status: int) -> None:
        self.answer({"error": message, "status": status}, status)

    async def off_loop(self, fn: Any, *args: Any) -> Any:
        """Run a blocking call (WeCom, the database) on a worker thread, in the workspace's
        language."""
        language = self.ws.language

        def call() -> Any:
            with use_language(language):
                return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(None, call)

    def ready(self) -> bool:
        """Whether WeCom is set up enough for the sidebar (corp, app secret, agent id)."""
        config = self.config()
        return bool(config.api_ready and config.agent_id)


class SidebarPage(SidebarHandler):
    """``GET /sidebar``: sign in through WeCom when needed, then find the chat's customer."""

    def get(self) -> None:
        with self.language():
            if not self.ready():
                self.notice(_("The chat sidebar is not set up"),
                            _("An administrator sets the WeCom corp ID, app secret and agent "
                              "ID in the console's WeCom settings first."), 503)
                return
            if self.guide() is None:
                self._sign_in()
                return
            self.page(views.shell(self.scripts(), self.csrf()))

    def _sign_in(self) -> None:
        state = secrets.token_hex(16)  # WeCom allows only a-zA-Z0-9 in state
        self.set_cookie(STATE_COOKIE, create_signed_value(self.secret, STATE_COOKIE, state),
                        expires_days=STATE_MINUTES / 1440,
                        **(self.security.cookie_options(self) if self.security else {}))
        config = self.config()
        query = urlencode({"appid": config.corp_id,
                           "redirect_uri": self.here("/sidebar/oauth"),
                           "response_type": "code", "scope": "snsapi_base", "state": state,
                           "agentid": config.agent_id})
        self.redirect(f"{self.oauth_base()}/connect/oauth2/authorize?{query}#wechat_redirect")


class OAuthReturn(SidebarHandler):
    """``GET /sidebar/oauth?code=…&state=…``: who WeCom says the member is."""

    async def get(self) -> None:
        with self.language():
            raw = self.get_cookie(STATE_COOKIE)
            expected = decode_signed_value(self.secret, STATE_COOKIE, raw or "",
                                           max_age_days=STATE_MINUTES / 1440) if raw else None
            state, code = self.get_argument("state", ""), self.get_argument("code", "")
            if not expected or not hmac.compare_digest(expected.decode(), state) or not code:
                self.notice(_("Sign-in expired"), _("WeCom's sign-in did not come back "
                                                    "from this sidebar. Please try again."),
                            400, link=("/sidebar", _("Try again")))
                return
            self.clear_cookie(STATE_COOKIE, path="/")
            from siyu.plugins.wecom.service import wecom

            try:
                info = await self.off_loop(wecom(self.ws).client.get_user_info, code)
            except SiyuError as exc:
                self.notice(_("WeCom did not say who you are"), str(exc), 502,
                            link=("/sidebar", _("Try again")))
                return
            userid = info.get("userid") or info.get("UserId")
            if not userid:
                self.notice(_("Only members of the company can use the sidebar"),
                            _("WeCom says this is not a member of the company."), 403)
                return
            try:
                token = await self.off_loop(sessions.start, self.ws, userid)
            except ValidationError as exc:
                self.notice(_("You are not set up in siyu"), str(exc), 403)
                return
            self.set_cookie(COOKIE, create_signed_value(self.secret, COOKIE, token),
                            expires_days=sessions.SESSION_HOURS / 24,
                            **(self.security.cookie_options(self) if self.security else {}))
            self.redirect("/sidebar")


class Signature(SidebarHandler):
    """``POST /sidebar/signature`` ``{"url": …}``: the ``wx.config`` and ``wx.agentConfig``
    arguments for a sidebar page of this server."""

    async def post(self) -> None:
        with self.language():
            if self.guide() is None or not self.csrf_ok():
                self.refuse(_("sign in to the sidebar again"), 403)
                return
            try:
                url = str(json.loads(self.request.body or b"{}").get("url") or "")
            except (ValueError, AttributeError):
                url = ""
            parts = urlsplit(url)
            if parts.netloc != self.request.host or not parts.path.startswith("/sidebar"):
                self.refuse(_("only pages of this sidebar are signed"), 400)
                return
            try:
                signed = await self.off_loop(jsapi.signatures, self.ws, url)
            except SiyuError as exc:
                self.refuse(str(exc), 502)
                return
            self.answer(signed)


class CustomerPage(SidebarHandler):
    """``GET /sidebar/customer?external_userid=…`` (or ``?contact=<id>``): the card."""

    def get(self) -> None:
        with self.language():
            userid = self.guide()
            if userid is None:
                self.redirect("/sidebar")
                return
            contact = self.get_argument("external_userid", "") or self.get_argument(
                "contact", "")
            gws = self.guide_ws(userid)
            try:
                contact_id = own_contact(gws, userid, contact)
            except NotFound:
                self.notice(_("Customer not found yet"),
                            _("siyu has not received this customer from WeCom yet; it "
                              "usually arrives within a minute."), 404,
                            link=("/sidebar", _("Try again")))
                return
            except PermissionDenied as exc:
                self.notice(_("Not your customer"), str(exc), 403)
                return
            done = DONE.get(self.get_argument("done", ""))
            error = self.get_argument("error", "")
            self.page(self.render_customer(gws, contact_id, status=str(done or ""),
                                           error=error))

    def render_customer(self, gws: Workspace, contact_id: int, *, status: str = "",
                        error: str = "") -> str:
        from siyu.plugins import customers
        from siyu.plugins.customers import notes

        card = customers.card(gws, contact_id)
        replies = None
        if has_quick_replies(gws):
            from siyu.plugins import quickreplies

            frame = quickreplies.listing(gws, enabled_only=True)
            replies = frame.to_dict("records")
        errors = {"empty-note": _("A note cannot be empty."),
                  "long-note": _("A note is at most {limit} characters.",
                                 limit=notes.MAX_NOTE),
                  "tag": _("That tag does not exist any more.")}
        message = errors.get(error)
        return views.customer(card, tz=gws.timezone, csrf=self.csrf(),
                              scripts=self.scripts(), all_tags=gws.tags.names(),
                              notes=notes.listing(gws, contact_id), replies=replies,
                              status=str(message or status), status_bad=message is not None)


class _CustomerForm(SidebarHandler):
    """A form about the customer on the page: signed in, CSRF token, their own customer."""

    def checked(self) -> tuple[Workspace, str, int] | None:
        userid = self.guide()
        if userid is None or not self.csrf_ok():
            self.notice(_("Sign-in expired"), _("Please open the sidebar again."), 403,
                        link=("/sidebar", _("Open again")))
            return None
        gws = self.guide_ws(userid)
        try:
            return gws, userid, own_contact(gws, userid, self.get_body_argument("contact", ""))
        except NotFound:
            self.notice(_("Customer not found"), _("This customer is not in siyu."), 404)
        except PermissionDenied as exc:
            self.notice(_("Not your customer"), str(exc), 403)
        return None

    def back(self, contact_id: int, **query: str) -> None:
        self.redirect(f"/sidebar/customer?{urlencode({'contact': contact_id, **query})}")


class TagForm(_CustomerForm):
    """``POST /sidebar/customer/tags`` (``tag``, ``action`` add or remove)."""

    def post(self) -> None:
        with self.language():
            found = self.checked()
            if found is None:
                return
            gws, _userid, contact_id = found
            tag, action = self.get_body_argument("tag", ""), self.get_body_argument("action", "")
            if tag not in gws.tags.names():
                self.back(contact_id, error="tag")
                return
            if action == "remove":
                gws.tags.untag([contact_id], [tag])
                self.back(contact_id, done="untagged")
            else:
                gws.tags.tag([contact_id], [tag], source="sidebar")
                self.back(contact_id, done="tagged")


class NoteForm(_CustomerForm):
    """``POST /sidebar/customer/note`` (``text``)."""

    def post(self) -> None:
        from siyu.plugins.customers import notes

        with self.language():
            found = self.checked()
            if found is None:
                return
            gws, userid, contact_id = found
            text = self.get_body_argument("text", "").strip()
            if not text:
                self.back(contact_id, error="empty-note")
                return
            if len(text) > notes.MAX_NOTE:
                self.back(contact_id, error="long-note")
                return
            notes.add(gws, contact_id, text, userid=userid)
            self.back(contact_id, done="noted")


class _ReplyHandler(SidebarHandler):
    def reply_ws(self, *, post: bool) -> tuple[Workspace, str] | None:
        userid = self.guide()
        if userid is None or (post and not self.csrf_ok()):
            self.refuse(_("sign in to the sidebar again"), 403)
            return None
        if not has_quick_replies(self.ws):
            self.refuse(_("the quick-reply library is not installed"), 404)
            return None
        return self.guide_ws(userid), userid


class ReplyImage(_ReplyHandler):
    """``GET /sidebar/replies/<id>/image``: a quick reply's picture, for its preview."""

    def get(self, reply_id: str) -> None:
        from siyu.plugins import quickreplies

        with self.language():
            found = self.reply_ws(post=False)
            if found is None:
                return
            try:
                content, _name, content_type = quickreplies.image_of(found[0], int(reply_id))
            except (NotFound, ValidationError) as exc:
                self.refuse(str(exc), 404)
                return
            self.set_header("Content-Type", content_type)
            self.set_header("Cache-Control", "private, max-age=300")
            self.finish(content)


class ReplyMedia(_ReplyHandler):
    """``POST /sidebar/replies/<id>/media``: the WeCom media id to send a picture with."""

    async def post(self, reply_id: str) -> None:
        with self.language():
            found = self.reply_ws(post=True)
            if found is None:
                return
            try:
                media = await self.off_loop(jsapi.media_id, found[0], int(reply_id))
            except (NotFound, ValidationError) as exc:
                self.refuse(str(exc), 404)
                return
            except SiyuError as exc:
                self.refuse(str(exc), 502)
                return
            self.answer({"media_id": media})


class ReplyUsed(_ReplyHandler):
    """``POST /sidebar/replies/<id>/used``: count a quick reply sent into a chat."""

    def post(self, reply_id: str) -> None:
        from siyu.plugins import quickreplies

        with self.language():
            found = self.reply_ws(post=True)
            if found is None:
                return
            gws, userid = found
            try:
                quickreplies.record_use(gws, int(reply_id), by=userid)
            except NotFound as exc:
                self.refuse(str(exc), 404)
                return
            self.answer({"ok": True})


class Script(SidebarHandler):
    """``GET /sidebar/app.js``: the sidebar's script."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "public, max-age=300")
        self.set_header("X-Content-Type-Options", "nosniff")

    def get(self) -> None:
        self.finish(SCRIPT.read_bytes())


def route_specs() -> list[Any]:
    """The sidebar's routes (each authenticates itself, so all are ``public``)."""
    from siyu.core.records import RouteSpec

    return [RouteSpec("sidebar", r"/sidebar/?", SidebarPage, public=True),
            RouteSpec("sidebar.oauth", r"/sidebar/oauth", OAuthReturn, public=True),
            RouteSpec("sidebar.signature", r"/sidebar/signature", Signature, public=True),
            RouteSpec("sidebar.customer", r"/sidebar/customer", CustomerPage, public=True),
            RouteSpec("sidebar.tags", r"/sidebar/customer/tags", TagForm, public=True),
            RouteSpec("sidebar.note", r"/sidebar/customer/note", NoteForm, public=True),
            RouteSpec("sidebar.reply_image", r"/sidebar/replies/(\d+)/image", ReplyImage,
                      public=True),
            RouteSpec("sidebar.reply_media", r"/sidebar/replies/(\d+)/media", ReplyMedia,
                      public=True),
            RouteSpec("sidebar.reply_used", r"/sidebar/replies/(\d+)/used", ReplyUsed,
                      public=True),
            RouteSpec("sidebar.script", r"/sidebar/app\.js", Script, public=True)]
