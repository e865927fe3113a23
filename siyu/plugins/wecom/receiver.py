"""The public WeCom callback endpoint (``/wecom/callback``).

GET answers WeCom's URL verification with the decrypted ``echostr``. POST verifies the
signature, decrypts, stores the event durably under its dedupe key, answers 200 at once
(WeCom retries after 5 s) and wakes the background processor.

Anyone on the internet can call this URL, so before any work it refuses, in this order:

1. a body over :data:`MAX_BODY_BYTES` (413), judged on ``Content-Length`` before the body
   is read and by counting the bytes of a chunked one as they arrive, so no more than the
   cap is ever held in memory;
2. missing or malformed ``msg_signature`` / ``timestamp`` / ``nonce`` (``echostr``) (400);
3. a ``timestamp`` outside :data:`MAX_AGE_S` in the past or :data:`MAX_AHEAD_S` in the
   future (403);

then a bad signature, an undecryptable payload or a message for another corp (403), and
answers 503 while the callback settings are incomplete. Every refusal is a short
``text/plain`` reason that reveals nothing (no exception text, no setting); the details go
to the log and to the per-reason counters of :mod:`siyu.plugins.wecom.rejections`, which
keep one row per reason however many requests are refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tornado.web

from siyu.apps.routes import SiyuHandler
from siyu.core.errors import ConfigError, ValidationError
from siyu.plugins.wecom.events import dedupe_key, event_time, parse_event
from siyu.plugins.wecom.service import wecom
from siyu.storage.types import utcnow

log = logging.getLogger("siyu.wecom")

CALLBACK_PATH = "/wecom/callback"

#: Largest request body accepted. WeCom's callbacks are a few KB: an event or a message of
#: at most 2,048 bytes, AES-padded and base64-encoded (x 4/3) inside a small XML envelope.
#: 64 KiB is over ten times that, and one read of Tornado's 64 KiB chunk size.
MAX_BODY_BYTES = 64 * 1024

#: How old a ``timestamp`` may be, in seconds. WeCom signs a callback with the time it sends
#: it and retries up to 3 times, 5 s apart, with the same signature: the last retry is
#: about 20 s old. Ten minutes adds room for our clock being behind WeCom's and a slow
#: network, and still bounds how long a captured request can be replayed (replays inside
#: the window are stored once, by dedupe key).
MAX_AGE_S = 600

#: How far ahead of our clock a ``timestamp`` may be, in seconds: our clock may be behind
#: WeCom's, but a request from further in the future was not made by WeCom just now.
MAX_AHEAD_S = 300

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only (str.isdigit takes "٣" too)
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Refusal:
    """A reason to refuse: the counter's key, the HTTP status and the answer's text."""

    reason: str
    status: int
    answer: str = ""

    @property
    def text(self) -> str:
        """What the client is told (the reason, unless a vaguer answer is safer)."""
        return self.answer or self.reason


TOO_LARGE = Refusal("payload too large", 413)
MISSING = Refusal("missing parameters", 400)
MALFORMED_TIMESTAMP = Refusal("malformed timestamp", 400)
STALE = Refusal("stale timestamp", 403)
BAD_SIGNATURE = Refusal("invalid signature", 403)
BAD_PAYLOAD = Refusal("invalid payload", 403)
#: Signed and encrypted with our token and key, but for another corp: the client is told
#: only "invalid payload" (the counter keeps the exact reason for the doctor).
WRONG_CORP = Refusal("wrong corp", 403, "invalid payload")
NOT_CONFIGURED = Refusal("callback not configured", 503)

#: Reasons a misconfigured app (or clock) gives WeCom's own callbacks, as opposed to
#: strangers' requests; the doctor looks at these.
SETUP_REASONS = (BAD_SIGNATURE.reason, BAD_PAYLOAD.reason, WRONG_CORP.reason, STALE.reason,
                 NOT_CONFIGURED.reason)


def check_timestamp(value: str, now: float) -> tuple[Refusal, str] | None:
    """Why a callback's ``timestamp`` is refused (with a detail for the log), or ``None``.

    Accepted from :data:`MAX_AGE_S` seconds before ``now`` to :data:`MAX_AHEAD_S` after it,
    both ends included, in whole seconds.
    """
    if not _TIMESTAMP.fullmatch(value):
        return MALFORMED_TIMESTAMP, "timestamp is not a number of seconds"
    age = int(now) - int(value)
    if age > MAX_AGE_S:
        return STALE, f"timestamp {age} s old (at most {MAX_AGE_S})"
    if age < -MAX_AHEAD_S:
        return STALE, f"timestamp {-age} s ahead (at most {MAX_AHEAD_S})"
    return None


def _crypto_refusal(exc: Exception) -> tuple[Refusal, str]:
    """The refusal for a crypto error, with a fixed description of its SDK code (the
    exception's own text may carry the corp id or the request's content)."""
    from siyu.plugins.wecom import crypto

    code = getattr(exc, "code", 0)
    described = {crypto.ValidateSignature_Error: "signature mismatch",
                 crypto.ComputeSignature_Error: "signature not computable",
                 crypto.ParseXml_Error: "envelope is not WeCom XML",
                 crypto.DecodeBase64_Error: "ciphertext is not base64",
                 crypto.DecryptAES_Error: "AES decryption failed",
                 crypto.IllegalBuffer: "decrypted buffer is malformed",
                 crypto.ValidateCorpid_Error: "encrypted for another receive id"}
    detail = f"crypto error {code}: {described.get(code, 'other')}"
    if code in (crypto.ValidateSignature_Error, crypto.ComputeSignature_Error):
        return BAD_SIGNATURE, detail
    if code == crypto.ValidateCorpid_Error:
        return WRONG_CORP, detail
    return BAD_PAYLOAD, detail


@tornado.web.stream_request_body
class WeComCallbackHandler(SiyuHandler):
    """Receives WeCom's encrypted callbacks.

    The body is streamed (:meth:`data_received`) so that its size is checked before it is
    held in memory. ``clock`` gives seconds since the epoch for the timestamp window; pass
    ``clock=`` in the route's kwargs (or replace the class attribute in a test) to move it.
    """

    clock: Callable[[], float] = staticmethod(time.time)

    def initialize(self, ws: Any, clock: Callable[[], float] | None = None,
                   **kwargs: Any) -> None:
        """Keep the workspace, the clock and an empty body buffer."""
        super().initialize(ws, **kwargs)
        if clock is not None:
            self.clock = clock
        self._body = bytearray()
        self._refused = False

    def _log(self) -> None:
        # Tornado's per-request access log (kept overridable for this): refusals are logged
        # by the counter instead, one line per reason per interval, so that a flood of bad
        # requests cannot flood the log either.
        if not self._refused:
            super()._log()

    def _params(self) -> tuple[str, str, str]:
        return (self.get_query_argument("msg_signature", ""),
                self.get_query_argument("timestamp", ""),
                self.get_query_argument("nonce", ""))

    def _refuse(self, refusal: Refusal, detail: str, *, early: bool = False) -> None:
        """Count the refusal (which also logs it, rate-limited) and answer its short text.

        :param early: refused before the request was read to its end (in :meth:`prepare`
            or while the body arrives); Tornado then closes the connection after the answer
            instead of reading the rest, and the answer says so, lest a client reuse it.
        """
        self._refused = True
        self._body = bytearray()
        wecom(self.ws).rejects.record(refusal.reason, ip=self.request.remote_ip or "",
                                      detail=detail)
        self.set_status(refusal.status)
        self.set_header("Content-Type", _TEXT)
        if early:
            self.set_header("Connection", "close")
        self.finish(refusal.text)

    def prepare(self) -> None:
        """Refuse what needs neither the body nor the settings: size, parameters, time.

        Freshness is checked before the signature because it is cheaper and needs no body:
        a stale replay is refused before a byte of it is read. Telling a client that its
        timestamp is stale reveals nothing it did not send.
        """
        method = self.request.method
        if method not in ("GET", "POST"):
            return  # Tornado answers 405
        declared = self.request.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            self._refuse(TOO_LARGE, f"Content-Length {int(declared)} over the "
                                    f"{MAX_BODY_BYTES}-byte cap", early=True)
            return
        signature, timestamp, nonce = self._params()
        needed = [signature, timestamp, nonce]
        if method == "GET":
            needed.append(self.get_query_argument("echostr", ""))
        if not all(needed):
            self._refuse(MISSING, "msg_signature, timestamp, nonce or echostr missing",
                         early=True)
            return
        problem = check_timestamp(timestamp, self.clock())
        if problem is not None:
            self._refuse(*problem, early=True)

    def data_received(self, chunk: bytes) -> None:
        """Collect the body, refusing it once it outgrows the cap (chunked bodies have no
        ``Content-Length`` to judge them by in :meth:`prepare`)."""
        if self._refused:
            return
        if len(self._body) + len(chunk) > MAX_BODY_BYTES:
            self._refuse(TOO_LARGE, f"body over the {MAX_BODY_BYTES}-byte cap "
                                    f"(no Content-Length)", early=True)
            return
        self._body += chunk

    def _crypto(self):
        """The callback crypto, or ``None`` after answering 503 (settings incomplete)."""
        from siyu.plugins.wecom.crypto import WeComCryptoError

        try:
            return wecom(self.ws).crypto
        except ConfigError:
            self._refuse(NOT_CONFIGURED, "corp id, callback token or EncodingAESKey not set")
        except WeComCryptoError:
            self._refuse(NOT_CONFIGURED, "the EncodingAESKey setting is malformed")
        return None

    def get(self) -> None:
        """URL verification: echo the decrypted ``echostr`` (no quotes, BOM or newline)."""
        from siyu.plugins.wecom.crypto import WeComCryptoError

        crypto = self._crypto()
        if crypto is None:
            return
        signature, timestamp, nonce = self._params()
        try:
            plain = crypto.verify_url(signature, timestamp, nonce,
                                      self.get_query_argument("echostr", ""))
        except WeComCryptoError as exc:
            self._refuse(*_crypto_refusal(exc))
            return
        self.set_header("Content-Type", _TEXT)
        self.finish(plain)

    async def post(self) -> None:
        """Verify, decrypt, store once, answer 200 and process in the background.

        The row is stored by the inbox's thread, with the other requests that arrived
        meanwhile, in one transaction (group commit): the event loop never waits on the
        database, and WeCom is answered 200 only once the callback is committed."""
        from siyu.plugins.wecom.crypto import WeComCryptoError

        if self._refused:  # refused while the body arrived; the answer is sent
            return
        crypto = self._crypto()
        if crypto is None:
            return
        service = wecom(self.ws)
        signature, timestamp, nonce = self._params()
        try:
            plain = crypto.decrypt(signature, timestamp, nonce, bytes(self._body))
        except WeComCryptoError as exc:
            self._refuse(*_crypto_refusal(exc))
            return
        try:
            fields = parse_event(plain)
        except ValidationError:
            self._refuse(BAD_PAYLOAD, "decrypted message is not a WeCom event")
            return
        if fields.get("ToUserName") and fields["ToUserName"] != service.config.corp_id:
            self._refuse(WRONG_CORP, "ToUserName is not the configured corp id")
            return
        row = {"dedupe_key": dedupe_key(fields), "event": fields.get("Event", ""),
               "change_type": fields.get("ChangeType", ""), "created_at": event_time(fields),
               "received_at": utcnow(), "fields": fields, "status": "pending",
               "attempts": 0, "error": ""}
        try:
            await asyncio.wrap_future(service.inbox.submit(row))
        except Exception as exc:  # not stored: WeCom retries in 5 s
            log.error("could not store a WeCom callback: %s", exc)
            self.set_status(500)
            self.set_header("Content-Type", _TEXT)
            self.finish("not stored; retry")
            return
        self.set_status(200)
        self.set_header("Content-Type", _TEXT)
        self.finish("")
        if service.processor is not None:
            service.processor.wake()
