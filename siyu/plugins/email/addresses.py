"""Checking an e-mail address before anything is sent to it.

:func:`check_address` accepts what a mail server accepts in practice — ``local@domain`` with a
dot-atom local part (letters, digits and ``!#$%&'*+/=?^_`{|}~-``, dots between them; other
Unicode letters too, for servers that speak SMTPUTF8) and a domain of at least two labels
(an internationalised domain is written in its ASCII form, ``xn--…``). It refuses, with a
reason, what would be bounced or misread: spaces, a name around the address, two ``@``…
"""

from __future__ import annotations

import re

from siyu.core.i18n import translator

_ = translator("siyu.plugins.email")

#: The longest local part and whole address (RFC 5321).
MAX_LOCAL = 64
MAX_ADDRESS = 254
#: A dot-atom's characters: the ASCII ``atext`` of RFC 5322 plus any non-ASCII character
#: (RFC 6531) that is not a space or control.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class AddressError(ValueError):
    """An address that is not one; ``str(error)`` says why, in the current language."""


def check_address(value: object) -> str:
    """``value`` as a usable address (surrounding spaces removed, the domain in lowercase
    ASCII).

    :raises AddressError: it is empty or malformed, naming what is wrong.
    """
    text = str(value or "").strip()
    if not text:
        raise AddressError(_("the address is empty"))
    if "<" in text or ">" in text or '"' in text:
        raise AddressError(_("write the address alone, without a name, quotes or <>"))
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise AddressError(_("an address may not contain spaces or line breaks"))
    if text.count("@") != 1:
        raise AddressError(_("an address has exactly one @"))
    local, domain = text.split("@")
    if not local:
        raise AddressError(_("nothing before the @"))
    if not domain:
        raise AddressError(_("no domain after the @"))
    if len(local) > MAX_LOCAL or not _LOCAL.fullmatch(local):
        raise AddressError(_("the part before the @ is not valid (letters, digits and "
                             "dots between them)"))
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise AddressError(_("the domain {domain} is not valid", domain=domain)) from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) \
            or labels[-1].isdigit():
        raise AddressError(_("the domain {domain} is not valid", domain=domain))
    address = f"{local}@{ascii_domain}"
    if len(address.encode("utf-8")) > MAX_ADDRESS:
        raise AddressError(_("the address is longer than {n} bytes", n=MAX_ADDRESS))
    return address


def needs_smtputf8(address: str) -> bool:
    """Whether the address can only be sent to by a server that speaks SMTPUTF8 (its local
    part is not ASCII)."""
    return not address.isascii()


def domain_of(address: str) -> str:
    """The domain of a checked address."""
    return address.rpartition("@")[2]
