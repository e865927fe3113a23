"""Building one e-mail: a text part and an HTML part made from the same text, the headers,
and the unsubscribe link in both parts and in ``List-Unsubscribe`` (RFC 2369 / RFC 8058).

The HTML part is the text escaped (:mod:`markupsafe`), its line breaks kept as ``<br>`` and
its ``http(s)://`` links made clickable: a campaign's text is never taken as markup.
"""

from __future__ import annotations

import email.policy
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from markupsafe import Markup, escape

from siyu.core.i18n import current_language, translator
from siyu.plugins.email.addresses import domain_of, needs_smtputf8
from siyu.plugins.email.config import EmailConfig
from siyu.storage.types import utcnow

_ = translator("siyu.plugins.email")

#: What counts as a link in a text: ``http(s)://`` up to a space, a quote or an angle
#: bracket; trailing punctuation (ASCII or Chinese) stays outside the link.
_URL = re.compile(r"https?://[^\s<>\"'\u3000]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"。，、；：！？）】》」』"
_NEWLINES = re.compile(r"\r\n|\r|\n")


def _links(text: str) -> Markup:
    """One line of text as HTML: escaped, its links clickable."""
    out = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        if len(url) <= len("https://"):
            continue
        out.append(escape(text[position:start]))
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def text_to_html(text: str) -> Markup:
    """``text`` as an HTML fragment: escaped, line breaks kept, links clickable."""
    return Markup("<br>\n").join(_links(line) for line in _NEWLINES.split(text))


def html_document(text: str, subject: str, unsubscribe: str | None) -> str:
    """The HTML part: a small, self-contained page (no script, nothing loaded from
    elsewhere)."""
    lang = "zh-CN" if current_language().startswith("zh") else "en"
    footer = Markup("")
    if unsubscribe:
        footer = Markup('<hr style="border:0;border-top:1px solid #ddd;margin:24px 0 12px">'
                        '<p style="font-size:12px;color:#777">{0} '
                        '<a href="{1}" style="color:#777">{2}</a></p>').format(
            _("You receive this e-mail because you are our customer."), unsubscribe,
            _("Unsubscribe"))
    return str(Markup('<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
                      '<meta name="viewport" content="width=device-width, initial-scale=1">'
                      '<title>{subject}</title></head>\n<body style="font-family:sans-serif;'
                      'line-height:1.6;color:#222">\n<div>{body}</div>\n{footer}\n'
                      '</body></html>\n').format(lang=lang, subject=subject,
                                                 body=text_to_html(text), footer=footer))


def text_body(text: str, unsubscribe: str | None) -> str:
    """The text part: the text, then (for campaigns) the unsubscribe link after a
    signature separator."""
    text = _NEWLINES.sub("\n", text).rstrip("\n")
    if not unsubscribe:
        return text + "\n"
    return (f"{text}\n\n-- \n"
            + _("To stop receiving these e-mails, open: {url}", url=unsubscribe) + "\n")


def build_message(config: EmailConfig, *, to: str, subject: str, text: str,
                  unsubscribe: str | None = None) -> EmailMessage:
    """One ``multipart/alternative`` message from ``config.from_address`` to ``to`` (a
    checked address), with ``Message-ID``, ``Date`` and, given ``unsubscribe`` (the link),
    ``List-Unsubscribe`` and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=config.from_name, addr_spec=config.from_address)
    message["To"] = to
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=domain_of(config.from_address))
    if unsubscribe:
        # Raw, never refolded (see as_bytes): a long link must stay one <URL>, not become
        # an RFC 2047 encoded word mail clients cannot read as a link.
        message.set_raw("List-Unsubscribe", f"<{unsubscribe}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text_body(text, unsubscribe), charset="utf-8")
    message.add_alternative(html_document(text, subject, unsubscribe), subtype="html",
                            charset="utf-8")
    return message


def addresses_need_smtputf8(config: EmailConfig, to: str) -> bool:
    """Whether the sender, the recipient or the reply address has a non-ASCII local part
    (then only a server that speaks SMTPUTF8 can take the message)."""
    return any(needs_smtputf8(a) for a in (config.from_address, to, config.reply_to) if a)


#: How a message is written for SMTP: CRLF line ends; headers RFC 2047-encoded (or UTF-8 in
#: an SMTPUTF8 transaction) and folded, except those set raw (``List-Unsubscribe``).
_SMTP = email.policy.SMTP.clone(refold_source="none")
_SMTPUTF8 = email.policy.SMTPUTF8.clone(refold_source="none")


def as_bytes(message: EmailMessage, *, smtputf8: bool = False) -> bytes:
    """The message as sent (see :data:`_SMTP`)."""
    return message.as_bytes(policy=_SMTPUTF8 if smtputf8 else _SMTP)
