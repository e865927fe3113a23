"""The ``webhook`` channel: one signed JSON ``POST`` per message to the integrator's URL.

The body (UTF-8 JSON) carries the message: ``delivery_id``, ``key``, ``campaign_id``,
``recipient``, ``contact_id``, ``variant``, ``text``, ``attachments``, ``subject``, ``attempt``
and ``sent_at`` (ISO 8601, UTC). Two headers come with it:

- ``Idempotency-Key``: the delivery's key, the same on every try; receivers deduplicate by
  it (a webhook cannot be asked what it already received, so after a crash the batch in
  flight is sent again);
- ``X-Siyu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body bytes>">`` keyed
  with the shared secret; receivers check it with :func:`verify_signature`.

An answer 2xx means received (the JSON answer's ``id``, if any, is kept as the provider id);
408, 429, 5xx, timeouts and connection errors are transient (tried again later); any other
status fails with the status and the start of the answer.

Settings (``ws.settings``): ``webhook.url``, ``webhook.secret`` (write-only: never shown)
and ``webhook.timeout`` (seconds), set with :func:`configure_webhook` or ``siyu robot
webhook``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.core.records import OutgoingMessage, SendResult
from siyu.plugins.robots.transport import (
    Deadline,
    check_url,
    client,
    excerpt,
    json_of,
    mask_url,
    not_tried,
    transport_failure,
)

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.robots")

__all__ = ["WebhookConfig", "configure_webhook", "new_secret", "send", "signature",
           "verify_signature", "webhook_settings"]

CHANNEL = "webhook"
PREFIX = "webhook."
#: The signature header.
HEADER = "X-Siyu-Signature"
#: Seconds to wait for the receiver when no timeout is set.
DEFAULT_TIMEOUT_S = 10.0
#: The longest timeout accepted.
MAX_TIMEOUT_S = 60.0
#: The shortest secret accepted (characters).
MIN_SECRET = 16
#: Statuses that mean "try again later".
TRANSIENT = frozenset({408, 429})
#: Transport failures in a row after which the rest of a batch is not tried.
MAX_DOWN = 3


@dataclass(frozen=True)
class WebhookConfig:
    """The webhook channel's settings."""

    url: str = ""
    secret: str = ""
    timeout: float = DEFAULT_TIMEOUT_S

    @property
    def ready(self) -> bool:
        """Whether messages can be sent (URL and secret set)."""
        return bool(self.url and self.secret)


def load_config(ws: Workspace) -> WebhookConfig:
    """The stored settings (defaults where unset)."""
    timeout = ws.settings.get(PREFIX + "timeout")
    return WebhookConfig(url=ws.settings.get(PREFIX + "url") or "",
                         secret=ws.settings.get(PREFIX + "secret") or "",
                         timeout=float(timeout) if timeout else DEFAULT_TIMEOUT_S)


def webhook_settings(ws: Workspace) -> dict[str, Any]:
    """The settings safe to show: the URL cut short, the secret as ``set`` / ``not set``."""
    config = load_config(ws)
    return {"url": mask_url(config.url) if config.url else "",
            "secret": _("set") if config.secret else _("not set"),
            "timeout": config.timeout}


def new_secret() -> str:
    """A fresh random secret (64 hex digits)."""
    return secrets.token_hex(32)


def configure_webhook(ws: Workspace, *, url: str | None = None, secret: str | None = None,
                      timeout: float | None = None) -> dict[str, Any]:
    """Store the webhook channel's settings; what is not given keeps its value.

    :param url: the receiver's URL: ``https://``, or ``http://`` to 127.0.0.1 / localhost.
    :param secret: the shared signing secret, at least 16 characters (see
        :func:`new_secret`).
    :param timeout: seconds to wait for the receiver (above 0, at most 60).
    :returns: :func:`webhook_settings`.
    :raises PermissionDenied: the principal may not change settings.
    :raises ValidationError: a bad URL, a short secret or a bad timeout; nothing is stored.
    """
    ws.principal.require("settings.write")
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = check_url(url)
    if secret is not None:
        secret = str(secret).strip()
        if len(secret) < MIN_SECRET:
            raise ValidationError(_("the secret must have at least {n} characters",
                                    n=MIN_SECRET))
        values["secret"] = secret
    if timeout is not None:
        try:
            seconds = float(timeout)
        except (TypeError, ValueError):
            seconds = -1.0
        if not 0 < seconds <= MAX_TIMEOUT_S:
            raise ValidationError(_("the timeout must be above 0 and at most {limit} "
                                    "seconds, not {value!r}", limit=int(MAX_TIMEOUT_S),
                                    value=timeout))
        values["timeout"] = seconds
    for name, value in values.items():
        ws.settings.set(PREFIX + name, value)
    return webhook_settings(ws)


