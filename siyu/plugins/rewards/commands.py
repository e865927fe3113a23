"""``siyu reward …``: reward pools, coupon codes, claims and claim links.

::

    siyu reward pool-add welcome --kind red_packet --amount 8.88 --budget 888
    siyu reward pool-add c20 --kind coupon --amount 20 --threshold 100 --days 30
    siyu reward codes c20 codes.txt            # one code per line (or a CSV's first column)
    siyu reward pools
    siyu reward pool-show welcome
    siyu reward pool-status welcome paused
    siyu reward link welcome 42 --public-url https://scrm.example.com
    siyu reward claim welcome 42
    siyu reward claims [--pool welcome] [--contact 42] [--json]

Amounts are given in yuan (at most two decimals) and kept as integer fen. Errors print one
line. The plugin registers :func:`configure` and :func:`run` by import path, so this module
is imported only when ``siyu reward`` runs.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from siyu.cli import nonblank
from siyu.cli_table import table_text
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.rewards")

POOL_COLUMNS = ("name", "title", "kind", "mode", "status", "amount", "budget", "spent",
                "claims", "contact_limit", "daily_limit", "ends_at")
CLAIM_COLUMNS = ("id", "pool", "contact_id", "contact", "amount", "code", "claimed_at",
                 "payout", "payout_message")


def yuan(text: str) -> int:
    """``"8.88"`` → 888 fen; more than two decimals, or not a number, is refused."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(_("{text} is not an amount in yuan",
                                           text=repr(text))) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise argparse.ArgumentTypeError(_("{text} is not an amount in yuan with at most two "
                                           "decimals", text=repr(text)))
    return int(value * 100)


