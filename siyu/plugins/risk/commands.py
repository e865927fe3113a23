"""``siyu risk …``: sensitive words (import, list, remove, test a text), the do-not-contact
list, the rules and their settings (quiet hours, staff daily cap), risk events and their
daily summary.

The plugin registers :func:`configure` and :func:`run` by import path, so this module is
imported only when ``siyu risk`` runs; the word store, the Aho-Corasick screen and pandas are
imported only by the action that needs them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from siyu.cli import nonblank
from siyu.cli_table import table_text as shared_table_text
from siyu.core.i18n import translator

_ = translator("siyu.plugins.risk")

#: The columns ``siyu risk words list`` prints, in order.
LIST_COLUMNS = ("category", "word", "source", "created_at", "created_by")
#: The columns ``siyu risk dnc list`` prints.
DNC_COLUMNS = ("contact_id", "name", "phone", "reason", "added_at", "added_by")
#: The columns ``siyu risk events`` prints.
EVENT_COLUMNS = ("at", "rule", "decision", "campaign", "contact_id", "contact", "staff",
                 "reason", "excerpt")
#: Events ``siyu risk events`` prints unless told otherwise.
EVENTS_LIMIT = 50
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
    _configure_dnc(sub)
    p = sub.add_parser("rules", help=_("the risk rules and their current settings"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of text"))
    _configure_set(sub)
    p = sub.add_parser("events", help=_("what the risk rules blocked, held and skipped, "
                                        "newest first"))
    p.add_argument("--since", type=nonblank, metavar="DATE",
                   help=_("only events from this date or time on (workspace timezone)"))
    p.add_argument("--rule", type=nonblank, help=_("only this rule's events (see `siyu risk "
                                                   "rules`)"))
    p.add_argument("--decision", choices=("blocked", "held", "skipped"),
                   help=_("only this decision"))
    p.add_argument("--limit", type=int, default=EVENTS_LIMIT,
                   help=_("most events to print (default {n})", n=EVENTS_LIMIT))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("summary", help=_("risk events and messages sent per day"))
    p.add_argument("--days", type=int, default=14, help=_("how many days, today included "
                                                          "(default 14)"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))


def _configure_dnc(sub: Any) -> None:
    dnc = sub.add_parser("dnc", help=_("the do-not-contact list: add, remove, list"))
    actions = dnc.add_subparsers(dest="dnc_command", metavar="ACTION", required=True)
    p = actions.add_parser("add", help=_("put contacts on the list (campaigns skip them)"))
    p.add_argument("contacts", nargs="+", metavar="CONTACT_ID")
    p.add_argument("--reason", default="", help=_("why, e.g. 投诉 (a complaint)"))
    p = actions.add_parser("remove", help=_("take contacts off the list"))
    p.add_argument("contacts", nargs="+", metavar="CONTACT_ID")
    p = actions.add_parser("list", help=_("the contacts on the list (phones masked)"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))


def _configure_set(sub: Any) -> None:
    setting = sub.add_parser("set", help=_("change a rule's setting: quiet hours, the staff "
                                           "daily cap"))
    which = setting.add_subparsers(dest="set_command", metavar="SETTING", required=True)
    p = which.add_parser("quiet-hours", help=_("quiet hours START END in local time (e.g. "
                                                "22:00 08:00, may wrap midnight), or off"))
    p.add_argument("times", nargs="+", metavar="TIME")
    p = which.add_parser("staff-cap", help=_("messages one staff member sends per day, or "
                                              "off (0 is off too)"))
    p.add_argument("cap", metavar="N")


# -- output ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return str(value).translate(str.maketrans({"\t": r"\t", "\n": r"\n", "\r": r"\r"}))


def table_text(rows: Sequence[dict[str, Any]], columns: Sequence[str], empty: str) -> str:
    """``rows`` as a table: left-aligned ``columns`` two spaces apart under their names;
    ``empty`` when there are none."""
    return shared_table_text(rows, columns, empty, show=_cell)


def list_text(rows: Sequence[dict[str, Any]]) -> str:
    """``rows`` from :func:`~siyu.plugins.risk.words.word_rows` as the table ``siyu risk
    words list`` prints: left-aligned columns (:data:`LIST_COLUMNS`) two spaces apart;
    ``"no sensitive words"`` (translated) when there are none."""
    return table_text(rows, LIST_COLUMNS, _("no sensitive words"))


def _json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: _cell(v) if hasattr(v, "isoformat") else v for k, v in row.items()}
                       for row in rows], ensure_ascii=False, indent=2)


def _local(ws: Any, rows: list[dict[str, Any]], *columns: str) -> list[dict[str, Any]]:
    """``rows`` with the aware times of ``columns`` in the workspace timezone."""
    tz = ws.timezone
    return [{**row, **{c: row[c].astimezone(tz) for c in columns if row.get(c) is not None}}
            for row in rows]


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
    actions = {"dnc": _dnc, "rules": _rules, "set": _set, "events": _events,
               "summary": _summary}
    if args.risk_command in actions:
        return actions[args.risk_command](ws, args)
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


# -- the do-not-contact list, rules and settings, events ---------------------------------------


def _dnc(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.risk import dnc

    if args.dnc_command == "add":
        added = dnc.add(ws, args.contacts, reason=args.reason)
        print(_.ngettext("added {n} contact to the do-not-contact list",
                         "added {n} contacts to the do-not-contact list", added))
        return 0
    if args.dnc_command == "remove":
        removed = dnc.remove(ws, args.contacts)
        print(_.ngettext("removed {n} contact from the do-not-contact list",
                         "removed {n} contacts from the do-not-contact list", removed))
        return 0
    rows = _local(ws, dnc.rows(ws), "added_at")
    print(_json(rows) if args.json else
          table_text(rows, DNC_COLUMNS, _("the do-not-contact list is empty")))
    return 0


def settings_lines(ws: Any) -> list[str]:
    """The rules' settings as ``siyu risk rules`` prints them."""
    from siyu.plugins.risk import limits

    quiet, cap = limits.quiet_hours(ws), limits.staff_daily_cap(ws)
    return [_("quiet hours: {value}", value=str(quiet) if quiet else _("off")),
            _("staff daily cap: {value}", value=cap if cap else _("off"))]


