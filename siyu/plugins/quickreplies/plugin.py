"""The quick-replies plugin: the ``quick_reply`` table, the 话术库 page and
``siyu replies``.

Registered as a built-in (``siyu.plugins.quickreplies.plugin``), written exactly like a
third-party plugin; it needs no other plugin.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl

_ = translator("siyu.plugins.quickreplies")


@hookimpl
def register_models():
    """quick_reply (history ``quickreplies``)."""
    from siyu.core.records import ModelSet
    from siyu.plugins.quickreplies.models import TABLES

    return [ModelSet("quickreplies", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_pages(ws):
    """The Quick replies page (``data.read``; changing replies needs ``data.write``)."""
    from siyu.core.records import PageSpec

    return [PageSpec("quick-replies", _.lazy("Quick replies"),
                     "siyu.plugins.quickreplies.pages:QuickRepliesPage", icon="message",
                     permission="data.read", order=50)]


@hookimpl
def register_commands():
    """``siyu replies``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.quickreplies.commands"
    return [CommandSpec("replies", _.lazy("the quick-reply library (话术库): texts and images "
                                          "staff send from the chat sidebar"),
                        f"{module}:configure", f"{module}:run")]
