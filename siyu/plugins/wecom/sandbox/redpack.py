"""Enterprise red packets (企业红包): WeChat Pay's ``sendworkwxredpack`` and
``queryworkwxredpack`` (reference §5), served at ``/mmpaymkttransfers/`` on the sandbox.

The rules kept, from the official pages ([M:90275] 发放企业红包, [M:90281] 签名算法,
[M:90276] 查询红包记录):

- XML in, XML out. ``return_code`` says whether the request got through (FAIL: the XML, the
  merchant or a signature is wrong; nothing was done); with SUCCESS, ``result_code`` and
  ``err_code``/``err_code_des`` say what happened to the packet. Answers with
  ``return_code`` SUCCESS are signed (``sign``) with the merchant API key.
- Two signatures: ``sign`` = MD5 of every non-empty field but ``sign`` (``workwx_sign``
  included) sorted by name, ``k=v&…&key=<商户API密钥>``, upper case; ``workwx_sign`` = the
  same over only act_name, mch_billno, mch_id, nonce_str, re_openid, total_amount and wxappid,
  ending ``&secret=<secret>``. The secret is the 企业支付 app secret (:attr:`Merchant.pay_secret`)
  or, when the request names ``agentid``, that self-built app's secret. A wrong one is
  ``SIGN_ERROR``.
- ``wxappid`` is the corp id (else ``ILLEGAL_APPID``); ``re_openid`` is the openid of one of
  the corp's customers (``externalcontact/convert_to_openid``; else ``OPENID_ERROR``).
- Fields: nonce_str ≤ 32, mch_billno 1–28 of ``[0-9a-zA-Z]``, wxappid/mch_id/re_openid ≤ 32,
  sender_name and sender_header_media_id ≤ 128 (sender_name and agentid exclusive),
  wishing ≤ 128, act_name ≤ 32, remark ≤ 256 (wishing, act_name and remark are required),
  scene_id PRODUCT_1…PRODUCT_8; anything else is ``PARAM_ERROR``.
- 发放规则: 1–200 yuan per packet (``MONEY_LIMIT``; the merchant platform can change it, see
  :class:`RedPackLimits`), 1800 packets a minute (``FREQ_LIMIT``), at most 10 packets and
  1000 yuan per user per day (``SENDNUM_LIMIT`` / ``RCVDAMOUNT_LIMIT``), 100万 yuan per
  merchant per day (``SENDAMOUNT_LIMIT``), and the merchant's balance (``NOTENOUGH``). Days are
  Beijing calendar days on the sandbox clock.
- ``mch_billno`` is the idempotency key ("支持重入"): sending the same request again (after a
  timeout or ``SYSTEMERROR``) answers the packet's original result and never pays twice; a
  different request under the billno of a sent packet is refused with ``FATAL_ERROR``
  ("openid和原始单参数不一致"). A refused request records nothing, so its billno may be used
  again.
- ``SYSTEMERROR`` means "请求已受理，请稍后使用原单号查询发放结果": the packet exists; query it.
- The query answers ``status`` SENDING, SENT (已发放待领取), FAILED, RECEIVED, RFUND_ING or
  REFUND with the packet's fields, ``NOT_FOUND`` for an unknown billno or one older than 30
  days.

Where the sandbox had to choose (not in the reference):

- No mutual TLS: the sandbox serves plain HTTP on loopback, so the merchant certificate a
  client presents (``CA_ERROR`` in production) is never checked here.
- A packet nobody receives is refunded 24 hours after it was sent (WeChat Pay's rule for cash
  red packets, :attr:`RedPackLimits.refund_after`): it passes RFUND_ING and, after
  :attr:`RedPackLimits.refund_processing` seconds (0 by default), REFUND, and its amount goes
  back to the balance. Packets are SENT at once; SENDING and FAILED never last here.
- Tests make a customer open a packet with :meth:`RedPacks.receive`, and move the sandbox
  clock to reach refunds (the sandbox calls :meth:`RedPacks.tick` whenever it moves).
- Faults (:mod:`~siyu.plugins.wecom.sandbox.faults`): the general knobs apply here as on
  ``/cgi-bin/``; ``pay_systemerrors`` answers the next N accepted sends ``SYSTEMERROR`` (the
  packet is recorded), ``pay_lost_answers`` records the next N sends and never answers them
  (after ``answer_latency`` seconds the connection closes).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import string
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import tornado.web

from siyu.core.i18n import translator, use_language
from siyu.plugins.wecom.sandbox.errors import SandboxError
from siyu.plugins.wecom.sandbox.world import TIMEZONE, World

if TYPE_CHECKING:  # pragma: no cover
    from siyu.plugins.wecom.sandbox.server import Sandbox

_ = translator("siyu.plugins.wecom")

SEND_PATH = "sendworkwxredpack"
QUERY_PATH = "queryworkwxredpack"
#: The fields ``workwx_sign`` covers ([M:90281]).
WORKWX_SIGN_FIELDS = ("act_name", "mch_billno", "mch_id", "nonce_str", "re_openid",
                      "total_amount", "wxappid")
#: Statuses a query answers ([M:90276]).
STATUSES = ("SENDING", "SENT", "FAILED", "RECEIVED", "RFUND_ING", "REFUND")
#: The fields of a send request that make its fingerprint (a re-call must repeat them).
FINGERPRINT_FIELDS = ("mch_id", "wxappid", "re_openid", "total_amount", "act_name", "wishing",
                      "remark", "sender_name", "agentid", "sender_header_media_id", "scene_id")
BILLNO = re.compile(r"[0-9a-zA-Z]{1,28}")
SCENE = re.compile(r"PRODUCT_[1-8]")
ALNUM = string.ascii_letters + string.digits
#: field → (most characters, required) for a send request.
SEND_FIELDS: dict[str, tuple[int, bool]] = {
    "nonce_str": (32, True), "sign": (32, True), "mch_billno": (28, True),
    "mch_id": (32, True), "wxappid": (32, True), "sender_name": (128, False),
    "agentid": (10, False), "sender_header_media_id": (128, False), "re_openid": (32, True),
    "total_amount": (10, True), "wishing": (128, True), "act_name": (32, True),
    "remark": (256, True), "scene_id": (32, False), "workwx_sign": (32, True),
}
QUERY_FIELDS: dict[str, tuple[int, bool]] = {
    "nonce_str": (32, True), "sign": (32, True), "mch_billno": (28, True),
    "mch_id": (32, True), "appid": (32, True),
}


def _descriptions() -> dict[str, str]:
    """err_code → err_code_des, in the current language (the Chinese texts are WeChat Pay's)."""
    return {
        "NO_AUTH": _("The request may be risky and was blocked by WeChat"),
        "SENDNUM_LIMIT": _("The user has received too many red packets today"),
        "SENDAMOUNT_LIMIT": _("The merchant has paid out too much today"),
        "RCVDAMOUNT_LIMIT": _("The user has received too much money today"),
        "ILLEGAL_APPID": _("wxappid is not the corp id"),
        "MONEY_LIMIT": _("Red packet amount out of range (1 to 200 yuan by default)"),
        "FATAL_ERROR": _("The openid or the parameters differ from the original order"),
        "SIGN_ERROR": _("Signature error"),
        "WORKWX_SIGN_ERROR": _("Signature error: the WeCom signature (workwx_sign) is wrong"),
        "SYSTEMERROR": _("The request was accepted; query the result later with the same "
                         "billno"),
        "XML_ERROR": _("The request is not valid XML"),
        "FREQ_LIMIT": _("Too many requests, try again later"),
        "NOTENOUGH": _("The merchant account balance is not enough"),
        "OPENID_ERROR": _("The openid does not belong to the appid"),
        "PARAM_ERROR": _("Parameter error"),
        "NOT_FOUND": _("No red packet with this billno"),
    }


def md5_sign(fields: dict[str, str], tail: str) -> str:
    """``MD5("k1=v1&k2=v2…" + tail)`` in upper case over the non-empty fields but ``sign``."""
    pairs = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if v != "" and k != "sign")
    return hashlib.md5(f"{pairs}{tail}".encode()).hexdigest().upper()


