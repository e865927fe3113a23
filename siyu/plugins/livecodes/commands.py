"""``siyu livecode …``: create, list, show, pause, resume, delete and preview live codes, and
check them against WeCom."""

from __future__ import annotations

import argparse
import json
import os
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siyu.cli import nonblank, whole_number
from siyu.core.errors import SiyuError, ValidationError
from siyu.core.records import CommandSpec
from siyu.plugins.livecodes.checks import DEFAULT_PER_MINUTE, WECOM_PER_MINUTE
from siyu.plugins.livecodes.models import STRATEGIES
from siyu.plugins.livecodes.welcome import PLACEHOLDERS

ACTIONS = ("show", "pause", "resume", "delete", "preview")
WELCOME_EXAMPLE = '{"text": "你好 {nickname}，我是{staff}"}'


def _code(value: str) -> int | str:
    """A code id (digits) or state, as typed."""
    return int(value) if value.isdigit() else value


# -- argument types: each rejects a bad value before the database or WeCom is touched ------


def _member(value: str) -> dict[str, Any]:
    """``--member USERID[:WEIGHT]`` as ``{"userid", "weight"}`` (weight only when given)."""
    userid, colon, weight = value.partition(":")
    if not userid.strip():
        raise argparse.ArgumentTypeError(f"{value!r} has no userid; give USERID or "
                                         f"USERID:WEIGHT, e.g. zhangsan:2")
    if not colon:
        return {"userid": userid.strip()}
    if not weight.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{value!r}: the weight after the colon must be a "
                                         f"whole number of 0 or more, e.g. {userid}:2")
    return {"userid": userid.strip(), "weight": int(weight)}


def _template_problem(text: str) -> str | None:
    """Why ``text`` is no welcome or remark template, or ``None`` when it is one."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        return (f"{text!r} is not a valid template ({exc}); write {{{{ and }}}} for a "
                f"literal brace")
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        return (f"{text!r} uses unknown placeholder {{{unknown[0]}}}; use "
                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
    return None


def _template(text: str) -> str:
    """``--welcome`` and ``--remark``: text with {nickname}, {staff} and {store} only."""
    problem = _template_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _welcome_texts(config: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "text", config.get("text")
    yield "fallback", config.get("fallback")
    for n, variant in enumerate(config.get("variants") or [], 1):
        yield f"variants[{n}].text", variant.get("text")


def _welcome_json(text: str) -> dict[str, Any]:
    """``--welcome-json``: a JSON object shaped like a welcome config (the service checks
    the rest: fields, attachments, slots)."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); give an "
            f"object such as {WELCOME_EXAMPLE}") from None
    if not isinstance(config, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object such as {WELCOME_EXAMPLE}, "
                                         f"not {text.strip()!r}")
    variants = config.get("variants")
    if variants is not None and not (isinstance(variants, list)
                                     and all(isinstance(v, dict) for v in variants)):
        raise argparse.ArgumentTypeError('"variants" must be a list of objects such as '
                                         '[{"days": [5, 6], "text": "周末好"}]')
    for where, value in _welcome_texts(config):
        problem = _template_problem(value) if isinstance(value, str) else None
        if problem:
            raise argparse.ArgumentTypeError(f"{where}: {problem}")
    return config


