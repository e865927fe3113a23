"""The e-mail plugin: the ``email`` delivery channel over SMTP, one-click unsubscribe, and
the ``siyu email`` CLI.

Registered as a built-in (``siyu.plugins.email.plugin``), written exactly like a third-party
plugin. The SMTP, composing and page modules are imported only when first needed.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.email.models import TABLES

_ = translator("siyu.plugins.email")

#: The risk rule this plugin enforces in ``risk_check``.
RULE = "email_unsubscribed"


@hookimpl
def register_models():
    """email_unsubscribe (history ``email``)."""
    return [ModelSet("email", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_channels():
    """The ``email`` channel: 50 messages per SMTP connection."""
    from siyu.plugins.email.channel import SPEC

    return [SPEC]


@hookimpl
def send(ws, channel, batch):
    """Send a batch through the ``email`` channel; ``None`` for other channels."""
    if channel != "email":
        return None
    from siyu.plugins.email.channel import send as send_batch

    return send_batch(ws, batch)


@hookimpl
def register_risk_rules():
    """``email_unsubscribed``: no e-mail to a customer who unsubscribed."""
    from siyu.core.records import RiskRule

    return [RiskRule(RULE, title=_.lazy("Unsubscribed from e-mail"),
                     description=_.lazy("No e-mail goes to a customer who unsubscribed "
                                        "through the link in an e-mail."))]


@hookimpl
def risk_check(ws, action):
    """Veto an e-mail to a contact who unsubscribed; ``None`` for anything else."""
    if action.get("kind") != "send" or action.get("channel") != "email":
        return None
    from siyu.plugins.email.unsubscribe import risk_check as check

    return check(ws, action)


@hookimpl
def risk_check_batch(ws, batch):
    """Veto the e-mails of an outbox batch to contacts who unsubscribed (one lookup)."""
    from siyu.plugins.email.unsubscribe import unsubscribed_at, unsubscribed_reason

    ids = [m.contact_id for m in batch if m.channel == "email" and m.contact_id is not None]
    if not ids:
        return None
    found = unsubscribed_at(ws, ids)
    return {m.delivery_id: unsubscribed_reason(ws, found[m.contact_id]) for m in batch
            if m.channel == "email" and m.contact_id in found}


@hookimpl
def register_routes(ws):
    """The public unsubscribe page, ``/email/unsubscribe`` (the signed token is its
    credential)."""
    # Imported here: the page module pulls in Tornado and the console's page kit.
    from siyu.core.records import RouteSpec
    from siyu.plugins.email.routes import PATTERN, UnsubscribeHandler

    return [RouteSpec("email-unsubscribe", PATTERN, UnsubscribeHandler, public=True)]


@hookimpl
def register_commands():
    """``siyu email``, named by import path: its module is imported only when it runs."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.email.commands"
    return [CommandSpec("email", _.lazy("e-mail: SMTP settings and a test message"),
                        f"{module}:configure", f"{module}:run")]
