"""``siyu livecode …``: create, list, show, pause, resume, delete and preview live codes, and
check them against WeCom."""

from __future__ import annotations

import argparse
import json
from typing import Any

from siyu.core.records import CommandSpec

ACTIONS = ("show", "pause", "resume", "delete", "preview")


def _code(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="livecode_command", metavar="ACTION", required=True)
    p = sub.add_parser("create", help="create a staff live code in WeCom")
    p.add_argument("name")
    p.add_argument("--member", action="append", required=True, metavar="USERID[:WEIGHT]",
                   help="a member (repeat); an optional weight after a colon")
    p.add_argument("--strategy", default="round_robin",
                   choices=("round_robin", "weighted", "least_loaded", "schedule"))
    p.add_argument("--channel", default="")
    p.add_argument("--tag", action="append", default=[], metavar="GROUP/NAME")
    p.add_argument("--backup", action="append", default=[], metavar="USERID")
    p.add_argument("--daily-cap", type=int)
    p.add_argument("--round-cap", type=int)
    p.add_argument("--welcome", default="", help="welcome text ({nickname} {staff} {store})")
    p.add_argument("--welcome-json", default="", help="a full welcome config as JSON")
    p.add_argument("--remark", default="", help="remark template for new customers")
    p.add_argument("--store", default=None, help="store code")
    p.add_argument("--state", default=None, help="custom state starting with lc:")
    sub.add_parser("list", help="every live code with its adds and welcome latency")
    p = sub.add_parser("report", help="arrivals, adds, removals, net growth, retention and "
                                      "first orders per code, per channel or per staff member")
    p.add_argument("--by", choices=("code", "channel", "staff"), default="code")
    p.add_argument("--since", metavar="DAY", help="first local day counted, e.g. 2026-11-01 "
                                                  "(default: from the first arrival)")
    p.add_argument("--until", metavar="DAY", help="first local day NOT counted (default: "
                                                  "up to now)")
    p.add_argument("--csv", metavar="FILE", help="write the report to this CSV file instead "
                                                 "of printing it")
    p = sub.add_parser("check", help="check every live code still exists in WeCom, and list "
                                     "codes with problems and unknown states (exit 1 when a "
                                     "code is missing or could not be checked)")
    p.add_argument("--per-minute", type=int, default=None,
                   help="get_contact_way calls per minute at most (default 5000; WeCom "
                        "allows 10000)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("stores", help="one live code per store, from a CSV or Excel file "
                                      "(columns 门店/store, 员工/members, optional 备用员工, 名称)")
    p.add_argument("file")
    p.add_argument("--strategy", default="round_robin",
                   choices=("round_robin", "weighted", "least_loaded", "schedule"))
    p.add_argument("--channel", default="门店")
    p.add_argument("--tag", action="append", default=[], metavar="GROUP/NAME")
    p.add_argument("--daily-cap", type=int)
    p.add_argument("--welcome", default="", help="welcome text ({nickname} {staff} {store})")
    p.add_argument("--zip", default=None, metavar="OUT.zip",
                   help="also write every store code's QR (PNG) into this ZIP file")
    p = sub.add_parser("update", help="change one live code's settings (only the options "
                                      "given; --member and --tag replace the lists)")
    p.add_argument("code", help="code id or state")
    p.add_argument("--name")
    p.add_argument("--member", action="append", metavar="USERID[:WEIGHT]",
                   help="the new member list (repeat); members kept keep their caps and "
                        "shifts unless a weight is given")
    p.add_argument("--strategy", choices=("round_robin", "weighted", "least_loaded",
                                          "schedule"))
    p.add_argument("--channel")
    p.add_argument("--tag", action="append", metavar="GROUP/NAME",
                   help="the new channel tags (repeat)")
    p.add_argument("--no-tags", action="store_true", help="remove every channel tag")
    p.add_argument("--backup", action="append", metavar="USERID",
                   help="the new backup staff (repeat)")
    p.add_argument("--daily-cap", type=int, help="per member per day; 0 = no cap")
    p.add_argument("--round-cap", type=int, help="per member per round; 0 = no cap")
    p.add_argument("--welcome", help="new welcome text (attachments and variants are kept)")
    p.add_argument("--remark", help="remark template for new customers")
    for action in ACTIONS:
        p = sub.add_parser(action, help=f"{action} one live code")
        p.add_argument("code", help="code id or state")


