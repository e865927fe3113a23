"""What a chat-sidebar page needs from the WeCom sandbox, over real HTTP: JS-SDK tickets,
OAuth sign-in and getuserinfo, temporary media, the simulated client's chat and the shim's
verify/context/send calls."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from siyu.plugins.wecom.sandbox import Clock, Limits, Sandbox, SandboxError
from siyu.plugins.wecom.sandbox.client_app import js_signature

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
SIDEBAR = "http://127.0.0.1:9/sidebar?store=4"


class Api:
    """Calls below ``/cgi-bin/`` with an access token, and the client's own pages."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.base_url, timeout=10)
        self.refresh()

    def refresh(self) -> None:
        """A token valid now (the sandbox clock moves past their two hours)."""
        self.token = self.http.get("/cgi-bin/gettoken", params={
            "corpid": self.sandbox.corp_id,
            "corpsecret": self.sandbox.secret}).json()["access_token"]

    def get(self, path: str, **params) -> dict:
        return self.http.get(f"/cgi-bin/{path}",
                             params={"access_token": self.token, **params}).json()

    def upload(self, kind: str, filename: str, content: bytes,
               content_type: str = "image/png") -> dict:
        return self.http.post("/cgi-bin/media/upload",
                              params={"access_token": self.token, "type": kind},
                              files={"media": (filename, io.BytesIO(content),
                                               content_type)}).json()

    def authorize(self, **overrides) -> httpx.Response:
        params = {"appid": self.sandbox.corp_id, "redirect_uri": "http://127.0.0.1:9/sidebar",
                  "response_type": "code", "scope": "snsapi_base", "state": "s1",
                  "agentid": str(self.sandbox.world.corp.agent_id), **overrides}
        return self.http.get("/connect/oauth2/authorize?" + urlencode(params)
                             + "#wechat_redirect")

    def shim(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, path, **kwargs)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        return response.json()

    def verify(self, kind: str, url: str = SIDEBAR, *, ticket: str | None = None,
               **overrides) -> dict:
        ticket = ticket or (self.get("get_jsapi_ticket") if kind == "config"
                            else self.get("ticket/get", type="agent_config"))["ticket"]
        body = {"kind": kind, "corpid": self.sandbox.corp_id,
                "agentid": self.sandbox.world.corp.agent_id, "timestamp": 1767225600,
                "nonceStr": "n0nce", "url": url,
                "signature": js_signature(ticket, "n0nce", 1767225600, url),
                "jsApiList": ["getContext", "getCurExternalContact", "sendChatMessage"],
                **overrides}
        return self.shim("POST", "/client/verify", content=_json(body),
                         headers={"Content-Type": "text/plain;charset=UTF-8"})

    def send(self, session: str, **message) -> dict:
        return self.shim("POST", "/client/send", content=_json({"session": session,
                                                               **message}))


def _json(data: dict) -> bytes:
    import json

    return json.dumps(data).encode()


@pytest.fixture
def sandbox():
    limits = Limits(jsapi_ticket_per_hour=5, agent_ticket_per_hour=3)
    with Sandbox(seed=7, clock=Clock.frozen(START), limits=limits) as sandbox:
        yield sandbox


@pytest.fixture
def api(sandbox):
    api = Api(sandbox)
    yield api
    api.http.close()


def _customer(sandbox: Sandbox, userid: str = "zhangsan") -> str:
    return sandbox.world.customers_of(userid)[0]


# -- tickets ---------------------------------------------------------------------------------

def test_tickets_are_stable_while_valid_and_differ_between_corp_and_app(api, sandbox):
    first = api.get("get_jsapi_ticket")
    assert first["errcode"] == 0 and first["expires_in"] == 7200
    sandbox.clock.advance(600)
    again = api.get("get_jsapi_ticket")
    assert again["ticket"] == first["ticket"] and again["expires_in"] == 6600
    agent = api.get("ticket/get", type="agent_config")
    assert agent["errcode"] == 0 and agent["ticket"] != first["ticket"]
    sandbox.clock.advance(7200)
    api.refresh()
    assert api.get("get_jsapi_ticket")["ticket"] != first["ticket"]


def test_ticket_get_knows_agent_config_only(api):
    assert api.get("ticket/get", type="jsapi")["errcode"] == 40058
    assert api.get("ticket/get")["errcode"] == 40058


