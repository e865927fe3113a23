"""The sandbox's JS-SDK shim in real Chromium: a sidebar page on another port loads it, is
configured with signatures the test computes, and reads the chat's customer and sends into
the chat exactly as it would inside WeCom."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from siyu.plugins.wecom.sandbox import Sandbox
from siyu.plugins.wecom.sandbox.client_app import js_signature

from .conftest import wait_until

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="{shim}"></script></head><body><pre id="log"></pre><script>
window.results = {{}};
function note(key, value) {{ window.results[key] = value; }}
wx.invoke("getCurExternalContact", {{}}, function (res) {{ note("early", res.err_msg); }});
</script></body></html>"""

CONFIGURE = """([signed, apis]) => new Promise((done) => {
  wx.agentConfig({corpid: signed.corpid, agentid: signed.agentid, timestamp: signed.timestamp,
                  nonceStr: signed.nonceStr, signature: signed.signature, jsApiList: apis,
                  success: (res) => done(res.errMsg), fail: (res) => done(res.errMsg)});
})"""

INVOKE = """([name, params]) => new Promise((done) => wx.invoke(name, params, done))"""


class _Pages(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        return


@pytest.fixture
def sidebar_site():
    """A second local server that serves the sidebar page (another origin than the
    sandbox)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_shim_reads_the_customer_and_sends_into_the_chat(page, sidebar_site):
    with Sandbox(seed=7) as sandbox, httpx.Client(base_url=sandbox.base_url) as http:
        _Pages.body = PAGE.format(shim=f"{sandbox.base_url}/jssdk/jweixin.js").encode()
        url = f"http://127.0.0.1:{sidebar_site.server_address[1]}/sidebar?store=4"
        customer = sandbox.world.customers_of("zhangsan")[0]
        page.goto(sandbox.client.open_chat("zhangsan", customer, url))
        assert page.url == url
        wait_until(lambda: page.evaluate("window.results.early"), page=page)
        assert page.evaluate("window.results.early") == "getCurExternalContact:fail no permission"

        token = http.get("/cgi-bin/gettoken", params={
            "corpid": sandbox.corp_id, "corpsecret": sandbox.secret}).json()["access_token"]
        ticket = http.get("/cgi-bin/ticket/get", params={
            "access_token": token, "type": "agent_config"}).json()["ticket"]
        apis = ["getContext", "getCurExternalContact", "sendChatMessage"]

        def signed(page_url: str) -> dict:
            return {"corpid": sandbox.corp_id, "agentid": sandbox.world.corp.agent_id,
                    "timestamp": 1767225600, "nonceStr": "n0nce",
                    "signature": js_signature(ticket, "n0nce", 1767225600, page_url)}

        # signed for another address: agentConfig fails, invoke keeps failing
        assert page.evaluate(CONFIGURE, [signed(url + "&x=1"), apis]) == (
            "agentConfig:fail invalid signature")
        assert page.evaluate(INVOKE, ["getContext", {}])["err_msg"] == (
            "getContext:fail no permission")

        assert page.evaluate(CONFIGURE, [signed(url), apis]) == "agentConfig:ok"
        assert page.evaluate(INVOKE, ["getContext", {}]) == {
            "err_msg": "getContext:ok", "entry": "single_chat_tools"}
        assert page.evaluate(INVOKE, ["getCurExternalContact", {}]) == {
            "err_msg": "getCurExternalContact:ok", "userId": customer}
        sent = page.evaluate(INVOKE, ["sendChatMessage", {
            "msgtype": "text", "enterChat": False, "text": {"content": "新品到店 <b>"}}])
        assert sent == {"err_msg": "sendChatMessage:ok"}
        refused = page.evaluate(INVOKE, ["sendChatMessage", {
            "msgtype": "image", "image": {"mediaid": "unknown"}}])
        assert refused == {"err_msg": "sendChatMessage:fail invalid mediaid"}
        assert [(m.userid, m.external_userid, m.content) for m in sandbox.client.sent] == [
            ("zhangsan", customer, "新品到店 <b>")]

        # a fragment is not part of the signed address
        page.goto(url + "#tab2")
        assert page.evaluate(CONFIGURE, [signed(url), apis]) == "agentConfig:ok"
        checked = page.evaluate("""() => new Promise((done) => wx.checkJsApi({
            jsApiList: ['getCurExternalContact', 'openEnterpriseChat'], success: done}))""")
        assert checked["checkResult"] == {"getCurExternalContact": True,
                                          "openEnterpriseChat": False}
        assert json.loads(http.get("/client/sent").text)[0]["msgtype"] == "text"