def pay_sign(fields: dict[str, str], key: str) -> str:
    """WeChat Pay's ``sign`` with the merchant API key."""
    return md5_sign(fields, f"&key={key}")


def workwx_sign(fields: dict[str, str], secret: str) -> str:
    """WeCom's ``workwx_sign`` over :data:`WORKWX_SIGN_FIELDS` with the app secret."""
    return md5_sign({k: fields.get(k, "") for k in WORKWX_SIGN_FIELDS}, f"&secret={secret}")


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_xml(fields: dict[str, str]) -> str:
    """``<xml><k><![CDATA[v]]></k>…</xml>`` as WeChat Pay answers."""
    return "<xml>" + "".join(f"<{k}>{_cdata(str(v))}</{k}>" for k, v in fields.items()) \
        + "</xml>"


class BadXml(ValueError):
    """A request body that is not the flat ``<xml>`` WeChat Pay takes."""


def parse_xml(raw: bytes) -> dict[str, str]:
    """The fields of a flat ``<xml>`` body; DOCTYPE and entity declarations are refused."""
    head = raw.upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise BadXml("DOCTYPE and ENTITY declarations are not accepted")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise BadXml(str(exc)) from None
    if root.tag != "xml":
        raise BadXml("the root element must be <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass
class Merchant:
    """The WeChat Pay merchant behind the corp: its number, API key and 企业支付 secret.

    :ivar balance: fen available for red packets (``NOTENOUGH`` below the amount).
    """

    mch_id: str
    mch_key: str
    pay_secret: str
    balance: int = 100_000_000


@dataclass
class RedPackLimits:
    """发放规则 (reference §5.2); tests shrink them to reach the edges quickly."""

    min_amount: int = 100
    max_amount: int = 20_000
    per_minute: int = 1800
    user_daily_count: int = 10
    user_daily_amount: int = 100_000
    merchant_daily_amount: int = 100_000_000
    refund_after: int = 24 * 3600
    refund_processing: int = 0
    query_days: int = 30


@dataclass
class RedPacket:
    """One packet the merchant sent, keyed by its ``mch_billno``.

    :ivar fingerprint: the request fields a re-call must repeat (:data:`FINGERPRINT_FIELDS`).
    """

    mch_billno: str
    send_listid: str
    re_openid: str
    external_userid: str
    total_amount: int
    send_time: float
    act_name: str
    wishing: str
    remark: str
    sender_name: str = ""
    sender_header_media_id: str = ""
    agentid: str = ""
    fingerprint: tuple[str, ...] = ()
    status: str = "SENT"
    rcv_time: float = 0.0
    refund_time: float = 0.0
    refund_amount: int = 0


class Refused(Exception):
    """A request answered with an error: ``request`` errors have ``return_code`` FAIL."""

    def __init__(self, err_code: str, detail: str = "", *, request: bool = False):
        super().__init__(f"{err_code} {detail}".strip())
        self.err_code, self.detail, self.request = err_code, detail, request


def _fmt(ts: float) -> str:
    """WeChat Pay's time format, Beijing time: ``2024-07-19 10:00:00``."""
    return datetime.fromtimestamp(ts, TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, TIMEZONE).strftime("%Y%m%d")


class RedPacks:
    """The red packets of one sandbox: merchant settings, sent packets and daily counters.

    Reads and changes happen under the world's lock.
    """

    def __init__(self, world: World, merchant: Merchant, limits: RedPackLimits | None = None):
        self.world = world
        self.merchant = merchant
        self.limits = limits or RedPackLimits()
        self.packets: dict[str, RedPacket] = {}
        #: (day, openid) → [packets, fen]; day → fen for the merchant.
        self.user_daily: dict[tuple[str, str], list[int]] = {}
        self.merchant_daily: dict[str, int] = {}
        self._recent: list[float] = []

    # -- what tests read and do ------------------------------------------------------------

    def get(self, billno: str) -> RedPacket | None:
        with self.world.lock:
            return self.packets.get(billno)

    def paid(self, openid: str | None = None) -> list[RedPacket]:
        """Packets sent so far (to ``openid`` only, when given), oldest first."""
        with self.world.lock:
            return [p for p in self.packets.values() if openid in (None, p.re_openid)]

    def receive(self, billno: str) -> RedPacket:
        """The customer opens the packet: SENT → RECEIVED.

        :raises SandboxError: unknown billno, or the packet is no longer waiting.
        """
        with self.world.lock:
            self.tick(self.world.now())
            packet = self.packets.get(billno)
            if packet is None:
                raise SandboxError(_("no red packet with billno {billno}", billno=billno))
            if packet.status != "SENT":
                raise SandboxError(_("red packet {billno} cannot be received: it is {status}",
                                     billno=billno, status=packet.status))
            packet.status, packet.rcv_time = "RECEIVED", self.world.now()
            return packet

    def tick(self, now: float) -> list[RedPacket]:
        """Refund packets left unreceived for :attr:`RedPackLimits.refund_after`; return
        those that changed."""
        changed = []
        limits = self.limits
        with self.world.lock:
            for packet in self.packets.values():
                due = packet.send_time + limits.refund_after
                if packet.status == "SENT" and now >= due:
                    packet.status, packet.refund_time = "RFUND_ING", due
                    changed.append(packet)
                if packet.status == "RFUND_ING" and now >= due + limits.refund_processing:
                    packet.status = "REFUND"
                    packet.refund_time = due + limits.refund_processing
                    packet.refund_amount = packet.total_amount
                    self.merchant.balance += packet.total_amount
                    if packet not in changed:
                        changed.append(packet)
        return changed

    # -- the two APIs ------------------------------------------------------------------------

    def _fields(self, raw: bytes, spec: dict[str, tuple[int, bool]]) -> dict[str, str]:
        try:
            fields = parse_xml(raw)
        except BadXml as exc:
            raise Refused("XML_ERROR", str(exc), request=True) from None
        for name, (most, required) in spec.items():
            value = fields.get(name, "")
            if required and not value:
                raise Refused("PARAM_ERROR", f"{name} is required", request=True)
            if len(value) > most:
                raise Refused("PARAM_ERROR", f"{name} is longer than {most}", request=True)
        if fields["mch_id"] != self.merchant.mch_id:
            raise Refused("PARAM_ERROR", "mch_id is not this merchant", request=True)
        if pay_sign(fields, self.merchant.mch_key) != fields["sign"].upper():
            raise Refused("SIGN_ERROR", "sign", request=True)
        if not BILLNO.fullmatch(fields["mch_billno"]):
            raise Refused("PARAM_ERROR", "mch_billno must be 1-28 letters or digits",
                          request=True)
        return fields

    def send(self, raw: bytes) -> tuple[dict[str, str], RedPacket | None]:
        """Handle one sendworkwxredpack body: ``(answer fields, packet sent or replayed)``.

        :raises Refused: the request is refused.
        """
        fields = self._fields(raw, SEND_FIELDS)
        world = self.world
        agentid = fields.get("agentid", "")
        if agentid and fields.get("sender_name"):
            raise Refused("PARAM_ERROR", "sender_name and agentid are exclusive", request=True)
        if agentid and agentid != str(world.corp.agent_id):
            raise Refused("PARAM_ERROR", f"agentid {agentid} is not the corp's app",
                          request=True)
        secrets_ok = [self.merchant.pay_secret] + ([world.corp.secret] if agentid else [])
        if fields["workwx_sign"].upper() not in {workwx_sign(fields, s) for s in secrets_ok}:
            raise Refused("WORKWX_SIGN_ERROR", "workwx_sign", request=True)
        if fields["wxappid"] != world.corp.corp_id:
            raise Refused("ILLEGAL_APPID", fields["wxappid"])
        fingerprint = tuple(fields.get(k, "") for k in FINGERPRINT_FIELDS)
        billno = fields["mch_billno"]
        known = self.packets.get(billno)
        if known is not None:
            if known.fingerprint != fingerprint:
                raise Refused("FATAL_ERROR", f"mch_billno {billno} was sent with other fields")
            return self._sent_answer(known), known
        if not re.fullmatch(r"[1-9][0-9]{0,9}", fields["total_amount"]):
            raise Refused("PARAM_ERROR", "total_amount must be a whole number of fen")
        scene = fields.get("scene_id", "")
        if scene and not SCENE.fullmatch(scene):
            raise Refused("PARAM_ERROR", "scene_id must be PRODUCT_1 … PRODUCT_8")
        customer = next((c for c in world.customers.values()
                         if c.openid == fields["re_openid"]), None)
        if customer is None:
            raise Refused("OPENID_ERROR", fields["re_openid"])
        amount = int(fields["total_amount"])
        limits = self.limits
        if not limits.min_amount <= amount <= limits.max_amount:
            raise Refused("MONEY_LIMIT", f"{amount} fen")
        now = world.now()
        self._recent = [t for t in self._recent if now - t < 60]
        if len(self._recent) >= limits.per_minute:
            raise Refused("FREQ_LIMIT", f"{limits.per_minute} per minute")
        day = _day(now)
        count, received = self.user_daily.get((day, customer.openid), [0, 0])
        if count >= limits.user_daily_count:
            raise Refused("SENDNUM_LIMIT", f"{limits.user_daily_count} per day")
        if received + amount > limits.user_daily_amount:
            raise Refused("RCVDAMOUNT_LIMIT", f"{limits.user_daily_amount} fen per day")
        if self.merchant_daily.get(day, 0) + amount > limits.merchant_daily_amount:
            raise Refused("SENDAMOUNT_LIMIT", f"{limits.merchant_daily_amount} fen per day")
        if self.merchant.balance < amount:
            raise Refused("NOTENOUGH", f"balance {self.merchant.balance} fen")
        packet = RedPacket(
            mch_billno=billno, send_listid=world.new_hex(32)[:28].upper(),
            re_openid=customer.openid, external_userid=customer.external_userid,
            total_amount=amount, send_time=now, act_name=fields["act_name"],
            wishing=fields["wishing"], remark=fields["remark"],
            sender_name=fields.get("sender_name", ""),
            sender_header_media_id=fields.get("sender_header_media_id", ""),
            agentid=agentid, fingerprint=fingerprint)
        self.packets[billno] = packet
        self.merchant.balance -= amount
        self.user_daily[(day, customer.openid)] = [count + 1, received + amount]
        self.merchant_daily[day] = self.merchant_daily.get(day, 0) + amount
        self._recent.append(now)
        return self._sent_answer(packet), packet

    def _sent_answer(self, packet: RedPacket) -> dict[str, str]:
        answer = {"return_code": "SUCCESS", "return_msg": _("Sent"), "result_code": "SUCCESS",
                  "err_code": "SUCCESS", "err_code_des": _("Sent"),
                  "mch_billno": packet.mch_billno, "mch_id": self.merchant.mch_id,
                  "wxappid": self.world.corp.corp_id, "re_openid": packet.re_openid,
                  "total_amount": str(packet.total_amount), "send_listid": packet.send_listid,
                  "sender_name": packet.sender_name,
                  "sender_header_media_id": packet.sender_header_media_id}
        return {k: v for k, v in answer.items() if v != ""}

    def query(self, raw: bytes) -> dict[str, str]:
        """Handle one queryworkwxredpack body.

        :raises Refused: the request is refused (``NOT_FOUND`` included).
        """
        fields = self._fields(raw, QUERY_FIELDS)
        if fields["appid"] != self.world.corp.corp_id:
            raise Refused("PARAM_ERROR", "appid is not the corp id")
        now = self.world.now()
        self.tick(now)
        packet = self.packets.get(fields["mch_billno"])
        if packet is None or now - packet.send_time > self.limits.query_days * 86400:
            raise Refused("NOT_FOUND", fields["mch_billno"])
        answer = {"return_code": "SUCCESS", "return_msg": "OK", "result_code": "SUCCESS",
                  "err_code": "SUCCESS", "err_code_des": "OK",
                  "mch_billno": packet.mch_billno, "mch_id": self.merchant.mch_id,
                  "detail_id": packet.send_listid, "status": packet.status, "send_type": "API",
                  "total_amount": str(packet.total_amount), "send_time": _fmt(packet.send_time),
                  "wishing": packet.wishing, "remark": packet.remark,
                  "act_name": packet.act_name, "openid": packet.re_openid,
                  "amount": str(packet.total_amount), "sender_name": packet.sender_name,
                  "sender_header_media_id": packet.sender_header_media_id}
        if packet.rcv_time:
            answer["rcv_time"] = _fmt(packet.rcv_time)
        if packet.refund_time:
            answer["refund_time"] = _fmt(packet.refund_time)
        if packet.refund_amount:
            answer["refund_amount"] = str(packet.refund_amount)
        return {k: v for k, v in answer.items() if v != ""}

    def refusal(self, exc: Refused) -> dict[str, str]:
        """The answer to a refused request (``return_code`` FAIL for request errors)."""
        code = "SIGN_ERROR" if exc.err_code == "WORKWX_SIGN_ERROR" else exc.err_code
        text = _descriptions().get(exc.err_code, exc.err_code)
        if exc.detail:
            text = f"{text} ({exc.detail})"
        return {"return_code": "FAIL" if exc.request else "SUCCESS", "return_msg": text,
                "result_code": "FAIL", "err_code": code, "err_code_des": text}

    def systemerror(self, answer: dict[str, str]) -> dict[str, str]:
        """``answer`` turned into the SYSTEMERROR answer of an accepted request."""
        text = _descriptions()["SYSTEMERROR"]
        return {"return_code": "SUCCESS", "return_msg": text, "result_code": "FAIL",
                "err_code": "SYSTEMERROR", "err_code_des": text,
                "mch_billno": answer.get("mch_billno", ""), "mch_id": self.merchant.mch_id}

    def signed(self, answer: dict[str, str]) -> dict[str, str]:
        """``answer`` with its ``sign`` when ``return_code`` is SUCCESS."""
        if answer.get("return_code") == "SUCCESS":
            answer = {**answer, "sign": pay_sign(answer, self.merchant.mch_key)}
        return answer


def new_merchant(mch_id: str | None = None, mch_key: str | None = None,
                 pay_secret: str | None = None) -> Merchant:
    """A merchant with the given settings, random ones where omitted."""
    return Merchant(
        mch_id=mch_id or "1" + "".join(secrets.choice(string.digits) for _i in range(9)),
        mch_key=mch_key or "".join(secrets.choice(ALNUM) for _i in range(32)),
        pay_secret=pay_secret or "".join(secrets.choice(ALNUM + "-_") for _i in range(43)))


class PayHandler(tornado.web.RequestHandler):
    """``POST /mmpaymkttransfers/<api>``: faults first, then the API under the world lock."""

    def initialize(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def check_xsrf_cookie(self) -> None:  # an API, not a web form
        return

    async def post(self, api: str) -> None:
        sandbox = self.sandbox
        faults = sandbox.faults
        fault = faults.draw()
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if fault == "drop":
            self.request.connection.stream.close()
            self.finish()
            return
        if fault == "error":
            self.set_status(faults.error_status)
            self.finish(f"<html><body><h1>{faults.error_status}</h1></body></html>")
            return
        redpacks = sandbox.redpacks
        lose = False
        with use_language(sandbox.page_language()), sandbox.world.lock:
            try:
                if fault == "busy":
                    raise Refused("SYSTEMERROR", request=True)
                if api == SEND_PATH:
                    answer, packet = redpacks.send(self.request.body)
                    if packet is not None and faults.take_pay_fault("pay_lost_answers"):
                        lose = True
                    elif packet is not None and faults.take_pay_fault("pay_systemerrors"):
                        answer = redpacks.systemerror(answer)
                else:
                    answer = redpacks.query(self.request.body)
            except Refused as exc:
                answer = redpacks.refusal(exc)
            answer = redpacks.signed(answer)
        if faults.answer_latency > 0:
            await asyncio.sleep(faults.answer_latency)
        if lose or faults.lose_answer():
            self.request.connection.stream.close()  # recorded; nobody hears so
            self.finish()
            return
        self.set_header("Content-Type", "text/xml; charset=UTF-8")
        self.finish(render_xml(answer))


def pay_routes(sandbox: Sandbox) -> list:
    """The WeChat Pay routes of the sandbox application."""
    return [(rf"/mmpaymkttransfers/({SEND_PATH}|{QUERY_PATH})", PayHandler,
             {"sandbox": sandbox})]


__all__ = ["Merchant", "PayHandler", "RedPackLimits", "RedPacket", "RedPacks", "STATUSES",
           "new_merchant", "pay_routes", "pay_sign", "parse_xml", "render_xml", "workwx_sign"]
