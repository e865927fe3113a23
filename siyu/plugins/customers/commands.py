"""``siyu contact-card CONTACT [--json]``: one contact's customer card as text, or as JSON.

::

    siyu contact-card 12
    siyu contact-card wmAbC123 --json
    siyu contact-card 12 --note "只在周末联系"

An unknown contact reaches the ``siyu`` command as :class:`~siyu.core.errors.NotFound` and
prints as one line. The plugin registers :func:`configure` and :func:`run` by import path,
so this module is imported only when ``siyu contact-card`` runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any

from siyu.cli import nonblank
from siyu.cli_table import cell, table_text, width
from siyu.core.i18n import translator
from siyu.plugins.customers import labels

_ = translator("siyu.plugins.customers")

FOLLOWER_COLUMNS = ("member", "owner", "added_at", "state", "remark", "deleted_at",
                    "deleted_by")
HISTORY_COLUMNS = ("at", "from", "to", "how", "status", "by", "note")
ORDER_COLUMNS = ("paid_at", "external_id", "source", "amount", "refunded", "status", "store")
TIMELINE_COLUMNS = ("time", "kind", "what")
RISK_COLUMNS = ("at", "kind", "campaign", "reason", "by")


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``siyu contact-card``."""
    parser.add_argument("contact", type=nonblank, metavar="CONTACT",
                        help=_("a contact id, or a WeCom external userid"))
    parser.add_argument("--json", action="store_true", help=_("print JSON instead of text"))
    parser.add_argument("--note", metavar="TEXT",
                        help=_("first add this note to the customer (seen on the card and in "
                               "the chat sidebar)"))


def run(ws: Any, args: argparse.Namespace) -> int:
    """Print the card of ``args.contact``; returns the exit code."""
    from siyu.plugins.customers.card import card

    if args.note is not None:
        from siyu.plugins.customers import notes

        notes.add(ws, args.contact, args.note)
    found = card(ws, args.contact)
    if args.json:
        print(json.dumps(found.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(card_text(found, ws.timezone))
    return 0


def card_text(c: Any, tz: Any) -> str:
    """The card as the command prints it: the profile, then each section under a title."""
    blocks = [_profile(c, tz), _owner(c, tz), _tags(c), _orders(c, tz),
              _titled(_("Timeline"), table_text(
                  [{**r, "kind": labels.kind_label(r["kind"])}
                   for r in c.timeline.to_dict("records")],
                  TIMELINE_COLUMNS, _("nothing recorded yet"), tz)),
              _titled(_("Risk notes"), table_text(
                  [{**n, "kind": labels.word(labels.RISK_KINDS, n["kind"]),
                    "reason": labels.reason_text(n["reason"])} for n in c.risk_notes],
                  RISK_COLUMNS, _("none"), tz))]
    return "\n\n".join(blocks)


def _titled(title: str, body: str) -> str:
    return f"{title}\n{body}"


def _lines(pairs: Iterable[tuple[str, Any]], tz: Any) -> str:
    shown = [(str(label), cell(value, tz) or "—") for label, value in pairs]
    widest = max(width(label) for label, _value in shown)
    return "\n".join(f"  {label}{' ' * (widest - width(label))}  {value}"
                     for label, value in shown)


def _profile(c: Any, tz: Any) -> str:
    p = c.profile
    values = dict(p, gender=labels.word(labels.GENDERS, p["gender"]),
                  store=f"{p['store_name']} ({p['store']})" if p["store"] else "")
    pairs = [(label, values.get(key)) for key, label in labels.PROFILE]
    pairs += list((p.get("fields") or {}).items())
    head = _("{name} (removed {time})", name=c.title, time=cell(p["removed_at"], tz)) \
        if p["removed"] else c.title
    return f"{head}\n{_lines(pairs, tz)}"


def _owner(c: Any, tz: Any) -> str:
    owner = c.owner
    if owner is None:
        head = _("Owner: none")
    else:
        head = _("Owner: {member}", member=labels.staff_label(
            owner["userid"], {owner["userid"]: owner["name"]}))
    followers = [{**f, "member": labels.staff_label(f["userid"], {f["userid"]: f["name"]}),
                  "owner": _("yes") if f["owner"] else "",
                  "deleted_by": labels.word(labels.DELETED_BY, f["deleted_by"])}
                 for f in c.followers]
    history = [{**e, "from": labels.staff_label(e["from"], {e["from"]: e["from_name"]}),
                "to": labels.staff_label(e["to"], {e["to"]: e["to_name"]}),
                "how": labels.word(labels.HOW, e["how"]),
                "status": labels.word(labels.TRANSFER_STATES, e["status"])}
               for e in c.owner_history]
    return "\n\n".join([
        _titled(head, table_text(followers, FOLLOWER_COLUMNS, _("no staff member follows "
                                                               "this customer"), tz)),
        _titled(_("Owner history"), table_text(history, HISTORY_COLUMNS,
                                               _("no owner change recorded"), tz))])


def _tags(c: Any) -> str:
    tags = ", ".join(f"{t['group']}/{t['name']}" for t in c.tags)
    return _("Tags: {tags}", tags=tags or _("none"))


def _orders(c: Any, tz: Any) -> str:
    t = c.order_totals
    summary = _("Orders: {orders} ({paid} paid) · revenue {revenue} · average {average} · "
                "first {first} · last {last}", orders=t["orders"], paid=t["paid_orders"],
                revenue=labels.money(t["revenue_fen"]),
                average=labels.money(t["average_order_fen"]) if t["paid_orders"] else "—",
                first=cell(t["first_order_at"], tz) or "—",
                last=cell(t["last_order_at"], tz) or "—")
    rows = [{**o, "amount": labels.money(o["amount_fen"]),
             "refunded": labels.money(o["refunded_fen"]) if o["refunded_fen"] else "",
             "status": labels.word(labels.ORDER_STATUSES, o["status"])}
            for o in c.orders.to_dict("records")]
    return _titled(summary, table_text(rows, ORDER_COLUMNS, _("no orders"), tz))
