"""``siyu email …``: set up the SMTP server, show the settings, send a test message.

The plugin registers :func:`configure` and :func:`run` by import path, so this module is
imported only when ``siyu email`` runs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from siyu.cli import nonblank
from siyu.core.i18n import translator

_ = translator("siyu.plugins.email")

#: ``siyu email configure`` option → setting.
OPTIONS = {"host": "host", "port": "port", "security": "security", "username": "username",
           "from_address": "from_address", "from_name": "from_name", "reply_to": "reply_to",
           "public_url": "public_url", "timeout": "timeout", "ca_file": "ca_file"}


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu email``: ``configure``, ``show`` and ``test``."""
    from siyu.plugins.email.config import SECURITY

    sub = parser.add_subparsers(dest="email_command", metavar="ACTION", required=True)
    p = sub.add_parser("configure", help=_("change the SMTP settings (only the options "
                                           "given), then show them"))
    p.add_argument("--host", help=_("the SMTP server, e.g. smtp.example.com"))
    p.add_argument("--port", help=_("its port (default: 587 for starttls, 465 for ssl, 25 "
                                    "for none)"))
    p.add_argument("--security", choices=SECURITY,
                   help=_("how the connection is protected"))
    p.add_argument("--username", help=_("the login (an empty value sends without one)"))
    p.add_argument("--password-stdin", action="store_true",
                   help=_("read the password from the first line of standard input"))
    p.add_argument("--from", dest="from_address", metavar="ADDRESS",
                   help=_("the sender address"))
    p.add_argument("--from-name", help=_("the name shown with the sender address"))
    p.add_argument("--reply-to", metavar="ADDRESS", help=_("where replies go"))
    p.add_argument("--public-url", metavar="URL",
                   help=_("where customers reach siyu serve, for unsubscribe links, e.g. "
                          "https://crm.example.com"))
    p.add_argument("--timeout", metavar="SECONDS",
                   help=_("seconds to wait for the server (default 30)"))
    p.add_argument("--ca-file", metavar="FILE",
                   help=_("a PEM file of certificate authorities to trust besides the "
                          "system's"))
    sub.add_parser("show", help=_("show the SMTP settings (the password only as set or not)"))
    p = sub.add_parser("test", help=_("send one test message; exit status 1 when it could "
                                      "not be sent"))
    p.add_argument("--to", required=True, type=nonblank, metavar="ADDRESS",
                   help=_("the address to send it to"))
    p.add_argument("--subject", help=_("its subject"))


def _show(ws: Any) -> None:
    from siyu.plugins.email.config import public_config

    for name, value in public_config(ws).items():
        print(f"{name}: {value}")


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu email`` action; returns the exit code (``test``: 1 when the message
    was not sent)."""
    if args.email_command == "configure":
        from siyu.core.errors import ValidationError
        from siyu.plugins.email.config import save_config

        values = {setting: getattr(args, option) for option, setting in OPTIONS.items()
                  if getattr(args, option) is not None}
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise ValidationError(_("--password-stdin: standard input held no password"))
            values["password"] = password
        if values:
            save_config(ws, **values)
            print(_("e-mail settings saved"))
        _show(ws)
        return 0
    if args.email_command == "show":
        _show(ws)
        return 0
    from siyu.plugins.email.channel import send_test

    result = send_test(ws, args.to, subject=args.subject)
    if result.status == "sent":
        print(_("sent a test message to {address} (Message-ID {id})", address=args.to,
                id=result.provider_id))
        return 0
    print(_("siyu email test: the message was not sent: {reason}", reason=result.reason),
          file=sys.stderr)
    return 1