def _rules(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.risk import limits

    rules = [{"name": name, "title": str(rule.title), "description": str(rule.description)}
             for name, rule in sorted(ws.risk_rules.items())]
    if args.json:
        quiet, cap = limits.quiet_hours(ws), limits.staff_daily_cap(ws)
        print(json.dumps({"rules": rules, "settings": {
            limits.QUIET_SETTING: quiet.as_setting() if quiet else None,
            limits.CAP_SETTING: cap}}, ensure_ascii=False, indent=2))
        return 0
    print(table_text(rules, ("name", "title", "description"), _("no risk rules")))
    print()
    print("\n".join(settings_lines(ws)))
    return 0


def _set(ws: Any, args: argparse.Namespace) -> int:
    from siyu.core.errors import ValidationError
    from siyu.plugins.risk import limits

    if args.set_command == "staff-cap":
        value = 0 if args.cap.strip().lower() == "off" else args.cap
        cap = limits.set_staff_cap(ws, value)
        print(_("staff daily cap: {value}", value=cap if cap else _("off")))
        return 0
    times = args.times
    if [t.lower() for t in times] == ["off"]:
        limits.clear_quiet_hours(ws)
        print(_("quiet hours: {value}", value=_("off")))
        return 0
    if len(times) != 2:
        raise ValidationError(_("give the quiet hours as START END (e.g. 22:00 08:00), or off"))
    hours = limits.set_quiet_hours(ws, *times)
    print(_("quiet hours: {value}", value=str(hours)))
    return 0


def _events(ws: Any, args: argparse.Namespace) -> int:
    from siyu.core.errors import ValidationError
    from siyu.plugins.risk import events

    if args.limit < 1:
        raise ValidationError(_("--limit must be at least 1"))
    rows = _local(ws, events.event_rows(ws, since=args.since, rule=args.rule,
                                        decision=args.decision, limit=args.limit),
                  "at", "until")
    if args.json:
        print(_json(rows))
        return 0
    print(table_text(rows, EVENT_COLUMNS, _("no risk events")))
    return 0


def _summary(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.risk import events

    frame = events.daily_summary(ws, args.days)
    frame["day"] = frame["day"].dt.strftime("%Y-%m-%d")
    rows = frame.to_dict("records")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=int))
        return 0
    print(table_text(rows, list(frame.columns), ""))
    return 0