# -- signatures --------------------------------------------------------------------------------


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body,
                    hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The ``X-Siyu-Signature`` value of ``body``: ``t=<timestamp>,v1=<hex digest>``."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(secret: str, header: str | None, body: bytes | str, *,
                     tolerance_s: float = 300, now: float | None = None) -> bool:
    """Whether ``header`` (the ``X-Siyu-Signature`` value) signs ``body`` with ``secret``
    at a time within ``tolerance_s`` seconds of ``now`` (default: the clock).

    Check the body bytes exactly as received, before parsing them. Any ``v1=`` entry may
    match (several appear while a secret is being changed); the comparison takes constant
    time. A missing or malformed header is simply not valid.
    """
    if not secret or not header:
        return False
    if isinstance(body, str):
        body = body.encode("utf-8")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in str(header).split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


# -- sending -----------------------------------------------------------------------------------


def payload(message: OutgoingMessage, now: float) -> bytes:
    """The JSON body of ``message``, as sent."""
    sent_at = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    document = {"delivery_id": message.delivery_id, "key": message.key,
                "campaign_id": message.campaign_id, "recipient": message.recipient,
                "contact_id": message.contact_id, "variant": message.variant,
                "text": message.text, "attachments": list(message.attachments),
                "subject": message.subject, "attempt": message.attempt,
                "sent_at": sent_at.replace("+00:00", "Z")}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")


def read_answer(response: httpx.Response) -> SendResult:
    """What the receiver's answer to one message means."""
    status = response.status_code
    where = _("webhook")
    if 200 <= status < 300:
        data = json_of(response)
        found = data.get("id") if isinstance(data, dict) else None
        return SendResult("sent", provider_id=None if found in (None, "") else str(found))
    detail = excerpt(response) or response.reason_phrase
    if status in TRANSIENT or status >= 500:
        return SendResult("failed", retry=True, reason=_(
            "{where}: HTTP {status} ({detail}); tried again later", where=where,
            status=status, detail=detail))
    return SendResult("failed", reason=_("{where}: HTTP {status}: {detail}", where=where,
                                         status=status, detail=detail))


def send(ws: Workspace, batch: list[OutgoingMessage]) -> list[SendResult]:
    """POST each message of ``batch``; one result per message, in order."""
    config = load_config(ws)
    if not config.ready:
        reason = _("the webhook channel has no URL or secret yet; set them with `siyu robot "
                   "webhook --url URL --secret-stdin`")
        return [SendResult("failed", reason=reason) for _message in batch]
    where = _("webhook")
    results: list[SendResult] = []
    down = 0
    deadline = Deadline()
    with client(config.timeout) as http:
        for message in batch:
            if down >= MAX_DOWN:
                results.append(not_tried(where, _("the receiver did not answer {n} times in "
                                                  "a row", n=down)))
                continue
            if deadline.spent:
                results.append(not_tried(where, _("the batch ran out of time")))
                continue
            now = time.time()
            body = payload(message, now)
            headers = {"Content-Type": "application/json; charset=utf-8",
                       "Idempotency-Key": message.key,
                       HEADER: signature(config.secret, body, int(now))}
            try:
                response = http.post(config.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                down += 1
                results.append(transport_failure(exc, where))
                continue
            down = 0
            results.append(read_answer(response))
    return results