def test_tickets_are_limited_per_hour_then_blocked_for_an_hour(api, sandbox):
    assert all(api.get("get_jsapi_ticket")["errcode"] == 0 for _ in range(5))
    assert api.get("get_jsapi_ticket")["errcode"] == 45009
    assert [api.get("ticket/get", type="agent_config")["errcode"] for _ in range(4)] == [
        0, 0, 0, 45009]
    sandbox.clock.advance(1800)  # a new hour has begun, the block has not ended
    assert api.get("get_jsapi_ticket")["errcode"] == 45009
    sandbox.clock.advance(1800)
    assert api.get("get_jsapi_ticket")["errcode"] == 0


def test_a_bad_token_is_refused_before_the_ticket(api):
    api.token = "nope"
    assert api.get("get_jsapi_ticket")["errcode"] == 40014


# -- OAuth -----------------------------------------------------------------------------------

def test_authorize_redirects_with_a_code_getuserinfo_spends_once(api, sandbox):
    sandbox.client.sign_in("zhangsan")
    response = api.authorize(redirect_uri="http://127.0.0.1:9/sidebar?x=1")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    query = parse_qs(target.query)
    assert target.path == "/sidebar" and query["x"] == ["1"] and query["state"] == ["s1"]
    code = query["code"][0]
    answer = api.get("auth/getuserinfo", code=code)
    assert answer["errcode"] == 0 and answer["userid"] == "zhangsan"
    assert "user_ticket" not in answer and "openid" not in answer
    assert api.get("auth/getuserinfo", code=code)["errcode"] == 40029
    assert api.get("auth/getuserinfo", code="made-up")["errcode"] == 40029
    assert api.get("auth/getuserinfo")["errcode"] == 41008


def test_codes_expire_after_five_minutes_on_the_sandbox_clock(api, sandbox):
    late, in_time = sandbox.client.issue_code("lisi"), sandbox.client.issue_code("lisi")
    sandbox.clock.advance(299)
    assert api.get("auth/getuserinfo", code=in_time)["userid"] == "lisi"
    sandbox.clock.advance(1)
    assert api.get("auth/getuserinfo", code=late)["errcode"] == 40029


def test_privateinfo_gives_a_user_ticket_and_non_members_an_openid(api, sandbox):
    code = sandbox.client.issue_code("zhangsan", scope="snsapi_privateinfo")
    answer = api.get("auth/getuserinfo", code=code)
    assert answer["user_ticket"] and answer["expires_in"] == 1800
    customer = sandbox.world.customers[_customer(sandbox)]
    answer = api.get("auth/getuserinfo",
                     code=sandbox.client.issue_code(external_userid=customer.external_userid))
    assert answer == {"errcode": 0, "errmsg": "ok", "openid": customer.openid,
                      "external_userid": customer.external_userid}
    answer = api.get("auth/getuserinfo", code=sandbox.client.issue_code(openid="oStranger"))
    assert answer["openid"] == "oStranger" and "userid" not in answer


@pytest.mark.parametrize("overrides", [
    {"appid": "wwSomebodyElse"}, {"redirect_uri": "javascript:alert(1)"},
    {"response_type": "token"}, {"scope": "snsapi_userinfo"}, {"agentid": "42"},
    {"scope": "snsapi_privateinfo", "agentid": ""}, {"state": "a&b"}])
def test_authorize_refuses_what_wecom_refuses(api, sandbox, overrides):
    sandbox.client.sign_in("zhangsan")
    response = api.authorize(**overrides)
    assert response.status_code == 400 and "code=" not in response.headers.get("Location", "")
    assert "<script" not in response.text


def test_nobody_signed_in_shows_the_member_picker_then_redirects(api, sandbox):
    sandbox.world.staff["lisi"].name = "<b>李四</b>"
    page = api.authorize()
    assert page.status_code == 200 and 'action="/client/login"' in page.text
    assert "&lt;b&gt;李四&lt;/b&gt;" in page.text and "<b>李四" not in page.text
    assert "zhouba" not in page.text  # left the corp
    next_url = page.text.split('name="next" value="')[1].split('"')[0].replace("&amp;", "&")
    login = api.http.post("/client/login", data={"userid": "lisi", "next": next_url})
    assert login.status_code == 303 and login.headers["Location"] == next_url
    redirected = api.http.get(next_url)
    code = parse_qs(urlsplit(redirected.headers["Location"]).query)["code"][0]
    assert api.get("auth/getuserinfo", code=code)["userid"] == "lisi"
    assert api.http.post("/client/login", data={"userid": "zhouba"}).status_code == 400


