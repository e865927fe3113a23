"""``siyu connector …``: configure connectors, run them, read their run history.

::

    siyu connector kinds
    siyu connector add shop --kind rest --set base_url=https://erp.example.com/api \\
        --set orders_path=/orders --set-env token=SHOP_TOKEN \\
        --map orders.external_id=order_id --map orders.amount_fen=amount_fen \\
        --map orders.paid_at=created_at --every 30
    siyu connector add erp --kind sql --set-env url=ERP_URL --set orders_table=orders \\
        --config erp-mapping.json
    siyu connector set shop --set page_size=500 --disable
    siyu connector list | show shop | sync shop [--entity orders] | runs [shop] [--run 12]
    siyu connector reset shop [--entity orders]
    siyu connector remove shop
    siyu connector queue [--all] | resolve ITEM CONTACT | dismiss ITEM
    siyu connector matches [--contact ID] | undo MATCH

``--config FILE`` reads a JSON object with any of ``settings``, ``mapping``, ``entities``,
``title`` and ``every_minutes``; options given on the command line win. A secret (a token, a
database URL with a password) is best given with ``--set-env NAME=ENV_VAR``: it then never
appears in the shell's history.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from siyu.cli import nonblank
from siyu.cli_table import table_text
from siyu.core.errors import ConfigError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.connectors")

LIST_COLUMNS = ("name", "kind", "entities", "every_minutes", "enabled", "last_status",
                "last_started_at")
RUN_COLUMNS = ("id", "connector", "entity", "status", "trigger", "started_at", "pages",
               "records", "created", "updated", "unchanged", "skipped", "queued", "error")
PROBLEM_COLUMNS = ("record", "field", "value", "reason")


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help=_("a setting; repeat for more"))
    p.add_argument("--set-env", dest="set_envs", action="append", default=[],
                   metavar="KEY=ENV_VAR", help=_("a setting read from an environment variable "
                                                 "(for secrets)"))
    p.add_argument("--map", dest="maps", action="append", default=[],
                   metavar="ENTITY.FIELD=PATH",
                   help=_("take siyu's FIELD of ENTITY (orders or members) from the source's "
                          "PATH, e.g. orders.external_id=order_id; repeat for more"))
    p.add_argument("--config", type=Path, metavar="FILE",
                   help=_("a JSON file with settings, mapping, entities, title, every_minutes"))
    p.add_argument("--entities", metavar="LIST", help=_("orders, members or orders,members"))
    p.add_argument("--title", help=_("a title for people"))
    p.add_argument("--every", type=int, dest="every_minutes", metavar="MINUTES",
                   help=_("minutes between scheduled runs (0: by hand only)"))


def configure(parser: argparse.ArgumentParser) -> None:
    """The actions of ``siyu connector``."""
    sub = parser.add_subparsers(dest="connector_command", metavar="ACTION", required=True)
    sub.add_parser("kinds", help=_("the kinds of connector and their settings"))
    p = sub.add_parser("list", help=_("the configured connectors and their last run"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("add", help=_("configure a new connector"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--kind", required=True, help=_("rest, sql, or a plugin's kind"))
    _config_options(p)
    p.add_argument("--disabled", action="store_true", help=_("do not run it on schedule yet"))
    p = sub.add_parser("set", help=_("change a connector's settings, mapping or schedule"))
    p.add_argument("name", type=nonblank)
    _config_options(p)
    state = p.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    p = sub.add_parser("show", help=_("a connector's settings (secrets hidden), mapping and "
                                      "where it stands"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--json", action="store_true", help=_("print JSON instead of text"))
    p = sub.add_parser("sync", help=_("run a connector now"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--entity", choices=("orders", "members"))
    p.add_argument("--max-pages", type=int, metavar="N", help=_("stop after N pages"))
    p.add_argument("--no-progress", action="store_true", help=_("no progress bar"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of text"))
    p = sub.add_parser("runs", help=_("the run history, or one run's problems"))
    p.add_argument("name", nargs="?", help=_("only this connector"))
    p.add_argument("--run", type=int, metavar="ID", help=_("the records that run ID skipped, "
                                                            "and why"))
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("reset", help=_("read the source from the start on the next run"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--entity", choices=("orders", "members"))
    p = sub.add_parser("remove", help=_("remove a connector and its run history (what it "
                                        "stored stays)"))
    p.add_argument("name", type=nonblank)
    p = sub.add_parser("queue", help=_("customers waiting to be matched to a contact by hand"))
    p.add_argument("--all", action="store_true", help=_("resolved and dismissed ones too"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("resolve", help=_("say which contact a queued customer is"))
    p.add_argument("item", type=int, metavar="ITEM")
    p.add_argument("contact", type=nonblank, metavar="CONTACT",
                   help=_("contact id or external_userid"))
    p = sub.add_parser("dismiss", help=_("close a queued customer without matching it"))
    p.add_argument("item", type=int, metavar="ITEM")
    p = sub.add_parser("matches", help=_("the matches made, automatic and by hand"))
    p.add_argument("--contact", type=int, metavar="ID", help=_("only this contact's"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("undo", help=_("undo a match (the contact's member number and the "
                                      "orders it was given go back)"))
    p.add_argument("match", type=int, metavar="MATCH")


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    found = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(_("{option} takes KEY=VALUE, got {value!r}", option=option,
                                value=item))
        found.append((key.strip(), value))
    return found


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """What the options (and ``--config``) say, as keyword arguments of add/update."""
    given: dict[str, Any] = {}
    if args.config is not None:
        try:
            loaded = json.loads(args.config.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(_("cannot read {file}: {error}", file=args.config,
                                error=exc.strerror or exc)) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(_("{file} is not JSON: {error}", file=args.config,
                                error=exc)) from None
        allowed = {"settings", "mapping", "entities", "title", "every_minutes"}
        if not isinstance(loaded, dict) or set(loaded) - allowed:
            raise ConfigError(_("{file} must be a JSON object with some of: {keys}",
                                file=args.config, keys=", ".join(sorted(allowed))))
        given.update(loaded)
    settings = dict(given.get("settings") or {})
    for key, value in _pairs(args.sets, "--set"):
        settings[key] = value
    for key, variable in _pairs(args.set_envs, "--set-env"):
        if variable not in os.environ:
            raise ConfigError(_("environment variable {name} is not set", name=variable))
        settings[key] = os.environ[variable]
    mapping = {entity: dict(fields) for entity, fields in (given.get("mapping") or {}).items()}
    for key, path in _pairs(args.maps, "--map"):
        entity, dot, target = key.partition(".")
        if not dot or not target:
            raise ConfigError(_("--map takes ENTITY.FIELD=PATH (e.g. orders.external_id="
                                "order_id), got {value!r}", value=key))
        mapping.setdefault(entity, {})[target] = path
    if settings:
        given["settings"] = settings
    if mapping:
        given["mapping"] = mapping
    for name in ("entities", "title", "every_minutes"):
        if getattr(args, name, None) is not None:
            given[name] = getattr(args, name)
    return given


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu connector`` action; returns the exit code."""
    actions = {"kinds": _kinds, "list": _list, "add": _add, "set": _set, "show": _show,
               "sync": _sync, "runs": _runs, "reset": _reset, "remove": _remove,
               "queue": _queue, "resolve": _resolve, "dismiss": _dismiss,
               "matches": _matches, "undo": _undo}
    return actions[args.connector_command](ws, args)


