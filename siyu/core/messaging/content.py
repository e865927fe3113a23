"""A campaign's content: placeholders, the channel's limits, and filling it per recipient.

Text names placeholders in braces, ``{nickname}``, ``{staff}``, ``{store}``; ``{{`` and
``}}`` are literal braces. A placeholder with no value for a recipient (a customer without a
name) is filled from the content's ``fallbacks`` (``{"nickname": "亲"}``), else left empty.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from siyu.core.errors import ValidationError, listing
from siyu.core.i18n import core as _

#: Every placeholder the outbox can fill, with what it holds.
PLACEHOLDERS: dict[str, Any] = {
    "nickname": _.lazy("the customer's name"),
    "staff": _.lazy("the name of the staff member who sends it"),
    "store": _.lazy("the customer's store"),
}
_FORMATTER = string.Formatter()


def placeholders_in(text: str) -> list[str]:
    """The placeholder names ``text`` uses, in order, each once.

    :raises ValidationError: unbalanced braces, or a field with a format spec or an index
        (``{nickname:>10}``, ``{0}``, ``{a.b}``).
    """
    names: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise ValidationError(_("the text's braces do not match ({problem}); write {{ and }} "
                                "for a literal brace", problem=str(exc))) from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if spec or conversion or not field.isidentifier():
            raise ValidationError(_("{{{field}}} is not a placeholder; use one of {allowed}",
                                    field=field + (f":{spec}" if spec else ""),
                                    allowed=listing(f"{{{n}}}" for n in PLACEHOLDERS)))
        if field not in names:
            names.append(field)
    return names


def check_content(content: Mapping[str, Any], channel: Any) -> dict[str, Any]:
    """``content`` checked against ``channel``'s limits (a :class:`ChannelSpec`).

    :return: the normalised content ``{"text", "subject", "attachments", "fallbacks"}``.
    :raises ValidationError: no text and no attachment, an unknown placeholder or one the
        channel cannot fill, text over the channel's byte limit, too many attachments.
    """
    if not isinstance(content, Mapping):
        raise ValidationError(_("content must be a mapping with text and attachments"))
    unknown_keys = set(content) - {"text", "subject", "attachments", "fallbacks"}
    if unknown_keys:
        raise ValidationError(_("content has unknown fields: {fields}",
                                fields=listing(sorted(unknown_keys))))
    text = content.get("text") or ""
    if not isinstance(text, str):
        raise ValidationError(_("the text must be a string"))
    attachments = list(content.get("attachments") or [])
    if not all(isinstance(a, Mapping) for a in attachments):
        raise ValidationError(_("each attachment must be a mapping (e.g. {{\"msgtype\": "
                                "\"image\", ...}})"))
    if not text.strip() and not attachments:
        raise ValidationError(_("the message is empty: write a text or add an attachment"))
    fallbacks = dict(content.get("fallbacks") or {})
    names = placeholders_in(text) + placeholders_in(str(content.get("subject") or ""))
    for name in names:
        if name not in PLACEHOLDERS:
            raise ValidationError(_("placeholder {{{name}}} does not exist; use one of "
                                    "{allowed}", name=name,
                                    allowed=listing(f"{{{n}}}" for n in PLACEHOLDERS)))
        if channel.placeholders is not None and name not in channel.placeholders:
            allowed = listing(f"{{{n}}}" for n in channel.placeholders) or _("none")
            raise ValidationError(_("channel {channel} cannot fill {{{name}}} (it can fill: "
                                    "{allowed})", channel=channel.name, name=name,
                                    allowed=allowed))
    for name in fallbacks:
        if name not in PLACEHOLDERS:
            raise ValidationError(_("fallback for unknown placeholder {{{name}}}", name=name))
    if channel.text_limit is not None:
        size = len(fill(text, {}, fallbacks).encode())
        if size > channel.text_limit:
            raise ValidationError(_("the text is {size} bytes; channel {channel} takes at most "
                                    "{limit} bytes (a Chinese character is 3)", size=size,
                                    channel=channel.name, limit=channel.text_limit))
    if channel.max_attachments is not None and len(attachments) > channel.max_attachments:
        raise ValidationError(_("{count} attachments; channel {channel} takes at most {limit}",
                                count=len(attachments), channel=channel.name,
                                limit=channel.max_attachments))
    return {"text": text, "subject": str(content.get("subject") or ""),
            "attachments": attachments, "fallbacks": fallbacks}


def fill(text: str, values: Mapping[str, Any], fallbacks: Mapping[str, Any] | None = None
         ) -> str:
    """``text`` with its placeholders filled from ``values``, then ``fallbacks``, else ``""``.

    ``text`` must have passed :func:`check_content`."""
    if "{" not in text and "}" not in text:
        return text
    out = []
    for literal, field, _spec, _conversion in _FORMATTER.parse(text):
        out.append(literal)
        if field is not None:
            value = values.get(field) or (fallbacks or {}).get(field) or ""
            out.append(str(value))
    return "".join(out)
