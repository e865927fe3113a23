"""The campaigns plugin: the ``siyu campaign`` command, the scheduled jobs that launch due
campaigns and drain the outbox, and (with the console) the Campaigns page.

The engine (``ws.campaigns``, the outbox) is in the core; this plugin is its door, written
exactly like a third-party plugin.
"""

from __future__ import annotations

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl

_ = translator("siyu.plugins.campaigns")


@hookimpl
def register_commands():
    """``siyu campaign``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.campaigns.commands"
    return [CommandSpec("campaign", _.lazy("campaigns: create, preview, launch or schedule, "
                                           "pause, resume, cancel, results, remind staff; "
                                           "run a sender"),
                        f"{module}:configure", f"{module}:run")]


@hookimpl
def register_pages(ws):
    """The Campaigns page (``data.read``; drafting, launching need their permissions)."""
    from siyu.core.records import PageSpec

    return [PageSpec("campaigns", _.lazy("Campaigns"),
                     "siyu.plugins.campaigns.pages:CampaignsPage", icon="send",
                     permission="data.read", order=45)]


@hookimpl
def register_jobs(ws):
    """Launch scheduled campaigns when due; drain the outbox."""
    from siyu.core.records import JobSpec

    return [JobSpec("campaigns.launch_due", run_launch_due, "interval", {"seconds": 30},
                    _.lazy("Launch scheduled campaigns")),
            JobSpec("campaigns.send", run_sender, "interval", {"seconds": 10},
                    _.lazy("Send queued campaign messages"))]


def run_launch_due(ws):
    """Scheduled: launch the campaigns whose time has come."""
    launched = ws.campaigns.launch_due()
    return _("launched: {names}", names=", ".join(launched)) if launched else _("none due")


def run_sender(ws):
    """Scheduled: send what is due (a separate ``siyu campaign send`` process may too)."""
    from siyu.core.messaging.outbox import drain

    report = drain(ws)
    return _("{batches} batches, {messages} messages", batches=report.batches,
             messages=report.handled)
