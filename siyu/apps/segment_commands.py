"""``siyu segment …``: list, show, count, preview, explain, create, save, versions, restore,
delete, export, snapshot, rules and rebuild-stats — the same ``ws.segments`` the console and
notebooks use."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from siyu.apps.commands import workspace
from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``segment`` to the ``siyu`` sub-command parser."""
    p = sub.add_parser("segment", help=_("audiences: count, preview, save and export segments"),
                       description=_("A segment is a JSON spec of rules combined with all / "
                                     "any / not, e.g. {\"all\": [{\"tag\": {\"tags\": "
                                     "[\"客户等级/VIP\"]}}, {\"orders\": {\"min_count\": 2, "
                                     "\"within_days\": 90}}]}. `siyu segment rules` lists "
                                     "the rules."))
    seg = p.add_subparsers(dest="segment_command", metavar="ACTION", required=True)

    def spec_options(q: argparse.ArgumentParser) -> None:
        q.add_argument("--json", dest="json_file", metavar="FILE",
                       help=_("read the spec from a JSON file (- for standard input)"))
        q.add_argument("--spec", help=_("the spec as JSON text"))

    def target(q: argparse.ArgumentParser) -> None:
        q.add_argument("name", nargs="?", help=_("a saved segment's name"))
        spec_options(q)

    q = seg.add_parser("list", parents=[common], help=_("saved segments"))
    q.set_defaults(func=cmd_list)
    q = seg.add_parser("rules", parents=[common], help=_("the rules a spec may use"))
    q.set_defaults(func=cmd_rules)
    q = seg.add_parser("show", parents=[common], help=_("a saved segment's spec"))
    q.add_argument("name", help=_("a saved segment's name"))
    q.set_defaults(func=cmd_show)
    q = seg.add_parser("count", parents=[common], help=_("how many contacts a segment has"))
    target(q)
    q.set_defaults(func=cmd_count)
    q = seg.add_parser("preview", parents=[common], help=_("a sample of the members"))
    target(q)
    q.add_argument("--limit", type=int, default=20, help=_("rows (default 20)"))
    q.set_defaults(func=cmd_preview)
    q = seg.add_parser("explain", parents=[common], help=_("the SQL and the query plan"))
    target(q)
    q.set_defaults(func=cmd_explain)
    q = seg.add_parser("create", parents=[common], help=_("save a new segment"))
    q.add_argument("name", help=_("the new segment's name"))
    spec_options(q)
    q.add_argument("--description", default="", help=_("what the audience is for"))
    q.set_defaults(func=cmd_create)
    q = seg.add_parser("save", parents=[common], help=_("save a new version of a segment"))
    q.add_argument("name", help=_("a saved segment's name"))
    spec_options(q)
    q.add_argument("--description", help=_("a new description"))
    q.add_argument("--note", default="", help=_("what changed"))
    q.set_defaults(func=cmd_save)
    q = seg.add_parser("versions", parents=[common], help=_("a segment's saved versions"))
    q.add_argument("name", help=_("a saved segment's name"))
    q.set_defaults(func=cmd_versions)
    q = seg.add_parser("restore", parents=[common],
                       help=_("make an earlier version current (as a new version)"))
    q.add_argument("name", help=_("a saved segment's name"))
    q.add_argument("version", type=int, help=_("the version to restore"))
    q.set_defaults(func=cmd_restore)
    q = seg.add_parser("delete", parents=[common], help=_("delete a saved segment"))
    q.add_argument("name", help=_("a saved segment's name"))
    q.set_defaults(func=cmd_delete)
    q = seg.add_parser("export", parents=[common],
                       help=_("write the members to a .csv or .xlsx file"))
    target(q)
    q.add_argument("--out", required=True, metavar="FILE", help=_("the .csv or .xlsx file"))
    q.add_argument("--reveal-pii", action="store_true",
                   help=_("phones in full (roles allowed to see them only)"))
    q.set_defaults(func=cmd_export)
    q = seg.add_parser("snapshot", parents=[common],
                       help=_("freeze the current members (for a campaign)"))
    target(q)
    q.set_defaults(func=cmd_snapshot)
    q = seg.add_parser("rebuild-stats", parents=[common],
                       help=_("recompute the per-contact order and event stats from scratch"))
    q.set_defaults(func=cmd_rebuild_stats)


def _spec(args: argparse.Namespace, *, need: bool = True) -> Any:
    """The spec from --json / --spec, or the saved segment's name."""
    given = [x for x in (args.json_file, args.spec) if x]
    name = getattr(args, "name", None)
    if len(given) > 1:
        raise ValidationError(_("give the spec once: --json FILE or --spec TEXT"))
    if args.json_file:
        if args.json_file == "-":
            text = sys.stdin.read()
        else:
            path = Path(args.json_file)
            if not path.is_file():
                raise ValidationError(_("no such file: {path}", path=path))
            text = path.read_text(encoding="utf-8-sig")
        return _parse(text)
    if args.spec:
        return _parse(args.spec)
    if name and need:
        return name
    if need:
        raise ValidationError(_("name a saved segment, or give a spec with --json FILE or "
                                "--spec TEXT"))
    return None


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(_("the spec is not valid JSON: {reason} (line {line}, column "
                                "{column})", reason=exc.msg, line=exc.lineno,
                                column=exc.colno)) from None


