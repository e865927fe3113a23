"""``siyu risk …``: import, list and remove sensitive words, and test a text against them.

The plugin registers :func:`configure` and :func:`run` by import path, so this module is
imported only when ``siyu risk`` runs; the word store and the Aho-Corasick screen are
imported only by the action that needs them."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from siyu.cli import nonblank
from siyu.core.i18n import translator

_ = translator("siyu.plugins.risk")

#: The columns ``siyu risk words list`` prints, in order.
LIST_COLUMNS = ("category", "word", "source", "created_at", "created_by")
#: What marks a match inside its excerpt in ``siyu risk test``.
MARK = ("【", "】")


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu risk``: ``words`` (import, list, remove) and ``test``."""
    sub = parser.add_subparsers(dest="risk_command", metavar="ACTION", required=True)
    words = sub.add_parser("words", help=_("import, list and remove sensitive words"))
    actions = words.add_subparsers(dest="words_command", metavar="ACTION", required=True)
    p = actions.add_parser("import", help=_("store the words of word list files (UTF-8, one "
                                            "word per line, [category] headers)"))
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--category", type=nonblank,
                   help=_("category of the words before a file's first [category] header "
                          "(default: the file name without its suffix)"))
    p.add_argument("--replace", action="store_true",
                   help=_("the named categories hold exactly these words afterwards: words "
                          "not in the files are removed"))
    p = actions.add_parser("list", help=_("the stored words, by category"))
    p.add_argument("--category", type=nonblank, help=_("only this category"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = actions.add_parser("remove", help=_("remove words (in every category unless "
                                            "--category is given), or a whole category"))
    p.add_argument("words", nargs="*", metavar="WORD")
    p.add_argument("--category", type=nonblank,
                   help=_("only from this category; without words: every word of it"))
    p = sub.add_parser("test", help=_("screen a text: print each match; exit status 1 when "
                                      "something matched, 0 when the text is clean"))
    p.add_argument("text", metavar="TEXT", help=_("the text, or - to read it from standard "
                                                  "input"))


# -- output ------------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (Chinese) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return str(value).translate(str.maketrans({"\t": r"\t", "\n": r"\n", "\r": r"\r"}))


def list_text(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` from :func:`~siyu.plugins.risk.words.word_rows` as the table ``siyu risk
    words list`` prints: left-aligned columns (:data:`LIST_COLUMNS`) two spaces apart;
    ``"no sensitive words"`` (translated) when there are none."""
    if not rows:
        return _("no sensitive words")
    table = [list(LIST_COLUMNS)] + [[_cell(row[name]) for name in LIST_COLUMNS]
                                    for row in rows]
    widths = [max(_width(line[i]) for line in table) for i in range(len(LIST_COLUMNS))]
    return "\n".join("  ".join(cell + " " * (width - _width(cell))
                               for cell, width in zip(line, widths, strict=True)).rstrip()
                     for line in table)


def marked(match: Any) -> str:
    """The excerpt of ``match`` with the matched text between :data:`MARK` brackets."""
    from siyu.plugins.risk.screen import CONTEXT

    start = min(match.start, CONTEXT)
    end = start + (match.end - match.start)
    excerpt = match.excerpt
    return f"{excerpt[:start]}{MARK[0]}{excerpt[start:end]}{MARK[1]}{excerpt[end:]}"


def _test(ws: Any, text: str) -> int:
    from siyu.plugins.risk.words import test_text

    if text == "-":
        text = sys.stdin.read()
    matches = test_text(ws, text)
    if not matches:
        print(_("clean: no sensitive words found"))
        return 0
    for match in matches:
        print(_("{category}: {word} — {excerpt}", category=match.category, word=match.word,
                excerpt=_cell(marked(match))))
    print(_.ngettext("{n} match", "{n} matches", len(matches)))
    return 1


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu risk`` action; returns the exit code (``test``: 1 when the text holds
    a sensitive word)."""
    if args.risk_command == "test":
        return _test(ws, args.text)
    from siyu.plugins.risk import words

    action = args.words_command
    if action == "import":
        report = words.import_words(ws, args.files, category=args.category,
                                    replace=args.replace)
        print(report.summary())
        return 0
    if action == "list":
        tz = ws.timezone  # times shown in the workspace's timezone, as the console does
        rows = [{**row, "created_at": row["created_at"].astimezone(tz)}
                for row in words.word_rows(ws, args.category)]
        if args.json:
            print(json.dumps([{**row, "created_at": _cell(row["created_at"])} for row in rows],
                             ensure_ascii=False, indent=2))
        else:
            print(list_text(rows))
        return 0
    if not args.words and args.category is None:
        from siyu.core.errors import ValidationError

        raise ValidationError(_("name the words to remove, or a category with --category "
                                "(every word of it)"))
    removed = words.remove_words(ws, args.words or None, args.category)
    print(_.ngettext("removed {n} word", "removed {n} words", removed))
    return 0
