"""The composer's arithmetic, without widgets: what a channel lets the composer offer, the
attachments, variants, sender and send time the form stands for, and the fields
``ws.campaigns.create`` / ``update`` take.

Everything here is a pure function of its arguments, so the page's rules are tested
without a browser (``tests/campaigns/test_composer_fields.py``). Errors a user can cause are
:class:`~siyu.core.errors.ValidationError` with a translated message naming the bad value.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.core.messaging.content import PLACEHOLDERS

_ = translator("siyu.plugins.campaigns")

#: Attachment kinds the composer makes, in menu order (WeCom's ``msgtype`` names).
ATTACHMENT_KINDS = ("image", "link", "miniprogram")
ATTACHMENT_TITLES = {"image": _.lazy("Image"), "link": _.lazy("Link"),
                     "miniprogram": _.lazy("Mini-program")}
#: The channel whose messages have a subject line (see :func:`wants_subject`).
SUBJECT_CHANNEL = "email"
_LETTERS = string.ascii_uppercase


# -- what a channel allows -----------------------------------------------------------------

def allowed_placeholders(spec: Any) -> list[str]:
    """The placeholders the channel ``spec`` (a ``ChannelSpec``) fills, in
    :data:`~siyu.core.messaging.content.PLACEHOLDERS` order (all of them for ``None``)."""
    if spec is None:
        return []
    if spec.placeholders is None:
        return list(PLACEHOLDERS)
    return [name for name in PLACEHOLDERS if name in spec.placeholders]


def wants_subject(spec: Any) -> bool:
    """Whether messages of the channel ``spec`` carry a subject line.

    A channel says so with a true ``subject`` attribute; ``ChannelSpec`` has none yet, so
    the e-mail channel is recognised by its name meanwhile.
    """
    if spec is None:
        return False
    flag = getattr(spec, "subject", None)
    return bool(flag) if flag is not None else spec.name == SUBJECT_CHANNEL


def takes_attachments(spec: Any) -> bool:
    """Whether the channel ``spec`` takes any attachment (``max_attachments`` is not 0)."""
    return spec is not None and spec.max_attachments != 0


def addresses_targets(spec: Any) -> bool:
    """Whether the channel ``spec`` sends to its own targets (group robots) rather than to a
    segment of contacts."""
    return spec is not None and spec.recipients == "targets"


def attachment_count(count: int, limit: int | None) -> str:
    """``"Attachments 2/9"``, or ``"Attachments 2"`` for a channel without a limit."""
    if limit is None:
        return _("Attachments {count}", count=count)
    return _("Attachments {count}/{limit}", count=count, limit=limit)


# -- placeholders --------------------------------------------------------------------------

def insert_placeholder(text: str | None, name: str) -> str:
    """``text`` with ``{name}`` added at its end (the server cannot see the cursor)."""
    return f"{text or ''}{{{name}}}"


def fallbacks(values: Mapping[str, str | None], allowed: Iterable[str]) -> dict[str, str]:
    """The ``fallbacks`` of the content: the non-blank ``values`` of ``allowed``
    placeholders, stripped."""
    wanted = set(allowed)
    return {name: value.strip() for name, value in values.items()
            if name in wanted and value and value.strip()}


# -- attachments ---------------------------------------------------------------------------

def _web_address(value: str | None, what: Any) -> str:
    address = (value or "").strip()
    if not address.startswith(("https://", "http://")) or len(address) <= len("https://"):
        raise ValidationError(_("{what}: {value!r} is not a web address; it starts with "
                                "https://", what=str(what), value=address))
    return address


def _required(value: str | None, what: Any) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(_("{what} is required", what=str(what)))
    return text


def image_attachment(url: str | None) -> dict[str, Any]:
    """A WeCom image attachment from the picture's web address.

    :raises ValidationError: not an ``http(s)://`` address.
    """
    return {"msgtype": "image", "image": {"pic_url": _web_address(url, _("image URL"))}}


def link_attachment(title: str | None, url: str | None, description: str | None = None
                    ) -> dict[str, Any]:
    """A WeCom link card: title, web address and an optional description.

    :raises ValidationError: no title, or not an ``http(s)://`` address.
    """
    link = {"title": _required(title, _("the link's title")),
            "url": _web_address(url, _("link URL"))}
    if description and description.strip():
        link["desc"] = description.strip()
    return {"msgtype": "link", "link": link}


def miniprogram_attachment(title: str | None, appid: str | None, page: str | None
                           ) -> dict[str, Any]:
    """A WeCom mini-program card: title, the mini-program's appid and the page it opens.

    :raises ValidationError: a field is missing, or the appid does not start with ``wx``.
    """
    appid = _required(appid, _("the mini-program's appid"))
    if not appid.startswith("wx"):
        raise ValidationError(_("appid {appid!r} is not a mini-program appid (they start "
                                "with wx)", appid=appid))
    return {"msgtype": "miniprogram",
            "miniprogram": {"title": _required(title, _("the mini-program's title")),
                            "appid": appid,
                            "page": _required(page, _("the mini-program's page"))}}


def attachment_parts(item: Mapping[str, Any]) -> tuple[str, str]:
    """``(kind title, what it shows)`` of an attachment: ``("Link", "title · url")``."""
    kind = str(item.get("msgtype") or "")
    body = item.get(kind) if isinstance(item.get(kind), Mapping) else {}
    title = str(ATTACHMENT_TITLES.get(kind, kind))
    if kind == "image":
        return title, str(body.get("pic_url") or body.get("media_id") or "")
    if kind == "link":
        return title, " · ".join(str(body[k]) for k in ("title", "url") if body.get(k))
    if kind == "miniprogram":
        return title, " · ".join(str(body[k]) for k in ("title", "appid", "page")
                                 if body.get(k))
    return title, ""


# -- A/B variants --------------------------------------------------------------------------

def even_shares(count: int) -> list[int]:
    """``count`` whole percentages adding up to 100, the first ones larger:
    ``even_shares(3) == [34, 33, 33]``."""
    if count <= 0:
        return []
    base, extra = divmod(100, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def next_variant_name(taken: Iterable[str]) -> str:
    """The first of ``A``, ``B``, … ``Z``, ``A2``… not in ``taken``."""
    used = {name.strip() for name in taken}
    round_ = 1
    while True:
        for letter in _LETTERS:
            name = letter if round_ == 1 else f"{letter}{round_}"
            if name not in used:
                return name
        round_ += 1


def shares_problem(shares: Sequence[float | None]) -> str | None:
    """What is wrong with the variants' shares (translated), or ``None`` when they are
    positive and add up to 100."""
    if len(shares) < 2:
        return _("an A/B test needs at least two variants")
    if any(share is None or share <= 0 for share in shares):
        return _("every variant needs a share above 0%")
    total = sum(float(share) for share in shares if share is not None)
    if abs(total - 100) > 1e-6:
        return _("the shares add up to {total}%, not 100%", total=format(total, "g"))
    return None


def variant_entries(rows: Iterable[tuple[str, float | None, str | None]],
                    content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``variants`` field from ``(name, share, own text)`` rows.

    A variant with its own text gets a copy of ``content`` (the campaign's subject,
    attachments and fallbacks) with that text; one without uses the campaign's content.
    Names are stripped; the service checks them and the shares.
    """
    out = []
    for name, share, text in rows:
        own = (text or "").strip()
        out.append({"name": (name or "").strip(), "share": share,
                    "content": {**content, "text": text} if own else None})
    return out


