"""``siyu contacts`` (follows, owner, owner rule), ``siyu orders upsert`` and ``siyu identity``:
the data commands that are not imports."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import Any

from siyu.apps.commands import workspace
from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _

OWNER_RULES = ("first", "last", "livecode")
ORDER_STATUSES = ("paid", "partially_refunded", "refunded", "cancelled")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``contacts``, ``orders`` and ``identity`` to the ``siyu`` sub-command parser."""
    p = sub.add_parser("contacts", help=_("a contact's follows and owner"),
                       description=_("WeCom lets a customer be the friend of several staff "
                                     "members (follows); one of them is the owner, chosen "
                                     "by the owner rule or by hand."))
    contacts = p.add_subparsers(dest="contacts_command", metavar="ACTION", required=True)
    q = contacts.add_parser("follows", parents=[common],
                            help=_("the staff members a contact follows"))
    q.add_argument("contact", help=_("contact id or external_userid"))
    q.add_argument("--all", action="store_true", help=_("include ended follows"))
    q.set_defaults(func=cmd_contacts_follows)
    q = contacts.add_parser("owner", parents=[common],
                            help=_("make a staff member the contact's owner"))
    q.add_argument("contact", help=_("contact id or external_userid"))
    q.add_argument("staff", help=_("staff userid (one the contact follows)"))
    q.set_defaults(func=cmd_contacts_owner)
    q = contacts.add_parser("owner-rule", parents=[common],
                            help=_("show or set how owners are chosen (first, last, "
                                   "livecode)"))
    q.add_argument("rule", nargs="?", choices=OWNER_RULES,
                   help=_("first: the longest friend; last: the latest; livecode: the member "
                          "a live code assigned"))
    q.add_argument("--no-apply", action="store_true",
                   help=_("keep today's owners; the rule applies from the next change"))
    q.set_defaults(func=cmd_contacts_owner_rule)

    p = sub.add_parser("orders", help=_("store or update one order"),
                       description=_("Orders are keyed by (source, order number); storing "
                                     "one again updates its amount, status and refund."))
    orders = p.add_subparsers(dest="orders_command", metavar="ACTION", required=True)
    q = orders.add_parser("upsert", parents=[common], help=_("create or update an order"))
    q.add_argument("source", help=_("where the order comes from (tmall, jd, pos…)"))
    q.add_argument("order_no", help=_("the order number in that source"))
    money = q.add_mutually_exclusive_group(required=True)
    money.add_argument("--amount", type=_yuan_to_fen, dest="amount_fen", metavar="YUAN",
                       help=_("the amount in yuan, e.g. 199.90"))
    money.add_argument("--amount-fen", type=_fen, dest="amount_fen", metavar="FEN",
                       help=_("the amount in integer fen, e.g. 19990"))
    q.add_argument("--paid-at", required=True, help=_("when it was paid (2026-11-11T20:05; "
                                                      "the workspace timezone)"))
    q.add_argument("--status", choices=ORDER_STATUSES, default="paid")
    refund = q.add_mutually_exclusive_group()
    refund.add_argument("--refunded", type=_yuan_to_fen, dest="refunded_fen", metavar="YUAN",
                        help=_("refunded so far, in yuan"))
    refund.add_argument("--refunded-fen", type=_fen, dest="refunded_fen", metavar="FEN",
                        help=_("refunded so far, in integer fen"))
    q.add_argument("--contact", help=_("contact id or external_userid"))
    q.add_argument("--phone", dest="buyer_phone",
                   help=_("the buyer's phone, to match a contact"))
    q.add_argument("--unionid", dest="buyer_unionid", help=_("the buyer's WeChat unionid"))
    q.add_argument("--member-id", help=_("the buyer's member id"))
    q.add_argument("--store", help=_("store code"))
    q.add_argument("--staff", help=_("staff userid"))
    q.add_argument("--no-notify", action="store_true",
                   help=_("do not notify plugins (on_order / on_order_changed)"))
    q.set_defaults(func=cmd_orders_upsert)

    p = sub.add_parser("identity", help=_("how orders and members are matched to contacts"),
                       description=_("The keys tried, in order, to match an order or a "
                                     "member to a contact."))
    identity = p.add_subparsers(dest="identity_command", metavar="ACTION", required=True)
    q = identity.add_parser("order", parents=[common],
                            help=_("show or set the matching order"))
    q.add_argument("keys", nargs="?", help=_("comma-separated, from external_userid, "
                                             "unionid, phone, member_id"))
    q.set_defaults(func=cmd_identity_order)


