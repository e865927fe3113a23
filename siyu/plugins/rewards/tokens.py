"""Claim links: which pool and which customer a link is for, until when — signed, so nobody
can claim for another customer or stretch a link's life.

A token is ``<pool id>.<contact id>.<expires, unix seconds>.<signature>``; the signature is
an HMAC-SHA256 of the first three parts under a key derived from the workspace's secret for
this one purpose (:mod:`siyu.core.secret_key`; never stored in the database), cut to 128 bits
in URL-safe base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from siyu.core.secret_key import load_secret

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

PURPOSE = b"siyu.plugins.rewards:claim:v1"
SIGNATURE_BYTES = 16
#: How long a claim link works unless told otherwise.
DEFAULT_DAYS = 7
#: The public claim page; the token travels as its ``t`` parameter.
CLAIM_PATH = "/r/claim"


@dataclass(frozen=True)
class ClaimToken:
    """What a valid token names."""

    pool_id: int
    contact_id: int
    expires_at: int  # unix seconds


def _key(ws: Workspace) -> bytes:
    return hmac.new(load_secret(ws.url).encode("utf-8"), PURPOSE, hashlib.sha256).digest()


def _signature(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).rstrip(b"=").decode("ascii")


def make_token(ws: Workspace, pool_id: int, contact_id: int, *, days: float = DEFAULT_DAYS,
               now: float | None = None) -> str:
    """A token for ``contact_id`` to claim from pool ``pool_id`` within ``days``."""
    expires = int((now if now is not None else time.time()) + days * 86400)
    body = f"{int(pool_id)}.{int(contact_id)}.{expires}"
    return f"{body}.{_signature(_key(ws), body)}"


def read_token(ws: Workspace, token: str, *, now: float | None = None) -> ClaimToken | None:
    """What ``token`` names; ``None`` when it is malformed, forged or expired."""
    parts = (token or "").strip().split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 18
                                  for p in parts[:3]):
        return None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_signature(_key(ws), body).encode("ascii"),
                               parts[3].encode("utf-8")):
        return None
    found = ClaimToken(int(parts[0]), int(parts[1]), int(parts[2]))
    if found.expires_at <= (now if now is not None else time.time()):
        return None
    return found


def claim_url(public_url: str, token: str) -> str:
    """The link a message carries: ``<public_url>/r/claim?t=<token>``."""
    return f"{public_url.rstrip('/')}{CLAIM_PATH}?t={token}"
