"""``siyu wecom …``, ``siyu doctor`` and ``siyu sandbox``: the WeCom plugin's CLI.

The plugin registers these functions by import path (``register_commands``), so this module
is imported only when one of its commands runs.
"""

from __future__ import annotations

import argparse
import errno
import math
import sys
from typing import Any

from siyu.cli import seconds, whole_number
from siyu.core.errors import ConfigError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.wecom")

SETTABLE = ("corp_id", "agent_id", "secret", "token", "encoding_aes_key", "base_url",
            "callback_url", "welcome_text")
#: What each ``siyu wecom config`` option sets.
SETTING_HELP = {"corp_id": _.lazy("the corp's CorpID (企业ID)"),
                "agent_id": _.lazy("the app's AgentID (digits)"),
                "secret": _.lazy("the app's secret (write-only)"),
                "token": _.lazy("the callback Token (write-only)"),
                "encoding_aes_key": _.lazy("the callback EncodingAESKey (write-only)"),
                "base_url": _.lazy("the API's address (default: WeCom's)"),
                "callback_url": _.lazy("this server's public callback address, ending in "
                                       "/wecom/callback"),
                "welcome_text": _.lazy("the default welcome message for new customers")}
#: Calls a minute WeCom allows per API; sync may not plan more.
WECOM_PER_MINUTE = 10_000


def _agent_id(text: str) -> str:
    """``--agent-id``: the app's AgentID, digits (empty clears it)."""
    if text.strip() and not text.strip().isdigit():
        raise argparse.ArgumentTypeError(_("{text} is not an AgentID; WeCom shows the app's "
                                           "AgentID as digits, e.g. 1000002",
                                           text=repr(text)))
    return text.strip()


