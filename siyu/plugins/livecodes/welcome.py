"""Welcome messages of a live code: validation, variants and placeholders.

A welcome config is::

    {"text": "你好 {nickname}，我是{staff}（{store}）",
     "attachments": [{"msgtype": "link", "link": {"title": ..., "url": ...}}, ...],
     "variants": [{"days": [5, 6], "start": "00:00", "end": "24:00", "text": ...},
                  {"from": "2025-11-01", "to": "2025-11-11", "text": ..., "attachments": [...]}],
     "fallback": "…"}

The first variant that matches the local time replaces ``text`` and/or ``attachments``.
``fallback`` is sent when WeCom gives no welcome code (the member set a welcome in the WeCom
admin console, or the customer had already chatted): as a one-customer message task the
member confirms in WeCom, since a welcome message can only be sent with the code.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes.routing import check_slots, on_duty

_ = translator("siyu.plugins.livecodes")

ATTACHMENT_TYPES = ("image", "link", "miniprogram", "file")
MAX_ATTACHMENTS = 9
MAX_TEXT_BYTES = 4000
PLACEHOLDERS = ("nickname", "staff", "store")


def _check_text(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise ValidationError(_("{where} must be text", where=where))
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ValidationError(_("{where} is longer than WeCom's {limit} bytes", where=where,
                                limit=MAX_TEXT_BYTES))
    for _literal, name, _spec, _conv in string.Formatter().parse(text):
        if name is not None and name not in PLACEHOLDERS:
            raise ValidationError(_("{where} uses unknown placeholder {placeholder}; use "
                                    "{placeholders}", where=where,
                                    placeholder="{" + str(name) + "}",
                                    placeholders=", ".join("{" + p + "}" for p in PLACEHOLDERS)))
    return text


def _check_attachments(items: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise ValidationError(_("{where} must be a list", where=where))
    if len(items) > MAX_ATTACHMENTS:
        raise ValidationError(_("{where} has {count} attachments; WeCom sends at most "
                                "{limit}", where=where, count=len(items),
                                limit=MAX_ATTACHMENTS))
    for item in items:
        kind = item.get("msgtype") if isinstance(item, Mapping) else None
        if kind not in ATTACHMENT_TYPES or not isinstance(item.get(kind), Mapping):
            raise ValidationError(_("{where}: attachment {item!r} must be {shape} with T "
                                    "one of {types}", where=where, item=item,
                                    shape='{"msgtype": T, T: {...}}',
                                    types=", ".join(ATTACHMENT_TYPES)))
    return [dict(item) for item in items]


def _day(value: Any, where: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError(_("{where}: {value!r} is not a date like 2025-11-01",
                                where=where, value=value)) from None


def check_welcome(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate a welcome config; returns it normalized (``{}`` for none).

    :raises ValidationError: text over 4000 bytes, an unknown placeholder, more than 9
        attachments, an attachment type WeCom's welcome message does not take, a bad variant.
    """
    if not config:
        return {}
    unknown = set(config) - {"text", "attachments", "variants", "fallback"}
    if unknown:
        raise ValidationError(_("unknown welcome field(s) {fields}; use text, attachments, "
                                "variants, fallback", fields=sorted(unknown)))
    out: dict[str, Any] = {}
    if config.get("text"):
        out["text"] = _check_text(config["text"], _("welcome text"))
    if config.get("attachments"):
        out["attachments"] = _check_attachments(config["attachments"],
                                                _("welcome attachments"))
    if config.get("fallback"):
        out["fallback"] = _check_text(config["fallback"], _("fallback text"))
    variants = []
    for n, variant in enumerate(config.get("variants") or [], 1):
        where = _("welcome variant {n}", n=n)
        item: dict[str, Any] = {}
        if "from" in variant or "to" in variant:
            item["from"] = _day(variant.get("from", "0001-01-01"), where)
            item["to"] = _day(variant.get("to", "9999-12-31"), where)
        else:
            item.update(check_slots([variant])[0])
        if variant.get("text"):
            item["text"] = _check_text(variant["text"], _("{where} text", where=where))
        if variant.get("attachments"):
            item["attachments"] = _check_attachments(variant["attachments"], where)
        if "text" not in item and "attachments" not in item:
            raise ValidationError(_("{where} has neither text nor attachments", where=where))
        variants.append(item)
    if variants:
        out["variants"] = variants
    return out


def choose(config: Mapping[str, Any], now: datetime) -> tuple[str, list[dict[str, Any]]]:
    """The ``(text, attachments)`` to send at local time ``now``: the first matching
    variant's, falling back to the base message for what the variant leaves out."""
    text, attachments = config.get("text", ""), config.get("attachments", [])
    today = now.date().isoformat()
    for variant in config.get("variants", []):
        if "from" in variant:
            matches = variant["from"] <= today <= variant["to"]
        else:
            matches = on_duty([variant], now)
        if matches:
            return variant.get("text", text), variant.get("attachments", attachments)
    return text, attachments


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{nickname}``, ``{staff}`` and ``{store}`` (unknown values become empty)."""
    return string.Formatter().vformat(text, (), _Blank(values)) if text else ""
