"""The simulated WeCom client: OAuth sign-in, the chat sidebar (聊天工具栏) and a JS-SDK shim.

A sidebar page is a web page WeCom opens beside a chat. Outside WeCom it needs what the client
gives it: a signed-in member for OAuth (构造网页授权链接, path/91022), an open chat, and the
JS-SDK (``wx.config`` / ``wx.agentConfig`` / ``wx.invoke``, path/90514, path/94313). The
sandbox serves all three, so the page runs in an ordinary browser exactly as it will in WeCom.

=============================================  ==============================================
``GET  /connect/oauth2/authorize``              WeCom's OAuth page: a code for the signed-in
                                                member, 302 to ``redirect_uri?code=&state=``;
                                                nobody signed in: a page to pick a member
``POST /client/login``                          the member picked on that page (form)
``GET  /client/chat?userid=&external_userid=``  member opens the chat with a customer and its
``&url=``                                       sidebar at ``url`` (302 there)
``GET  /client/sent``                           every message sidebars sent (JSON)
``GET  /jssdk/jweixin.js``                      the JS-SDK shim defining ``window.wx``
``POST /client/verify``                         the shim checks a config/agentConfig signature
``GET  /client/context?session=``               the shim asks for the entry and the customer
``POST /client/send``                           the shim sends a chat message
=============================================  ==============================================

The shim endpoints answer ``{"ok": true, …}`` or ``{"ok": false, "reason": "…"}`` with CORS
headers (the sidebar page is served from another origin). The rules the sandbox keeps:

- A signature is ``sha1("jsapi_ticket=T&noncestr=N&timestamp=TS&url=URL")`` with the corp's
  ``jsapi_ticket`` for ``wx.config`` and the app's ``agent_config`` ticket for
  ``wx.agentConfig``; ``URL`` is the page's address without its ``#fragment``. Only a ticket
  that has not expired signs; a wrong one fails with ``invalid signature``.
- ``wx.invoke`` works only after a successful ``wx.agentConfig`` that listed the API;
  otherwise its callback gets ``<api>:fail no permission``. ``getCurExternalContact`` and
  ``sendChatMessage`` need the sidebar of a single chat (``entry`` ``single_chat_tools``),
  else ``:fail invalid entry``.
- ``sendChatMessage`` takes ``text`` (non-empty content) or ``image``/``video``/``file`` with
  a ``mediaid`` of that type uploaded within three days; the message is recorded
  (:attr:`SimulatedClient.sent`) and counts as the member chatting with the customer.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import tornado.web

from siyu.core.i18n import translator, use_language
from siyu.plugins.wecom.sandbox.endpoints.jssdk import AGENT, CORP
from siyu.plugins.wecom.sandbox.errors import SandboxError
from siyu.plugins.wecom.sandbox.model import SidebarMessage, Staff

if TYPE_CHECKING:  # pragma: no cover
    from siyu.plugins.wecom.sandbox.server import Sandbox

_ = translator("siyu.plugins.wecom")

SINGLE_CHAT, NORMAL = "single_chat_tools", "normal"
SCOPES = ("snsapi_base", "snsapi_privateinfo")
#: ``state`` of an OAuth link: a-zA-Z0-9, at most 128 bytes (path/91022)
STATE_PATTERN = re.compile(r"[A-Za-z0-9]{0,128}")
#: msgtypes of sendChatMessage the sandbox accepts; the media ones name a ``mediaid``
MEDIA_MSGTYPES = ("image", "video", "file")
#: APIs the shim implements (what ``wx.checkJsApi`` answers true for)
SHIM_APIS = ("getContext", "getCurExternalContact", "sendChatMessage")


def js_signature(ticket: str, noncestr: str, timestamp: str | int, url: str) -> str:
    """The JS-SDK signature: sha1 of ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…``."""
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()


@dataclass
class _Session:
    """A page load whose ``wx.agentConfig`` succeeded: the APIs it may invoke."""

    apis: list[str]
    url: str
    created: float


class SimulatedClient:
    """The WeCom client of one sandbox: who is signed in, which chat is open, what sidebars
    sent. ``sandbox.client``.

    Refusals raise :class:`~siyu.plugins.wecom.sandbox.errors.SandboxError` whose message
    says why, in the current language.
    """

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.world = sandbox.world
        self._sessions: dict[str, _Session] = {}

    # -- signing in and opening chats ------------------------------------------------------

    def _member(self, userid: str) -> Staff:
        staff = self.world.staff.get(userid) if isinstance(userid, str) else None
        if staff is None:
            raise SandboxError(_("{userid} is not a member of the corp", userid=repr(userid)))
        if staff.resigned:
            raise SandboxError(_("{userid} has left the corp", userid=staff.userid))
        if not staff.activated:
            raise SandboxError(_("{userid} has not activated WeCom", userid=staff.userid))
        return staff

    def members(self) -> list[Staff]:
        """The members who can sign in to the client (activated, not left), by userid."""
        with self.world.lock:
            return sorted((s for s in self.world.staff.values()
                           if s.activated and not s.resigned), key=lambda s: s.userid)

    def sign_in(self, userid: str) -> None:
        """``userid`` signs in to the client (no chat open)."""
        with self.world.lock:
            self._member(userid)
            state = self.world.client
            state.userid, state.external_userid, state.entry, state.url = userid, "", NORMAL, ""

    def sign_out(self) -> None:
        """Nobody is signed in; the OAuth page asks who to sign in as."""
        with self.world.lock:
            state = self.world.client
            state.userid, state.external_userid, state.entry, state.url = "", "", NORMAL, ""

    def open_chat(self, userid: str, external_userid: str, url: str = "") -> str:
        """Member ``userid`` (now signed in) opens the chat with their customer
        ``external_userid`` and the sidebar at ``url``.

        :returns: the ``/client/chat`` link that does the same in a browser and then goes on
            to ``url``.
        :raises SandboxError: not a member (or left, or not activated), not their customer, or
            ``url`` not an http(s) address.
        """
        if url and not _web_address(url):
            raise SandboxError(_("the sidebar URL {url} is not an http(s) address",
                                 url=repr(url)))
        with self.world.lock:
            self._member(userid)
            customer = self.world.customers.get(external_userid) if isinstance(
                external_userid, str) else None
            follow = customer.follows.get(userid) if customer is not None else None
            if follow is None or not follow.friend:
                raise SandboxError(_("{customer} is not a customer of {userid}",
                                     customer=repr(external_userid), userid=userid))
            state = self.world.client
            state.userid, state.external_userid = userid, external_userid
            state.entry, state.url, state.opened_at = SINGLE_CHAT, url, self.world.now()
        query = {"userid": userid, "external_userid": external_userid}
        if url:
            query["url"] = url
        return f"{self.sandbox.base_url}/client/chat?{urlencode(query)}"

    def close_chat(self) -> None:
        """The member closes the chat (stays signed in)."""
        with self.world.lock:
            state = self.world.client
            state.external_userid, state.entry, state.url = "", NORMAL, ""

    @property
    def state(self) -> dict[str, Any]:
        """``{"userid", "external_userid", "entry", "url"}`` of the client now."""
        with self.world.lock:
            state = self.world.client
            return {"userid": state.userid, "external_userid": state.external_userid,
                    "entry": state.entry, "url": state.url}

    @property
    def sent(self) -> list[SidebarMessage]:
        """Every message sidebar pages sent (``sendChatMessage``), oldest first."""
        with self.world.lock:
            return list(self.world.sidebar_messages)

    # -- OAuth -----------------------------------------------------------------------------

    def issue_code(self, userid: str | None = None, *, external_userid: str | None = None,
                   openid: str | None = None, scope: str = "snsapi_base") -> str:
        """An OAuth code as WeCom's page hands it to ``redirect_uri``.

        :param userid: the member (default: the signed-in one).
        :param external_userid: instead, a WeChat user who is this corp's customer: the code
            answers their ``openid`` and ``external_userid``.
        :param openid: instead, a WeChat user who is not a customer (only ``openid``).
        :raises SandboxError: no member given or signed in, an unknown one, an unknown
            customer.
        """
        if scope not in SCOPES:
            raise SandboxError(f"scope {scope!r}: use snsapi_base or snsapi_privateinfo")
        world = self.world
        with world.lock:
            if external_userid is not None:
                customer = world.customers.get(external_userid)
                if customer is None:
                    raise SandboxError(_("{customer} is not a customer of the corp",
                                         customer=repr(external_userid)))
                return world.issue_oauth_code(scope=scope, openid=customer.openid,
                                              external_userid=customer.external_userid)
            if openid is not None:
                return world.issue_oauth_code(scope=scope, openid=openid)
            userid = userid or world.client.userid
            if not userid:
                raise SandboxError(_("nobody is signed in to the WeCom client"))
            self._member(userid)
            return world.issue_oauth_code(scope=scope, userid=userid)

    # -- what the shim asks ----------------------------------------------------------------

    def verify(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check a ``wx.config`` (``kind=config``) or ``wx.agentConfig``
        (``kind=agent_config``) signature against the current tickets.

        :returns: ``{"ok": true}`` (plus ``session`` for agent_config) or ``{"ok": false,
            "reason": …}``.
        """
        world = self.world
        kind = args.get("kind")
        if kind not in ("config", "agent_config"):
            return _refused("invalid kind, use config or agent_config")
        corpid = args.get("corpid", args.get("appId"))
        url = args.get("url")
        timestamp = args.get("timestamp")
        nonce = args.get("nonceStr")
        signature = args.get("signature")
        apis = args.get("jsApiList") or []
        with world.lock:
            if corpid != world.corp.corp_id:
                return _refused("invalid corpid")
            if kind == "agent_config" and str(args.get("agentid", "")) != str(
                    world.corp.agent_id):
                return _refused("invalid agentid")
            if not isinstance(url, str) or not _web_address(url) or "#" in url:
                return _refused("invalid url: give the page's address without its #fragment")
            if isinstance(timestamp, bool) or not isinstance(timestamp, (str, int)) or (
                    not str(timestamp).isdigit()):
                return _refused("invalid timestamp")
            if not isinstance(nonce, str) or not nonce or not isinstance(signature, str):
                return _refused("invalid signature")
            if not isinstance(apis, list) or not all(isinstance(a, str) for a in apis):
                return _refused("invalid jsApiList")
            tickets = world.valid_tickets(CORP if kind == "config" else AGENT)
            if not any(js_signature(t, nonce, timestamp, url) == signature.lower()
                       for t in tickets):
                return _refused("invalid signature")
            if kind == "config":
                return {"ok": True}
            session = secrets.token_urlsafe(24)
            self._sessions[session] = _Session(list(apis), url, world.now())
            return {"ok": True, "session": session}

    def context(self, session: object, api: str = "getContext") -> dict[str, Any]:
        """``{"ok": true, "entry", "userid", "external_userid"}`` for a page whose
        agentConfig listed ``api``; ``{"ok": false, "reason"}`` otherwise."""
        with self.world.lock:
            found = self._sessions.get(session) if isinstance(session, str) else None
            if found is None or api not in found.apis:
                return _refused("no permission")
            state = self.world.client
            single = state.entry == SINGLE_CHAT
            return {"ok": True, "entry": state.entry, "userid": state.userid,
                    "external_userid": state.external_userid if single else ""}

    def send(self, session: object, params: dict[str, Any]) -> dict[str, Any]:
        """``sendChatMessage`` from a page whose agentConfig listed it: record the message
        sent to the open chat's customer."""
        world = self.world
        with world.lock:
            found = self._sessions.get(session) if isinstance(session, str) else None
            if found is None or "sendChatMessage" not in found.apis:
                return _refused("no permission")
            state = world.client
            if state.entry != SINGLE_CHAT:
                return _refused("invalid entry")
            msgtype = params.get("msgtype")
            enter_chat = params.get("enterChat", False)
            if not isinstance(enter_chat, bool):
                return _refused("invalid enterChat")
            content, media_id = "", ""
            if msgtype == "text":
                text = params.get("text")
                content = text.get("content") if isinstance(text, dict) else None
                if not isinstance(content, str) or not content.strip():
                    return _refused("text.content is empty")
            elif msgtype in MEDIA_MSGTYPES:
                body = params.get(msgtype)
                media_id = body.get("mediaid") if isinstance(body, dict) else None
                media = world.live_media(media_id)
                if media is None or media.type != msgtype:
                    return _refused("invalid mediaid")
            else:
                return _refused("invalid msgtype")
            customer = world.customers.get(state.external_userid)
            follow = customer.follows.get(state.userid) if customer is not None else None
            if follow is None or not follow.friend:
                return _refused("not a customer of the member any more")
            now = world.now()
            follow.chat_started, follow.last_chat = True, now
            world.sidebar_messages.append(SidebarMessage(
                state.userid, state.external_userid, msgtype, int(now), content=content,
                media_id=media_id or "", enter_chat=enter_chat))
            return {"ok": True}


