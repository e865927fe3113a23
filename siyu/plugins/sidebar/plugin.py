"""The chat sidebar plugin: the ``/sidebar`` pages for WeCom's chat toolbar, the console page
that explains how to set it up, and ``siyu sidebar``.

Registered as a built-in (``siyu.plugins.sidebar.plugin``), written exactly like a
third-party plugin. It needs the WeCom plugin (OAuth, the JS-SDK, the app's tickets); quick
replies appear when the ``quickreplies`` plugin is loaded too.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.sidebar.models import TABLES

_ = translator("siyu.plugins.sidebar")

siyu_requires = ("wecom", "customers")


@hookimpl
def register_models():
    """sidebar_session and sidebar_media (history ``sidebar``)."""
    return [ModelSet("sidebar", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_routes(ws):
    """``/sidebar`` and what it calls (each route checks the guide's own session)."""
    from siyu.plugins.sidebar.routes import route_specs

    return route_specs()


@hookimpl
def register_pages(ws):
    """The Chat sidebar page (``data.read``; signing guides out needs ``users.manage``)."""
    from siyu.core.records import PageSpec

    return [PageSpec("chat-sidebar", _.lazy("Chat sidebar"),
                     "siyu.plugins.sidebar.pages:ChatSidebarPage", icon="message-circle",
                     permission="data.read", order=27)]


@hookimpl
def register_commands():
    """``siyu sidebar``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.sidebar.commands"
    return [CommandSpec("sidebar", _.lazy("the WeCom chat sidebar: its address, the guides "
                                          "signed in, signing one out"),
                        f"{module}:configure", f"{module}:run")]
