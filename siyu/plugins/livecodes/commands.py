"""``siyu livecode …``: create, list, show, pause, resume, delete and preview live codes, and
check them against WeCom.

The plugin registers :func:`configure` and :func:`run` by import path, so this module is
imported only when ``siyu livecode`` (or ``siyu groupcode``) runs."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import string
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from siyu.cli import nonblank, set_up_later, whole_number
from siyu.core.errors import SiyuError, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes.models import STRATEGIES
from siyu.plugins.livecodes.welcome import PLACEHOLDERS

_ = translator("siyu.plugins.livecodes")

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
        raise argparse.ArgumentTypeError(_("{value!r} has no userid; give USERID or "
                                           "USERID:WEIGHT, e.g. zhangsan:2", value=value))
    if not colon:
        return {"userid": userid.strip()}
    if not weight.strip().isdigit():
        raise argparse.ArgumentTypeError(_("{value!r}: the weight after the colon must be a "
                                           "whole number of 0 or more, e.g. {userid}:2",
                                           value=value, userid=userid))
    return {"userid": userid.strip(), "weight": int(weight)}


def _template_problem(text: str) -> str | None:
    """Why ``text`` is no welcome or remark template, or ``None`` when it is one."""
    try:
        names = [field[1] for field in string.Formatter().parse(text) if field[1] is not None]
    except ValueError as exc:
        return _("{value!r} is not a valid template ({reason}); write {{{{ and }}}} for a "
                 "literal brace", value=text, reason=exc)
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        fields = ["{" + name + "}" for name in (unknown[0], *PLACEHOLDERS)]
        return _("{value!r} uses unknown placeholder {placeholder}; use {placeholders}",
                 value=text, placeholder=fields[0], placeholders=", ".join(fields[1:]))
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
        raise argparse.ArgumentTypeError(_(
            "not valid JSON ({reason} at line {line} column {column}); give an object such "
            "as {example}", reason=exc.msg, line=exc.lineno, column=exc.colno,
            example=WELCOME_EXAMPLE)) from None
    if not isinstance(config, dict):
        raise argparse.ArgumentTypeError(_("must be a JSON object such as {example}, not "
                                           "{value!r}", example=WELCOME_EXAMPLE,
                                           value=text.strip()))
    variants = config.get("variants")
    if variants is not None and not (isinstance(variants, list)
                                     and all(isinstance(v, dict) for v in variants)):
        raise argparse.ArgumentTypeError(_('"variants" must be a list of objects such as '
                                           '{example}',
                                           example='[{"days": [5, 6], "text": "周末好"}]'))
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
        raise argparse.ArgumentTypeError(_("{value!r} is a folder; give a file name such as "
                                           "{example!r}", value=text,
                                           example=str(target / "store-codes.zip")))
    folder = target.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(_("folder {folder!r} of {value!r} does not exist; "
                                           "create it or choose another",
                                           folder=str(folder), value=text))
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(_("folder {folder!r} of {value!r} is not writable; "
                                           "choose a folder you can write to",
                                           folder=str(folder), value=text))
    return target


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu livecode``: one sub-parser per action."""
    sub = parser.add_subparsers(dest="livecode_command", metavar="ACTION", required=True)
    p = sub.add_parser("create", help=_("create a staff live code in WeCom"))
    p.add_argument("name")
    p.add_argument("--member", action="append", required=True, type=_member,
                   metavar="USERID[:WEIGHT]",
                   help=_("a member (repeat); an optional weight after a colon"))
    p.add_argument("--strategy", default="round_robin", choices=STRATEGIES)
    p.add_argument("--channel", default="")
    p.add_argument("--tag", action="append", default=[], metavar="GROUP/NAME")
    p.add_argument("--backup", action="append", default=[], type=nonblank, metavar="USERID")
    p.add_argument("--daily-cap", type=whole_number(1), help=_("adds per member per day"))
    p.add_argument("--round-cap", type=whole_number(1), help=_("adds per member per round"))
    p.add_argument("--welcome", default="", type=_template,
                   help=_("welcome text ({nickname} {staff} {store})"))
    p.add_argument("--welcome-json", type=_welcome_json, default=None,
                   help=_("a full welcome config as a JSON object, e.g. {example}",
                          example=WELCOME_EXAMPLE))
    p.add_argument("--remark", default="", type=_template,
                   help=_("remark template for new customers"))
    p.add_argument("--store", default=None, help=_("store code"))
    p.add_argument("--state", default=None, help=_("custom state starting with lc:"))
    sub.add_parser("list", help=_("every live code with its adds and welcome latency"))
    p = sub.add_parser("report", help=_("arrivals, adds, removals, net growth, retention and "
                                        "first orders per code, per channel or per staff "
                                        "member"))
    p.add_argument("--by", choices=("code", "channel", "staff"), default="code")
    p.add_argument("--since", metavar="DAY", help=_("first local day counted, e.g. 2026-11-01 "
                                                    "(default: from the first arrival)"))
    p.add_argument("--until", metavar="DAY", help=_("first local day NOT counted (default: "
                                                    "up to now)"))
    p.add_argument("--csv", metavar="FILE", help=_("write the report to this CSV file "
                                                   "instead of printing it"))
    p = sub.add_parser("check", help=_("check every live code still exists in WeCom, and "
                                       "list codes with problems and unknown states (exit 1 "
                                       "when a code is missing or could not be checked)"))
    set_up_later(p, _configure_check)  # its limits live beside the WeCom client
    p = sub.add_parser("stores", help=_("one live code per store, from a CSV or Excel file "
                                        "(columns 门店/store, 员工/members, optional 备用员工, "
                                        "名称)"))
    p.add_argument("file")
    p.add_argument("--strategy", default="round_robin", choices=STRATEGIES)
    p.add_argument("--channel", default="门店")
    p.add_argument("--tag", action="append", default=[], metavar="GROUP/NAME")
    p.add_argument("--daily-cap", type=whole_number(1), help=_("adds per member per day"))
    p.add_argument("--welcome", default="", type=_template,
                   help=_("welcome text ({nickname} {staff} {store})"))
    p.add_argument("--zip", default=None, type=_zip_path, metavar="OUT.zip",
                   help=_("also write every store code's QR (PNG) into this ZIP file"))
    p = sub.add_parser("update", help=_("change one live code's settings (only the options "
                                        "given; --member and --tag replace the lists)"))
    p.add_argument("code", help=_("code id or state"))
    p.add_argument("--name")
    p.add_argument("--member", action="append", type=_member, metavar="USERID[:WEIGHT]",
                   help=_("the new member list (repeat); members kept keep their caps and "
                          "shifts unless a weight is given"))
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument("--channel")
    p.add_argument("--tag", action="append", metavar="GROUP/NAME",
                   help=_("the new channel tags (repeat)"))
    p.add_argument("--no-tags", action="store_true", help=_("remove every channel tag"))
    p.add_argument("--backup", action="append", type=nonblank, metavar="USERID",
                   help=_("the new backup staff (repeat)"))
    p.add_argument("--daily-cap", type=whole_number(0),
                   help=_("per member per day; 0 = no cap"))
    p.add_argument("--round-cap", type=whole_number(0),
                   help=_("per member per round; 0 = no cap"))
    p.add_argument("--welcome", type=_template,
                   help=_("new welcome text (attachments and variants are kept)"))
    p.add_argument("--remark", type=_template, help=_("remark template for new customers"))
    helps = {"show": _("show one live code"), "pause": _("pause one live code"),
             "resume": _("resume one live code"), "delete": _("delete one live code"),
             "preview": _("preview one live code")}
    for action in ACTIONS:
        p = sub.add_parser(action, help=helps[action])
        p.add_argument("code", help=_("code id or state"))