def _member(value: str) -> dict[str, Any]:
    userid, _, weight = value.partition(":")
    return {"userid": userid, "weight": int(weight)} if weight else {"userid": userid}


def _update(ws: Any, api: Any, code: int | str, args: argparse.Namespace) -> dict[str, Any]:
    current = api.get_code(ws, code)
    changes: dict[str, Any] = {}
    for key in ("name", "strategy", "channel", "remark"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    if args.no_tags or args.tag is not None:
        changes["tags"] = [] if args.no_tags else args.tag
    if args.backup is not None:
        changes["backup"] = args.backup
    for key in ("daily_cap", "round_cap"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key) or None
    if args.welcome is not None:
        changes["welcome"] = {**(current.get("welcome") or {}), "text": args.welcome}
    members = (api.merge_members(current["members"], [_member(m) for m in args.member])
               if args.member else None)
    if not changes and members is None:
        from siyu.core.errors import ValidationError

        raise ValidationError("nothing to change: give at least one option, e.g. --name or "
                              "--member (see siyu livecode update --help)")
    return api.update_code(ws, code, members=members, **changes)


def _run(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.livecodes import api

    action = args.livecode_command
    if action == "create":
        welcome = json.loads(args.welcome_json) if args.welcome_json else (
            {"text": args.welcome} if args.welcome else None)
        code = api.create_code(ws, args.name, [_member(m) for m in args.member],
                               strategy=args.strategy, channel=args.channel, tags=args.tag,
                               welcome=welcome, backup=args.backup, daily_cap=args.daily_cap,
                               round_cap=args.round_cap, remark=args.remark, store=args.store,
                               state=args.state)
        print(f"created live code {code['id']} ({code['state']}): {code['qr_url']}")
        print(f"listed now: {', '.join(code['listed'] or [])}")
        return 0
    if action == "stores":
        from siyu.plugins.livecodes.stores import create_store_codes

        result = create_store_codes(ws, args.file, strategy=args.strategy,
                                    channel=args.channel, tags=args.tag,
                                    welcome={"text": args.welcome} if args.welcome else None,
                                    daily_cap=args.daily_cap)
        print(result.summary())
        if args.zip:
            from pathlib import Path

            from siyu.plugins.livecodes.assets import codes_zip
            from siyu.plugins.livecodes.stores import store_code_ids

            Path(args.zip).write_bytes(codes_zip(ws, store_code_ids(ws)))
            print(f"QR codes written to {args.zip}")
        return 0
    if action == "check":
        from siyu.plugins.livecodes.checks import DEFAULT_PER_MINUTE

        report = api.check_codes(ws, per_minute=args.per_minute or DEFAULT_PER_MINUTE,
                                 progress=False if args.no_progress else None)
        print(report.summary())
        for line in api.problems(ws):
            print(f"- {line}")
        return 0 if report.ok else 1
    if action == "report":
        from siyu.plugins.livecodes import reports

        frame = reports.report(ws, args.by, since=args.since, until=args.until)
        if args.csv:
            print(f"{len(frame)} rows written to {reports.save_csv(frame, args.csv)}")
        else:
            print(reports.report_text(frame))
        return 0
    if action == "list":
        frame = api.list_codes(ws)
        columns = ["id", "name", "state", "strategy", "status", "members", "adds_today",
                   "adds_total", "welcome_p50_ms", "welcome_p99_ms"]
        print(frame[columns].to_string(index=False) if len(frame) else "no live codes")
        return 0
    code = _code(args.code)
    if action == "update":
        data = _update(ws, api, code, args)
        print(f"updated live code {data['id']} ({data['state']}); listed now: "
              f"{', '.join(data['listed'] or [])}")
        return 0
    if action == "preview":
        print(api.preview(ws, code).to_string(index=False))
        return 0
    if action == "show":
        data = api.get_code(ws, code)
    else:
        data = {"pause": api.pause_code, "resume": api.resume_code,
                "delete": api.delete_code}[action](ws, code)
    for key in ("id", "name", "state", "status", "strategy", "channel", "tags", "backup",
                "daily_cap", "round_cap", "listed", "qr_url", "last_error"):
        print(f"{key}: {data[key]}")
    print("members: " + ", ".join(m["userid"] for m in data["members"]))
    return 0


COMMANDS = [CommandSpec("livecode", "staff live codes: create, list, show, pause, resume, "
                                    "delete, preview, check", _configure, _run)]
