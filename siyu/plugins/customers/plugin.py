"""The customers plugin: the customer card (客情卡) page and the ``siyu contact-card``
command.

Registered as a built-in (``siyu.plugins.customers.plugin``), written exactly like a
third-party plugin. It needs no other plugin: what the live-code, WeCom, transfers and risk
plugins record about a contact joins the card when those plugins are loaded.
"""

from __future__ import annotations

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl

_ = translator("siyu.plugins.customers")


@hookimpl
def register_pages(ws):
    """The Customer card page (``data.read``); open a contact with ``?contact=<id>``."""
    from siyu.core.records import PageSpec

    return [PageSpec("customer", _.lazy("Customer card"),
                     "siyu.plugins.customers.pages:CustomerCardPage", icon="id-badge",
                     permission="data.read", order=25)]


@hookimpl
def register_commands():
    """``siyu contact-card``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.customers.commands"
    return [CommandSpec("contact-card", _.lazy("one contact's customer card: profile, "
                                               "owner, tags, orders, journey, risk notes"),
                        f"{module}:configure", f"{module}:run")]
