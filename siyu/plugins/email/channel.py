"""The ``email`` channel: a batch of outbox messages over one SMTP connection.

:func:`send` reads what it needs from the database first (the settings, each contact's
address, who unsubscribed) with no transaction left open, builds every message, then opens
one connection for the whole batch and sends them in order. Each message gets a result:

- ``sent`` with the ``Message-ID`` as ``provider_id``;
- ``failed`` with a reason an operator understands: no or an invalid address, an
  unsubscribed customer, an address or message the server refused (5xx);
- ``failed`` with ``retry=True`` when the trouble may pass: the server is down, does not
  answer, or answers 4xx; every message not yet tried when the connection broke;
- ``unknown`` for the one message whose content was on its way when the connection broke.

SMTP cannot be asked what it already accepted, so the channel has no ``reconcile``: after a
crash the outbox sends an in-flight batch again, and at most that batch may repeat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from siyu.core.i18n import translator, use_language
from siyu.core.records import ChannelSpec, OutgoingMessage, SendResult
from siyu.plugins.email import compose, unsubscribe
from siyu.plugins.email.addresses import AddressError, check_address
from siyu.plugins.email.config import EmailConfig, load_config
from siyu.plugins.email.smtp import ConnectionLost, SmtpProblem, connect
from siyu.plugins.email.tokens import signer, unsubscribe_url

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.email")

CHANNEL = "email"
BATCH_SIZE = 50
#: Most bytes of a message's text (a long newsletter fits; a mistake does not go out).
TEXT_LIMIT = 100_000

SPEC = ChannelSpec(CHANNEL, title=_.lazy("E-mail"), batch_size=BATCH_SIZE,
                   text_limit=TEXT_LIMIT, max_attachments=0, placeholders=None)


def _not_set_up(config: EmailConfig, *, campaigns: bool) -> str | None:
    missing = config.missing(campaigns=campaigns)
    if not missing:
        return None
    return _("e-mail is not set up: set {settings} (siyu email configure)",
             settings=", ".join(missing))


def send(ws: Workspace, batch: list[OutgoingMessage]) -> list[SendResult]:
    """Send ``batch`` (at most :data:`BATCH_SIZE` messages); one result per message, in
    order. Never raises for a message or a server problem: those become results."""
    with use_language(ws.language):
        return _send(ws, list(batch))


def _send(ws: Workspace, batch: list[OutgoingMessage]) -> list[SendResult]:
    config = load_config(ws)
    problem = _not_set_up(config, campaigns=True)
    if problem:
        return [SendResult("failed", reason=problem) for _message in batch]
    ids = [m.contact_id for m in batch if m.contact_id is not None]
    found = unsubscribe.addresses(ws, ids)
    stopped = unsubscribe.unsubscribed_at(ws, ids)
    sign = signer(ws)
    default_subject = ws.name
    results: list[SendResult | None] = [None] * len(batch)
    # (index, address, bytes, SMTPUTF8?, Message-ID) of the messages to send
    outgoing: list[tuple[int, str, bytes, bool, str]] = []
    for index, message in enumerate(batch):
        cid = message.contact_id
        if cid is None:
            results[index] = SendResult("failed", reason=_(
                "the e-mail channel sends to contacts; {recipient} is not one",
                recipient=message.recipient))
            continue
        if cid in stopped:
            results[index] = SendResult("failed",
                                        reason=unsubscribe.unsubscribed_reason(ws, stopped[cid]))
            continue
        raw = found.get(cid)
        if raw is None:
            results[index] = SendResult("failed", reason=_(
                "contact {id} has no e-mail address (custom field {field})", id=cid,
                field=unsubscribe.FIELD))
            continue
        try:
            address = check_address(raw)
        except AddressError as exc:
            results[index] = SendResult("failed", reason=_(
                "contact {id} has an invalid e-mail address {address!r}: {reason}", id=cid,
                address=raw, reason=exc))
            continue
        link = unsubscribe_url(config.public_url, sign(cid))
        built = compose.build_message(config, to=address,
                                      subject=message.subject or default_subject,
                                      text=message.text, unsubscribe=link)
        utf8 = compose.addresses_need_smtputf8(config, address)
        outgoing.append((index, address, compose.as_bytes(built, smtputf8=utf8), utf8,
                         str(built["Message-ID"])))
    if outgoing:
        _deliver(config, outgoing, results)
    return [r if r is not None else SendResult("failed", reason="not sent") for r in results]


def _deliver(config: EmailConfig, outgoing: list[tuple[int, str, bytes, bool, str]],
             results: list[Any]) -> None:
    """Send ``outgoing`` over one connection, filling ``results`` by index."""
    try:
        connection = connect(config)
    except SmtpProblem as exc:
        for index, *_rest in outgoing:
            results[index] = SendResult("failed", reason=exc.reason, retry=exc.retry)
        return
    try:
        for position, (index, address, data, utf8, message_id) in enumerate(outgoing):
            try:
                results[index] = connection.deliver(address, data, smtputf8=utf8,
                                                    message_id=message_id)
            except ConnectionLost as exc:
                results[index] = exc.result
                for later, *_rest in outgoing[position + 1:]:
                    results[later] = SendResult("failed", retry=True, reason=exc.reason)
                return
    finally:
        connection.close()


def send_test(ws: Workspace, to: str, *, subject: str | None = None,
              text: str | None = None) -> SendResult:
    """Send one test message to ``to`` with the current settings (no unsubscribe link:
    it goes to the operator, not a customer). Needs ``settings.write``.

    :return: the :class:`SendResult`; ``failed`` with the reason when something is wrong
        (settings missing, a bad address, the server down or refusing the login).
    """
    ws.principal.require("settings.write")
    config = load_config(ws)
    problem = _not_set_up(config, campaigns=False)
    if problem:
        return SendResult("failed", reason=problem)
    try:
        address = check_address(to)
    except AddressError as exc:
        return SendResult("failed", reason=_("{address!r} is not a valid e-mail address: "
                                             "{reason}", address=to, reason=exc))
    name = ws.name
    built = compose.build_message(
        config, to=address, subject=subject or _("Test message from {name}", name=name),
        text=text or _("This is a test message from siyu ({name}). If you can read it, "
                       "e-mail is set up.", name=name))
    utf8 = compose.addresses_need_smtputf8(config, address)
    results: list[Any] = [None]
    _deliver(config, [(0, address, compose.as_bytes(built, smtputf8=utf8), utf8,
                       str(built["Message-ID"]))], results)
    return results[0]
