"""Robot kinds: how each provider's group robot wants its JSON, and what its answer means.

A kind builds the request body from the text (plain or Markdown), signs the request when the
robot has a secret, and reads the provider's answer into ``(code, message)``, ``0`` meaning
accepted. The built-in kinds are ``wecom`` (企业微信群机器人), ``feishu`` (飞书自定义机器人) and
``dingtalk`` (钉钉自定义机器人); another plugin adds one with :func:`register_kind`::

    from siyu.plugins.robots.kinds import RobotKind, register_kind

    class Slack(RobotKind):
        name, title, per_minute = "slack", "Slack incoming webhook", 60

        def body(self, text, *, markdown=False, subject=""):
            return {"text": text}

        def answer(self, data):
            return (0, "ok")  # Slack answers plain text "ok"; HTTP status tells the rest

    register_kind(Slack())
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from siyu.core.errors import ValidationError, listing
from siyu.core.i18n import translator

_ = translator("siyu.plugins.robots")

__all__ = ["DingTalk", "Feishu", "KINDS", "RobotKind", "WeCom", "get_kind", "register_kind"]


class RobotKind:
    """A provider's group robot. Subclass it, set the attributes, override :meth:`body` and
    :meth:`answer` (and :meth:`sign` when the provider signs requests).

    :cvar name: the kind's name (``--kind``), lowercase.
    :cvar title: what people call it.
    :cvar per_minute: most messages one robot accepts per minute (siyu keeps under it).
    :cvar text_limit: most bytes (UTF-8) of a plain text; ``None``: no limit of its own.
    :cvar markdown_limit: most bytes of a Markdown text; ``None``: no limit of its own.
    :cvar max_body: most bytes of the whole JSON body; ``None``: no limit.
    :cvar rate_limited: the answer codes that mean "too many messages, try later".
    :cvar signs: whether robots of this kind may have a signing secret.
    """

    name: str = ""
    title: Any = ""
    per_minute: int = 20
    text_limit: int | None = None
    markdown_limit: int | None = None
    max_body: int | None = None
    rate_limited: frozenset[int] = frozenset()
    signs: bool = False

    def body(self, text: str, *, markdown: bool = False, subject: str = "") -> dict[str, Any]:
        """The JSON body that posts ``text`` (Markdown when ``markdown``); ``subject`` is a
        title for the formats that have one."""
        raise NotImplementedError

    def sign(self, url: str, body: dict[str, Any], secret: str, now: float
             ) -> tuple[str, dict[str, Any]]:
        """The URL and body of a request signed with ``secret`` at unix time ``now``."""
        return url, body

    def answer(self, data: dict[str, Any]) -> tuple[int | None, str]:
        """``(code, message)`` of the provider's JSON answer: ``0`` when it accepted the
        message, ``None`` when the answer is not one of its answers."""
        raise NotImplementedError

    def request(self, text: str, *, markdown: bool = False, subject: str = "",
                attachments: tuple | list = (), url: str = "", secret: str | None = None,
                now: float = 0.0) -> tuple[str, bytes]:
        """The URL and body bytes of one message, checked against the kind's limits.

        :raises ValidationError: no text, attachments (robots send text only), or a text or
            body over the provider's limit.
        """
        if attachments:
            raise ValidationError(_("group robots send text only; this message has "
                                    "{n} attachment(s)", n=len(attachments)))
        if not text.strip():
            raise ValidationError(_("nothing to send: the text is empty"))
        limit = self.markdown_limit if markdown else self.text_limit
        size = len(text.encode("utf-8"))
        if limit is not None and size > limit:
            raise ValidationError(_("the text has {size} bytes; a {kind} robot takes at most "
                                    "{limit} bytes", size=size, kind=self.title, limit=limit))
        body = self.body(text, markdown=markdown, subject=subject)
        if secret:
            url, body = self.sign(url, body, secret, now)
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if self.max_body is not None and len(content) > self.max_body:
            raise ValidationError(_("the message is {size} bytes of JSON; a {kind} robot takes "
                                    "at most {limit} bytes", size=len(content),
                                    kind=self.title, limit=self.max_body))
        return url, content


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class WeCom(RobotKind):
    """企业微信群机器人: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``.

    Text up to 2048 bytes, Markdown up to 4096; 20 messages per robot per minute (errcode
    45009 beyond); answers ``{"errcode": 0, "errmsg": "ok"}``. The key in the URL is the
    credential: WeCom robots are not signed.
    """

    name = "wecom"
    title = _.lazy("WeCom")
    per_minute = 20
    text_limit = 2048
    markdown_limit = 4096
    rate_limited = frozenset({45009})

    def body(self, text: str, *, markdown: bool = False, subject: str = "") -> dict[str, Any]:
        if markdown:
            return {"msgtype": "markdown", "markdown": {"content": text}}
        return {"msgtype": "text", "text": {"content": text}}

    def answer(self, data: dict[str, Any]) -> tuple[int | None, str]:
        return _int(data.get("errcode")), str(data.get("errmsg") or "")


class Feishu(RobotKind):
    """飞书自定义机器人: ``POST https://open.feishu.cn/open-apis/bot/v2/hook/…``.

    Text is ``{"msg_type": "text", "content": {"text": …}}``; Markdown goes as a message card
    with one ``markdown`` element (and the subject as the card's title). Signed robots carry
    ``timestamp`` (seconds) and ``sign`` in the body: Base64 of HMAC-SHA256 keyed with
    ``"<timestamp>\\n<secret>"`` over an empty message. The body may have 20 KB; 100 messages a
    minute (and 5 a second) per robot, code 11232 beyond. Answers ``{"code": 0, "msg":
    "success"}`` (older robots: ``StatusCode`` / ``StatusMessage``).
    """

    name = "feishu"
    title = _.lazy("Feishu")
    per_minute = 100
    max_body = 20 * 1024
    rate_limited = frozenset({11232})
    signs = True

    def body(self, text: str, *, markdown: bool = False, subject: str = "") -> dict[str, Any]:
        if not markdown:
            return {"msg_type": "text", "content": {"text": text}}
        card: dict[str, Any] = {"elements": [{"tag": "markdown", "content": text}]}
        if subject:
            card["header"] = {"title": {"tag": "plain_text", "content": subject}}
        return {"msg_type": "interactive", "card": card}

    def sign(self, url: str, body: dict[str, Any], secret: str, now: float
             ) -> tuple[str, dict[str, Any]]:
        timestamp = str(int(now))
        key = f"{timestamp}\n{secret}".encode()
        sign = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return url, {"timestamp": timestamp, "sign": sign, **body}

    def answer(self, data: dict[str, Any]) -> tuple[int | None, str]:
        if "code" in data:
            return _int(data.get("code")), str(data.get("msg") or "")
        return _int(data.get("StatusCode")), str(data.get("StatusMessage") or "")


class DingTalk(RobotKind):
    """钉钉自定义机器人: ``POST https://oapi.dingtalk.com/robot/send?access_token=…``.

    Text is ``{"msgtype": "text", "text": {"content": …}}``; Markdown ``{"msgtype":
    "markdown", "markdown": {"title": …, "text": …}}`` (the title is the subject, else the first
    line). Signed robots carry ``timestamp`` (milliseconds) and ``sign`` in the URL: Base64 of
    HMAC-SHA256 keyed with the secret over ``"<timestamp>\\n<secret>"``. 20 messages per robot
    per minute (errcode 410100 beyond, and the robot is throttled for 10 minutes); answers
    ``{"errcode": 0, "errmsg": "ok"}``.
    """

    name = "dingtalk"
    title = _.lazy("DingTalk")
    per_minute = 20
    text_limit = 20_000
    markdown_limit = 20_000
    rate_limited = frozenset({410100, 130101})
    signs = True

    def body(self, text: str, *, markdown: bool = False, subject: str = "") -> dict[str, Any]:
        if not markdown:
            return {"msgtype": "text", "text": {"content": text}}
        title = subject or text.strip().splitlines()[0].lstrip("# ").strip()
        return {"msgtype": "markdown", "markdown": {"title": title[:64], "text": text}}

    def sign(self, url: str, body: dict[str, Any], secret: str, now: float
             ) -> tuple[str, dict[str, Any]]:
        timestamp = str(int(now * 1000))
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                          hashlib.sha256).digest()
        signed = httpx.URL(url).copy_merge_params(
            {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()})
        return str(signed), body

    def answer(self, data: dict[str, Any]) -> tuple[int | None, str]:
        return _int(data.get("errcode")), str(data.get("errmsg") or "")


#: The registered kinds by name.
KINDS: dict[str, RobotKind] = {}


def register_kind(kind: RobotKind) -> RobotKind:
    """Make ``kind`` available to ``add_robot(..., kind=kind.name)``; returns it.

    :raises ValidationError: the name is empty or taken by another kind.
    """
    name = str(kind.name or "").strip()
    if not name or name != name.lower() or len(name) > 20:
        raise ValidationError(_("a robot kind needs a lowercase name of at most 20 "
                                "characters, not {name!r}", name=kind.name))
    known = KINDS.get(name)
    if known is not None and type(known) is not type(kind):
        raise ValidationError(_("robot kind {name!r} is registered already", name=name))
    KINDS[name] = kind
    return kind


def get_kind(name: str) -> RobotKind:
    """The kind called ``name``.

    :raises ValidationError: no such kind (naming the known ones).
    """
    kind = KINDS.get(str(name).strip().lower())
    if kind is None:
        raise ValidationError(_("unknown robot kind {kind!r}; choose one of {kinds}",
                                kind=name, kinds=listing(KINDS)))
    return kind


for _kind in (WeCom(), Feishu(), DingTalk()):
    register_kind(_kind)
del _kind
