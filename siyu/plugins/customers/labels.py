"""How the card's codes read to people, in the current language: timeline kinds, transfer
states, risk notes, reasons, profile fields. Shared by the console page and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from siyu.core.i18n import translator

_ = translator("siyu.plugins.customers")

#: What each kind of timeline entry is called.
KINDS: dict[str, Any] = {
    "contact.added": _.lazy("Added"),
    "contact.removed": _.lazy("Removed"),
    "contact.follow_removed": _.lazy("Friendship ended"),
    "contact.transferred": _.lazy("Transferred"),
    "contact.transferred_away": _.lazy("Handed over"),
    "contact.transfer_failed": _.lazy("Transfer failed"),
    "contact.edited": _.lazy("Edited in WeCom"),
    "contact.welcomed": _.lazy("Welcomed"),
    "contact.note": _.lazy("Note"),
    "group.member_joined": _.lazy("Joined a group"),
    "group.member_left": _.lazy("Left a group"),
    "campaign.sent": _.lazy("Campaign message"),
    "campaign.pending": _.lazy("Campaign message waiting"),
    "campaign.failed": _.lazy("Campaign message failed"),
    "order.paid": _.lazy("Order"),
    "order.cancelled": _.lazy("Order cancelled"),
}
#: Transfer states, as the transfers plugin names them.
TRANSFER_STATES: dict[str, Any] = {
    "planned": _.lazy("planned"), "requested": _.lazy("sending"),
    "waiting": _.lazy("waiting for takeover"), "taken_over": _.lazy("taken over"),
    "refused": _.lazy("refused by the customer"), "limit_exceeded": _.lazy("over a limit"),
    "failed": _.lazy("failed"), "unknown": _.lazy("answer lost, checking"),
}
#: How an owner changed.
HOW: dict[str, Any] = {"transfer": _.lazy("transfer"), "chosen": _.lazy("chosen by a user")}
#: Risk note kinds.
RISK_KINDS: dict[str, Any] = {"do_not_contact": _.lazy("Do not contact"),
                              "blocked": _.lazy("Message blocked"),
                              "skipped": _.lazy("Message skipped")}
#: Skip and block reasons the outbox records as codes.
REASONS: dict[str, Any] = {"do not contact": _.lazy("on the do-not-contact list"),
                           "receive quota": _.lazy("WeCom's receive quota was used up"),
                           "frequency cap": _.lazy("the frequency cap was reached")}


#: The profile fields a card shows, in order, with their labels.
PROFILE: tuple[tuple[str, Any], ...] = (
    ("id", _.lazy("Contact ID")), ("external_userid", _.lazy("External user ID")),
    ("unionid", _.lazy("Unionid")), ("phone", _.lazy("Phone")),
    ("gender", _.lazy("Gender")), ("city", _.lazy("City")),
    ("member_id", _.lazy("Member ID")), ("store", _.lazy("Store")),
    ("source_channel", _.lazy("Source channel")), ("remark", _.lazy("Remark")),
    ("added_at", _.lazy("Added at")), ("removed_at", _.lazy("Removed at")),
)
GENDERS: dict[int, Any] = {0: _.lazy("unknown"), 1: _.lazy("male"), 2: _.lazy("female")}
#: Order statuses.
ORDER_STATUSES: dict[str, Any] = {"paid": _.lazy("paid"),
                                  "partially_refunded": _.lazy("partially refunded"),
                                  "refunded": _.lazy("refunded"),
                                  "cancelled": _.lazy("cancelled")}
#: Who ended a follow.
DELETED_BY: dict[str, Any] = {"customer": _.lazy("by the customer"),
                              "staff": _.lazy("by the staff member"),
                              "transfer": _.lazy("by a transfer")}


def word(words: dict[Any, Any], code: Any) -> str:
    """``code`` in words, by ``words`` (the code itself when it has none)."""
    found = words.get(code)
    return str(found) if found is not None else ("" if code is None else str(code))


def kind_label(kind: str) -> str:
    """A timeline kind in words (the code itself for kinds other plugins record)."""
    return word(KINDS, kind)


def reason_text(reason: str) -> str:
    """A skip or block reason in words (free-text reasons as they are)."""
    return word(REASONS, reason or "")


def money(fen: int | None) -> str:
    """Integer fen as yuan: ``123456`` → ``"¥1,234.56"``."""
    fen = int(fen or 0)
    return f"{'-' if fen < 0 else ''}¥{abs(fen) / 100:,.2f}"


def staff_label(userid: Any, names: Mapping[str, str]) -> str:
    """A staff member as the card names them: ``张三 (zhangsan)``, or the userid alone."""
    if not isinstance(userid, str) or not userid:
        return ""
    name = names.get(userid)
    return f"{name} ({userid})" if name and name != userid else userid