# -- sender and time -----------------------------------------------------------------------

def sender_field(policy: str, userid: str | None) -> dict[str, str]:
    """The ``sender`` field: each customer's owner, or a fixed staff member.

    :raises ValidationError: ``policy`` is ``"staff"`` and nobody is chosen.
    """
    if policy == "owner":
        return {"policy": "owner"}
    if not userid:
        raise ValidationError(_("choose the staff member who sends it"))
    return {"policy": "staff", "userid": userid}


def clock(value: time | str | None) -> time:
    """A time picker's value (``time`` or ``"10:00"`` / ``"10:00:00"``) as a ``time``.

    :raises ValidationError: no time, or not a time of day.
    """
    if isinstance(value, time):
        return value
    text = (value or "").strip()
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValidationError(_("{value!r} is not a time of day like 10:00",
                                value=text)) from None


def send_time(day: date | None, at: time | str | None, tz: ZoneInfo) -> datetime:
    """The moment ``day`` at ``at`` in the workspace timezone ``tz`` (an aware time).

    :raises ValidationError: no day, or no valid time.
    """
    if day is None:
        raise ValidationError(_("choose the day to send it"))
    if isinstance(day, datetime):
        day = day.date()
    return datetime.combine(day, clock(at), tzinfo=tz)


def content_field(text: str | None, *, subject: str | None = None,
                  attachments: Sequence[Mapping[str, Any]] = (),
                  fallback_values: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``content`` field: ``{"text", "subject", "attachments", "fallbacks"}``."""
    return {"text": text or "", "subject": (subject or "").strip(),
            "attachments": [dict(item) for item in attachments],
            "fallbacks": dict(fallback_values or {})}
