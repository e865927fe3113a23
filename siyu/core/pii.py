"""Personal data: phone normalisation and masking.

Phones are stored normalised (``13800000001``). Every door (console, exports, ``df()``)
shows them masked (``138****0001``) unless the acting role holds ``pii.view`` and the caller
asks for them in full.
"""

from __future__ import annotations

import re

import pandas as pd

from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000（）—－]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PREFIX = re.compile(r"^(?:\+?86|0086)(?=1\d{10}$)")


def normalize_phone(value: object) -> str | None:
    """Normalise a mainland mobile number: strip spaces, dashes, brackets and +86 / 0086.

    :param value: the raw value (``"+86 138-0000-0001"``); empty or ``None`` gives ``None``.
    :return: eleven digits, e.g. ``"13800000001"``.
    :raises ValidationError: the value is not a mainland mobile number.
    """
    if value is None:
        return None
    text = str(value).strip()
    if text == "" or text.lower() == "nan":
        return None
    if text.endswith(".0") and text[:-2].isdigit():  # a number cell read as float
        text = text[:-2]
    digits = _PREFIX.sub("", _SEPARATORS.sub("", text))
    if not _MOBILE.match(digits):
        raise ValidationError(_("phone {phone!r} is not a mainland mobile number "
                                "(11 digits starting with 1, optional +86)", phone=text))
    return digits


def normalize_phone_series(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`normalize_phone` for an import column.

    :return: ``(normalised, bad)``: normalised phones (``None`` where empty) and a boolean
        mask of rows whose non-empty value is not a mobile number.
    """
    text = values.fillna("").astype(str).str.strip()
    ready = text.str.fullmatch(_MOBILE.pattern)  # most cells: already eleven digits
    cleaned = text.copy()
    odd = ~ready
    if odd.any():
        messy = text[odd].str.replace(r"\.0$", "", regex=True)
        messy = messy.str.replace(_SEPARATORS.pattern, "", regex=True)
        cleaned[odd] = messy.str.replace(_PREFIX.pattern, "", regex=True)
    empty = text.eq("") | text.str.lower().eq("nan")
    good = ready | cleaned.str.match(_MOBILE.pattern)
    bad = ~empty & ~good
    normalised = cleaned.astype(object).where(good & ~empty, None)
    return normalised, bad


def mask_phone(phone: str | None) -> str | None:
    """``"13800000001"`` → ``"138****0001"``; ``None`` stays ``None``."""
    if not phone:
        return phone
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_phone_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`mask_phone`."""
    text = values.astype("object")
    masked = text.str.slice(0, 3) + "****" + text.str.slice(-4)
    return masked.where(text.notna() & text.ne(""), text)
