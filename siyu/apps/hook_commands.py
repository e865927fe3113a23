"""``siyu hooks``: the hook deliveries of a workspace (list, deliver what is due, retry)."""

from __future__ import annotations

import argparse
from typing import Any

from siyu.apps.commands import workspace
from siyu.core.i18n import core as _

#: What ``siyu hooks list --status`` accepts.
STATUSES = ("pending", "failed", "done")
#: The statuses as sentences name them.
STATUS_LABELS = {"pending": _.lazy("pending"), "failed": _.lazy("failed"),
                 "done": _.lazy("done")}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``hooks`` to the ``siyu`` sub-command parser."""
    from siyu.cli import whole_number

    p = sub.add_parser("hooks", help=_("hook deliveries: pending, failed, retry"),
                       description=_("Hook notifications (on_contact_added, on_order…) are "
                                     "delivered to each plugin at least once, retried with "
                                     "backoff; list them, deliver what is due, retry a "
                                     "failed one."))
    hooks_sub = p.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    q = hooks_sub.add_parser("list", parents=[common],
                             help=_("counts per plugin and hook, then the deliveries"))
    q.add_argument("--status", choices=STATUSES, default=None,
                   help=_("only deliveries with this status (default: pending and failed)"))
    q.add_argument("--plugin", default=None, help=_("only this plugin's deliveries"))
    q.add_argument("--limit", type=whole_number(1, 100_000), default=50,
                   help=_("most deliveries listed (default 50)"))
    q.set_defaults(func=cmd_hooks_list)
    q = hooks_sub.add_parser("deliver", parents=[common],
                             help=_("deliver every delivery that is due now"))
    q.set_defaults(func=cmd_hooks_deliver)
    q = hooks_sub.add_parser("retry", parents=[common],
                             help=_("deliver a failed delivery again, with fresh attempts"))
    q.add_argument("id", type=whole_number(1), help=_("the delivery id (`siyu hooks list`)"))
    q.set_defaults(func=cmd_hooks_retry)


def _line(row: Any, tz: Any) -> str:
    due = row.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if row.due_at else ""
    item = f":{int(row.item)}" if row.item is not None and row.item == row.item else ""
    text = (f"{row.id:>7}  {row.status:<7}  {row.plugin}.{row.hook}  "
            + _("notice {id}", id=row.notice_id) + f"{item}  {row.subject or _('bulk')}  "
            + _("attempts {n}", n=row.attempts))
    if row.status == "pending":
        text += "  " + _("next {at}", at=due)
    if row.error:
        text += f"\n         {row.error.splitlines()[0][:160]}"
    return text


def cmd_hooks_list(args: argparse.Namespace) -> int:
    """``siyu hooks list``."""
    with workspace(args) as ws:
        summary = ws.hooks.summary()
        statuses = [args.status] if args.status else ["failed", "pending"]
        frames = [ws.hooks.df(status=s, plugin=args.plugin, limit=args.limit)
                  for s in statuses]
        tz = ws.timezone
    if not summary:
        print(_("No hook deliveries yet."))
        return 0
    print(f"{'plugin.hook':<44} {'pending':>8} {'failed':>8} {'done':>8}")
    for name, counts in sorted(summary.items()):
        print(f"{name:<44} {counts.get('pending', 0):>8} {counts.get('failed', 0):>8} "
              f"{counts.get('done', 0):>8}")
    for status, frame in zip(statuses, frames, strict=True):
        label = STATUS_LABELS.get(status, status)
        print("\n" + (_("{status} ({n} shown):", status=label, n=len(frame)) if len(frame)
                      else _("no {status} deliveries", status=label)))
        for row in frame.itertuples(index=False):
            print(_line(row, tz))
    return 0


def cmd_hooks_deliver(args: argparse.Namespace) -> int:
    """``siyu hooks deliver``."""
    with workspace(args) as ws:
        delivered = ws.hooks.deliver()
        failed = sum(counts.get("failed", 0) for counts in ws.hooks.summary().values())
    print(_.ngettext("{n} delivery run", "{n} deliveries run", delivered)
          + ("; " + _("{n} failed, see `siyu hooks list --status failed`", n=failed)
             if failed else ""))
    return 0


def cmd_hooks_retry(args: argparse.Namespace) -> int:
    """``siyu hooks retry ID``."""
    with workspace(args) as ws:
        ws.hooks.retry(args.id)
        row = ws.hooks.get(args.id)
    if row["status"] == "done":
        print(_("delivery {id} delivered", id=args.id))
    elif row["error"]:
        print(_("delivery {id} failed again: {error}", id=args.id,
                error=row["error"].splitlines()[0][:200]))
    else:
        print(_("delivery {id} is being retried (another process has it)", id=args.id))
    return 0
