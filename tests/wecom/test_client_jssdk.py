"""siyu's WeCom client for sidebar pages, against a running sandbox: JS-SDK tickets, OAuth
getuserinfo and temporary media upload."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from siyu.core.errors import ValidationError
from siyu.plugins.wecom.client import WeComClient
from siyu.plugins.wecom.errors import WeComError
from siyu.plugins.wecom.sandbox import Clock, Limits, Sandbox
from siyu.plugins.wecom.sandbox.client_app import js_signature

START = 1_767_225_600.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def sandbox():
    limits = Limits(jsapi_ticket_per_hour=2, agent_ticket_per_hour=2)
    with Sandbox(seed=7, clock=Clock.frozen(START), limits=limits) as sandbox:
        yield sandbox


@pytest.fixture
def client(sandbox):
    delays: list[float] = []
    with WeComClient(sandbox.corp_id, sandbox.secret, base_url=sandbox.base_url,
                     sleep=delays.append) as client:
        client.delays = delays
        yield client


def test_tickets_sign_what_the_sandbox_verifies(client, sandbox):
    corp, app = client.get_jsapi_ticket(), client.get_agent_ticket()
    assert corp["expires_in"] == app["expires_in"] == 7200
    assert corp["ticket"] != app["ticket"]
    assert client.get_jsapi_ticket()["ticket"] == corp["ticket"]
    url = "http://127.0.0.1:9/sidebar"
    answer = sandbox.client.verify({
        "kind": "agent_config", "corpid": sandbox.corp_id,
        "agentid": sandbox.world.corp.agent_id, "timestamp": "1767225600",
        "nonceStr": "abc", "url": url,
        "signature": js_signature(app["ticket"], "abc", "1767225600", url),
        "jsApiList": ["getContext"]})
    assert answer["ok"]


def test_a_ticket_limit_is_45009_after_the_retries(client, caplog):
    client.get_jsapi_ticket()
    client.get_jsapi_ticket()
    with caplog.at_level(logging.WARNING), pytest.raises(WeComError) as caught:
        client.get_jsapi_ticket()
    assert caught.value.errcode == 45009
    assert len(client.delays) == client.max_retries  # backed off, as for every 45009


def test_get_user_info_spends_the_code_of_the_oauth_redirect(client, sandbox):
    sandbox.client.sign_in("zhangsan")
    query = urlencode({"appid": sandbox.corp_id, "redirect_uri": "http://127.0.0.1:9/s",
                       "response_type": "code", "scope": "snsapi_base", "state": "x",
                       "agentid": sandbox.world.corp.agent_id})
    location = httpx.get(f"{sandbox.base_url}/connect/oauth2/authorize?{query}").headers[
        "Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    assert client.get_user_info(code)["userid"] == "zhangsan"
    with pytest.raises(WeComError) as caught:
        client.get_user_info(code)
    assert caught.value.errcode == 40029
    assert client.delays == []  # never retried: a code works once
    with pytest.raises(ValidationError):
        client.get_user_info("")


def test_upload_media_posts_multipart_and_checks_limits_first(client, sandbox):
    answer = client.upload_media("image", "新品.png", PNG)
    assert answer["type"] == "image" and answer["created_at"] == str(int(START))
    media = sandbox.world.media[answer["media_id"]]
    assert media.filename == "新品.png" and media.content_type == "image/png"
    assert media.content == PNG
    with pytest.raises(WeComError) as caught:
        client.upload_media("image", "a.gif", b"GIF89a" + b"\x00" * 30)
    assert caught.value.errcode == 40004
    for kind, content in (("sticker", PNG), ("image", b"abc"),
                          ("image", b"\x00" * (10 * 1024 * 1024 + 1))):
        with pytest.raises(ValidationError):
            client.upload_media(kind, "a.png", content)
    assert client.upload_media("file", "价目表.pdf", b"%PDF-1.4 ...")["type"] == "file"


def test_a_revoked_token_is_refreshed_for_an_upload(client, sandbox):
    client.upload_media("image", "a.png", PNG)
    sandbox.faults.revoke_tokens()
    assert client.upload_media("image", "b.png", PNG)["media_id"]
    assert client.token_fetches == 2
