"""Posting encrypted callbacks to the app's callback URL, the way WeCom does (reference §3).

Each event is an XML document (``<xml><ToUserName>…</ToUserName>…</xml>``) encrypted with the
app's Token and EncodingAESKey and POSTed as ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``
with ``msg_signature``, ``timestamp`` and ``nonce`` in the query string. A delivery that fails
(connection error, no answer within 5 s, any status but 200) is retried up to three times.
Every callback, delivered or not, is kept in :attr:`Callbacks.log`.

``CreateTime`` inside the event is sandbox-clock time (when the simulated thing happened); the
signing ``timestamp`` is wall-clock time, like a transport header, so receivers that check
freshness keep working while a test moves the sandbox clock.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from siyu.plugins.wecom.crypto import WeComCrypto

if TYPE_CHECKING:  # pragma: no cover
    from siyu.plugins.wecom.sandbox.faults import Faults
    from siyu.plugins.wecom.sandbox.world import World

Fields = list[tuple[str, Any]]

log = logging.getLogger("siyu.wecom.sandbox.callbacks")


@dataclass
class CallbackRecord:
    """One callback the sandbox sent (or would have sent, without a callback URL).

    :ivar attempts: HTTP requests made (0 when no callback URL is configured).
    :ivar outcomes: per attempt, the HTTP status or the name of the network error.
    :ivar duplicated: whether the same request was posted a second time after success.
    """

    event: str
    change_type: str
    plaintext: str
    time: float
    attempts: int = 0
    outcomes: list[int | str] = field(default_factory=list)
    delivered: bool = False
    duplicated: bool = False


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def event_xml(fields: Fields) -> str:
    """Render ``[(name, value), …]`` like WeCom: ints bare, strings in CDATA, lists as Items."""
    lines = ["<xml>"]
    for name, value in fields:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            lines.append(f"\t<{name}>{value}</{name}>")
        elif isinstance(value, list | tuple):
            items = "".join(f"\n\t\t<Item>{_cdata(str(v))}</Item>" for v in value)
            lines.append(f"\t<{name}>{items}\n\t</{name}>")
        else:
            lines.append(f"\t<{name}>{_cdata(str(value))}</{name}>")
    lines.append("</xml>")
    return "\n".join(lines)


class Callbacks:
    """Encrypts and delivers callbacks for one world.

    :param world: supplies the corp id, agent id, Token, EncodingAESKey and callback URL.
    :param faults: supplies the timeout, retry count and duplicate rate.
    """

    def __init__(self, world: World, faults: Faults):
        self.world = world
        self.faults = faults
        self.log: list[CallbackRecord] = []
        self._lock = threading.Lock()
        corp = world.corp
        self.crypto = WeComCrypto(corp.token, corp.encoding_aes_key, corp.corp_id)

    def base_fields(self, event: str, now: float) -> Fields:
        return [("ToUserName", self.world.corp.corp_id), ("FromUserName", "sys"),
                ("CreateTime", int(now)), ("MsgType", "event"), ("Event", event)]

    def _seal(self, plaintext: str) -> tuple[dict[str, str], str]:
        """Query parameters and POST body carrying ``plaintext`` encrypted and signed."""
        nonce = secrets.token_hex(8)
        envelope = ET.fromstring(self.crypto.encrypt(plaintext, nonce, str(int(time.time()))))
        corp = self.world.corp
        body = ("<xml>"
                f"<ToUserName>{_cdata(corp.corp_id)}</ToUserName>"
                f"<AgentID>{_cdata(str(corp.agent_id))}</AgentID>"
                f"<Encrypt>{_cdata(envelope.findtext('Encrypt', ''))}</Encrypt>"
                "</xml>")
        query = {"msg_signature": envelope.findtext("MsgSignature", ""),
                 "timestamp": envelope.findtext("TimeStamp", ""), "nonce": nonce}
        return query, body

    def send(self, fields: Fields) -> CallbackRecord:
        """Encrypt and deliver one event; return what happened. Never raises for the network.

        Call this without holding the world lock: the receiver may call the API back.
        """
        values = dict(fields)
        record = CallbackRecord(str(values.get("Event", "")), str(values.get("ChangeType", "")),
                                event_xml(fields), float(values.get("CreateTime", 0)))
        with self._lock:
            self.log.append(record)
        url = self.world.corp.callback_url
        if not url:
            return record
        query, body = self._seal(record.plaintext)
        with httpx.Client(timeout=self.faults.callback_timeout) as client:
            for _ in range(1 + max(0, int(self.faults.callback_retries))):
                record.attempts += 1
                try:
                    response = client.post(url, params=query, content=body.encode("utf-8"),
                                           headers={"Content-Type": "text/xml; charset=utf-8"})
                except httpx.TransportError as exc:
                    record.outcomes.append(type(exc).__name__)
                    continue
                record.outcomes.append(response.status_code)
                if response.status_code == 200:
                    record.delivered = True
                    break
            if record.delivered and self.faults.duplicate():
                record.duplicated = True
                try:
                    client.post(url, params=query, content=body.encode("utf-8"),
                                headers={"Content-Type": "text/xml; charset=utf-8"})
                except httpx.TransportError:
                    pass
        log.info("callback %s/%s: %s after %d attempt(s) %s%s", record.event,
                 record.change_type, "delivered" if record.delivered else "NOT delivered",
                 record.attempts, record.outcomes, " (posted twice)" if record.duplicated else "")
        return record

    def verify_url(self, url: str | None = None) -> dict[str, Any]:
        """Run WeCom's URL verification: GET with an encrypted ``echostr``.

        The receiver passes when it answers 200 within one second with the decrypted echostr,
        verbatim (no quotes, BOM or newline).

        :returns: ``{"ok", "status", "elapsed", "expected", "answer"}``.
        """
        url = url or self.world.corp.callback_url
        if not url:
            return {"ok": False, "status": None, "elapsed": 0.0, "expected": "",
                    "answer": "no callback URL configured"}
        expected = str(secrets.randbelow(10**18))
        nonce = secrets.token_hex(8)
        envelope = ET.fromstring(self.crypto.encrypt(expected, nonce, str(int(time.time()))))
        params = {"msg_signature": envelope.findtext("MsgSignature", ""),
                  "timestamp": envelope.findtext("TimeStamp", ""), "nonce": nonce,
                  "echostr": envelope.findtext("Encrypt", "")}
        started = time.monotonic()
        try:
            response = httpx.get(url, params=params, timeout=self.faults.callback_timeout)
        except httpx.TransportError as exc:
            return {"ok": False, "status": None, "elapsed": time.monotonic() - started,
                    "expected": expected, "answer": type(exc).__name__}
        elapsed = time.monotonic() - started
        answer = response.content.decode("utf-8", "replace")
        return {"ok": response.status_code == 200 and answer == expected and elapsed <= 1.0,
                "status": response.status_code, "elapsed": elapsed, "expected": expected,
                "answer": answer}