def configure_wecom(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu wecom``: its actions config, sync, process, status and
    org-sync."""
    sub = parser.add_subparsers(dest="wecom_command", metavar="ACTION", required=True)
    p = sub.add_parser("config", help=_("show or change the WeCom settings (secrets are "
                                        "write-only)"))
    for name in SETTABLE:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                       type=_agent_id if name == "agent_id" else str,
                       help=str(SETTING_HELP[name]))
    p = sub.add_parser("sync", help=_("pull staff, tags, customers and groups from WeCom"))
    p.add_argument("--restart", action="store_true",
                   help=_("start over instead of resuming an interrupted sync"))
    p.add_argument("--per-minute", type=whole_number(1, WECOM_PER_MINUTE), default=5000,
                   help=_("most calls a minute per API (default 5000, half of WeCom's limit)"))
    p.add_argument("--no-progress", action="store_true", help=_("do not show progress bars"))
    p = sub.add_parser("process", help=_("apply stored callbacks that are still pending"))
    p.add_argument("--limit", type=whole_number(1), default=10000,
                   help=_("most callbacks applied in this run (default 10000)"))
    sub.add_parser("status", help=_("callbacks received, pending and failed; the last sync"))
    _configure_org_sync(sub.add_parser(
        "org-sync", help=_("departments and members from WeCom become regions, stores and "
                           "staff")))


def _configure_org_sync(p: argparse.ArgumentParser) -> None:
    """The options of ``siyu wecom org-sync`` (each overrides the saved setting)."""
    from siyu.plugins.wecom.org_sync import MAX_LEVEL

    p.add_argument("--store-level", type=whole_number(1, MAX_LEVEL), default=None,
                   metavar="N", help=_("the department level that is a store; your corp is "
                                       "level 1 (default 3)"))
    p.add_argument("--region-level", type=whole_number(0, MAX_LEVEL - 1), default=None,
                   metavar="N", help=_("the department level whose names are regions; 0 for "
                                       "none (default 2)"))
    p.add_argument("--skip", default=None, metavar="IDS",
                   help=_("ids of departments to leave out with everything below them, e.g. "
                          "12,15"))
    p.add_argument("--keep-departed", action="store_true", default=None,
                   help=_("do not mark staff WeCom no longer lists as resigned"))
    p.add_argument("--save", action="store_true",
                   help=_("keep these options as the workspace's org sync settings"))


def run_wecom(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu wecom`` action; returns the exit code."""
    from siyu.plugins.wecom.config import public_config, save_config
    from siyu.plugins.wecom.service import wecom

    action = args.wecom_command
    if action == "config":
        changes = {k: getattr(args, k) for k in SETTABLE if getattr(args, k) is not None}
        if changes:
            save_config(ws, **changes)
            wecom(ws).reload()
        for name, value in public_config(ws).items():
            print(f"{name}: {value}")
        return 0
    if action == "sync":
        return _sync(ws, args)
    if action == "org-sync":
        return _org_sync(ws, args)
    if action == "process":
        from siyu.plugins.wecom.processor import CallbackProcessor

        done = CallbackProcessor(ws).run_pending(limit=args.limit)
        print(_.ngettext("{n} callback applied", "{n} callbacks applied", done))
        return 0
    from siyu.plugins.wecom.status import (
        callback_counts,
        join_list,
        last_sync,
        show_time,
        status_label,
        sync_summary,
    )

    counts = callback_counts(ws)
    print(_("callbacks: {counts}",
            counts=join_list(f"{status_label(k)} {v}" for k, v in counts.items())))
    at, summary = last_sync(ws)
    if at is None:
        print(_("last sync: never"))
    else:
        print(_("last sync: {at} {summary}", at=show_time(at, ws.timezone),
                summary=sync_summary(summary)).rstrip())
    return 0


def _sync(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.wecom.service import wecom
    from siyu.plugins.wecom.status import stage_label, sync_summary
    from siyu.plugins.wecom.sync import sync

    if not wecom(ws).config.api_ready:  # before sync stores where it starts
        raise ConfigError(_("WeCom is not configured: set the corp id and app secret with "
                            "`siyu wecom config --corp-id ID --secret SECRET`"))

    bars: dict[str, Any] = {}
    show = not args.no_progress and sys.stderr.isatty()

    def progress(stage: str, done: int, total: int) -> None:
        if not show:
            return
        from tqdm.auto import tqdm
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage_label(stage), leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        report = sync(ws, progress=progress, per_minute=args.per_minute, restart=args.restart)
    finally:
        for bar in bars.values():
            bar.close()
    print(sync_summary(report))
    return 0


def _org_sync(ws: Any, args: argparse.Namespace) -> int:
    """Check the options, then sync; bad options fail before WeCom is called."""
    from dataclasses import replace

    from siyu.plugins.wecom.org_sync import (
        load_org_settings,
        parse_skip,
        save_org_settings,
        sync_org,
    )
    from siyu.plugins.wecom.service import wecom

    changes: dict[str, Any] = {}
    if args.store_level is not None:
        changes["store_level"] = args.store_level
    if args.region_level is not None:
        changes["region_level"] = args.region_level
    if args.skip is not None:
        changes["skip"] = parse_skip(args.skip)
    if args.keep_departed:
        changes["mark_departed"] = False
    settings = replace(load_org_settings(ws), **changes).checked()
    if args.save and changes:
        save_org_settings(ws, **changes)
    if not wecom(ws).config.api_ready:
        raise ConfigError(_("WeCom is not configured: set the corp id and app secret with "
                            "`siyu wecom config --corp-id ID --secret SECRET`"))
    report = sync_org(ws, settings)
    print(report.summary())
    for problem in report.problems:
        print(f"  {problem}")
    return 0


def configure_doctor(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu doctor``."""
    parser.add_argument("--timeout", type=seconds, default=5.0,
                        help=_("seconds to wait for each answer (default 5)"))


def run_doctor(ws: Any, args: argparse.Namespace) -> int:
    """Print each WeCom set-up check; exit 1 when one failed."""
    from siyu.plugins.wecom.doctor import run_checks

    checks = run_checks(ws, timeout=args.timeout)
    for check in checks:
        print(check.line())
    return 1 if any(check.ok is False for check in checks) else 0


def configure_sandbox(parser: argparse.ArgumentParser) -> None:
    """The options of ``siyu sandbox`` (the sandbox server's own; it imports Tornado)."""
    from siyu.plugins.wecom.sandbox.server import configure

    configure(parser)


def _check_sandbox_options(args: argparse.Namespace) -> None:
    """Reject option values the sandbox would take and then fail on (or serve nonsense):
    a port out of range, a non-positive count, a negative or infinite duration.

    :raises ConfigError: naming the option and the values it takes.
    """
    if not 0 <= args.port <= 65535:
        raise ConfigError(_("--port {port} is not a TCP port; give 1-65535, or 0 for any free "
                            "port", port=args.port))
    for option, value in (("--agent-id", args.agent_id), ("--rate-limit", args.rate_limit),
                          ("--group-capacity", args.group_capacity)):
        if value is not None and value < 1:
            raise ConfigError(_("{option} {value} must be at least 1", option=option,
                                value=value))
    for option, value in (("--latency", args.latency),
                          ("--revoke-tokens-after", args.revoke_tokens_after)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ConfigError(_("{option} {value} must be a number of seconds, 0 or more",
                                option=option, value=value))


def run_sandbox(ws: Any, args: argparse.Namespace) -> int:
    """Run the local WeCom sandbox until stopped; returns the exit code."""
    from siyu.plugins.wecom.sandbox.server import run

    _check_sandbox_options(args)
    try:
        return int(run(args) or 0)
    except OSError as exc:
        # Binding the port is the only OSError before serving starts: taken by another
        # program, or privileged. That is the user's machine, not a bug.
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        raise ConfigError(_("cannot listen on 127.0.0.1:{port}: {reason}; choose another "
                            "--port (0 picks a free one)", port=args.port,
                            reason=exc.strerror)) from exc

