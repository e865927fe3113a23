"""``siyu hooks``: the hook deliveries of a workspace (list, deliver what is due, retry)."""

from __future__ import annotations

import argparse
from typing import Any

from siyu.apps.commands import workspace

#: What ``siyu hooks list --status`` accepts.
STATUSES = ("pending", "failed", "done")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``hooks`` to the ``siyu`` sub-command parser."""
    from siyu.cli import whole_number

    p = sub.add_parser("hooks", help="hook deliveries: pending, failed, retry",
                       description="Hook notifications (on_contact_added, on_order…) are "
                                   "delivered to each plugin at least once, retried with "
                                   "backoff; list them, deliver what is due, retry a failed "
                                   "one.")
    hooks_sub = p.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    q = hooks_sub.add_parser("list", parents=[common],
                             help="counts per plugin and hook, then the deliveries")
    q.add_argument("--status", choices=STATUSES, default=None,
                   help="only deliveries with this status (default: pending and failed)")
    q.add_argument("--plugin", default=None, help="only this plugin's deliveries")
    q.add_argument("--limit", type=whole_number(1, 100_000), default=50,
                   help="most deliveries listed (default 50)")
    q.set_defaults(func=cmd_hooks_list)
    q = hooks_sub.add_parser("deliver", parents=[common],
                             help="deliver every delivery that is due now")
    q.set_defaults(func=cmd_hooks_deliver)
    q = hooks_sub.add_parser("retry", parents=[common],
                             help="deliver a failed delivery again, with fresh attempts")
    q.add_argument("id", type=whole_number(1), help="the delivery id (`siyu hooks list`)")
    q.set_defaults(func=cmd_hooks_retry)


def _line(row: Any, tz: Any) -> str:
    due = row.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if row.due_at else ""
    item = f":{int(row.item)}" if row.item is not None and row.item == row.item else ""
    text = (f"{row.id:>7}  {row.status:<7}  {row.plugin}.{row.hook}  notice {row.notice_id}"
            f"{item}  {row.subject or 'bulk'}  attempts {row.attempts}")
    if row.status == "pending":
        text += f"  next {due}"
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
        print("No hook deliveries yet.")
        return 0
    print(f"{'plugin.hook':<44} {'pending':>8} {'failed':>8} {'done':>8}")
    for name, counts in sorted(summary.items()):
        print(f"{name:<44} {counts.get('pending', 0):>8} {counts.get('failed', 0):>8} "
              f"{counts.get('done', 0):>8}")
    for status, frame in zip(statuses, frames, strict=True):
        print(f"\n{status} ({len(frame)} shown):" if len(frame) else f"\nno {status} deliveries")
        for row in frame.itertuples(index=False):
            print(_line(row, tz))
    return 0


def cmd_hooks_deliver(args: argparse.Namespace) -> int:
    """``siyu hooks deliver``."""
    with workspace(args) as ws:
        delivered = ws.hooks.deliver()
        failed = sum(counts.get("failed", 0) for counts in ws.hooks.summary().values())
    print(f"{delivered} deliveries run" + (f"; {failed} failed, see `siyu hooks list "
                                           f"--status failed`" if failed else ""))
    return 0


def cmd_hooks_retry(args: argparse.Namespace) -> int:
    """``siyu hooks retry ID``."""
    with workspace(args) as ws:
        ws.hooks.retry(args.id)
        row = ws.hooks.get(args.id)
    if row["status"] == "done":
        print(f"delivery {args.id} delivered")
    elif row["error"]:
        print(f"delivery {args.id} failed again: {row['error'].splitlines()[0][:200]}")
    else:
        print(f"delivery {args.id} is being retried (another process has it)")
    return 0
