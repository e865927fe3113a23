"""``siyu groupcode …``: create, list, show, pause, resume and delete group live codes, see
their groups' members and joins, the corp's groups, and which staff code invites into one.

The plugin registers :func:`configure` and :func:`run` by import path, so this module is
imported only when ``siyu groupcode`` runs."""

from __future__ import annotations

import argparse
from typing import Any

from siyu.cli import nonblank, whole_number
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes.commands import _code
from siyu.plugins.livecodes.groups import DEFAULT_ROTATE_AT, DEFAULT_WARN_AT

_ = translator("siyu.plugins.livecodes")

ACTIONS = ("show", "pause", "resume", "delete", "members", "joins")
SHOWN = ("id", "name", "state", "status", "chats", "pool", "retired", "auto_create_room",
         "room_base_name", "room_base_id", "warn_at", "rotate_at", "tags", "invited_by",
         "qr_url", "warning", "last_error")


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu groupcode``: one sub-parser per action."""
    sub = parser.add_subparsers(dest="groupcode_command", metavar="ACTION", required=True)
    p = sub.add_parser("create", help=_("create a group live code (a WeCom 「加入群聊」 QR "
                                        "code)"))
    p.add_argument("name")
    p.add_argument("--chat", action="append", required=True, type=nonblank, metavar="CHAT_ID",
                   help=_("a customer group in use (repeat, at most 5)"))
    p.add_argument("--pool", action="append", default=[], type=nonblank, metavar="CHAT_ID",
                   help=_("a fresh group that rotates in as groups fill (repeat)"))
    p.add_argument("--no-auto-create", action="store_true",
                   help=_("do not let WeCom open new rooms when every group is full"))
    p.add_argument("--room-name", default="", help=_("name prefix of rooms WeCom opens"))
    p.add_argument("--room-start", type=whole_number(0), default=1,
                   help=_("first room number (default 1)"))
    p.add_argument("--warn-at", type=whole_number(), default=DEFAULT_WARN_AT,
                   help=_("members at which a group warns (default {n})", n=DEFAULT_WARN_AT))
    p.add_argument("--rotate-at", type=whole_number(), default=DEFAULT_ROTATE_AT,
                   help=_("members at which a group rotates out (default {n})",
                          n=DEFAULT_ROTATE_AT))
    p.add_argument("--tag", action="append", default=[], metavar="GROUP/NAME",
                   help=_("a tag put on joiners who are contacts (repeat)"))
    p = sub.add_parser("update", help=_("change one group code (only the options given; "
                                        "--chat, --pool and --tag replace the lists)"))
    p.add_argument("code", help=_("group code id or state"))
    p.add_argument("--name")
    p.add_argument("--chat", action="append", type=nonblank, metavar="CHAT_ID",
                   help=_("the groups in use (repeat, at most 5); groups dropped retire"))
    p.add_argument("--pool", action="append", type=nonblank, metavar="CHAT_ID",
                   help=_("the fresh groups that rotate in (repeat)"))
    p.add_argument("--no-pool", action="store_true", help=_("empty the pool"))
    p.add_argument("--auto-create", choices=("on", "off"),
                   help=_("let WeCom open new rooms when every group is full"))
    p.add_argument("--room-name", help=_("name prefix of rooms WeCom opens"))
    p.add_argument("--room-start", type=whole_number(0), help=_("first room number"))
    p.add_argument("--warn-at", type=whole_number(),
                   help=_("members at which a group warns"))
    p.add_argument("--rotate-at", type=whole_number(),
                   help=_("members at which a group rotates out"))
    p.add_argument("--tag", action="append", metavar="GROUP/NAME",
                   help=_("the tags put on joiners who are contacts (repeat)"))
    p.add_argument("--no-tags", action="store_true", help=_("put no tags on joiners"))
    sub.add_parser("list", help=_("every group code with its groups' member counts"))
    sub.add_parser("chats", help=_("the corp's customer groups (reloaded from WeCom)"))
    p = sub.add_parser("invite", help=_("send a group code's QR in a staff live code's "
                                        "welcome"))
    p.add_argument("livecode", help=_("staff live code id or state"))
    p.add_argument("code", nargs="?", default=None,
                   help=_("group code id or state (leave out to stop inviting)"))
    helps = {"show": _("show one group code"), "pause": _("pause one group code"),
             "resume": _("resume one group code"), "delete": _("delete one group code"),
             "members": _("the groups of one group code with their member counts"),
             "joins": _("customers who joined (and left) through one group code")}
    for action in ACTIONS:
        p = sub.add_parser(action, help=helps[action])
        p.add_argument("code", help=_("group code id or state"))


def _print_code(data: dict[str, Any]) -> None:
    for key in SHOWN:
        print(f"{key}: {data[key]}")


def _update(api: Any, ws: Any, code: int | str, args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for option, key in (("name", "name"), ("room_name", "room_base_name"),
                        ("room_start", "room_base_id"), ("warn_at", "warn_at"),
                        ("rotate_at", "rotate_at")):
        if getattr(args, option) is not None:
            changes[key] = getattr(args, option)
    if args.auto_create is not None:
        changes["auto_create_room"] = args.auto_create == "on"
    if args.no_tags or args.tag is not None:
        changes["tags"] = [] if args.no_tags else args.tag
    pool = [] if args.no_pool else args.pool
    if not changes and args.chat is None and pool is None:
        raise ValidationError(_("nothing to change: give at least one option, e.g. --name or "
                                "--chat (see siyu groupcode update --help)"))
    return api.update_group_code(ws, code, chats=args.chat, pool=pool, **changes)


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu groupcode`` action; returns the exit code."""
    from siyu.plugins.livecodes import group_api as api

    action = args.groupcode_command
    if action == "create":
        code = api.create_group_code(
            ws, args.name, args.chat, pool=args.pool, auto_create_room=not args.no_auto_create,
            room_base_name=args.room_name, room_base_id=args.room_start,
            warn_at=args.warn_at, rotate_at=args.rotate_at, tags=args.tag)
        print(_("created group code {id} ({state}): {url}", id=code["id"],
                state=code["state"], url=code["qr_url"]))
        print(_("groups in use: {chats}", chats=", ".join(code["chats"])))
        return 0
    if action == "list":
        frame = api.list_group_codes(ws)
        columns = ["id", "name", "state", "status", "groups", "pool", "joined", "joins_total",
                   "warning"]
        print(frame[columns].to_string(index=False) if len(frame) else _("no group codes"))
        return 0
    if action == "chats":
        count = api.reload_groups(ws)
        frame = api.known_groups(ws)
        print(frame.to_string(index=False) if count
              else _("the corp has no customer groups"))
        return 0
    if action == "invite":
        done = api.invite_to_group(ws, _code(args.livecode),
                                   None if args.code is None else _code(args.code))
        print(_("staff code {code}: new customers get group code {group}'s QR in their "
                "welcome", code=done["live_code"], group=done["group_code"])
              if done["group_code"] is not None
              else _("staff code {code}: no longer invites into a group",
                     code=done["live_code"]))
        return 0
    code = _code(args.code)
    if action == "update":
        _print_code(_update(api, ws, code, args))
        return 0
    if action == "members":
        print(api.group_members_df(ws, code).to_string(index=False))
        return 0
    if action == "joins":
        frame = api.joins_df(ws, code)
        print(frame.to_string(index=False) if len(frame) else _("no joins yet"))
        return 0
    data = api.get_group_code(ws, code) if action == "show" else {
        "pause": api.pause_group_code, "resume": api.resume_group_code,
        "delete": api.delete_group_code}[action](ws, code)
    _print_code(data)
    return 0

