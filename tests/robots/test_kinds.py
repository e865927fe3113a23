"""Robot kinds: each provider's JSON body, signature and answers, and their limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from siyu.core.errors import ValidationError
from siyu.plugins.robots.kinds import KINDS, RobotKind, get_kind, register_kind


def body_of(kind: str, text: str, **kwargs) -> dict:
    _url, content = KINDS[kind].request(text, url="https://example.com/hook", **kwargs)
    return json.loads(content)


def test_the_built_in_kinds():
    assert {"wecom", "feishu", "dingtalk"} <= set(KINDS)
    assert (KINDS["wecom"].per_minute, KINDS["dingtalk"].per_minute) == (20, 20)
    assert get_kind(" WeCom ") is KINDS["wecom"]
    with pytest.raises(ValidationError, match="unknown robot kind 'slack'; choose one of"):
        get_kind("slack")


def test_wecom_text_and_markdown():
    assert body_of("wecom", "你好") == {"msgtype": "text", "text": {"content": "你好"}}
    assert body_of("wecom", "**hi**", markdown=True) == {
        "msgtype": "markdown", "markdown": {"content": "**hi**"}}


def test_wecom_text_is_at_most_2048_bytes():
    KINDS["wecom"].request("字" * 682 + "ab", url="https://x.test/")  # 2048 bytes
    with pytest.raises(ValidationError, match="the text has 2049 bytes; a WeCom robot takes "
                                              "at most 2048 bytes"):
        KINDS["wecom"].request("字" * 683, url="https://x.test/")
    KINDS["wecom"].request("字" * 1365, url="https://x.test/", markdown=True)  # 4095 bytes


def test_a_robot_sends_text_only():
    with pytest.raises(ValidationError, match="text only; this message has 1 attachment"):
        KINDS["wecom"].request("hi", attachments=({"msgtype": "image"},))
    with pytest.raises(ValidationError, match="the text is empty"):
        KINDS["feishu"].request("  \n")


def test_wecom_is_not_signed():
    assert not KINDS["wecom"].signs


def test_feishu_text_card_and_signature():
    assert body_of("feishu", "hi") == {"msg_type": "text", "content": {"text": "hi"}}
    card = body_of("feishu", "**hi**", markdown=True, subject="日报")
    assert card == {"msg_type": "interactive", "card": {
        "elements": [{"tag": "markdown", "content": "**hi**"}],
        "header": {"title": {"tag": "plain_text", "content": "日报"}}}}
    signed = body_of("feishu", "hi", secret="SECabc", now=1700000000.7)
    # Feishu's documented algorithm: HMAC-SHA256 keyed "timestamp\nsecret" over nothing.
    expected = base64.b64encode(hmac.new(b"1700000000\nSECabc", b"",
                                         hashlib.sha256).digest()).decode()
    assert signed == {"timestamp": "1700000000", "sign": expected, "msg_type": "text",
                      "content": {"text": "hi"}}


def test_feishu_bodies_are_at_most_20_kb():
    with pytest.raises(ValidationError, match="bytes of JSON; a Feishu robot takes at most "
                                              "20480 bytes"):
        KINDS["feishu"].request("字" * 7000)


def test_dingtalk_text_markdown_and_signature():
    assert body_of("dingtalk", "hi") == {"msgtype": "text", "text": {"content": "hi"}}
    assert body_of("dingtalk", "## 日报\n- ok", markdown=True) == {
        "msgtype": "markdown", "markdown": {"title": "日报", "text": "## 日报\n- ok"}}
    url, _content = KINDS["dingtalk"].request(
        "hi", url="https://oapi.dingtalk.com/robot/send?access_token=T", secret="SECxyz",
        now=1700000000.5)
    query = parse_qs(urlsplit(url).query)
    # DingTalk's documented algorithm: HMAC-SHA256 keyed with the secret over
    # "timestamp\nsecret", timestamp in milliseconds, Base64 then URL-encoded.
    expected = base64.b64encode(hmac.new(b"SECxyz", b"1700000000500\nSECxyz",
                                         hashlib.sha256).digest()).decode()
    assert query == {"access_token": ["T"], "timestamp": ["1700000000500"], "sign": [expected]}


@pytest.mark.parametrize(("kind", "answer", "read"), [
    ("wecom", {"errcode": 0, "errmsg": "ok"}, (0, "ok")),
    ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"},
     (45009, "api freq out of limit")),
    ("feishu", {"code": 19021, "msg": "sign match fail"}, (19021, "sign match fail")),
    ("feishu", {"StatusCode": 0, "StatusMessage": "success"}, (0, "success")),
    ("dingtalk", {"errcode": 310000, "errmsg": "keywords not in content"},
     (310000, "keywords not in content")),
    ("wecom", {"unexpected": True}, (None, "")),
])
def test_answers_are_read(kind, answer, read):
    assert KINDS[kind].answer(answer) == read


def test_another_plugin_adds_a_kind():
    class Echo(RobotKind):
        name, title, per_minute = "echo-test", "Echo", 5

        def body(self, text, *, markdown=False, subject=""):
            return {"say": text}

        def answer(self, data):
            return (0, "ok")

    try:
        register_kind(Echo())
        assert body_of("echo-test", "hi") == {"say": "hi"}
        with pytest.raises(ValidationError, match="registered already"):
            register_kind(type("Other", (Echo,), {})())
        with pytest.raises(ValidationError, match="lowercase name"):
            register_kind(type("Bad", (Echo,), {"name": "Bad"})())
    finally:
        KINDS.pop("echo-test", None)
