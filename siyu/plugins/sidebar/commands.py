"""``siyu sidebar …``: the chat sidebar's address, the guides signed in, signing one out.

::

    siyu sidebar url https://scrm.example.com
    siyu sidebar sessions [--all] [--json]
    siyu sidebar end zhangsan

Errors (an unknown member) reach the ``siyu`` command as
:class:`~siyu.core.errors.SiyuError` and print as one line. The plugin registers
:func:`configure` and :func:`run` by import path, so this module is imported only when
``siyu sidebar`` runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import urlsplit

from siyu.cli import nonblank
from siyu.cli_table import table_text
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.sidebar")

SESSION_COLUMNS = ("userid", "name", "store", "signed_in_at", "last_seen_at", "expires_at",
                   "ended_at")


def configure(parser: argparse.ArgumentParser) -> None:
    """The actions of ``siyu sidebar``."""
    sub = parser.add_subparsers(dest="sidebar_command", metavar="ACTION", required=True)
    p = sub.add_parser("url", help=_("the address to set as the app's chat-toolbar page in "
                                     "WeCom's admin console"))
    p.add_argument("console_url", type=nonblank, metavar="CONSOLE_URL",
                   help=_("where guides reach the console, e.g. https://scrm.example.com"))
    p = sub.add_parser("sessions", help=_("the guides signed in to the sidebar"))
    p.add_argument("--all", action="store_true", help=_("also sessions that ended"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("end", help=_("sign a guide out of the sidebar everywhere"))
    p.add_argument("userid", type=nonblank, metavar="USERID")


def run(ws: Any, args: argparse.Namespace) -> int:
    """Do ``args.sidebar_command``; returns the exit code."""
    from siyu.plugins import sidebar

    if args.sidebar_command == "url":
        parts = urlsplit(args.console_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(_("{url} is not a web address; give the console's address "
                                    "such as https://scrm.example.com", url=args.console_url))
        print(sidebar.address(f"{parts.scheme}://{parts.netloc}{parts.path}"))
        if parts.scheme != "https":
            print(_("WeCom opens only https pages in the chat toolbar; put the console behind "
                    "HTTPS before configuring it."))
        return 0
    if args.sidebar_command == "sessions":
        frame = sidebar.sessions.listing(ws, open_only=not args.all)
        rows = frame.to_dict("records")
        if args.json:
            print(json.dumps([{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                               for k, v in r.items()} for r in rows],
                             ensure_ascii=False, indent=2, default=str))
        else:
            print(table_text(rows, SESSION_COLUMNS, _("no guide is signed in to the sidebar"),
                             ws.timezone))
        return 0
    ended = sidebar.sessions.end(ws, args.userid)
    print(_("signed {userid} out of the sidebar ({n} sessions ended)", userid=args.userid,
            n=ended))
    return 0
