"""``siyu doctor``: checks a workspace's WeCom set-up step by step and names the fix.

Steps: settings present → access token (corp id and secret; 60020 untrusted IP) →
customer-contact permission (48002) → callback crypto round trip → callback URL answers
WeCom's verification → callbacks refused lately. A step that cannot run because an earlier
one failed is skipped.
"""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.plugins.wecom.models import WeComCallback
from siyu.plugins.wecom.service import wecom
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace


@dataclass(frozen=True)
class Check:
    """One step's outcome: ``ok`` is True, False, or None (skipped)."""

    step: str
    ok: bool | None
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``[ok] step: detail`` / ``[FAIL] step: detail — fix: …``."""
        mark = {True: "ok", False: "FAIL", None: "skip"}[self.ok]
        fix = f" — fix: {self.fix}" if self.fix else ""
        return f"[{mark}] {self.step}: {self.detail}{fix}"


def envelope_fields(envelope: str) -> dict[str, str]:
    """The text of each element of a reply envelope (Encrypt, MsgSignature, TimeStamp…)."""
    return {child.tag: (child.text or "").strip() for child in ET.fromstring(envelope)}


def _fix_of(exc: Exception) -> str:
    hint = getattr(exc, "hint", "")
    return hint.split("fix: ", 1)[1] if "fix: " in hint else ""


def run_checks(ws: Workspace, *, timeout: float = 5.0) -> list[Check]:
    """Run every check and return them in order."""
    service = wecom(ws)
    service.reload()
    config = service.config
    checks: list[Check] = []
    missing = [name for name, value in (("corp id", config.corp_id), ("secret", config.secret),
                                        ("callback token", config.token),
                                        ("EncodingAESKey", config.encoding_aes_key))
               if not value]
    checks.append(Check("settings", not missing,
                        "all set" if not missing else f"missing: {', '.join(missing)}",
                        "" if not missing else "fill them in on the WeCom settings page or "
                                               "with `siyu wecom config`"))
    token_ok = False
    if config.api_ready:
        try:
            service.client.access_token()
            token_ok = True
            checks.append(Check("access token", True, f"fetched for corp {config.corp_id}"))
        except SiyuError as exc:
            checks.append(Check("access token", False, str(exc), _fix_of(exc)))
    else:
        checks.append(Check("access token", None, "needs corp id and secret"))
    if token_ok:
        try:
            staff = service.client.get_follow_user_list()
            checks.append(Check("customer-contact permission", True,
                                f"{len(staff)} members with customer contact"))
        except SiyuError as exc:
            checks.append(Check("customer-contact permission", False, str(exc),
                                _fix_of(exc) or "add this app to 客户联系 → 可调用接口的应用"))
    else:
        checks.append(Check("customer-contact permission", None, "needs an access token"))
    if config.callback_ready:
        try:
            crypto = service.crypto
            envelope = envelope_fields(crypto.encrypt("<xml><Check>siyu</Check></xml>",
                                                      nonce="doctor"))
            back = crypto.decrypt(envelope["MsgSignature"], envelope["TimeStamp"], "doctor",
                                  f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt>"
                                  f"</xml>")
            checks.append(Check("callback crypto", "<Check>siyu</Check>" in back,
                                "encrypt → decrypt round trip"))
        except SiyuError as exc:
            checks.append(Check("callback crypto", False, str(exc),
                                "copy the token and EncodingAESKey again from the app's "
                                "API receive settings"))
    else:
        checks.append(Check("callback crypto", None, "needs corp id, token and key"))
    checks.append(_check_callback_url(ws, config.callback_url, timeout))
    checks.append(_check_rejections(ws))
    return checks


def _check_callback_url(ws: Workspace, url: str, timeout: float) -> Check:
    if not url:
        return Check("callback URL", None, "no callback URL set",
                     "set callback_url to this server's public /wecom/callback address")
    try:
        crypto = wecom(ws).crypto
    except SiyuError:
        return Check("callback URL", None, "needs working callback crypto")
    echo = f"siyu-doctor-{secrets.token_hex(4)}"
    encrypted = envelope_fields(crypto.encrypt(echo, nonce="doctor"))["Encrypt"]
    stamp = str(int(time.time()))
    params = {"msg_signature": crypto.signature(stamp, "doctor", encrypted),
              "timestamp": stamp, "nonce": "doctor", "echostr": encrypted}
    try:
        started = time.monotonic()
        answer = httpx.get(url, params=params, timeout=timeout)
        took = time.monotonic() - started
    except httpx.HTTPError as exc:
        return Check("callback URL", False, f"{url} unreachable: {exc}",
                     "make the address reachable from the internet (WeCom calls it) and "
                     "check `siyu serve` is running")
    if answer.status_code != 200 or answer.text != echo:
        return Check("callback URL", False,
                     f"{url} answered {answer.status_code} {answer.text[:80]!r}",
                     "point the app's callback URL at siyu's /wecom/callback with the same "
                     "token and key")
    if took > 1.0:
        return Check("callback URL", False, f"answered correctly but took {took:.1f} s",
                     "WeCom needs the verification answered within 1 s")
    return Check("callback URL", True, f"{url} verified in {took * 1000:.0f} ms")


#: Refusals older than this say nothing about the current set-up.
RECENT_REFUSALS = timedelta(hours=24)


def _check_rejections(ws: Workspace) -> Check:
    """Fails when requests were refused for a reason a wrong setting (or clock) gives
    WeCom's own callbacks, recently, and no callback was accepted since; refusals of
    strangers' requests alone (too large, missing parameters) never fail it."""
    from siyu.plugins.wecom.receiver import SETUP_REASONS

    rows = wecom(ws).rejections()
    if not rows:
        return Check("callback rejections", True, "none recorded")
    latest = rows[0]
    when = latest.last_at.astimezone(ws.timezone).strftime("%Y-%m-%d %H:%M")
    detail = (f"{sum(r.total for r in rows)} refused "
              f"({', '.join(f'{r.reason} {r.total}' for r in rows)}); latest: "
              f"{latest.reason} at {when} from {latest.sample_ip} ({latest.sample_detail})")
    since = utcnow() - RECENT_REFUSALS
    setup = [r.last_at for r in rows if r.reason in SETUP_REASONS and r.last_at >= since]
    if not setup:
        return Check("callback rejections", True, detail)
    table = WeComCallback.__table__
    with ws.engine.connect() as conn:
        accepted = conn.execute(sa.select(sa.func.max(table.c.received_at))).scalar()
    if accepted is not None and accepted > max(setup):
        return Check("callback rejections", True, f"{detail}; callbacks accepted since")
    return Check("callback rejections", False, f"{detail}; none accepted since",
                 "if WeCom sent these, its callbacks are being lost: copy the token, "
                 "EncodingAESKey and corp id again from the app's API receive settings and "
                 "check this server's clock (NTP); requests from strangers can be ignored")
