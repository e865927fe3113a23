"""What both channels share: checking and masking webhook URLs, the HTTP client of one batch,
and turning an HTTP exchange into words for the operator.

No function here opens a database transaction; the channels call the network only after
their own short transactions have committed.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from siyu import __version__
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.core.records import SendResult

_ = translator("siyu.plugins.robots")

#: Hosts a plain ``http://`` URL may name (a receiver on this machine).
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: The longest URL accepted.
MAX_URL = 1000
#: Most seconds one ``send`` call spends calling providers; the messages left when it is
#: spent are handed back for a later try. Well under the outbox's call margin, so that a
#: batch never outlives its lease.
BATCH_BUDGET_S = 90.0
#: Characters of a provider's answer quoted in a failure reason.
EXCERPT = 200


def check_url(url: str) -> str:
    """``url`` stripped, when it is an ``https://`` URL, or ``http://`` to this machine
    (``127.0.0.1``, ``localhost``).

    :raises ValidationError: anything else, saying why.
    """
    url = str(url or "").strip()
    if not url:
        raise ValidationError(_("give the webhook URL"))
    if len(url) > MAX_URL:
        raise ValidationError(_("the URL is {n} characters long; at most {limit} are "
                                "accepted", n=len(url), limit=MAX_URL))
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError as exc:
        raise ValidationError(_("{url!r} is not a URL: {reason}", url=url,
                                reason=exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise ValidationError(_("{url!r} is not an https:// URL", url=mask_url(url)))
    if scheme == "http" and host.lower() not in LOCAL_HOSTS:
        raise ValidationError(_("{url!r}: plain http:// is accepted only for 127.0.0.1 and "
                                "localhost; use https://", url=mask_url(url)))
    if any(c.isspace() for c in url):
        raise ValidationError(_("{url!r}: a URL may not hold spaces", url=mask_url(url)))
    return url


def _masked(value: str, shortest: int) -> str:
    return value if len(value) < shortest else value[:4] + "…"


def mask_url(url: str) -> str:
    """``url`` with its credentials cut short, to show and to log: long query values (WeCom's
    ``key``, DingTalk's ``access_token``) and long path segments (Feishu's hook id) keep
    their first four characters; a password is dropped."""
    try:
        parts = urlsplit(str(url))
        netloc = parts.netloc.rpartition("@")[2]
        path = "/".join(_masked(segment, 16) for segment in parts.path.split("/"))
        query = "&".join(f"{key}{sep}{_masked(value, 8)}" for key, sep, value in
                         (pair.partition("=") for pair in parts.query.split("&") if pair))
        return urlunsplit((parts.scheme, netloc, path, query, ""))
    except ValueError:
        return str(url)[:12] + "…"


def client(timeout: float) -> httpx.Client:
    """The HTTP client of one batch: ``timeout`` seconds per phase, no redirects."""
    return httpx.Client(timeout=httpx.Timeout(timeout),
                        follow_redirects=False,
                        headers={"User-Agent": f"siyu/{__version__}"})


def excerpt(response: httpx.Response) -> str:
    """The start of ``response``'s body, on one line."""
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - an undecodable body is shown as nothing
        return ""
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def json_of(response: httpx.Response) -> Any:
    """``response``'s body as JSON, or ``None`` when it is none."""
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def transport_failure(exc: httpx.HTTPError, where: str) -> SendResult:
    """A timeout or a connection error calling ``where``: transient, try again."""
    if isinstance(exc, httpx.TimeoutException):
        reason = _("{where}: no answer within the timeout ({error}); tried again later",
                   where=where, error=type(exc).__name__)
    else:
        reason = _("{where}: cannot connect ({error}); tried again later", where=where,
                   error=str(exc) or type(exc).__name__)
    return SendResult("failed", reason=reason, retry=True)


def not_tried(where: str, why: str) -> SendResult:
    """A message this batch did not try (``why``); the outbox tries it again later."""
    return SendResult("failed", reason=_("{where}: not tried: {why}; tried again later",
                                         where=where, why=why), retry=True)


class Deadline:
    """The time budget of one batch (:data:`BATCH_BUDGET_S`)."""

    def __init__(self, seconds: float | None = None):
        self.until = time.monotonic() + (BATCH_BUDGET_S if seconds is None else seconds)

    @property
    def spent(self) -> bool:
        return time.monotonic() >= self.until
