"""Paying red-packet claims through WeChat Pay, exactly once.

Every red-packet claim has a ``reward_payout`` row written with it (status ``pending``, a
``billno`` fixed by the claim id). :func:`pay_due` pays them:

1. the row is marked ``unknown`` and its attempt counted — committed *before* WeChat Pay is
   called, so a crash mid-call leaves a row that says "this may have been paid";
2. outside any transaction: the customer's openid (``externalcontact/convert_to_openid``),
   then ``sendworkwxredpack`` under the row's billno;
3. the outcome is recorded: ``paid``, ``failed`` (with WeChat Pay's reason), or still
   ``unknown``.

An ``unknown`` row is never sent blindly again: it is first *queried* under its billno. Found
→ its state is recorded; WeChat Pay does not know the billno → it never arrived, and it is sent
again under the same billno (WeChat Pay pays a billno at most once). A ``failed`` payout stays
visible with its reason and is sent again only when someone asks (:func:`retry`).

Settings (``siyu reward pay-config``): ``rewards.mch_id``, ``rewards.mch_key`` and
``rewards.pay_secret`` (secrets: never shown), ``rewards.sender_name``, ``rewards.wishing``,
``rewards.cert_path``/``rewards.key_path`` (the merchant certificate), ``rewards.pay_url``
(WeChat Pay's address; on the built-in sandbox its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ConfigError, NotFound, SiyuError, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.rewards.models import RewardClaim, RewardPayout, RewardPool
from siyu.storage.models import Contact
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.plugins.rewards.wxpay import PayConfig, PayoutResult

_ = translator("siyu.plugins.rewards")

PREFIX = "rewards."
SECRET_SETTINGS = ("mch_key", "pay_secret")
PLAIN_SETTINGS = ("mch_id", "sender_name", "wishing", "cert_path", "key_path", "pay_url")
WECHAT_PAY = "https://api.mch.weixin.qq.com"
#: WeChat Pay's answer to a query for a billno it never received.
NEVER_RECEIVED = "NOT_FOUND"
PAYOUT, C, P = RewardPayout.__table__, RewardClaim.__table__, RewardPool.__table__


@dataclass
class PayReport:
    """What one :func:`pay_due` run did."""

    paid: int = 0
    failed: int = 0
    unknown: int = 0
    problems: list[str] = field(default_factory=list)


def configure(ws: Workspace, **values: str | None) -> dict[str, Any]:
    """Change the payout settings (``mch_id``, ``mch_key``, ``pay_secret``, ``sender_name``,
    ``wishing``, ``cert_path``, ``key_path``, ``pay_url``); ``None`` leaves one as it is.

    :return: :func:`public_settings`.
    """
    ws.principal.require("settings.write")
    unknown = set(values) - set(SECRET_SETTINGS) - set(PLAIN_SETTINGS)
    if unknown:
        raise ValidationError(_("unknown payout setting {name}", name=sorted(unknown)[0]))
    mch_id = values.get("mch_id")
    if mch_id is not None and mch_id and not (mch_id.isalnum() and len(mch_id) <= 10):
        raise ValidationError(_("the merchant number is 1 to 10 letters or digits"))
    for name, value in values.items():
        if value is not None:
            ws.settings.set(PREFIX + name, value.strip())
    return public_settings(ws)


def public_settings(ws: Workspace) -> dict[str, Any]:
    """The payout settings with each secret shown only as set or not."""
    shown: dict[str, Any] = {n: ws.settings.get(PREFIX + n) or "" for n in PLAIN_SETTINGS}
    shown.update({n: bool(ws.settings.get(PREFIX + n)) for n in SECRET_SETTINGS})
    return shown


def pay_config(ws: Workspace) -> PayConfig:
    """The WeChat Pay settings as the client takes them.

    :raises ConfigError: the merchant number, key or payment secret is missing.
    """
    from siyu.plugins.rewards.wxpay import PayConfig
    from siyu.plugins.wecom.config import DEFAULT_BASE_URL, load_config

    get = lambda name: ws.settings.get(PREFIX + name) or ""  # noqa: E731
    missing = [n for n in ("mch_id", "mch_key", "pay_secret") if not get(n)]
    if missing:
        raise ConfigError(_("set the WeChat Pay {names} first (siyu reward pay-config)",
                            names=", ".join(missing)))
    wecom = load_config(ws)
    default = WECHAT_PAY if wecom.base_url.rstrip("/") == DEFAULT_BASE_URL else wecom.base_url
    return PayConfig(get("mch_id"), get("mch_key"), get("pay_secret"), appid=wecom.corp_id,
                     cert_path=get("cert_path") or None, key_path=get("key_path") or None,
                     base_url=(get("pay_url") or default).rstrip("/"))


def _due(ws: Workspace, limit: int, ids: list[int] | None = None) -> list[Any]:
    k, o = Contact.__table__.c, PAYOUT.c
    query = (sa.select(o.id, o.billno, o.amount_fen, o.status, k.external_userid, P.c.title)
             .select_from(PAYOUT.join(C, C.c.id == o.claim_id).join(P, P.c.id == C.c.pool_id)
                          .join(Contact.__table__, k.id == C.c.contact_id, isouter=True))
             .order_by(PAYOUT.c.id).limit(limit))
    if ids is not None:
        query = query.where(PAYOUT.c.id.in_(ids))
    else:
        query = query.where(PAYOUT.c.status.in_(("pending", "unknown")))
    with ws.engine.connect() as conn:
        return conn.execute(query).all()


def _record(ws: Workspace, payout_id: int, result: PayoutResult | None = None, *,
            status: str | None = None, message: str = "", attempt: bool = False) -> None:
    values: dict[str, Any] = {"updated_at": utcnow()}
    if result is not None:
        values.update(status=result.status, err_code=result.err_code[:64],
                      message=(result.message or "")[:500],
                      send_listid=result.send_listid[:64])
    if status is not None:
        values.update(status=status, message=message[:500])
    if attempt:
        values["attempts"] = PAYOUT.c.attempts + 1
    with ws.session() as s:
        s.execute(sa.update(PAYOUT).where(PAYOUT.c.id == payout_id).values(**values))


def _pay_one(ws: Workspace, config: PayConfig, row: Any) -> str:
    from siyu.plugins.rewards import wxpay
    from siyu.plugins.wecom.service import wecom

    if row.status == "unknown":  # reconcile before anything else
        found = wxpay.query_red_packet(config, row.billno)
        if found.status == "paid" or found.err_code != NEVER_RECEIVED:
            _record(ws, row.id, found)
            return found.status
    if not row.external_userid:
        _record(ws, row.id, status="failed",
                message=_("the customer is not a WeCom contact, so has no WeChat to pay"))
        return "failed"
    _record(ws, row.id, status="unknown", attempt=True)  # the intent, committed first
    try:
        openid = wecom(ws).client.convert_to_openid(row.external_userid)
    except SiyuError as exc:  # nothing was sent to WeChat Pay: back to pending
        _record(ws, row.id, status="pending", message=str(exc))
        return "pending"
    result = wxpay.send_red_packet(
        config, billno=row.billno, openid=openid, amount_fen=row.amount_fen,
        sender_name=ws.settings.get(PREFIX + "sender_name") or ws.name[:32] or "siyu",
        act_name=(row.title or "")[:32] or "siyu",
        wishing=ws.settings.get(PREFIX + "wishing") or _("Thank you!"))
    _record(ws, row.id, result)
    return result.status


def pay_due(ws: Workspace, *, limit: int = 200) -> PayReport:
    """Pay the pending payouts and reconcile the unknown ones (oldest first).

    :raises ConfigError: WeChat Pay is not set up.
    """
    ws.principal.require("rewards.pay")
    config = pay_config(ws)
    report = PayReport()
    for row in _due(ws, limit):
        try:
            outcome = _pay_one(ws, config, row)
        except ValidationError as exc:  # refused before sending: the row says why
            _record(ws, row.id, status="failed", message=str(exc))
            outcome = "failed"
        if outcome in ("paid", "failed", "unknown"):
            setattr(report, outcome, getattr(report, outcome) + 1)
    if report.paid or report.failed:
        ws.audit("reward.pay", "", {"paid": report.paid, "failed": report.failed,
                                    "unknown": report.unknown})
    return report


def retry(ws: Workspace, billno: str) -> str:
    """Send a ``failed`` payout again (same billno); its new status.

    :raises NotFound: no such payout. :raises ValidationError: it is not failed.
    """
    ws.principal.require("rewards.pay")
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(PAYOUT.c.id, PAYOUT.c.status)
                           .where(PAYOUT.c.billno == billno)).first()
    if row is None:
        raise NotFound(_("unknown payout {billno}", billno=repr(billno)))
    if row.status != "failed":
        raise ValidationError(_("payout {billno} is {status}; only a failed payout is sent "
                                "again", billno=billno, status=row.status))
    config = pay_config(ws)
    [due] = _due(ws, 1, ids=[row.id])
    ws.audit("reward.pay_retry", billno)
    from types import SimpleNamespace

    return _pay_one(ws, config, SimpleNamespace(**{**due._asdict(), "status": "pending"}))
