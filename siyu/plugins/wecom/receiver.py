"""The public WeCom callback endpoint (``/wecom/callback``).

GET answers WeCom's URL verification with the decrypted ``echostr``. POST verifies the
signature, decrypts, stores the event durably under its dedupe key, answers 200 at once
(WeCom retries after 5 s) and wakes the background processor. A request whose signature
or payload does not check out is refused with 403, logged, and recorded as a
``wecom.callback_rejected`` event; nothing else is stored.
"""

from __future__ import annotations

import logging
import uuid

from siyu.apps.routes import SiyuHandler
from siyu.core.errors import ConfigError, ValidationError
from siyu.plugins.wecom.events import dedupe_key, event_time, parse_event
from siyu.plugins.wecom.models import WeComCallback
from siyu.plugins.wecom.service import wecom
from siyu.storage.dialect import insert_for
from siyu.storage.types import utcnow

log = logging.getLogger("siyu.wecom")

CALLBACK_PATH = "/wecom/callback"


class WeComCallbackHandler(SiyuHandler):
    """Receives WeCom's encrypted callbacks."""

    def _params(self) -> tuple[str, str, str]:
        return (self.get_query_argument("msg_signature", ""),
                self.get_query_argument("timestamp", ""),
                self.get_query_argument("nonce", ""))

    def _reject(self, status: int, reason: str) -> None:
        log.warning("refused WeCom callback from %s: %s", self.request.remote_ip, reason)
        try:
            self.ws.events.record("wecom.callback_rejected",
                                  dedupe_key=f"wecom.rejected:{uuid.uuid4()}", source="wecom",
                                  payload={"reason": reason, "ip": self.request.remote_ip})
        finally:
            self.set_status(status)
            self.finish(reason)

    def get(self) -> None:
        """URL verification: echo the decrypted ``echostr`` (no quotes, BOM or newline)."""
        from siyu.plugins.wecom.crypto import WeComCryptoError

        signature, timestamp, nonce = self._params()
        try:
            plain = wecom(self.ws).crypto.verify_url(signature, timestamp, nonce,
                                                     self.get_query_argument("echostr", ""))
        except ConfigError as exc:
            self.set_status(503)
            self.finish(str(exc))
            return
        except WeComCryptoError as exc:
            self._reject(403, f"verification failed ({exc})")
            return
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(plain)

    def post(self) -> None:
        """Verify, decrypt, store once, answer 200 and process in the background."""
        from siyu.plugins.wecom.crypto import WeComCryptoError

        service = wecom(self.ws)
        signature, timestamp, nonce = self._params()
        try:
            plain = service.crypto.decrypt(signature, timestamp, nonce, self.request.body)
            fields = parse_event(plain)
        except ConfigError as exc:
            self.set_status(503)
            self.finish(str(exc))
            return
        except (WeComCryptoError, ValidationError) as exc:
            self._reject(403, f"rejected ({exc})")
            return
        if fields.get("ToUserName") and fields["ToUserName"] != service.config.corp_id:
            self._reject(403, "rejected (addressed to another corp)")
            return
        table = WeComCallback.__table__
        row = {"dedupe_key": dedupe_key(fields), "event": fields.get("Event", ""),
               "change_type": fields.get("ChangeType", ""), "created_at": event_time(fields),
               "received_at": utcnow(), "fields": fields, "status": "pending",
               "attempts": 0, "error": ""}
        with self.ws.engine.begin() as conn:
            conn.execute(insert_for(conn, table).values(**row).on_conflict_do_nothing())
        self.set_status(200)
        self.finish("")
        if service.processor is not None:
            service.processor.wake()