# -- the simulated client's chat -------------------------------------------------------------

def test_client_chat_opens_the_sidebar_of_a_customer_chat(api, sandbox):
    customer = _customer(sandbox)
    response = api.http.get("/client/chat", params={
        "userid": "zhangsan", "external_userid": customer, "url": SIDEBAR})
    assert response.status_code == 302 and response.headers["Location"] == SIDEBAR
    assert sandbox.client.state == {"userid": "zhangsan", "external_userid": customer,
                                    "entry": "single_chat_tools", "url": SIDEBAR}
    link = sandbox.client.open_chat("zhangsan", customer, SIDEBAR)
    assert link.startswith(sandbox.base_url + "/client/chat?")


def test_client_chat_refuses_strangers_and_other_members_customers(api, sandbox):
    stranger = sandbox.world.new_customer("路人").external_userid
    for params in ({"userid": "nobody", "external_userid": _customer(sandbox)},
                   {"userid": "zhangsan", "external_userid": stranger},
                   {"userid": "zhaoliu", "external_userid": _customer(sandbox)},
                   {"userid": "zhangsan", "external_userid": _customer(sandbox),
                    "url": "javascript:alert(1)"}):
        response = api.http.get("/client/chat", params=params)
        assert response.status_code == 400, params
        assert "Location" not in response.headers
    with pytest.raises(SandboxError):
        sandbox.client.open_chat("zhangsan", stranger)
    assert sandbox.client.state["entry"] == "normal"


# -- the shim's calls ------------------------------------------------------------------------

def test_verify_accepts_correct_signatures_and_refuses_wrong_ones(api, sandbox):
    corp_ticket = api.get("get_jsapi_ticket")["ticket"]
    app_ticket = api.get("ticket/get", type="agent_config")["ticket"]
    assert api.verify("config", ticket=corp_ticket) == {"ok": True}
    agent = api.verify("agent_config", ticket=app_ticket)
    assert agent["ok"] and agent["session"]
    assert api.verify("agent_config", ticket=corp_ticket) == {
        "ok": False, "reason": "invalid signature"}  # agentConfig needs the app's ticket
    signed = js_signature(corp_ticket, "n0nce", 1767225600, SIDEBAR)
    assert api.verify("config", url=SIDEBAR + "&other=1", signature=signed)["reason"] == (
        "invalid signature")  # signed for another page
    assert not api.verify("config", url=SIDEBAR + "#top", ticket=corp_ticket)["ok"]
    assert api.verify("config", ticket=corp_ticket, corpid="wwOther")["reason"] == (
        "invalid corpid")
    assert api.verify("agent_config", ticket=app_ticket, agentid=1)["reason"] == (
        "invalid agentid")
    sandbox.clock.advance(7200)  # the ticket expired: its signatures no longer pass
    assert api.verify("config", ticket=corp_ticket)["reason"] == "invalid signature"


def test_signature_is_sha1_of_the_documented_string():
    plain = ("jsapi_ticket=sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl"
             "-HhTdfl2fzFy1AOcHKP7qg&noncestr=Wm3WZYTPz0wzccnW&timestamp=1414587457"
             "&url=http://mp.weixin.qq.com?params=value")
    assert js_signature("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl"
                        "-HhTdfl2fzFy1AOcHKP7qg", "Wm3WZYTPz0wzccnW", "1414587457",
                        "http://mp.weixin.qq.com?params=value") == hashlib.sha1(
        plain.encode()).hexdigest() == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_context_names_the_open_chat_only_after_agent_config(api, sandbox):
    assert api.shim("GET", "/client/context", params={"session": "forged"}) == {
        "ok": False, "reason": "no permission"}
    session = api.verify("agent_config", jsApiList=["getContext"])["session"]
    assert api.shim("GET", "/client/context", params={"session": session})["entry"] == (
        "normal")
    assert api.shim("GET", "/client/context", params={
        "session": session, "api": "getCurExternalContact"})["reason"] == "no permission"
    customer = _customer(sandbox)
    sandbox.client.open_chat("zhangsan", customer, SIDEBAR)
    context = api.shim("GET", "/client/context", params={"session": session})
    assert context == {"ok": True, "entry": "single_chat_tools", "userid": "zhangsan",
                       "external_userid": customer}


