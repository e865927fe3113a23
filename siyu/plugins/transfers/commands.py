"""``siyu transfer …``: departed members, a member's customers, planning, running and the
state of transfers.

::

    siyu transfer list-departed
    siyu transfer show zhouba
    siyu transfer plan zhouba --to lisi,wangwu [--split even|store] [--run]
    siyu transfer plan zhangsan --assign wmA=lisi --assign wmB=wangwu --split manual
    siyu transfer run 3
    siyu transfer status [3] [--refresh] [--status failed] [--json]

Errors a user can cause (an unknown member, a third transfer within 90 days, a bad split)
reach the ``siyu`` command as :class:`~siyu.core.errors.SiyuError` and print as one line.
The plugin registers :func:`configure` and :func:`run` by import path, so this module is
imported only when ``siyu transfer`` runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from siyu.cli import nonblank
from siyu.cli_table import cell as _cell
from siyu.cli_table import table_text
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.transfers")

STATUS_COLUMNS = ("plan_id", "external_userid", "customer", "handover", "takeover", "status",
                  "reason", "takeover_at")
PLAN_COLUMNS = ("id", "kind", "handover", "successors", "split", "created_at", "total",
                "waiting", "taken_over", "refused", "limit_exceeded", "failed", "unknown",
                "planned")


def configure(parser: argparse.ArgumentParser) -> None:
    """The actions of ``siyu transfer``."""
    sub = parser.add_subparsers(dest="transfer_command", metavar="ACTION", required=True)
    p = sub.add_parser("list-departed", help=_("resigned members whose customers wait to be "
                                               "assigned (asks WeCom)"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("show", help=_("a departing member's customers and customer groups"))
    p.add_argument("handover", type=nonblank, metavar="USERID")
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p = sub.add_parser("plan", help=_("split a departing member's customers over successors "
                                      "(nothing is sent until run)"))
    p.add_argument("handover", type=nonblank, metavar="USERID")
    p.add_argument("--to", dest="successors", default="", metavar="USERIDS",
                   help=_("successors, comma-separated"))
    p.add_argument("--split", choices=("even", "store", "manual"), default="even",
                   help=_("even: dealt in turn; store: to a successor of the customer's "
                          "store; manual: as --assign says"))
    p.add_argument("--assign", action="append", default=[], metavar="CUSTOMER=USERID",
                   help=_("with --split manual: give this customer (external userid or "
                          "contact id) to this successor; repeat for more"))
    p.add_argument("--customers", default="", metavar="IDS",
                   help=_("only these customers (external userids or contact ids, "
                          "comma-separated)"))
    p.add_argument("--message", default="", help=_("what an employed member's customers "
                                                   "read (at most 200 characters)"))
    p.add_argument("--run", action="store_true", help=_("send the plan to WeCom at once"))
    p = sub.add_parser("run", help=_("send a plan's planned customers to WeCom (100 per "
                                     "call)"))
    p.add_argument("plan_id", type=int, metavar="PLAN")
    p = sub.add_parser("status", help=_("the plans, or one plan's customers with their state "
                                        "and the reason of each failure"))
    p.add_argument("plan_id", type=int, nargs="?", metavar="PLAN")
    p.add_argument("--status", dest="state", default=None,
                   help=_("only customers in this state (e.g. failed, refused, waiting)"))
    p.add_argument("--refresh", action="store_true",
                   help=_("read WeCom's transfer results and callbacks first"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))


# -- output --------------------------------------------------------------------------------


def _json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: _cell(v) if hasattr(v, "astimezone") else
                        (None if _cell(v) == "" and v is not None and not isinstance(v, str)
                         else v) for k, v in row.items()} for row in rows],
                      ensure_ascii=False, indent=2, default=str)


def _split_ids(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# -- actions ------------------------------------------------------------------------------


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu transfer`` action; returns the exit code."""
    actions = {"list-departed": _list_departed, "show": _show, "plan": _plan, "run": _run,
               "status": _status}
    return actions[args.transfer_command](ws, args)


def _list_departed(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.transfers.departed import list_departed

    rows = [{"userid": d.userid, "name": d.name, "customers": d.customers,
             "dimission_time": d.dimission_time} for d in list_departed(ws)]
    print(_json(rows) if args.json else
          table_text(rows, ("userid", "name", "customers", "dimission_time"),
                     _("no resigned member has customers waiting to be assigned"),
                     ws.timezone))
    return 0


def _show(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.transfers.departed import departing

    leaving = departing(ws, args.handover)
    rows = [{**{k: v for k, v in c.items() if k != "recent"},
             "transfers_90d": len(c["recent"])} for c in leaving.customers]
    if args.json:
        print(json.dumps({"handover": leaving.handover, "kind": leaving.kind,
                          "customers": json.loads(_json(rows)), "groups": leaving.groups},
                         ensure_ascii=False, indent=2))
        return 0
    kind = _("resigned") if leaving.kind == "resigned" else _("employed")
    print(_("{name} ({userid}), {kind}: customers {n}, customer groups {g}",
            name=leaving.name, userid=leaving.handover, kind=kind, n=len(rows),
            g=len(leaving.groups)))
    print(table_text(rows, ("external_userid", "contact_id", "name", "store", "transfers_90d"),
                     _("no customers")))
    if leaving.groups:
        print()
        print(table_text(leaving.groups, ("chat_id", "name", "members", "status"), ""))
    return 0


def _assignments(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        customer, sep, successor = pair.partition("=")
        if not sep or not customer.strip() or not successor.strip():
            raise ValidationError(_("--assign takes CUSTOMER=USERID, got {value!r}",
                                    value=pair))
        found[customer.strip()] = successor.strip()
    return found


def _plan(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.transfers.planning import plan

    if args.assign and args.split != "manual":
        raise ValidationError(_("--assign needs --split manual"))
    made = plan(ws, args.handover, _split_ids(args.successors), split=args.split,
                assignments=_assignments(args.assign) or None,
                customers=_split_ids(args.customers) or None, message=args.message)
    counts = ", ".join(f"{userid} {n}" for userid, n in made.counts.items())
    print(_("plan {id}: {n} customers planned ({counts})", id=made.plan_id, n=made.planned,
            counts=counts))
    if made.over_limit:
        print(_("left out, WeCom allows no third transfer within 90 days: {customers}",
                customers=", ".join(made.over_limit)))
    if args.run:
        from siyu.plugins.transfers.execute import run as run_plan

        print(run_plan(ws, made.plan_id).summary())
    else:
        print(_("send it with: siyu transfer run {id}", id=made.plan_id))
    return 0


def _run(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.transfers.execute import run as run_plan

    report = run_plan(ws, args.plan_id)
    print(report.summary())
    return 1 if report.states.get("failed") or report.states.get("unknown") else 0


def _status(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.transfers.execute import reconcile
    from siyu.plugins.transfers.planning import items, plans

    if args.refresh:
        print(_("refreshed: {summary}", summary=reconcile(ws).summary()))
    if args.plan_id is None and args.state is None:
        rows = plans(ws).to_dict("records")
        print(_json(rows) if args.json else
              table_text(rows, PLAN_COLUMNS, _("no transfer plans yet"), ws.timezone))
        return 0
    rows = items(ws, args.plan_id, status=args.state).to_dict("records")
    print(_json(rows) if args.json else
          table_text(rows, STATUS_COLUMNS, _("no customers in that state"), ws.timezone))
    return 0
