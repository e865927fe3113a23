"""The unsubscribe token: which contact a link is for, signed so nobody can forge another's.

A token is ``<contact id>.<signature>``, the signature an HMAC-SHA256 of the contact id
under a key derived from the workspace's secret (:mod:`siyu.core.secret_key`; never stored
in the database), cut to 128 bits and written in URL-safe base64. The key is derived for
this one purpose, so a token can never be taken for a console session or the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING

from siyu.core.secret_key import load_secret

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

PURPOSE = b"siyu.plugins.email:unsubscribe:v1"
SIGNATURE_BYTES = 16
#: The public route's path; the token travels as its ``t`` parameter.
UNSUBSCRIBE_PATH = "/email/unsubscribe"


def _key(ws: Workspace) -> bytes:
    return hmac.new(load_secret(ws.url).encode("utf-8"), PURPOSE, hashlib.sha256).digest()


def _signature(key: bytes, contact_id: int) -> str:
    digest = hmac.new(key, str(contact_id).encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).rstrip(b"=").decode("ascii")


def signer(ws: Workspace) -> Callable[[int], str]:
    """``sign(contact_id) -> token``, reading the secret once (for a whole batch)."""
    key = _key(ws)
    return lambda contact_id: f"{int(contact_id)}.{_signature(key, int(contact_id))}"


def make_token(ws: Workspace, contact_id: int) -> str:
    """The token naming ``contact_id``."""
    return signer(ws)(contact_id)


def read_token(ws: Workspace, token: str) -> int | None:
    """The contact a token names, or ``None`` when it is malformed or its signature does not
    match (forged, or signed with another workspace's secret)."""
    contact, sep, signature = (token or "").strip().partition(".")
    if not sep or not contact.isascii() or not contact.isdigit() or len(contact) > 18:
        return None
    expected = _signature(_key(ws), int(contact))
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8")):
        return None
    return int(contact)


def unsubscribe_url(public_url: str, token: str) -> str:
    """The link a message carries: ``<public_url>/email/unsubscribe?t=<token>``."""
    return f"{public_url.rstrip('/')}{UNSUBSCRIBE_PATH}?t={token}"