def _kinds(ws: Any, args: argparse.Namespace) -> int:
    for spec in sorted(ws.connectors.values(), key=lambda s: s.name):
        print(f"{spec.name}  {spec.title}: {spec.help}")
        for setting in spec.settings:
            marks = [_("required")] if setting.required else []
            if setting.secret:
                marks.append(_("secret"))
            if setting.default not in (None, ""):
                marks.append(_("default {value}", value=setting.default))
            note = f" ({', '.join(marks)})" if marks else ""
            print(f"    {setting.name}{note}  {setting.help or setting.title}")
    return 0


def _list(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.store import listing

    frame = listing(ws)
    rows = frame.to_dict("records")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print(table_text(rows, LIST_COLUMNS, _("no connectors; add one with `siyu connector "
                                               "add NAME --kind rest …`"), ws.timezone))
    return 0


def _add(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.store import add

    given = _given(args)
    info = add(ws, args.name, args.kind, enabled=not args.disabled, **given)
    print(_("connector {name} ({kind}) added: syncs {entities}", name=info.name,
            kind=info.kind, entities=", ".join(info.entities)))
    return 0


def _set(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.store import update

    given = _given(args)
    if args.enabled is not None:
        given["enabled"] = args.enabled
    if not given:
        raise ConfigError(_("nothing to change; give --set, --map, --every, --enable …"))
    info = update(ws, args.name, **given)
    print(_("connector {name} changed", name=info.name))
    return 0


def _show(ws: Any, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from siyu.plugins.connectors.store import get

    info = asdict(get(ws, args.name))
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"{info['name']} ({info['kind']}) {info['title']}")
    minutes = info["every_minutes"]
    schedule = (_.ngettext("every {n} minute", "every {n} minutes", minutes) if minutes
                else _("by hand only"))
    print(_("syncs: {entities}; {schedule}; {state}", entities=", ".join(info["entities"]),
            schedule=schedule, state=_("enabled") if info["enabled"] else _("disabled")))
    for key, value in sorted(info["settings"].items()):
        print(f"    {key} = {value}")
    secret_set = _("(secret, set)")
    for key in info["secrets_set"]:
        print(f"    {key} = {secret_set}")
    for entity, fields in info["mapping"].items():
        print(_("{entity} mapping:", entity=entity))
        for target, path in fields.items():
            print(f"    {target} ← {path}")
    for entity, cursor in info["cursors"].items():
        print(_("{entity} stands at: {cursor}", entity=entity,
                cursor=json.dumps(cursor, ensure_ascii=False)))
    return 0


def _sync(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.runner import sync

    report = sync(ws, args.name, args.entity, max_pages=args.max_pages,
                  progress=not args.no_progress and not args.json and None)
    if args.json:
        print(json.dumps([{**run.counts(), "run": run.run_id, "error": run.error}
                          for run in report.runs], ensure_ascii=False, indent=2))
    else:
        print(report.summary())
        for run in report.runs:
            if run.skipped:
                print(_("see why with: siyu connector runs --run {id}", id=run.run_id))
    return 0 if report.ok else 1


def _runs(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.runner import runs

    found = runs(ws, args.name, limit=args.limit, run_id=args.run)
    if args.run is not None:
        chosen = found
        if not chosen:
            raise ConfigError(_("no run {id}", id=args.run))
        problems = chosen[0].problems or []
        if args.json:
            print(json.dumps(problems, ensure_ascii=False, indent=2))
        else:
            if chosen[0].error:
                print(chosen[0].error)
            print(table_text(problems, PROBLEM_COLUMNS, _("no record was skipped")))
        return 0
    rows = [{"id": r.id, "connector": r.connector_name, "entity": r.entity,
             "status": r.status, "trigger": r.trigger, "started_at": r.started_at,
             "pages": r.pages, "records": r.records, "created": r.created,
             "updated": r.updated, "unchanged": r.unchanged, "skipped": r.skipped,
             "queued": r.queued, "error": r.error} for r in found]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print(table_text(rows, RUN_COLUMNS, _("no runs yet"), ws.timezone))
    return 0


def _reset(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.store import reset

    reset(ws, args.name, args.entity)
    print(_("connector {name} will read its source from the start", name=args.name))
    return 0


def _remove(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.store import remove

    remove(ws, args.name)
    print(_("connector {name} removed", name=args.name))
    return 0


QUEUE_COLUMNS = ("id", "source", "entity", "reason", "status", "member_id", "name", "phone",
                 "unionid", "orders", "seen", "detail")
MATCH_COLUMNS = ("id", "contact_id", "source", "how", "matched_by", "member_id", "orders",
                 "created_at", "created_by", "undone_at")


def _frame_out(frame, columns, empty: str, as_json: bool, tz) -> None:
    rows = frame.to_dict("records")
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print(table_text(rows, columns, empty, tz))


def _queue(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.identity import queue

    _frame_out(queue(ws, status=None if args.all else "open"), QUEUE_COLUMNS,
               _("nobody is waiting to be matched"), args.json, ws.timezone)
    return 0


def _resolve(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.identity import resolve

    contact = int(args.contact) if args.contact.isdigit() else args.contact
    link = resolve(ws, args.item, contact)
    print(_("queue item {item} matched to contact {contact} (match {link}; undo with "
            "`siyu connector undo {link}`)", item=args.item, contact=args.contact, link=link))
    return 0


def _dismiss(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.identity import dismiss

    dismiss(ws, args.item)
    print(_("queue item {item} dismissed", item=args.item))
    return 0


def _matches(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.identity import links

    _frame_out(links(ws, contact=args.contact), MATCH_COLUMNS, _("no matches yet"), args.json,
               ws.timezone)
    return 0


def _undo(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.connectors.identity import undo

    undo(ws, args.match)
    print(_("match {id} undone", id=args.match))
    return 0
