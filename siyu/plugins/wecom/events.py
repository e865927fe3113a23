"""Decrypted WeCom callback XML → a flat dict, and the key that makes retries no-ops."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from siyu.core.errors import ValidationError

#: Fields that identify what an event is about, joined into its dedupe key.
KEY_FIELDS = ("Event", "ChangeType", "CreateTime", "UserID", "ExternalUserID", "ChatId",
              "UpdateDetail", "Id", "TagType", "CurMemVer", "FailReason", "Source")


def parse_event(xml_text: str) -> dict[str, Any]:
    """Flatten a callback's XML: each child tag → text; ``MemChangeList`` → list of items.

    :raises ValidationError: not XML, a DOCTYPE (entity tricks), or no ``Event``.
    """
    if "<!DOCTYPE" in xml_text.upper():
        raise ValidationError("callback XML with a DOCTYPE is refused")
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValidationError(f"callback is not XML: {exc}") from exc
    fields: dict[str, Any] = {}
    for child in root:
        if child.tag == "MemChangeList":
            fields[child.tag] = [item.text or "" for item in child]
        else:
            fields[child.tag] = (child.text or "").strip()
    if not fields.get("Event") and fields.get("MsgType") != "text":
        raise ValidationError("callback has no Event")
    return fields


def event_time(fields: dict[str, Any]) -> datetime:
    """The event's ``CreateTime`` as aware UTC (now when missing or bad)."""
    try:
        return datetime.fromtimestamp(int(fields.get("CreateTime", "")), UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def dedupe_key(fields: dict[str, Any]) -> str:
    """WeCom's advice for events without MsgId: FromUserName + CreateTime, plus the change
    type and the ids, so two different changes in one second stay two events."""
    if fields.get("MsgId"):
        return f"msg:{fields['MsgId']}"
    parts = [fields.get("FromUserName", "")] + [str(fields.get(k, "")) for k in KEY_FIELDS]
    if fields.get("MemChangeList"):
        parts.append(",".join(sorted(fields["MemChangeList"])))
    text = "|".join(parts)
    digest = hashlib.sha1(text.encode()).hexdigest()
    readable = ":".join(p for p in (fields.get("ChangeType", ""), fields.get("CreateTime", ""))
                        if p)
    return f"wx:{readable}:{digest}"
