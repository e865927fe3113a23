"""``siyu wecom …``, ``siyu doctor`` and ``siyu sandbox``: the WeCom plugin's CLI."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from siyu.core.records import CommandSpec

SETTABLE = ("corp_id", "agent_id", "secret", "token", "encoding_aes_key", "base_url",
            "callback_url", "welcome_text")


def _configure_wecom(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="wecom_command", metavar="ACTION", required=True)
    p = sub.add_parser("config", help="show or change the WeCom settings (secrets are "
                                      "write-only)")
    for name in SETTABLE:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None)
    p = sub.add_parser("sync", help="pull staff, tags, customers and groups from WeCom")
    p.add_argument("--restart", action="store_true",
                   help="start over instead of resuming an interrupted sync")
    p.add_argument("--per-minute", type=int, default=5000,
                   help="most calls a minute per API (default 5000, half of WeCom's limit)")
    p.add_argument("--no-progress", action="store_true")
    p = sub.add_parser("process", help="apply stored callbacks that are still pending")
    p.add_argument("--limit", type=int, default=10000)
    sub.add_parser("status", help="callbacks received, pending and failed; the last sync")


def _run_wecom(ws: Any, args: argparse.Namespace) -> int:
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
    if action == "process":
        from siyu.plugins.wecom.processor import CallbackProcessor

        done = CallbackProcessor(ws).run_pending(limit=args.limit)
        print(f"{done} callbacks applied")
        return 0
    from siyu.plugins.wecom.status import callback_counts

    counts = callback_counts(ws)
    print("callbacks: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    last = ws.settings.get("wecom.sync.last") or {}
    print(f"last sync: {last.get('at', 'never')} {last.get('summary', '')}".rstrip())
    return 0


def _sync(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.wecom.sync import sync

    bars: dict[str, Any] = {}
    show = not args.no_progress and sys.stderr.isatty()

    def progress(stage: str, done: int, total: int) -> None:
        if not show:
            return
        from tqdm.auto import tqdm
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        report = sync(ws, progress=progress, per_minute=args.per_minute, restart=args.restart)
    finally:
        for bar in bars.values():
            bar.close()
    print(report.summary())
    return 0


def _configure_doctor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=5.0)


def _run_doctor(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.wecom.doctor import run_checks

    checks = run_checks(ws, timeout=args.timeout)
    for check in checks:
        print(check.line())
    return 1 if any(check.ok is False for check in checks) else 0


def _configure_sandbox(parser: argparse.ArgumentParser) -> None:
    from siyu.plugins.wecom.sandbox.server import configure

    configure(parser)


def _run_sandbox(ws: Any, args: argparse.Namespace) -> int:
    from siyu.plugins.wecom.sandbox.server import run

    return int(run(args) or 0)


COMMANDS = [
    CommandSpec("wecom", "WeCom: settings, sync, callbacks", _configure_wecom, _run_wecom),
    CommandSpec("doctor", "check the WeCom set-up step by step", _configure_doctor,
                _run_doctor),
    CommandSpec("sandbox", "run the local WeCom-compatible sandbox", _configure_sandbox,
                _run_sandbox),
]