def _fmt_time(value: Any, tz: Any) -> str:
    if value is None or value != value:  # None or NaT
        return "-"
    return value.tz_convert(tz).strftime("%Y-%m-%d %H:%M")


def cmd_list(args: argparse.Namespace) -> int:
    """``siyu segment list``."""
    with workspace(args) as ws:
        frame = ws.segments.list()
        tz = ws.timezone
    if frame.empty:
        print(_("No saved segments. Create one with `siyu segment create NAME --json FILE`."))
        return 0
    for row in frame.itertuples():
        counted = (_("{n} contacts at {at}", n=int(row.last_count),
                     at=_fmt_time(row.counted_at, tz))
                   if row.last_count == row.last_count and row.last_count is not None
                   else _("not counted yet"))
        print(f"{row.name}  v{row.version}  {counted}  {row.description}".rstrip())
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    """``siyu segment rules``."""
    with workspace(args) as ws:
        rules = ws.segments.rules()
    for rule in sorted(rules.values(), key=lambda r: (r.family, r.name)):
        print(f"{rule.name}  ({rule.family})  {rule.title}")
        for param in rule.typed_params:
            need = _("required") if param.required else _("optional")
            print(f"    {param.name}: {param.type}, {need}  {param.title}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``siyu segment show NAME``."""
    with workspace(args) as ws:
        segment = ws.segments.get(args.name)
    print(json.dumps({"name": segment.name, "version": segment.version,
                      "description": segment.description, "owner": segment.owner,
                      "spec": segment.spec}, ensure_ascii=False, indent=2))
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    """``siyu segment count NAME | --json FILE``."""
    with workspace(args) as ws:
        started = time.perf_counter()
        n = ws.segments.count(_spec(args))
        took = time.perf_counter() - started
    print(_.ngettext("{n} contact ({s:.2f} s)", "{n} contacts ({s:.2f} s)", n, s=took))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """``siyu segment preview``."""
    with workspace(args) as ws:
        frame = ws.segments.preview(_spec(args), limit=args.limit)
    if frame.empty:
        print(_("No contact matches."))
        return 0
    print(frame.to_string(index=False))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """``siyu segment explain``."""
    with workspace(args) as ws:
        explained = ws.segments.explain(_spec(args))
    print(explained["sql"])
    print(_("parameters: {params}", params=json.dumps(explained["params"], ensure_ascii=False)))
    print(_("plan:"))
    for line in explained["plan"]:
        print("  " + line)
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    """``siyu segment create NAME --json FILE``."""
    spec = _spec(argparse.Namespace(json_file=args.json_file, spec=args.spec, name=None))
    with workspace(args) as ws:
        segment = ws.segments.create(args.name, spec, description=args.description)
        n = ws.segments.count(segment.name)
    print(_("segment {name} saved (version 1): {n} contacts", name=segment.name, n=n))
    return 0


def cmd_save(args: argparse.Namespace) -> int:
    """``siyu segment save NAME --json FILE``."""
    spec = _spec(argparse.Namespace(json_file=args.json_file, spec=args.spec, name=None),
                 need=False)
    with workspace(args) as ws:
        segment = ws.segments.save(args.name, spec, description=args.description,
                                   note=args.note)
    print(_("segment {name} is at version {version}", name=segment.name,
            version=segment.version))
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    """``siyu segment versions NAME``."""
    with workspace(args) as ws:
        frame = ws.segments.versions(args.name)
        tz = ws.timezone
    for row in frame.itertuples():
        print(f"v{row.version}  {_fmt_time(row.saved_at, tz)}  {row.saved_by}  {row.note}  "
              f"{json.dumps(row.spec, ensure_ascii=False)}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """``siyu segment restore NAME VERSION``."""
    with workspace(args) as ws:
        segment = ws.segments.restore(args.name, args.version)
    print(_("segment {name}: version {old} restored as version {version}", name=segment.name,
            old=args.version, version=segment.version))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """``siyu segment delete NAME``."""
    with workspace(args) as ws:
        ws.segments.delete(args.name)
    print(_("segment {name} deleted", name=args.name))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``siyu segment export NAME --out FILE``."""
    with workspace(args) as ws:
        path = ws.segments.export(_spec(args), args.out, reveal_pii=args.reveal_pii)
    print(_("members written to {path}", path=path))
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    """``siyu segment snapshot NAME``."""
    with workspace(args) as ws:
        snap = ws.segments.snapshot(_spec(args))
        at = snap.taken_at.astimezone(ws.timezone).strftime("%Y-%m-%d %H:%M:%S")
    print(_("snapshot {id}: {n} contacts at {at}", id=snap.id, n=snap.members, at=at))
    return 0


def cmd_rebuild_stats(args: argparse.Namespace) -> int:
    """``siyu segment rebuild-stats``."""
    with workspace(args) as ws:
        started = time.perf_counter()
        counts = ws.segments.rebuild_stats()
    print(_("stats rebuilt in {s:.1f} s: {orders} contacts with orders, {events} "
            "(contact, event kind) pairs", s=time.perf_counter() - started,
            orders=counts["contacts_with_orders"], events=counts["contact_event_kinds"]))
    return 0