def when(text: str) -> datetime:
    """An ISO 8601 time (a time without an offset is read in the workspace's timezone)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text} is not a time like 2026-12-12T20:00",
                                           text=repr(text))) from None


def configure(parser: argparse.ArgumentParser) -> None:
    """The actions of ``siyu reward``."""
    sub = parser.add_subparsers(dest="reward_command", metavar="ACTION", required=True)
    p = sub.add_parser("pools", help=_("every pool with its budget and spend"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("pool-add", help=_("create a red-packet or coupon pool"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--kind", required=True, choices=("red_packet", "coupon"))
    p.add_argument("--mode", default="fixed", choices=("fixed", "random", "lucky"),
                   help=_("red packets: fixed, random in a range, or a lucky split"))
    p.add_argument("--title", default="")
    p.add_argument("--amount", type=yuan, default=0,
                   help=_("yuan: each fixed red packet, or a coupon's face value"))
    p.add_argument("--min", dest="min_fen", type=yuan, default=0, help=_("yuan (random)"))
    p.add_argument("--max", dest="max_fen", type=yuan, default=0, help=_("yuan (random)"))
    p.add_argument("--budget", type=yuan, default=0, help=_("yuan the pool may pay in all"))
    p.add_argument("--shares", type=int, default=0, help=_("lucky: how many red packets"))
    p.add_argument("--threshold", type=yuan, default=0,
                   help=_("coupons: the order total (yuan) that unlocks them"))
    p.add_argument("--days", type=int, default=0, help=_("coupons: valid days after claiming"))
    p.add_argument("--limit", type=int, default=1, help=_("claims per customer"))
    p.add_argument("--daily", type=int, default=0, help=_("claims per customer per day"))
    p.add_argument("--starts", type=when, default=None)
    p.add_argument("--ends", type=when, default=None)
    p.add_argument("--segment", default=None, help=_("only members of this saved segment"))
    p.add_argument("--tag", default=None, help=_("only customers with this group/name tag"))
    p = sub.add_parser("pool-show", help=_("one pool's budget, spend, claims and what is left"))
    p.add_argument("name", type=nonblank)
    p = sub.add_parser("pool-status", help=_("pause, resume or end a pool"))
    p.add_argument("name", type=nonblank)
    p.add_argument("status", choices=("active", "paused", "ended"))
    p = sub.add_parser("codes", help=_("load coupon codes from a file (all or nothing)"))
    p.add_argument("name", type=nonblank)
    p.add_argument("file", type=Path)
    p = sub.add_parser("link", help=_("a customer's claim link for a welcome message or a "
                                      "campaign"))
    p.add_argument("name", type=nonblank)
    p.add_argument("contact", type=nonblank)
    p.add_argument("--public-url", required=True, help=_("where customers reach siyu"))
    p.add_argument("--days", type=float, default=7, help=_("days the link works"))
    p = sub.add_parser("claim", help=_("claim for a customer (as the claim page would)"))
    p.add_argument("name", type=nonblank)
    p.add_argument("contact", type=nonblank)
    p = sub.add_parser("pay-config", help=_("show or change the WeChat Pay settings (secrets "
                                            "come from environment variables, never shown)"))
    p.add_argument("--mch-id", default=None, help=_("the merchant number (商户号)"))
    p.add_argument("--mch-key-env", default=None, metavar="VAR",
                   help=_("the environment variable holding the merchant API key"))
    p.add_argument("--pay-secret-env", default=None, metavar="VAR",
                   help=_("the environment variable holding the 企业支付 secret"))
    p.add_argument("--sender-name", default=None)
    p.add_argument("--wishing", default=None)
    p.add_argument("--cert", default=None, help=_("the merchant certificate (PEM file)"))
    p.add_argument("--key", default=None, help=_("its private key (PEM file)"))
    p.add_argument("--pay-url", default=None, help=_("WeChat Pay's address (tests, proxies)"))
    p = sub.add_parser("pay", help=_("pay waiting red packets and check the unknown ones"))
    p.add_argument("--limit", type=int, default=200)
    p = sub.add_parser("retry", help=_("send a failed payout again (same bill number)"))
    p.add_argument("billno", type=nonblank, metavar="BILLNO")
    p = sub.add_parser("claims", help=_("the ledger: who claimed what, and each payout"))
    p.add_argument("--pool", default=None)
    p.add_argument("--contact", default=None)
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))


def _contact(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _money(fen: Any) -> str:
    return "" if fen is None else f"{int(fen) / 100:.2f}"


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps([{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                        for k, v in r.items()} for r in rows],
                      ensure_ascii=False, indent=2, default=str)


def _read_codes(path: Path) -> list[str]:
    if not path.is_file():
        raise ValidationError(_("no file at {path}", path=str(path)))
    text = path.read_text(encoding="utf-8-sig")
    rows = csv.reader(text.splitlines())
    return [row[0].strip() for row in rows if row and row[0].strip()]


def run(ws: Any, args: argparse.Namespace) -> int:
    """Do ``args.reward_command``; returns the exit code."""
    from siyu.plugins.rewards import claims, pools, tokens

    action = args.reward_command
    if action == "pools":
        frame = pools.listing(ws)
        rows = frame.to_dict("records")
        if args.json:
            print(_json(rows))
            return 0
        shown = [{**r, "amount": _money(r["amount_fen"]), "budget": _money(r["budget_fen"]),
                  "spent": _money(r["spent_fen"])} for r in rows]
        print(table_text(shown, POOL_COLUMNS, _("no pools yet"), ws.timezone))
    elif action == "pool-add":
        pool = pools.create(
            ws, args.name, kind=args.kind, mode=args.mode, title=args.title,
            amount_fen=args.amount, min_fen=args.min_fen, max_fen=args.max_fen,
            budget_fen=args.budget, shares=args.shares, threshold_fen=args.threshold,
            coupon_days=args.days, contact_limit=args.limit, daily_limit=args.daily,
            starts_at=_aware(ws, args.starts), ends_at=_aware(ws, args.ends),
            segment=args.segment, tag=args.tag)
        print(_("created pool {name}", name=pool.name))
    elif action == "pool-show":
        summary = pools.summary(ws, args.name)
        for key in ("name", "kind", "mode", "status", "budget_fen", "spent_fen", "claims",
                    "items", "items_left"):
            value = summary[key]
            print(f"{key}: {_money(value) if key.endswith('_fen') else value}")
    elif action == "pool-status":
        pools.set_status(ws, args.name, args.status)
        print(_("pool {name} is now {status}", name=args.name, status=args.status))
    elif action == "codes":
        added = pools.add_codes(ws, args.name, _read_codes(args.file))
        print(_("added {n} codes to {name}", n=added, name=args.name))
    elif action == "link":
        pool = pools.get(ws, args.name)
        contact = ws.contacts.get(_contact(args.contact))
        print(tokens.claim_url(args.public_url, tokens.make_token(
            ws, pool.id, contact.id, days=args.days)))
    elif action == "pay-config":
        _pay_config(ws, args)
    elif action == "pay":
        from siyu.plugins.rewards import payouts

        report = payouts.pay_due(ws, limit=args.limit)
        print(_("paid {paid}, failed {failed}, still unknown {unknown}", paid=report.paid,
                failed=report.failed, unknown=report.unknown))
    elif action == "retry":
        from siyu.plugins.rewards import payouts

        print(_("payout {billno}: {status}", billno=args.billno,
                status=payouts.retry(ws, args.billno)))
    elif action == "claim":
        granted = claims.claim(ws, args.name, _contact(args.contact), source="cli")
        print(_("claim {id}: {amount} yuan{code}", id=granted.id,
                amount=_money(granted.amount_fen),
                code=" (" + granted.code + ")" if granted.code else ""))
    else:
        frame = claims.listing(ws, pool=args.pool,
                               contact=_contact(args.contact) if args.contact else None)
        rows = [{**r, "amount": _money(r["amount_fen"])} for r in frame.to_dict("records")]
        print(_json(rows) if args.json else
              table_text(rows, CLAIM_COLUMNS, _("no claims yet"), ws.timezone))
    return 0


def _pay_config(ws: Any, args: argparse.Namespace) -> None:
    import os

    from siyu.plugins.rewards import payouts

    values: dict[str, str | None] = {
        "mch_id": args.mch_id, "sender_name": args.sender_name, "wishing": args.wishing,
        "cert_path": args.cert, "key_path": args.key, "pay_url": args.pay_url}
    for name, var in (("mch_key", args.mch_key_env), ("pay_secret", args.pay_secret_env)):
        if var is not None:
            if not os.environ.get(var):
                raise ValidationError(_("the environment variable {var} is not set", var=var))
            values[name] = os.environ[var]
    shown = payouts.configure(ws, **values) if any(v is not None for v in values.values()) \
        else payouts.public_settings(ws)
    for name, value in shown.items():
        if isinstance(value, bool):
            value = _("set") if value else _("not set")
        print(f"{name}: {value}")


def _aware(ws: Any, value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ws.timezone)