def test_send_records_text_and_image_and_refuses_bad_media(api, sandbox):
    customer = _customer(sandbox)
    session = api.verify("agent_config")["session"]
    assert api.send(session, msgtype="text", text={"content": "hi"})["reason"] == (
        "invalid entry")  # no chat open
    sandbox.client.open_chat("zhangsan", customer, SIDEBAR)
    assert api.send(session, msgtype="text", enterChat=False,
                    text={"content": "您好，这是本周新品"}) == {"ok": True}
    media_id = api.upload("image", "new.png", PNG)["media_id"]
    assert api.send(session, msgtype="image", image={"mediaid": media_id}) == {"ok": True}
    assert api.send(session, msgtype="image", image={"mediaid": "unknown"})["reason"] == (
        "invalid mediaid")
    assert api.send(session, msgtype="text", text={"content": " "})["reason"] == (
        "text.content is empty")
    assert api.send(session, msgtype="voice", voice={"mediaid": media_id})["reason"] == (
        "invalid msgtype")
    assert api.send("forged", msgtype="text", text={"content": "x"})["reason"] == (
        "no permission")
    sandbox.clock.advance(3 * 86400)
    api.refresh()
    assert api.send(session, msgtype="image", image={"mediaid": media_id})["reason"] == (
        "invalid mediaid")  # temporary media lives three days
    sent = sandbox.client.sent
    assert [(m.userid, m.external_userid, m.msgtype, m.content, m.media_id) for m in sent] == [
        ("zhangsan", customer, "text", "您好，这是本周新品", ""),
        ("zhangsan", customer, "image", "", media_id)]
    assert sent[0].time == int(START)
    assert sandbox.world.customers[customer].follows["zhangsan"].chat_started
    assert api.http.get("/client/sent").json()[1]["media_id"] == media_id


def test_shim_endpoints_answer_cors_preflight_and_serve_the_script(api):
    preflight = api.http.options("/client/send", headers={
        "Origin": "http://127.0.0.1:9", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    script = api.http.get("/jssdk/jweixin.js")
    assert script.headers["Content-Type"].startswith("application/javascript")
    for name in ("wx.config", "wx.agentConfig", "wx.ready", "wx.error", "wx.invoke",
                 "wx.checkJsApi"):
        assert name in script.text


# -- media -----------------------------------------------------------------------------------

def test_upload_answers_a_media_id_and_media_get_serves_it_for_three_days(api, sandbox):
    answer = api.upload("image", "商品.jpg", JPG, "image/jpeg")
    assert answer["errcode"] == 0 and answer["type"] == "image"
    assert answer["created_at"] == str(int(START))
    got = api.http.get("/cgi-bin/media/get",
                       params={"access_token": api.token, "media_id": answer["media_id"]})
    assert got.content == JPG and got.headers["Content-Type"] == "image/jpeg"
    sandbox.clock.advance(3 * 86400)
    api.refresh()
    assert api.get("media/get", media_id=answer["media_id"])["errcode"] == 40007


def test_upload_limits(api):
    assert api.upload("image", "a.gif", b"GIF89a" + b"\x00" * 40)["errcode"] == 40004
    assert api.upload("sticker", "a.png", PNG)["errcode"] == 40004
    assert api.upload("image", "a.png", b"")["errcode"] == 44001
    assert api.upload("image", "a.png", b"\x89PNG")["errcode"] == 40006
    big = PNG + b"\x00" * (10 * 1024 * 1024 - len(PNG) + 1)
    assert api.upload("image", "a.png", big)["errcode"] == 40009
    assert api.upload("file", "a.pdf", b"%PDF-1.4 hello", "application/pdf")["errcode"] == 0
    no_part = api.http.post("/cgi-bin/media/upload",
                            params={"access_token": api.token, "type": "image"},
                            files={"other": ("a.png", PNG, "image/png")}).json()
    assert no_part["errcode"] == 41005


def test_json_endpoints_still_answer_json_errors(api):
    response = api.http.post("/cgi-bin/externalcontact/get_contact_way",
                             params={"access_token": api.token}, content=b"{oops")
    assert response.json()["errcode"] == 47001