def _fen(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value!r} is not a whole number of fen",
                                           value=text)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(_("{value!r} is negative", value=text))
    return value


def _yuan_to_fen(text: str) -> int:
    try:
        value = Decimal(text.strip().lstrip("¥"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(_("{value!r} is not an amount in yuan",
                                           value=text)) from None
    fen = value * 100
    if value < 0 or fen != fen.to_integral_value():
        raise argparse.ArgumentTypeError(_("{value!r} is not an amount in yuan (at most two "
                                           "decimals, not negative)", value=text))
    return int(fen)


def _contact(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def cmd_contacts_follows(args: argparse.Namespace) -> int:
    """``siyu contacts follows CONTACT``."""
    with workspace(args) as ws:
        follows = ws.follows.of(_contact(args.contact), include_deleted=args.all)
        tz = ws.timezone
    if not follows:
        print(_("No staff member follows this contact.") if not args.all
              else _("This contact never followed a staff member."))
        return 0
    for f in follows:
        added = f.added_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if f.added_at else "?"
        ended = (_("ended {at} by {by}", at=f.deleted_at.astimezone(tz).strftime(
            "%Y-%m-%d %H:%M"), by=f.deleted_by) if f.deleted_at else _("live"))
        owner = (" " + _("owner (chosen)") if f.owner and f.pinned
                 else (" " + _("owner") if f.owner else ""))
        parts = [f"{f.staff} ({f.staff_name})", _("added {at}", at=added),
                 _("state {state}", state=f.state or "-"), ended + owner]
        if f.remark:
            parts.append(_("remark {remark}", remark=f.remark))
        print("  ".join(parts))
    return 0


def cmd_contacts_owner(args: argparse.Namespace) -> int:
    """``siyu contacts owner CONTACT STAFF``."""
    with workspace(args) as ws:
        ws.contacts.set_owner(_contact(args.contact), args.staff)
    print(_("{contact} is now owned by {staff} (chosen by hand; holds until {staff}'s "
            "follow ends)", contact=args.contact, staff=args.staff))
    return 0


def cmd_contacts_owner_rule(args: argparse.Namespace) -> int:
    """``siyu contacts owner-rule [RULE]``."""
    with workspace(args) as ws:
        if args.rule is None:
            print(_("owner rule: {rule}", rule=ws.follows.owner_rule))
            return 0
        changed = ws.follows.set_owner_rule(args.rule, apply=not args.no_apply)
    print(_("owner rule: {rule}", rule=args.rule) + (
        "" if args.no_apply else "; " + _.ngettext(
            "{n} contact got another owner", "{n} contacts got another owner", changed)))
    return 0


def cmd_orders_upsert(args: argparse.Namespace) -> int:
    """``siyu orders upsert SOURCE ORDER_NO``."""
    with workspace(args) as ws:
        order, change = ws.orders.upsert(
            args.source, args.order_no, amount_fen=args.amount_fen, paid_at=args.paid_at,
            status=args.status, refunded_fen=args.refunded_fen,
            contact=_contact(args.contact) if args.contact else None,
            buyer_phone=args.buyer_phone, buyer_unionid=args.buyer_unionid,
            member_id=args.member_id, store=args.store, staff=args.staff,
            notify=not args.no_notify)
    buyer = (_("contact {id}", id=order.contact_id) if order.contact_id
             else _("no contact matched"))
    changes = {"created": _("created"), "updated": _("updated"), "unchanged": _("unchanged")}
    print(_("order {source}:{number} {change}: {status}, {amount} fen, refunded {refunded} "
            "fen, {buyer}", source=args.source, number=args.order_no,
            change=changes.get(change, change), status=order.status,
            amount=order.amount_fen, refunded=order.refunded_fen, buyer=buyer))
    return 0


def cmd_identity_order(args: argparse.Namespace) -> int:
    """``siyu identity order [KEYS]``."""
    from siyu.core import identity

    with workspace(args) as ws:
        if args.keys is None:
            order = identity.identity_order(ws)
        else:
            if not args.keys.strip():
                raise ValidationError(_("give the keys comma-separated, e.g. "
                                        "external_userid,unionid,phone"))
            order = identity.set_identity_order(ws, args.keys)
    print(_("identity order: {keys}", keys=", ".join(order)))
    return 0