# -- `livecode list` without pandas -------------------------------------------------------

#: The columns ``siyu livecode list`` prints, in order.
LIST_COLUMNS = ("id", "name", "state", "strategy", "status", "members", "adds_today",
                "adds_total", "welcome_p50_ms", "welcome_p99_ms")
_DECIMAL = re.compile(r"^\s*[+-]?[0-9]+\.[0-9]*$")
#: Control characters a table cell shows escaped, so that a row stays one line.
_ESCAPES = str.maketrans({"\t": r"\t", "\n": r"\n", "\r": r"\r"})


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of the sorted ``ordered``, interpolated linearly between the two
    nearest values: what pandas' ``groupby(...).quantile(q)`` gives, to the last bit."""
    position = q * (len(ordered) - 1)
    index, fraction = int(position), position % 1
    if fraction == 0.0:
        return ordered[index]
    return ordered[index] + (ordered[index + 1] - ordered[index]) * fraction


def list_rows(ws: Any) -> list[dict[str, Any]]:
    """Every live code with the figures ``siyu livecode list`` prints (:data:`LIST_COLUMNS`):
    the same as :func:`siyu.plugins.livecodes.api.list_codes`, read with plain SQLAlchemy so
    that the command does not import pandas. ``welcome_p50_ms`` and ``welcome_p99_ms`` are
    ``None`` for a code whose welcome latency was never measured.

    :raises PermissionDenied: the workspace's principal may not read data.
    """
    from siyu.plugins.livecodes.engine import ADDS, CODES, DAYS, MEMBERS, local_now

    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        codes = conn.execute(sa.select(CODES.c.id, CODES.c.name, CODES.c.state,
                                       CODES.c.strategy, CODES.c.status)
                             .order_by(CODES.c.id)).all()
    if not codes:
        return []
    today = local_now(ws).date().isoformat()  # the workspace's timezone: a settings read
    with ws.engine.connect() as conn:
        members = dict(conn.execute(sa.select(MEMBERS.c.code_id, sa.func.count())
                                    .group_by(MEMBERS.c.code_id)).all())
        day = dict(conn.execute(sa.select(DAYS.c.code_id, sa.func.sum(DAYS.c.adds))
                                .where(DAYS.c.day == today).group_by(DAYS.c.code_id)).all())
        adds = conn.execute(sa.select(ADDS.c.code_id, ADDS.c.latency_ms)
                            .where(ADDS.c.code_id.is_not(None))).all()
    totals: dict[Any, int] = {}
    latencies: dict[Any, list[float]] = {}
    for code_id, latency in adds:
        totals[code_id] = totals.get(code_id, 0) + 1
        if latency is not None:
            latencies.setdefault(code_id, []).append(float(latency))
    rows = []
    for code in codes:
        ordered = sorted(latencies.get(code.id, ()))
        rows.append({"id": code.id, "name": code.name, "state": code.state,
                     "strategy": code.strategy, "status": code.status,
                     "members": int(members.get(code.id) or 0),
                     "adds_today": int(day.get(code.id) or 0),
                     "adds_total": totals.get(code.id, 0),
                     "welcome_p50_ms": _quantile(ordered, 0.5) if ordered else None,
                     "welcome_p99_ms": _quantile(ordered, 0.99) if ordered else None})
    return rows


