"""``siyu replies …``: the quick-reply library (话术库) on the command line.

::

    siyu replies list [--category 售后] [--search 退货] [--enabled] [--json]
    siyu replies add --category 售后 --title 退换货政策 --text "七天无理由退换…"
    siyu replies add --category 活动 --title 双11海报 --image poster.png
    siyu replies show 3 [--json] [--save-image FILE]
    siyu replies set 3 [--category C] [--title T] [--text X | --image FILE] [--position N]
                       [--enable | --disable]
    siyu replies remove 3
    siyu replies import replies.xlsx        # columns category, title, text (分类, 标题, 内容)
    siyu replies export replies.csv         # .csv or .xlsx; no file: CSV on stdout

Bad input (an empty title, a text too long, an image that is not PNG/JPEG…) is one
``siyu: error: …`` line and exit code 2, with nothing stored.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from siyu.cli import nonblank
from siyu.cli_table import cell, table_text
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.quickreplies")

LIST_COLUMNS = ("id", "category", "position", "title", "kind", "preview", "enabled",
                "use_count", "last_used_at")
#: Characters of a text the list shows.
PREVIEW = 30


def configure(parser: argparse.ArgumentParser) -> None:
    """The actions of ``siyu replies``."""
    sub = parser.add_subparsers(dest="replies_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help=_("the replies, by category and order"))
    p.add_argument("--category", help=_("only this category's"))
    p.add_argument("--search", help=_("only replies whose title or text holds this"))
    p.add_argument("--enabled", action="store_true", help=_("leave out disabled replies"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("add", help=_("add a text or image reply"))
    p.add_argument("--category", required=True, type=nonblank)
    p.add_argument("--title", required=True, type=nonblank)
    content = p.add_mutually_exclusive_group(required=True)
    content.add_argument("--text", help=_("the text staff send"))
    content.add_argument("--image", type=Path, metavar="FILE", help=_("a PNG or JPEG file"))
    p = sub.add_parser("show", help=_("one reply in full"))
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--json", action="store_true", help=_("print JSON instead of text"))
    p.add_argument("--save-image", type=Path, metavar="FILE",
                   help=_("write an image reply's picture to FILE"))
    p = sub.add_parser("set", help=_("change a reply"))
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--category", type=nonblank)
    p.add_argument("--title", type=nonblank)
    content = p.add_mutually_exclusive_group()
    content.add_argument("--text", help=_("new text (an image reply becomes a text)"))
    content.add_argument("--image", type=Path, metavar="FILE",
                         help=_("new picture (a text reply becomes an image)"))
    p.add_argument("--position", type=int, metavar="N",
                   help=_("its place in the category (1 is first)"))
    state = p.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    p = sub.add_parser("remove", help=_("delete a reply"))
    p.add_argument("id", type=int, metavar="ID")
    p = sub.add_parser("import", help=_("add text replies from a CSV or .xlsx file with the "
                                        "columns category, title, text (all or nothing)"))
    p.add_argument("file", type=Path, metavar="FILE")
    p = sub.add_parser("export", help=_("every reply as CSV or .xlsx"))
    p.add_argument("file", type=Path, metavar="FILE", nargs="?",
                   help=_("a .csv or .xlsx file (default: CSV on standard output)"))


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu replies`` action; returns the exit code."""
    actions = {"list": _list, "add": _add, "show": _show, "set": _set, "remove": _remove,
               "import": _import, "export": _export}
    return actions[args.replies_command](ws, args)


def kind_label(kind: str) -> str:
    """``"text"`` / ``"image"`` as the reader calls them."""
    return _("image") if kind == "image" else _("text")


def preview(text: Any, size: int = PREVIEW) -> str:
    """The start of a text on one line, with ``…`` when cut."""
    shown = " ".join(str(text or "").split())
    return shown if len(shown) <= size else shown[:size - 1] + "…"


def _list(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.quickreplies.store import listing

    frame = listing(ws, category=args.category, search=args.search,
                    enabled_only=args.enabled)
    rows = frame.to_dict("records")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    shown = [{**row, "kind": kind_label(row["kind"]),
              "preview": preview(row["text"]) if row["kind"] == "text"
              else row["image_name"],
              "enabled": _("yes") if row["enabled"] else _("no")} for row in rows]
    print(table_text(shown, LIST_COLUMNS, _("no quick replies; add one with `siyu replies add "
                                            "--category C --title T --text X`"),
                     ws.timezone))
    return 0


def _add(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.quickreplies.store import add

    reply = add(ws, category=args.category, title=args.title, text=args.text,
                image=args.image)
    print(_("reply {id} added: {category}/{title} ({kind})", id=reply.id,
            category=reply.category, title=reply.title, kind=kind_label(reply.kind)))
    return 0


def _show(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.quickreplies.store import get, image_of

    reply = get(ws, args.id)
    if args.save_image is not None:
        data, _name, _type = image_of(ws, reply.id)
        args.save_image.write_bytes(data)
    if args.json:
        print(json.dumps(asdict(reply), ensure_ascii=False, indent=2, default=str))
    else:
        state = _("enabled") if reply.enabled else _("disabled")
        print(_("reply {id}: {category}/{title} ({kind}, #{position} in its category, {state})",
                id=reply.id, category=reply.category, title=reply.title,
                kind=kind_label(reply.kind), position=reply.position, state=state))
        print(_("sent {n} times, last {at}", n=reply.use_count,
                at=cell(reply.last_used_at, ws.timezone) or _("never")))
        if reply.kind == "image":
            print(_("image: {name} ({type}, {size} bytes)", name=reply.image_name,
                    type=reply.image_type, size=reply.image_size))
        else:
            print(reply.text)
    if args.save_image is not None:
        print(_("picture written to {file}", file=args.save_image), file=sys.stderr)
    return 0


def _set(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.quickreplies.store import move, update

    changes = {name: getattr(args, name) for name in ("category", "title", "text", "image",
                                                      "enabled")
               if getattr(args, name) is not None}
    if not changes and args.position is None:
        raise ValidationError(_("nothing to change; give --category, --title, --text, "
                                "--image, --position, --enable or --disable"))
    if changes:
        reply = update(ws, args.id, **changes)
    if args.position is not None:
        reply = move(ws, args.id, args.position)
    print(_("reply {id} changed: {category}/{title}, #{position} in its category",
            id=reply.id, category=reply.category, title=reply.title,
            position=reply.position))
    return 0


def _remove(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.quickreplies.store import get, remove

    reply = get(ws, args.id)
    remove(ws, reply.id)
    print(_("reply {id} removed: {category}/{title}", id=reply.id, category=reply.category,
            title=reply.title))
    return 0


def _import(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.quickreplies.store import import_texts

    report = import_texts(ws, args.file)
    print(report.summary())
    return 0


def _export(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.quickreplies.store import export_frame

    frame = export_frame(ws)
    frame["last_used_at"] = [cell(value, ws.timezone) for value in frame["last_used_at"]]
    if args.file is None:
        sys.stdout.write(frame.to_csv(index=False))
        return 0
    suffix = args.file.suffix.lower()
    if suffix == ".xlsx":
        frame.to_excel(args.file, index=False, engine="openpyxl")
    elif suffix == ".csv":
        frame.to_csv(args.file, index=False, encoding="utf-8-sig")
    else:
        raise ValidationError(_("export to a .csv or .xlsx file, not {file}",
                                file=args.file.name))
    print(_.ngettext("{n} reply written to {file}", "{n} replies written to {file}",
                     len(frame), file=args.file))
    return 0
