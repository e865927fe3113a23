"""``siyu leaderboard …``: define boards, print rankings, keep and export them.

::

    siyu leaderboard add sales-month --metric sales_fen --dimension store \\
        --period this_month --title 本月门店销售榜 --top 20
    siyu leaderboard add double11 --metric orders --dimension staff \\
        --start 2026-11-01 --end 2026-11-11 --source tmall --store SH001 --store SH002
    siyu leaderboard list | show sales-month [--top 10] [--json]
    siyu leaderboard set sales-month --top 10
    siyu leaderboard snapshot sales-month [--list]
    siyu leaderboard export sales-month ranking.xlsx
    siyu leaderboard remove sales-month
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from siyu.cli import nonblank
from siyu.cli_table import table_text
from siyu.core.errors import ConfigError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.leaderboards")

LIST_COLUMNS = ("name", "title", "metric", "dimension", "period", "start", "end", "sources",
                "stores", "top")
RANK_COLUMNS = ("rank", "key", "name", "value", "previous_rank", "change")
SNAPSHOT_COLUMNS = ("period_start", "period_end", "rank", "key", "name", "value")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value!r} is not a whole number",
                                           value=text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("{value} is not at least 1", value=value))
    return value


def _fields(p: argparse.ArgumentParser, required: bool) -> None:
    from siyu.plugins.leaderboards.models import DIMENSIONS, METRICS, PERIODS

    p.add_argument("--metric", required=required, choices=METRICS,
                   help=_("sales_fen (paid, net of refunds), orders or new_contacts"))
    p.add_argument("--dimension", required=required, choices=DIMENSIONS,
                   help=_("rank stores, staff, regions or customers (contact)"))
    p.add_argument("--period", choices=PERIODS,
                   help=_("today, this_week, this_month, or window with --start and --end"))
    p.add_argument("--start", metavar="YYYY-MM-DD", help=_("first day of a fixed window"))
    p.add_argument("--end", metavar="YYYY-MM-DD", help=_("last day of a fixed window"))
    p.add_argument("--source", dest="sources", action="append", metavar="SOURCE",
                   help=_("only orders of this source; repeat for more"))
    p.add_argument("--store", dest="stores", action="append", metavar="CODE",
                   help=_("only this store; repeat for more"))
    p.add_argument("--top", type=_positive, metavar="N", help=_("places shown"))
    p.add_argument("--title", help=_("the title shown on the board"))


def configure(parser: argparse.ArgumentParser) -> None:
    """The actions of ``siyu leaderboard``."""
    sub = parser.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help=_("the boards defined"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("add", help=_("define a new board"))
    p.add_argument("name", type=nonblank)
    _fields(p, required=True)
    p = sub.add_parser("set", help=_("change a board"))
    p.add_argument("name", type=nonblank)
    _fields(p, required=False)
    p.add_argument("--all-sources", action="store_true", help=_("drop the source filter"))
    p.add_argument("--all-stores", action="store_true", help=_("drop the store filter"))
    p = sub.add_parser("show", help=_("a board's ranking now"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--top", type=_positive, metavar="N", help=_("places shown"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("remove", help=_("remove a board and its snapshots"))
    p.add_argument("name", type=nonblank)
    p = sub.add_parser("snapshot", help=_("keep the ranking of the current period "
                                          "(or list those kept)"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--list", action="store_true", help=_("list the snapshots kept"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("export", help=_("write a board's ranking to a CSV or Excel file"))
    p.add_argument("name", type=nonblank)
    p.add_argument("file", type=Path, help=_("a .csv or .xlsx file"))


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu leaderboard`` action; returns the exit code."""
    actions = {"list": _list, "add": _add, "set": _set, "show": _show, "remove": _remove,
               "snapshot": _snapshot, "export": _export}
    return actions[args.leaderboard_command](ws, args)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    names = ("metric", "dimension", "period", "start", "end", "sources", "stores", "top",
             "title")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _rows(frame) -> list[dict[str, Any]]:
    return [{k: (None if v is None or v != v else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict("records")]


def _list(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.leaderboards.store import listing

    rows = _rows(listing(ws))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print(table_text(rows, LIST_COLUMNS, _("no leaderboards; add one with `siyu "
                                               "leaderboard add NAME --metric sales_fen "
                                               "--dimension store --period this_month`"),
                         ws.timezone))
    return 0


def _add(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.leaderboards.store import define

    given = _given(args)
    info = define(ws, args.name, period=given.pop("period", None), **given)
    print(_("leaderboard {name} added", name=info.name))
    return 0


def _set(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.leaderboards.store import update

    given = _given(args)
    if args.all_sources:
        given["sources"] = []
    if args.all_stores:
        given["stores"] = []
    if not given:
        raise ConfigError(_("nothing to change; give --metric, --period, --top …"))
    info = update(ws, args.name, **given)
    print(_("leaderboard {name} changed", name=info.name))
    return 0


def _value_text(metric: str):
    from siyu.cli_table import cell

    if metric == "sales_fen":
        return lambda row: f"¥{row['value'] / 100:,.2f}"
    return lambda row: cell(row["value"])


def _show(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.leaderboards.store import get, ranking

    board = get(ws, args.name)
    frame = ranking(ws, args.name, top=args.top)
    rows = _rows(frame)
    if args.json:
        print(json.dumps({"name": board.name, "title": board.title, "metric": board.metric,
                          "dimension": board.dimension,
                          "period": [d.isoformat() for d in frame.attrs["period"]],
                          "ranking": rows}, ensure_ascii=False, indent=2, default=str))
        return 0
    first, last = frame.attrs["period"]
    print(f"{board.title}  {first.isoformat()} – {last.isoformat()}")
    value = _value_text(board.metric)
    for row in rows:
        row["value"] = value(row)
        change = row["change"]
        row["change"] = "—" if change is None else (
            f"▲{change}" if change > 0 else f"▼{-change}" if change < 0 else "=")
    print(table_text(rows, RANK_COLUMNS, _("nothing ranked yet in this period")))
    return 0


def _remove(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.leaderboards.store import remove

    remove(ws, args.name)
    print(_("leaderboard {name} removed", name=args.name))
    return 0


def _snapshot(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.leaderboards.store import snapshot, snapshots

    if args.list:
        rows = _rows(snapshots(ws, args.name))
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        else:
            print(table_text(rows, SNAPSHOT_COLUMNS, _("no snapshots yet")))
        return 0
    frame = snapshot(ws, args.name)
    first, last = frame.attrs["period"]
    print(_("kept the ranking of {name} for {first} – {last} ({n} places)", name=args.name,
            first=first.isoformat(), last=last.isoformat(), n=len(frame)))
    return 0


def _export(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.leaderboards.store import export_frame, get

    suffix = args.file.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ConfigError(_("{file}: write a .csv or .xlsx file", file=args.file))
    if not args.file.parent.is_dir():
        raise ConfigError(_("{folder} is not a folder", folder=args.file.parent))
    get(ws, args.name)
    frame = export_frame(ws, args.name)
    try:
        if suffix == ".csv":
            frame.to_csv(args.file, index=False, encoding="utf-8-sig")
        else:
            frame.to_excel(args.file, index=False, engine="openpyxl")
    except OSError as exc:
        raise ConfigError(_("cannot write {file}: {error}", file=args.file,
                            error=exc.strerror or exc)) from None
    print(_("wrote {n} places to {file}", n=len(frame), file=args.file))
    return 0