def _float_cells(values: Sequence[float | None]) -> list[str]:
    """Milliseconds as pandas prints a float column: fixed point, the trailing zeros all
    values share trimmed (one kept), ``NaN`` for none, scientific for extreme values."""

    def cells(style: str) -> list[str]:
        texts = ["NaN" if v is None or math.isnan(v) else format(v, style) for v in values]
        numbers = [i for i, text in enumerate(texts) if _DECIMAL.match(text)]
        while numbers and all(texts[i].endswith("0") for i in numbers):
            for i in numbers:
                texts[i] = texts[i][:-1]
        for i in numbers:
            texts[i] += "0" if texts[i].endswith(".") else ""
        return texts

    texts = cells(".6f")
    sizes = [abs(v) for v in values if v is not None and not math.isnan(v)]
    too_long = max((len(t) for t in texts), default=0) > 12
    if any(0 < v < 1e-6 for v in sizes) or (too_long and any(v > 1e6 for v in sizes)):
        texts = cells(".6e")
    return texts


def list_text(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` from :func:`list_rows` as the table ``siyu livecode list`` prints, laid out
    as ``DataFrame.to_string(index=False)`` did: right-aligned columns one space apart, a
    space before the names of numeric columns; ``"no live codes"`` (translated) when there
    are none. The column names are the keys of :data:`LIST_COLUMNS`, in every language."""
    if not rows:
        return _("no live codes")
    columns = []
    for name in LIST_COLUMNS:
        values = [row[name] for row in rows]
        if name.startswith("welcome_"):
            cells, numeric = _float_cells(values), True
        else:
            numeric = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
            cells = [str(v).translate(_ESCAPES) for v in values]
        header = f" {name}" if numeric else name
        width = max(len(text) for text in [header, *cells])
        columns.append([text.rjust(width) for text in [header, *cells]])
    return "\n".join(" ".join(line) for line in zip(*columns, strict=True))


def _configure_check(parser: argparse.ArgumentParser) -> None:
    from siyu.plugins.livecodes.checks import DEFAULT_PER_MINUTE, WECOM_PER_MINUTE

    parser.add_argument("--per-minute", type=whole_number(1, WECOM_PER_MINUTE),
                        default=DEFAULT_PER_MINUTE,
                        help=_("get_contact_way calls per minute at most (default "
                               "{default}; WeCom allows {most})", default=DEFAULT_PER_MINUTE,
                               most=WECOM_PER_MINUTE))
    parser.add_argument("--no-progress", action="store_true", help=_("no progress bar"))


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
        raise ValidationError(_("nothing to change: give at least one option, e.g. --name or "
                                "--member (see siyu livecode update --help)"))
    return api.update_code(ws, code, members=members, **changes)


def _write_zip(ws: Any, target: Path) -> None:
    """Write every store code's QR into ``target`` (its folder was checked at parse time)."""
    from siyu.plugins.livecodes.assets import codes_zip
    from siyu.plugins.livecodes.stores import store_code_ids

    try:
        target.write_bytes(codes_zip(ws, store_code_ids(ws)))
    except OSError as exc:  # the file the user named: full disk, read-only file…
        raise SiyuError(_("cannot write the QR codes to {path!r}: {reason}; the store codes "
                          "are created, run the command again with --zip in a folder you "
                          "can write to", path=str(target), reason=exc.strerror)) from exc
    print(_("QR codes written to {path}", path=target))


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu livecode`` action; returns the exit code (``check``: 1 when a code is
    missing or could not be checked)."""
    action = args.livecode_command
    if action == "list":  # the everyday look: plain rows, no pandas (see list_rows)
        print(list_text(list_rows(ws)))
        return 0
    from siyu.plugins.livecodes import api

    if action == "create":
        welcome = args.welcome_json if args.welcome_json is not None else (
            {"text": args.welcome} if args.welcome else None)
        code = api.create_code(ws, args.name, args.member,
                               strategy=args.strategy, channel=args.channel, tags=args.tag,
                               welcome=welcome, backup=args.backup, daily_cap=args.daily_cap,
                               round_cap=args.round_cap, remark=args.remark, store=args.store,
                               state=args.state)
        print(_("created live code {id} ({state}): {url}", id=code["id"], state=code["state"],
                url=code["qr_url"]))
        print(_("listed now: {members}", members=", ".join(code["listed"] or [])))
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
            print(_.ngettext("{n} row written to {path}", "{n} rows written to {path}",
                             len(frame), path=reports.save_csv(frame, args.csv)))
        else:
            print(reports.report_text(frame))
        return 0
    code = _code(args.code)
    if action == "update":
        data = _update(ws, api, code, args)
        print(_("updated live code {id} ({state}); listed now: {members}", id=data["id"],
                state=data["state"], members=", ".join(data["listed"] or [])))
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