def _zip_path(text: str) -> Path:
    """``--zip OUT.zip``: a file in a folder that exists and can be written to, checked
    before any store code is created."""
    target = Path(text).expanduser()
    if target.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name such as "
                                         f"{str(target / 'store-codes.zip')!r}")
    folder = target.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"folder {str(folder)!r} of {text!r} does not "
                                         f"exist; create it or choose another")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"folder {str(folder)!r} of {text!r} is not "
                                         f"writable; choose a folder you can write to")
    return target


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="livecode_command", metavar="ACTION", required=True)
    p = sub.add_parser("create", help="create a staff live code in WeCom")
    p.add_argument("name")
    p.add_argument("--member", action="append", required=True, type=_member,
                   metavar="USERID[:WEIGHT]",
                   help="a member (repeat); an optional weight after a colon")
    p.add_argument("--strategy", default="round_robin", choices=STRATEGIES)
    p.add_argument("--channel", default="")
    p.add_argument("--tag", action="append", default=[], metavar="GROUP/NAME")
    p.add_argument("--backup", action="append", default=[], type=nonblank, metavar="USERID")
    p.add_argument("--daily-cap", type=whole_number(1), help="adds per member per day")
    p.add_argument("--round-cap", type=whole_number(1), help="adds per member per round")
    p.add_argument("--welcome", default="", type=_template,
                   help="welcome text ({nickname} {staff} {store})")
    p.add_argument("--welcome-json", type=_welcome_json, default=None,
                   help=f"a full welcome config as a JSON object, e.g. {WELCOME_EXAMPLE}")
    p.add_argument("--remark", default="", type=_template,
                   help="remark template for new customers")
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
    p.add_argument("--per-minute", type=whole_number(1, WECOM_PER_MINUTE),
                   default=DEFAULT_PER_MINUTE,
                   help=f"get_contact_way calls per minute at most (default "
                        f"{DEFAULT_PER_MINUTE}; WeCom allows {WECOM_PER_MINUTE})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("stores", help="one live code per store, from a CSV or Excel file "
                                      "(columns 门店/store, 员工/members, optional 备用员工, 名称)")
    p.add_argument("file")
    p.add_argument("--strategy", default="round_robin", choices=STRATEGIES)
    p.add_argument("--channel", default="门店")
    p.add_argument("--tag", action="append", default=[], metavar="GROUP/NAME")
    p.add_argument("--daily-cap", type=whole_number(1), help="adds per member per day")
    p.add_argument("--welcome", default="", type=_template,
                   help="welcome text ({nickname} {staff} {store})")
    p.add_argument("--zip", default=None, type=_zip_path, metavar="OUT.zip",
                   help="also write every store code's QR (PNG) into this ZIP file")
    p = sub.add_parser("update", help="change one live code's settings (only the options "
                                      "given; --member and --tag replace the lists)")
    p.add_argument("code", help="code id or state")
    p.add_argument("--name")
    p.add_argument("--member", action="append", type=_member, metavar="USERID[:WEIGHT]",
                   help="the new member list (repeat); members kept keep their caps and "
                        "shifts unless a weight is given")
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument("--channel")
    p.add_argument("--tag", action="append", metavar="GROUP/NAME",
                   help="the new channel tags (repeat)")
    p.add_argument("--no-tags", action="store_true", help="remove every channel tag")
    p.add_argument("--backup", action="append", type=nonblank, metavar="USERID",
                   help="the new backup staff (repeat)")
    p.add_argument("--daily-cap", type=whole_number(0), help="per member per day; 0 = no cap")
    p.add_argument("--round-cap", type=whole_number(0),
                   help="per member per round; 0 = no cap")
    p.add_argument("--welcome", type=_template,
                   help="new welcome text (attachments and variants are kept)")
    p.add_argument("--remark", type=_template, help="remark template for new customers")
    for action in ACTIONS:
        p = sub.add_parser(action, help=f"{action} one live code")
        p.add_argument("code", help="code id or state")


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
    members = api.merge_members(current["members"], args.member) if args.member else None
    if not changes and members is None:
        raise ValidationError("nothing to change: give at least one option, e.g. --name or "
                              "--member (see siyu livecode update --help)")
    return api.update_code(ws, code, members=members, **changes)


def _write_zip(ws: Any, target: Path) -> None:
    """Write every store code's QR into ``target`` (its folder was checked at parse time)."""
    from siyu.plugins.livecodes.assets import codes_zip
    from siyu.plugins.livecodes.stores import store_code_ids

    try:
        target.write_bytes(codes_zip(ws, store_code_ids(ws)))
    except OSError as exc:  # the file the user named: full disk, read-only file…
        raise SiyuError(f"cannot write the QR codes to {str(target)!r}: {exc.strerror}; the "
                        f"store codes are created, run the command again with --zip in a "
                        f"folder you can write to") from exc
    print(f"QR codes written to {target}")


def _run(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.livecodes import api

    action = args.livecode_command
    if action == "create":
        welcome = args.welcome_json if args.welcome_json is not None else (
            {"text": args.welcome} if args.welcome else None)
        code = api.create_code(ws, args.name, args.member,
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
            _write_zip(ws, args.zip)
        return 0
    if action == "check":
        report = api.check_codes(ws, per_minute=args.per_minute,
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
