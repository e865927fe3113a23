"""``siyu campaign …``: compose, preview, launch, follow and send campaigns from a terminal.

Imported only when ``siyu campaign`` runs (the plugin registers it by import path)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from siyu.cli import nonblank
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

_ = translator("siyu.plugins.campaigns")


def _variant(text: str) -> dict[str, Any]:
    """``NAME:SHARE`` or ``NAME:SHARE:TEXT`` → a variant."""
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(_("expected NAME:SHARE or NAME:SHARE:TEXT, not "
                                           "{text!r}", text=text))
    try:
        share = float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(_("the share of {text!r} is not a number",
                                           text=text)) from None
    variant: dict[str, Any] = {"name": parts[0], "share": share}
    if len(parts) == 3:
        variant["content"] = {"text": parts[2]}
    return variant


def configure(parser: argparse.ArgumentParser) -> None:
    """The actions of ``siyu campaign``."""
    sub = parser.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    p = sub.add_parser("create", help=_("draft a campaign"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--channel", required=True, help=_("wecom, email, robot, webhook…"))
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help=_("the message; {nickname} {staff} {store} are filled "
                                       "per recipient where the channel can"))
    text.add_argument("--text-file", type=Path, help=_("read the message from a UTF-8 file"))
    p.add_argument("--subject", default="", help=_("subject line (e-mail)"))
    audience = p.add_mutually_exclusive_group(required=True)
    audience.add_argument("--segment", help=_("a saved segment's name"))
    audience.add_argument("--spec", help=_("a segment spec as JSON"))
    audience.add_argument("--target", action="append", dest="targets",
                          help=_("a channel target (group robot); repeat for several"))
    p.add_argument("--variant", action="append", type=_variant, dest="variants",
                   help=_("an A/B variant NAME:SHARE[:TEXT]; repeat, shares add up to 100"))
    p.add_argument("--holdout", type=int, default=0, metavar="PCT",
                   help=_("percent kept back as a control group (0-50)"))
    p.add_argument("--sender", help=_("a fixed staff member (userid) sends instead of each "
                                      "customer's owner"))
    p.add_argument("--conversion-days", type=int, default=7,
                   help=_("days after delivery an order counts as a conversion (default 7)"))
    for action, help_text in (
            ("preview", _("what launching now would do: who will actually receive it, "
                          "and why the others will not")),
            ("results", _("targeted, skipped, sent, confirmed, conversions and revenue per "
                          "variant, with lift and significance"))):
        p = sub.add_parser(action, help=help_text)
        p.add_argument("name", type=nonblank)
        p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = sub.add_parser("launch", help=_("launch now, or at --at"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--at", help=_("launch at this time (ISO, workspace timezone when no "
                                  "offset is given) instead of now"))
    for action, help_text in (("pause", _("stop sending (batches in flight finish)")),
                              ("resume", _("send the rest of a paused campaign")),
                              ("cancel", _("cancel: nothing more is sent"))):
        p = sub.add_parser(action, help=help_text)
        p.add_argument("name", type=nonblank)
    p = sub.add_parser("remind", help=_("remind staff to confirm the campaign's WeCom mass "
                                        "messages (at most 3 times a day per message)"))
    p.add_argument("name", type=nonblank)
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = sub.add_parser("list", help=_("every campaign with its status"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = sub.add_parser("send", help=_("run a sender: send queued messages (several may run "
                                      "on PostgreSQL, one on SQLite)"))
    p.add_argument("name", nargs="?", help=_("only this campaign"))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--until-done", action="store_true",
                      help=_("keep going until nothing is queued or in doubt"))
    mode.add_argument("--forever", action="store_true",
                      help=_("keep running, waiting for new messages"))
    p.add_argument("--interval", type=float, default=2.0,
                   help=_("seconds to wait when idle (default 2)"))


def _campaign_args(args: argparse.Namespace) -> dict[str, Any]:
    text = args.text if args.text is not None else args.text_file.read_text("utf-8")
    content = {"text": text}
    if args.subject:
        content["subject"] = args.subject
    spec = None
    if args.spec:
        try:
            spec = json.loads(args.spec)
        except ValueError as exc:
            raise ValidationError(_("--spec is not JSON: {problem}", problem=exc)) from None
    return {"channel": args.channel, "content": content, "segment": args.segment,
            "spec": spec, "targets": args.targets, "variants": args.variants,
            "holdout_pct": args.holdout, "sender": args.sender,
            "conversion_days": args.conversion_days}


def _print_preview(preview: dict[str, Any]) -> None:
    from siyu.core.messaging.launch import REASON_TITLES

    print(_("{selected} selected → {receive} will actually receive it",
            selected=preview["selected"], receive=preview["will_receive"]))
    for reason, n in sorted(preview["reasons"].items(), key=lambda kv: -kv[1]):
        print(f"  - {REASON_TITLES.get(reason, reason)}: {n}")
    for name, n in sorted(preview["variants"].items()):
        if name:
            print(_("  variant {name}: {n}", name=name, n=n))
    for problem in preview["blocked_words"]:
        print(_("blocked: {reason}", reason=problem["reason"]), file=sys.stderr)
    for sample in preview["samples"][:3]:
        print(_("  sample ({who}): {text}", who=sample["sender"] or "-", text=sample["text"]))


def _send(ws: Any, args: argparse.Namespace) -> int:
    from siyu.core.messaging import outbox

    campaign_id = ws.campaigns.get(args.name).id if args.name else None
    ws.principal.require("campaigns.send")
    total = outbox.DrainReport()
    while True:
        report = outbox.drain(ws, campaign_id=campaign_id)
        total.batches += report.batches
        total.recovered += report.recovered
        for status, n in report.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
        if report.batches:
            print(_("{batches} batches: {statuses}", batches=report.batches,
                    statuses=", ".join(f"{k} {v}" for k, v in sorted(
                        report.statuses.items()))), flush=True)
        if args.forever:
            if not report.batches:
                time.sleep(args.interval)
            continue
        if not args.until_done or not outbox.unsettled(ws, campaign_id):
            break
        if not report.batches:
            time.sleep(args.interval)
    print(_("done: {batches} batches, {messages} messages, {recovered} recovered",
            batches=total.batches, messages=total.handled, recovered=total.recovered))
    return 0


def _remind(ws: Any, args: argparse.Namespace) -> int:
    """``siyu campaign remind NAME``: nudge the senders of unconfirmed WeCom tasks."""
    try:
        from siyu.plugins.wecom.remind import remind_unconfirmed
    except ImportError as exc:
        raise ValidationError(_("reminders need the WeCom plugin, which cannot be loaded: "
                                "{problem}", problem=exc)) from None
    counts = remind_unconfirmed(ws, args.name)
    if args.json:
        print(json.dumps(counts))
    else:
        print(_("{reminded} tasks reminded, {confirmed} already confirmed, {limit} skipped "
                "(3 reminders in the last 24 hours), {failed} failed",
                reminded=counts["reminded"],
                confirmed=counts["already_confirmed"], limit=counts["limit_reached"],
                failed=counts["failed"]))
    return 1 if counts["failed"] else 0


def run(ws: Any, args: argparse.Namespace) -> int:
    """Run one ``siyu campaign`` action; the exit code."""
    action = args.campaign_command
    if action == "create":
        campaign = ws.campaigns.create(args.name, **_campaign_args(args))
        print(_("drafted campaign {name} (#{id})", name=campaign.name, id=campaign.id))
        return 0
    if action == "preview":
        preview = ws.campaigns.preview(args.name)
        if args.json:
            print(json.dumps(preview, ensure_ascii=False, default=str, indent=1))
        else:
            _print_preview(preview)
        return 1 if preview["blocked_words"] else 0
    if action == "launch":
        if args.at:
            campaign = ws.campaigns.schedule(args.name, args.at)
            at = campaign.scheduled_at.astimezone(ws.timezone)
            print(_("campaign {name} will launch at {at}", name=campaign.name,
                    at=at.isoformat(timespec="minutes")))
            return 0
        campaign = ws.campaigns.launch(args.name)
        counts = ws.campaigns.counts(campaign.id)
        print(_("launched {name}: {targeted} targeted, {queued} queued to send",
                name=campaign.name, targeted=campaign.targeted,
                queued=counts.get("queued", 0)))
        return 0
    if action in ("pause", "resume", "cancel"):
        campaign = getattr(ws.campaigns, action)(args.name)
        from siyu.plugins.campaigns.labels import status_title

        print(_("campaign {name} is now {status}", name=campaign.name,
                status=status_title(campaign.status)))
        return 0
    if action == "list":
        frame = ws.campaigns.list()
        if args.json:
            print(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
        elif frame.empty:
            print(_("no campaigns"))
        else:
            print(frame[["id", "name", "status", "channel", "targeted"]].to_string(
                index=False))
        return 0
    if action == "results":
        results = ws.campaigns.results(args.name)
        if args.json:
            print(results.to_json(orient="records", force_ascii=False))
        else:
            print(results.to_string(index=False))
        return 0
    if action == "send":
        return _send(ws, args)
    if action == "remind":
        return _remind(ws, args)
    raise AssertionError(action)
