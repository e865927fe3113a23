"""The chat sidebar (聊天工具栏): the customer card beside a WeCom chat, for shopping guides.

A guide opens the app's chat-toolbar page next to a chat with a customer; WeCom's OAuth says
who the guide is, the JS-SDK which customer the chat is with. The page shows the customer's
card (phones masked), lets the guide tag them and add a note, and sends quick replies from
the shared library (the ``quickreplies`` plugin) into the chat.

Modules: :mod:`~.routes` (the pages and the OAuth return), :mod:`~.sessions` (who is signed
in), :mod:`~.jsapi` (ticket signatures, image uploads), :mod:`~.views` (the HTML),
:mod:`~.pages` (the console page that says how to set it up), :mod:`~.commands`
(``siyu sidebar``). In a notebook::

    from siyu.plugins import sidebar

    sidebar.sessions.listing(ws)          # guides signed in now
    sidebar.sessions.end(ws, "zhangsan")  # sign one out everywhere
    sidebar.address("https://scrm.example.com")   # what to paste into WeCom's admin
"""

from __future__ import annotations

from siyu.plugins.sidebar import sessions

#: The path of the sidebar page on the console's server.
PATH = "/sidebar"

__all__ = ["PATH", "address", "sessions"]


def address(console_url: str) -> str:
    """The address to configure as the app's chat-toolbar page, for a console reached at
    ``console_url`` (``https://…``; WeCom asks for the page's full address)."""
    return console_url.rstrip("/") + PATH
