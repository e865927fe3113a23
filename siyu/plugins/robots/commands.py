"""``siyu robot …``: add, list, remove and test group robots; set up the signed webhook.

The plugin registers :func:`configure` and :func:`run` by import path, so this module is
imported only when ``siyu robot`` runs. Secrets are read from standard input
(``--secret-stdin``), never from the command line, where other users of the machine and the
shell's history would see them.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from siyu.cli import nonblank, seconds
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.robots")

#: The columns ``siyu robot list`` prints, in order.
LIST_COLUMNS = ("name", "kind", "url", "signed", "last_sent_at", "last_error")


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu robot``: ``add``, ``list``, ``remove``, ``test``, ``webhook``."""
    from siyu.plugins.robots.kinds import KINDS

    sub = parser.add_subparsers(dest="robot_command", metavar="ACTION", required=True)
    p = sub.add_parser("add", help=_("store a group robot: a name and its webhook URL"))
    p.add_argument("name", type=nonblank, metavar="NAME")
    p.add_argument("url", type=nonblank, metavar="URL")
    p.add_argument("--kind", default="wecom", choices=sorted(KINDS),
                   help=_("the robot's provider (default: wecom)"))
    p.add_argument("--secret-stdin", action="store_true",
                   help=_("read the robot's signing secret (Feishu, DingTalk) from standard "
                          "input"))
    p = sub.add_parser("list", help=_("the stored robots"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("remove", help=_("remove a robot"))
    p.add_argument("name", type=nonblank, metavar="NAME")
    p = sub.add_parser("test", help=_("send a test message to a robot now; exit status 1 "
                                      "when it fails"))
    p.add_argument("name", type=nonblank, metavar="NAME")
    p.add_argument("--text", type=nonblank, help=_("the message (default: a short note)"))
    p.add_argument("--markdown", action="store_true", help=_("send the text as Markdown"))
    p = sub.add_parser("webhook", help=_("show or change the signed webhook's settings"))
    p.add_argument("--url", type=nonblank, help=_("the receiver's URL"))
    secret = p.add_mutually_exclusive_group()
    secret.add_argument("--secret-stdin", action="store_true",
                        help=_("read the signing secret from standard input"))
    secret.add_argument("--new-secret", action="store_true",
                        help=_("make a new random secret, store it and print it once"))
    p.add_argument("--timeout", type=seconds, help=_("seconds to wait for the receiver"))


# -- output ------------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (Chinese) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return " ".join(str(value).split())


def list_text(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` from :func:`~siyu.plugins.robots.store.robot_rows` as the table ``siyu
    robot list`` prints; ``"no robots"`` (translated) when there are none."""
    if not rows:
        return _("no robots; add one with `siyu robot add NAME URL`")
    table = [list(LIST_COLUMNS)] + [[_cell(row[name]) for name in LIST_COLUMNS]
                                    for row in rows]
    widths = [max(_width(line[i]) for line in table) for i in range(len(LIST_COLUMNS))]
    return "\n".join("  ".join(cell + " " * (width - _width(cell))
                               for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in table)


def _read_secret() -> str:
    secret = sys.stdin.readline().strip()
    if not secret:
        raise ValidationError(_("no secret on standard input"))
    return secret


def _webhook(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.robots import webhook

    secret = None
    if args.secret_stdin:
        secret = _read_secret()
    elif args.new_secret:
        secret = webhook.new_secret()
    if args.url is not None or secret is not None or args.timeout is not None:
        shown = webhook.configure_webhook(ws, url=args.url, secret=secret,
                                          timeout=args.timeout)
    else:
        shown = webhook.webhook_settings(ws)
    print(_("url: {url}", url=shown["url"] or _("not set")))
    print(_("secret: {state}", state=shown["secret"]))
    timeout = f"{shown['timeout']:g}"
    print(_("timeout: {seconds} s", seconds=timeout))
    if args.new_secret:
        print(_("new secret (shown once; give it to the receiver): {secret}", secret=secret))
    return 0


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu robot`` action; returns the exit code (``test``: 1 when the message
    was not accepted)."""
    from siyu.plugins.robots import store

    action = args.robot_command
    if action == "webhook":
        return _webhook(ws, args)
    if action == "add":
        secret = _read_secret() if args.secret_stdin else None
        row = store.add_robot(ws, args.name, args.url, args.kind, secret=secret)
        print(_("added robot {name} ({kind}): {url}", name=row["name"], kind=row["kind"],
                url=row["url"]))
        return 0
    if action == "list":
        tz = ws.timezone  # times shown in the workspace's timezone, as the console does
        rows = [{**row, **{key: row[key].astimezone(tz) for key in
                           ("created_at", "last_sent_at", "last_error_at") if row[key]}}
                for row in store.robot_rows(ws)]
        if args.json:
            print(json.dumps([{key: (value.isoformat(timespec="seconds")
                                     if hasattr(value, "isoformat") else value)
                               for key, value in row.items()} for row in rows],
                             ensure_ascii=False, indent=2))
        else:
            print(list_text(rows))
        return 0
    if action == "remove":
        store.remove_robot(ws, args.name)
        print(_("removed robot {name}", name=args.name))
        return 0
    result = store.test_robot(ws, args.name, args.text, markdown=args.markdown)
    if result.status == "sent":
        print(_("sent: robot {name} accepted the test message", name=args.name))
        return 0
    print("siyu: " + _("the test message failed: {reason}", reason=result.reason),
          file=sys.stderr)
    return 1
