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
from siyu.core.i18n import translator
from siyu.plugins.wecom.models import WeComCallback
from siyu.plugins.wecom.service import wecom
from siyu.plugins.wecom.status import join_list
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace


_ = translator("siyu.plugins.wecom")

#: The steps, by the id :attr:`Check.step` holds, as a reader names them.
STEP_TITLES = {"settings": _.lazy("settings"), "access token": _.lazy("access token"),
               "customer-contact permission": _.lazy("customer-contact permission"),
               "callback crypto": _.lazy("callback crypto"),
               "callback URL": _.lazy("callback URL"),
               "callback rejections": _.lazy("callback rejections")}
#: How each outcome is marked in ``siyu doctor``'s lines.
MARKS = {True: _.lazy("ok"), False: _.lazy("FAIL"), None: _.lazy("skip")}
#: How each outcome is named in the console's table.
RESULTS = {True: _.lazy("Passed"), False: _.lazy("Failed"), None: _.lazy("Skipped")}


@dataclass(frozen=True)
class Check:
    """One step's outcome: ``ok`` is True, False, or None (skipped).

    ``step`` is the step's id (English, stable: see :data:`STEP_TITLES`); ``detail`` and
    ``fix`` are in the language of the run.
    """

    step: str
    ok: bool | None
    detail: str
    fix: str = ""

    @property
    def title(self) -> str:
        """The step as a reader names it, in the current language."""
        title = STEP_TITLES.get(self.step)
        return str(title) if title is not None else self.step

    @property
    def result(self) -> str:
        """Passed, failed or skipped, in the current language."""
        return str(RESULTS[self.ok])

    def line(self) -> str:
        """``[ok] step: detail`` / ``[FAIL] step: detail — fix: …``."""
        text = _("[{mark}] {step}: {detail}", mark=MARKS[self.ok], step=self.title,
                 detail=self.detail)
        return _("{line} — fix: {fix}", line=text, fix=self.fix) if self.fix else text


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
    missing = [name for name, value in ((_("corp id"), config.corp_id),
                                        (_("secret"), config.secret),
                                        (_("callback token"), config.token),
                                        ("EncodingAESKey", config.encoding_aes_key))
               if not value]
    if missing:
        checks.append(Check("settings", False,
                            _("missing: {names}", names=join_list(missing)),
                            _("fill them in on the WeCom settings page or with "
                              "`siyu wecom config`")))
    else:
        checks.append(Check("settings", True, _("all set")))
    token_ok = False
    if config.api_ready:
        try:
            service.client.access_token()
            token_ok = True
            checks.append(Check("access token", True,
                                _("fetched for corp {corp}", corp=config.corp_id)))
        except SiyuError as exc:
            checks.append(Check("access token", False, str(exc), _fix_of(exc)))
    else:
        checks.append(Check("access token", None, _("needs corp id and secret")))
    if token_ok:
        try:
            staff = service.client.get_follow_user_list()
            checks.append(Check("customer-contact permission", True,
                                _.ngettext("{n} member with customer contact",
                                           "{n} members with customer contact", len(staff))))
        except SiyuError as exc:
            checks.append(Check("customer-contact permission", False, str(exc),
                                _fix_of(exc) or _("add this app to 客户联系 → 可调用接口的应用")))
    else:
        checks.append(Check("customer-contact permission", None, _("needs an access token")))
    if config.callback_ready:
        try:
            crypto = service.crypto
            envelope = envelope_fields(crypto.encrypt("<xml><Check>siyu</Check></xml>",
                                                      nonce="doctor"))
            back = crypto.decrypt(envelope["MsgSignature"], envelope["TimeStamp"], "doctor",
                                  f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt>"
                                  f"</xml>")
            checks.append(Check("callback crypto", "<Check>siyu</Check>" in back,
                                _("encrypt → decrypt round trip")))
        except SiyuError as exc:
            checks.append(Check("callback crypto", False, str(exc),
                                _("copy the token and EncodingAESKey again from the app's "
                                  "API receive settings")))
    else:
        checks.append(Check("callback crypto", None, _("needs corp id, token and key")))
    checks.append(_check_callback_url(ws, config.callback_url, timeout))
    checks.append(_check_rejections(ws))
    return checks


def _check_callback_url(ws: Workspace, url: str, timeout: float) -> Check:
    """WeCom's URL verification against the recorded callback URL: reachable, answers the
    encrypted echo within 1 s."""
    from siyu.plugins.wecom.receiver import CALLBACK_PATH

    if not url:
        return Check("callback URL", None, _("no callback URL set"),
                     _("set callback_url to this server's public {path} address",
                       path=CALLBACK_PATH))
    try:
        crypto = wecom(ws).crypto
    except SiyuError:
        return Check("callback URL", None,
                     _("{url}: needs working callback crypto", url=url))
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
        return Check("callback URL", False,
                     _("{url} unreachable: {error}", url=url, error=str(exc) or
                       type(exc).__name__),
                     _("make the address reachable from the internet (WeCom calls it) and "
                       "check `siyu serve` is running"))
    if answer.status_code != 200 or answer.text != echo:
        return Check("callback URL", False,
                     _("{url} answered {status} {text}", url=url, status=answer.status_code,
                       text=repr(answer.text[:80])),
                     _("point the app's callback URL at siyu's {path} with the same token "
                       "and key", path=CALLBACK_PATH))
    if took > 1.0:
        seconds = round(took, 1)
        return Check("callback URL", False,
                     _("{url} answered correctly but took {seconds} s", url=url,
                       seconds=seconds),
                     _("WeCom needs the verification answered within 1 s"))
    return Check("callback URL", True,
                 _("{url} verified in {ms} ms", url=url, ms=round(took * 1000)))


#: Refusals older than this say nothing about the current set-up.
RECENT_REFUSALS = timedelta(hours=24)


def _check_rejections(ws: Workspace) -> Check:
    """Fails when requests were refused for a reason a wrong setting (or clock) gives
    WeCom's own callbacks, recently, and no callback was accepted since; refusals of
    strangers' requests alone (too large, missing parameters) never fail it."""
    from siyu.plugins.wecom.receiver import SETUP_REASONS

    rows = wecom(ws).rejections()
    if not rows:
        return Check("callback rejections", True, _("none recorded"))
    latest = rows[0]
    when = latest.last_at.astimezone(ws.timezone).strftime("%Y-%m-%d %H:%M")
    detail = _("{total} refused ({reasons}); latest: {reason} at {when} from {ip} ({sample})",
               total=sum(r.total for r in rows),
               reasons=join_list(f"{r.reason} {r.total}" for r in rows),
               reason=latest.reason, when=when, ip=latest.sample_ip,
               sample=latest.sample_detail)
    since = utcnow() - RECENT_REFUSALS
    setup = [r.last_at for r in rows if r.reason in SETUP_REASONS and r.last_at >= since]
    if not setup:
        return Check("callback rejections", True, detail)
    table = WeComCallback.__table__
    with ws.engine.connect() as conn:
        accepted = conn.execute(sa.select(sa.func.max(table.c.received_at))).scalar()
    if accepted is not None and accepted > max(setup):
        return Check("callback rejections", True,
                     _("{detail}; callbacks accepted since", detail=detail))
    return Check("callback rejections", False,
                 _("{detail}; none accepted since", detail=detail),
                 _("if WeCom sent these, its callbacks are being lost: copy the token, "
                   "EncodingAESKey and corp id again from the app's API receive settings and "
                   "check this server's clock (NTP); requests from strangers can be ignored"))
