"""Paying red packets through WeChat Pay's enterprise red packet API (企业红包).

A small client with no database: it signs, sends and reads one call and says what became of
the money. Recording the intent before calling and reconciling afterwards is the caller's job
(the claims ledger)::

    config = PayConfig(mch_id, mch_key, pay_secret, appid=corp_id,
                       cert_path="apiclient_cert.pem", key_path="apiclient_key.pem")
    billno = new_billno(config.mch_id, now)          # store it with the claim first
    result = send_red_packet(config, billno=billno, openid=openid, amount_fen=888,
                             sender_name="小思", act_name="新春红包", wishing="新年快乐")
    if result.status == "unknown":
        result = query_red_packet(config, billno)    # never a new billno before this

:class:`PayoutResult` ``status`` is one of:

- ``"paid"``: WeChat Pay accepted the packet (a query says SENT, RECEIVED, RFUND_ING or
  REFUND: the money left the merchant; a refund is reported in ``raw["status"]``);
- ``"failed"``: a definite refusal (amount, limits, NOTENOUGH, signature, an unknown billno
  on query…) or the connection could not be opened: nothing was paid; ``message`` says why;
- ``"unknown"``: the outcome cannot be known from this answer (a timeout or a connection
  dropped after the request went out, an HTTP error, SYSTEMERROR, PROCESSING, an answer that
  does not parse or whose signature does not verify). Query with the same billno; re-sending
  with the *same* billno is safe too (WeChat Pay answers the original result and never pays
  twice), a new billno is not.

The wire format follows reference §5: XML bodies, ``sign`` (MD5 with the merchant API key
over every non-empty field) and ``workwx_sign`` (MD5 with the 企业支付 secret over act_name,
mch_billno, mch_id, nonce_str, re_openid, total_amount, wxappid). XML answers are parsed
with the standard library after refusing any DOCTYPE or ENTITY declaration. Keys and
secrets are never logged nor shown in ``repr``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import string
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.rewards")
log = logging.getLogger("siyu.rewards.wxpay")

SEND_PATH = "/mmpaymkttransfers/sendworkwxredpack"
QUERY_PATH = "/mmpaymkttransfers/queryworkwxredpack"
#: The fields ``workwx_sign`` covers (reference §5.3).
WORKWX_SIGN_FIELDS = ("act_name", "mch_billno", "mch_id", "nonce_str", "re_openid",
                      "total_amount", "wxappid")
#: Default amount range of one packet, in fen (1–200 yuan, reference §5.2).
MIN_AMOUNT_FEN = 100
MAX_AMOUNT_FEN = 20_000
#: Billnos and merchant days are Beijing dates.
TIMEZONE = ZoneInfo("Asia/Shanghai")
BILLNO = re.compile(r"[0-9a-zA-Z]{1,28}")
#: err_codes that mean "accepted or maybe accepted: query, do not re-issue".
IN_DOUBT = frozenset({"SYSTEMERROR", "PSYSTEMERROR", "PROCESSING", "SENDING"})
#: Query statuses of a packet that left the merchant.
PAID_STATUSES = frozenset({"SENT", "RECEIVED", "RFUND_ING", "REFUND"})

Status = Literal["paid", "failed", "unknown"]


@dataclass(frozen=True)
class PayConfig:
    """The merchant and app settings of a red-packet payout.

    :param mch_id: the WeChat Pay merchant number (商户号).
    :param mch_key: the merchant API key (商户API密钥) behind ``sign``.
    :param pay_secret: the 企业支付 app secret behind ``workwx_sign``.
    :param appid: the corp id (``wxappid``: "企业微信corpid即为此appId").
    :param cert_path: the merchant API client certificate (PEM); WeChat Pay requires it.
    :param key_path: its private key (PEM), when not inside ``cert_path``.
    :param base_url: WeChat Pay's address (a sandbox's ``base_url`` in tests).
    :param timeout: seconds to wait for an answer; a late answer makes the outcome unknown.
    """

    mch_id: str
    mch_key: str = field(repr=False)
    pay_secret: str = field(repr=False)
    appid: str
    cert_path: str | None = None
    key_path: str | None = None
    base_url: str = "https://api.mch.weixin.qq.com"
    timeout: float = 10


@dataclass(frozen=True)
class PayoutResult:
    """What became of one red packet.

    :ivar status: ``"paid"``, ``"failed"`` or ``"unknown"`` (see the module docstring).
    :ivar billno: the ``mch_billno`` the packet was sent under.
    :ivar err_code: WeChat Pay's err_code (``""`` when paid; ``TIMEOUT``, ``NETWORK``,
        ``HTTP_<status>``, ``BAD_ANSWER``, ``BAD_SIGNATURE`` or ``CONNECT_ERROR`` when the
        trouble was on the way).
    :ivar message: why, in words (WeChat Pay's err_code_des when it gave one).
    :ivar send_listid: WeChat Pay's number of the packet (``detail_id`` on query).
    :ivar raw: the answer's fields (empty when there was none).
    """

    status: Status
    billno: str
    err_code: str = ""
    message: str = ""
    send_listid: str = ""
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def wx_status(self) -> str:
        """The packet's status on query (SENT, RECEIVED, REFUND…), ``""`` on send."""
        return self.raw.get("status", "")


# -- signatures and XML ------------------------------------------------------------------


def _md5(fields: Mapping[str, Any], tail: str) -> str:
    pairs = "&".join(f"{k}={fields[k]}" for k in sorted(fields)
                     if k != "sign" and fields[k] is not None and str(fields[k]) != "")
    return hashlib.md5(f"{pairs}{tail}".encode()).hexdigest().upper()


def sign(fields: Mapping[str, Any], key: str) -> str:
    """WeChat Pay's MD5 ``sign``: every non-empty field but ``sign``, sorted by name,
    ``k1=v1&k2=v2…&key=<key>``, MD5, upper case."""
    return _md5(fields, f"&key={key}")


def workwx_sign(fields: Mapping[str, Any], secret: str) -> str:
    """WeCom's ``workwx_sign``: the same over :data:`WORKWX_SIGN_FIELDS` only, ending
    ``&secret=<secret>``."""
    return _md5({k: fields.get(k, "") for k in WORKWX_SIGN_FIELDS}, f"&secret={secret}")


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(fields: Mapping[str, Any]) -> str:
    """``<xml><name><![CDATA[value]]></name>…</xml>``; ``None`` and empty values left out."""
    parts = []
    for name, value in fields.items():
        if value is None or str(value) == "":
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{name!r} is not an XML field name")
        parts.append(f"<{name}>{_cdata(str(value))}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def from_xml(data: str | bytes) -> dict[str, str]:
    """The fields of a flat ``<xml>`` document.

    :raises ValueError: a DOCTYPE or ENTITY declaration (refused before parsing), malformed
        XML, or a root other than ``<xml>``.
    """
    raw = data.encode() if isinstance(data, str) else data
    upper = raw.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise ValueError("XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ValueError(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise ValueError(f"the root element is <{root.tag}>, not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def new_billno(mch_id: str, now: datetime | float) -> str:
    """A fresh ``mch_billno``: mch_id + yyyymmdd (Beijing date) + 10 random digits, ≤ 28.

    :param now: an aware datetime or a timestamp.
    :raises ValidationError: ``mch_id`` is not 1–10 letters or digits.
    """
    if not re.fullmatch(r"[0-9a-zA-Z]{1,10}", mch_id or ""):
        raise ValidationError(_("mch_id {mch_id} must be 1 to 10 letters or digits to make "
                                "a billno", mch_id=repr(mch_id)))
    moment = (datetime.fromtimestamp(now, TIMEZONE) if isinstance(now, int | float)
              else now.astimezone(TIMEZONE))
    digits = "".join(secrets.choice(string.digits) for _i in range(10))
    return f"{mch_id}{moment:%Y%m%d}{digits}"


def _nonce() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _i in range(32))


# -- the two calls -----------------------------------------------------------------------


def _check_text(name: str, value: str, most: int, *, required: bool = True) -> None:
    if required and not value:
        raise ValidationError(_("{field} is required for a red packet", field=name))
    if len(value) > most:
        raise ValidationError(_("{field} may have at most {most} characters, not {n}",
                                field=name, most=most, n=len(value)))


def _check_billno(billno: str) -> None:
    if not isinstance(billno, str) or not BILLNO.fullmatch(billno):
        raise ValidationError(_("billno {billno} must be 1 to 28 letters or digits",
                                billno=repr(billno)))


def send_red_packet(config: PayConfig, *, billno: str, openid: str, amount_fen: int,
                    sender_name: str, act_name: str, wishing: str, remark: str = "",
                    sender_header_media_id: str | None = None) -> PayoutResult:
    """Send one red packet to the customer ``openid`` (see ``externalcontact/
    convert_to_openid``).

    ``remark`` is required by WeChat Pay; when empty, ``act_name`` is sent as the remark.

    :raises ValidationError: before anything is sent, for an amount outside 100–20000 fen,
        a malformed billno or a missing/too long text.
    """
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) \
            or not MIN_AMOUNT_FEN <= amount_fen <= MAX_AMOUNT_FEN:
        raise ValidationError(_("a red packet must be between {low} and {high} fen (1 to 200 "
                                "yuan), not {amount}", low=MIN_AMOUNT_FEN,
                                high=MAX_AMOUNT_FEN, amount=repr(amount_fen)))
    _check_billno(billno)
    _check_text("openid", openid, 32)
    _check_text("sender_name", sender_name, 128)
    _check_text("act_name", act_name, 32)
    _check_text("wishing", wishing, 128)
    _check_text("remark", remark, 256, required=False)
    _check_text("sender_header_media_id", sender_header_media_id or "", 128, required=False)
    fields: dict[str, str] = {
        "nonce_str": _nonce(), "mch_billno": billno, "mch_id": config.mch_id,
        "wxappid": config.appid, "sender_name": sender_name,
        "sender_header_media_id": sender_header_media_id or "", "re_openid": openid,
        "total_amount": str(amount_fen), "wishing": wishing, "act_name": act_name,
        "remark": remark or act_name,
    }
    fields["workwx_sign"] = workwx_sign(fields, config.pay_secret)
    fields["sign"] = sign(fields, config.mch_key)
    result = _call(config, SEND_PATH, fields, billno)
    if result.status == "paid" and (result.raw.get("mch_billno", billno) != billno
                                    or result.raw.get("re_openid", openid) != openid):
        result = PayoutResult("unknown", billno, "BAD_ANSWER",
                              _("WeChat Pay answered for another packet"), raw=result.raw)
    log.info("red packet %s to %s: %s %s", billno, openid, result.status, result.err_code)
    return result


def query_red_packet(config: PayConfig, billno: str) -> PayoutResult:
    """What became of the packet sent under ``billno`` (kept 30 days by WeChat Pay).

    ``failed`` with err_code ``NOT_FOUND`` means WeChat Pay has no such packet: nothing was
    paid, and sending again with the same billno is safe.
    """
    _check_billno(billno)
    fields = {"nonce_str": _nonce(), "mch_billno": billno, "mch_id": config.mch_id,
              "appid": config.appid}
    fields["sign"] = sign(fields, config.mch_key)
    result = _call(config, QUERY_PATH, fields, billno)
    if result.status == "paid":
        status = result.raw.get("status", "")
        listid = result.raw.get("detail_id", "")
        if status in PAID_STATUSES:
            result = PayoutResult("paid", billno, "", status, listid, result.raw)
        elif status == "FAILED":
            result = PayoutResult("failed", billno, "FAILED",
                                  result.raw.get("reason") or _("WeChat Pay could not send "
                                                                "the red packet"),
                                  listid, result.raw)
        else:
            result = PayoutResult("unknown", billno, status or "BAD_ANSWER",
                                  _("the red packet is still being sent ({status})",
                                    status=status or "?"), listid, result.raw)
    log.info("red packet %s queried: %s %s", billno, result.status,
             result.raw.get("status", result.err_code))
    return result


def _call(config: PayConfig, path: str, fields: dict[str, str], billno: str) -> PayoutResult:
    """POST ``fields`` and read the answer into a :class:`PayoutResult`."""
    cert: Any = None
    if config.cert_path:
        cert = (config.cert_path, config.key_path) if config.key_path else config.cert_path
    url = config.base_url.rstrip("/") + path
    try:
        with httpx.Client(cert=cert, timeout=config.timeout) as client:
            response = client.post(url, content=to_xml(fields).encode(),
                                   headers={"Content-Type": "text/xml; charset=UTF-8"})
    except (httpx.ConnectError, httpx.ConnectTimeout):
        return PayoutResult("failed", billno, "CONNECT_ERROR",
                            _("could not reach WeChat Pay; nothing was sent"))
    except httpx.TimeoutException:
        return PayoutResult("unknown", billno, "TIMEOUT",
                            _("WeChat Pay did not answer in time; query before retrying"))
    except httpx.TransportError:
        return PayoutResult("unknown", billno, "NETWORK",
                            _("the connection to WeChat Pay broke; query before retrying"))
    if response.status_code != 200:
        return PayoutResult("unknown", billno, f"HTTP_{response.status_code}",
                            _("WeChat Pay answered HTTP {status}; query before retrying",
                              status=response.status_code))
    try:
        answer = from_xml(response.content)
    except ValueError:
        return PayoutResult("unknown", billno, "BAD_ANSWER",
                            _("WeChat Pay's answer could not be read; query before retrying"))
    return _read(config, answer, billno)


def _read(config: PayConfig, answer: dict[str, str], billno: str) -> PayoutResult:
    err_code = answer.get("err_code", "")
    text = answer.get("err_code_des") or answer.get("return_msg") or err_code
    if answer.get("return_code") != "SUCCESS":
        code = err_code or "FAIL"
        status: Status = "unknown" if code in IN_DOUBT else "failed"
        return PayoutResult(status, billno, code, text, raw=answer)
    given = answer.get("sign", "")
    if not given or given.upper() != sign(answer, config.mch_key):
        return PayoutResult("unknown", billno, "BAD_SIGNATURE",
                            _("WeChat Pay's answer is not signed with the merchant key; "
                              "query before retrying"), raw=answer)
    if answer.get("result_code") == "SUCCESS":
        return PayoutResult("paid", billno, "", text if text != "SUCCESS" else "",
                            answer.get("send_listid", ""), answer)
    code = err_code or "FAIL"
    status = "unknown" if code in IN_DOUBT else "failed"
    return PayoutResult(status, billno, code, text, raw=answer)


__all__ = ["PayConfig", "PayoutResult", "from_xml", "new_billno", "query_red_packet",
           "send_red_packet", "sign", "to_xml", "workwx_sign"]