def _refused(reason: str) -> dict[str, Any]:
    return {"ok": False, "reason": reason}


def _web_address(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query string (before any fragment)."""
    base, hash_sign, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    if base.endswith(("?", "&")):
        joiner = ""
    return f"{base}{joiner}{urlencode(params)}{hash_sign}{fragment}"


# -- pages ----------------------------------------------------------------------------------

PAGE_CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;background:#f5f7fa;color:#1f2933}
main{max-width:480px;margin:24px auto;padding:20px 22px;background:#fff;border-radius:10px;
border:1px solid #e3e7ed;box-sizing:border-box}
@media (max-width:520px){main{margin:12px}}
h1{font-size:18px;margin:0 0 12px}
form{display:flex;flex-direction:column;gap:8px}
button{font:inherit;padding:10px 12px;border:1px solid #cbd2d9;border-radius:8px;
background:#fff;text-align:left;cursor:pointer}
button:hover{border-color:#1a73e8}
.siyu-client-id{color:#616e7c;margin-left:6px}
"""


def render_page(title: str, body: str, language: str) -> str:
    """A small self-contained page (``body`` is HTML the caller escaped)."""
    e = html.escape
    with use_language(language):
        name = _("WeCom sandbox")
    return ("<!doctype html>"
            f'<html lang="{e(language.replace("_", "-"))}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{e(title)} · {e(name)}</title><style>{PAGE_CSS}</style></head>"
            f'<body><main class="siyu-client">{body}</main></body></html>')


class _Handler(tornado.web.RequestHandler):
    def initialize(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @property
    def client(self) -> SimulatedClient:
        return self.sandbox.client

    def check_xsrf_cookie(self) -> None:  # the client's own pages and the shim's calls
        return

    def language(self) -> str:
        return self.sandbox.page_language()

    def page(self, title: str, body: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(render_page(title, body, self.language()))

    def refuse(self, message: str, status: int = 400) -> None:
        """A page saying why the client cannot do what was asked."""
        with use_language(self.language()):
            title = _("WeCom cannot open this")
        self.page(title, f'<h1>{html.escape(title)}</h1>'
                         f'<p class="siyu-client-error">{html.escape(message)}</p>', status)


class AuthorizeHandler(_Handler):
    """``/connect/oauth2/authorize``: WeCom's OAuth page (path/91022)."""

    def get(self) -> None:
        arg = self.get_query_argument
        world = self.sandbox.world
        with use_language(self.language()):
            appid, redirect_uri = arg("appid", ""), arg("redirect_uri", "")
            scope, state = arg("scope", ""), arg("state", "")
            agentid = arg("agentid", "")
            problem = None
            if appid != world.corp.corp_id:
                problem = _("appid {appid} is not this corp's CorpID", appid=repr(appid))
            elif not _web_address(redirect_uri):
                problem = _("redirect_uri {url} is not an http(s) address",
                            url=repr(redirect_uri))
            elif arg("response_type", "") != "code":
                problem = _("response_type must be code")
            elif scope not in SCOPES:
                problem = _("scope {scope} must be snsapi_base or snsapi_privateinfo",
                            scope=repr(scope))
            elif agentid and agentid != str(world.corp.agent_id):
                problem = _("agentid {agentid} is not this corp's app", agentid=repr(agentid))
            elif scope == "snsapi_privateinfo" and not agentid:
                problem = _("scope snsapi_privateinfo needs the agentid")
            elif not STATE_PATTERN.fullmatch(state):
                problem = _("state may only be letters and digits, at most 128")
            if problem:
                self.refuse(problem)
                return
            if not world.client.userid:
                self.choose_member()
                return
            try:
                code = self.client.issue_code(scope=scope)
            except SandboxError as exc:
                self.refuse(str(exc))
                return
        self.redirect(_with_query(redirect_uri, code=code, state=state), status=302)

    def choose_member(self) -> None:
        """The client's sign-in: pick a member; then this same link again."""
        e = html.escape
        title = _("Sign in to WeCom")
        prompt = _("Sign in as:")
        nobody = _("The corp has no member who can sign in.")
        buttons = "".join(
            f'<button type="submit" name="userid" value="{e(s.userid)}">{e(s.name)}'
            f'<span class="siyu-client-id">{e(s.userid)}</span></button>'
            for s in self.client.members())
        if not buttons:
            buttons = f"<p>{e(nobody)}</p>"
        self.page(title, f"<h1>{e(title)}</h1><p>{e(prompt)}</p>"
                         f'<form method="post" action="/client/login">'
                         f'<input type="hidden" name="next" value="{e(self.request.uri or "")}">'
                         f"{buttons}</form>")


class LoginHandler(_Handler):
    """``POST /client/login``: the member picked on the sign-in page."""

    def post(self) -> None:
        userid = self.get_body_argument("userid", "")
        target = self.get_body_argument("next", "")
        try:
            with use_language(self.language()):
                self.client.sign_in(userid)
        except SandboxError as exc:
            self.refuse(str(exc))
            return
        if not target.startswith("/connect/oauth2/authorize?"):
            target = "/client/sent"
        self.redirect(target, status=303)


class ChatHandler(_Handler):
    """``/client/chat``: a member opens a chat with a customer, and its sidebar."""

    def get(self) -> None:
        arg = self.get_query_argument
        url = arg("url", "")
        try:
            with use_language(self.language()):
                self.client.open_chat(arg("userid", ""), arg("external_userid", ""), url)
        except SandboxError as exc:
            self.refuse(str(exc))
            return
        if url:
            self.redirect(url, status=302)
        else:
            self.set_header("Content-Type", "application/json; charset=UTF-8")
            self.finish(json.dumps(self.client.state, ensure_ascii=False))


class SentHandler(_Handler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps([asdict(m) for m in self.client.sent], ensure_ascii=False))


class _ShimApi(_Handler):
    """What the shim calls across origins: JSON in, JSON out, CORS allowed."""

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.set_header("Access-Control-Allow-Headers", "Content-Type")
        self.set_header("Access-Control-Max-Age", "600")
        self.set_header("Cache-Control", "no-store")

    def options(self) -> None:
        self.set_status(204)
        self.finish()

    def args(self) -> dict[str, Any] | None:
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        return body if isinstance(body, dict) else None

    def reply(self, data: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(data, ensure_ascii=False))


class VerifyHandler(_ShimApi):
    def post(self) -> None:
        args = self.args()
        self.reply(_refused("body is not a JSON object") if args is None
                   else self.client.verify(args))


class ContextHandler(_ShimApi):
    def get(self) -> None:
        api = self.get_query_argument("api", "getContext")
        self.reply(self.client.context(self.get_query_argument("session", ""), api))


class SendHandler(_ShimApi):
    def post(self) -> None:
        args = self.args()
        if args is None:
            self.reply(_refused("body is not a JSON object"))
            return
        self.reply(self.client.send(args.pop("session", None), args))


SHIM_JS = r"""/* WeCom JS-SDK for the WeCom sandbox: wx.config, wx.agentConfig, wx.ready, wx.error,
   wx.invoke (getContext, getCurExternalContact, sendChatMessage) and wx.checkJsApi,
   checked by the sandbox that serves this file. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src, location.href).origin : "";
  var APIS = __APIS__;
  var readyFns = [], errorFns = [], configResult = null, agent = null;

  function pageUrl() { return location.href.split("#")[0]; }
  function call(fn, arg) {
    if (typeof fn !== "function") { return; }
    try { fn(arg); } catch (e) { setTimeout(function () { throw e; }); }
  }
  function post(path, body) {
    return fetch(base + path, {method: "POST", body: JSON.stringify(body),
                               headers: {"Content-Type": "text/plain;charset=UTF-8"}})
      .then(function (r) { return r.json(); });
  }
  function get(path, params) {
    return fetch(base + path + "?" + new URLSearchParams(params).toString())
      .then(function (r) { return r.json(); });
  }
  function text(e) { return (e && e.message) || String(e); }

  var wx = {sandbox: true};
  wx.config = function (o) {
    o = o || {};
    configResult = null;
    post("/client/verify", {kind: "config", corpid: o.appId, timestamp: o.timestamp,
                            nonceStr: o.nonceStr, signature: o.signature, url: pageUrl(),
                            jsApiList: o.jsApiList || []})
      .then(function (res) {
        if (res.ok) {
          configResult = true;
          readyFns.splice(0).forEach(function (fn) { call(fn); });
        } else {
          configResult = {errMsg: "config:" + res.reason};
          errorFns.forEach(function (fn) { call(fn, configResult); });
        }
      }, function (e) {
        configResult = {errMsg: "config:fail " + text(e)};
        errorFns.forEach(function (fn) { call(fn, configResult); });
      });
  };
  wx.ready = function (fn) { if (configResult === true) { call(fn); } else { readyFns.push(fn); } };
  wx.error = function (fn) {
    errorFns.push(fn);
    if (configResult && configResult !== true) { call(fn, configResult); }
  };
  wx.agentConfig = function (o) {
    o = o || {};
    agent = null;
    post("/client/verify", {kind: "agent_config", corpid: o.corpid, agentid: o.agentid,
                            timestamp: o.timestamp, nonceStr: o.nonceStr,
                            signature: o.signature, url: pageUrl(),
                            jsApiList: o.jsApiList || []})
      .then(function (res) {
        if (res.ok) {
          agent = {session: res.session, apis: (o.jsApiList || []).slice()};
          call(o.success, {errMsg: "agentConfig:ok"});
        } else {
          call(o.fail, {errMsg: "agentConfig:fail " + res.reason});
        }
      }, function (e) { call(o.fail, {errMsg: "agentConfig:fail " + text(e)}); });
  };
  wx.invoke = function (name, params, cb) {
    if (typeof params === "function") { cb = params; params = {}; }
    params = params || {};
    function fail(reason) { call(cb, {err_msg: name + ":fail " + reason}); }
    if (!agent || agent.apis.indexOf(name) < 0) { fail("no permission"); return; }
    if (name === "getContext" || name === "getCurExternalContact") {
      get("/client/context", {session: agent.session, api: name}).then(function (res) {
        if (!res.ok) { fail(res.reason); return; }
        if (name === "getContext") {
          call(cb, {err_msg: "getContext:ok", entry: res.entry});
        } else if (res.entry !== "single_chat_tools") {
          fail("invalid entry");
        } else {
          call(cb, {err_msg: "getCurExternalContact:ok", userId: res.external_userid});
        }
      }, function (e) { fail(text(e)); });
    } else if (name === "sendChatMessage") {
      var body = {session: agent.session};
      Object.keys(params).forEach(function (k) { body[k] = params[k]; });
      post("/client/send", body).then(function (res) {
        if (res.ok) { call(cb, {err_msg: "sendChatMessage:ok"}); } else { fail(res.reason); }
      }, function (e) { fail(text(e)); });
    } else {
      fail("not supported");
    }
  };
  wx.checkJsApi = function (o) {
    o = o || {};
    var result = {};
    (o.jsApiList || []).forEach(function (n) { result[n] = APIS.indexOf(n) >= 0; });
    call(o.success, {checkResult: result, errMsg: "checkJsApi:ok"});
  };
  window.wx = window.jWeixin = wx;
})();
"""


class ShimHandler(_Handler):
    """``/jssdk/jweixin.js``: the JS-SDK as a sidebar page loads it."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/javascript; charset=UTF-8")
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Cache-Control", "no-store")
        self.finish(SHIM_JS.replace("__APIS__", json.dumps(list(SHIM_APIS))))


def client_routes(sandbox: Sandbox) -> list[tuple[str, type, dict]]:
    """URL rules of the simulated client, bound to ``sandbox``."""
    kwargs = {"sandbox": sandbox}
    return [(r"/connect/oauth2/authorize", AuthorizeHandler, kwargs),
            (r"/client/login", LoginHandler, kwargs),
            (r"/client/chat", ChatHandler, kwargs),
            (r"/client/sent", SentHandler, kwargs),
            (r"/client/verify", VerifyHandler, kwargs),
            (r"/client/context", ContextHandler, kwargs),
            (r"/client/send", SendHandler, kwargs),
            (r"/jssdk/jweixin\.js", ShimHandler, kwargs)]
