"""Helpers of the e-mail plugin's tests: the aiosmtpd handler, test data, the plugin list.

(A plain module, not a package: a ``tests/email`` package would shadow the standard
library's ``email``.)"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from siyu.core import plugins as core_plugins
from siyu.core.records import OutgoingMessage
from siyu.plugins.email import plugin as email_plugin
from siyu.storage.models import ContactField

PLUGIN = "siyu.plugins.email.plugin"
USER, PASSWORD = "shop@example.com", "s3cret-密码"


def extra_plugins() -> list:
    """The plugin to pass to ``siyu.open`` unless it is already a built-in."""
    return [] if PLUGIN in core_plugins.DEFAULT_PLUGINS else [email_plugin]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- certificates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


# -- the server ------------------------------------------------------------------------------


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: tuple
    login: str | None

    @property
    def message(self):
        return message_from_bytes(self.content, policy=policy.default)

    def part(self, subtype: str) -> str:
        return next(p for p in self.message.walk()
                    if p.get_content_type() == f"text/{subtype}").get_content().replace(
            "\r\n", "\n")


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps what it accepted; refuses the addresses in ``refuse``
    (address → reply)."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if session.auth_data else None
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.content, session.peer, login))
        return "250 Message accepted for delivery"

    @property
    def connections(self) -> int:
        return len({r.peer for r in self.received})


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
        and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    security: str
    controller: Controller


# -- the workspace ---------------------------------------------------------------------------


def add_contact(ws, external_userid: str, email: str | None = None, *,
                name: str = "张三") -> int:
    """A contact, with ``email`` as its ``email`` custom field when given."""
    contact, _created = ws.contacts.upsert(external_userid, name=name)
    if email is not None:
        with ws.session() as s:
            s.connection().execute(sa.insert(ContactField.__table__).values(
                contact_id=contact.id, name="email", value=email))
    return contact.id


def outgoing(contact_id: int | None, text: str = "你好", *, subject: str = "",
             delivery_id: int = 1, campaign_id: int = 7) -> OutgoingMessage:
    recipient = f"contact:{contact_id}" if contact_id is not None else "robot:1"
    return OutgoingMessage(delivery_id=delivery_id, key=f"{campaign_id}:{recipient}",
                           campaign_id=campaign_id, channel="email", recipient=recipient,
                           contact_id=contact_id, text=text, subject=subject)
