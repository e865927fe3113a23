"""The risk plugin: sensitive words, the do-not-contact list, quiet hours and the staff daily
cap applied to campaigns, the log of every decision, the ``siyu risk`` CLI and the Risk center
page.

Registered as a built-in (``siyu.plugins.risk.plugin``), written exactly like a third-party
plugin. The hooks only delegate: at launch :mod:`~siyu.plugins.risk.launching`, at send time
:mod:`~siyu.plugins.risk.sending`, each imported when first needed, so that loading the
plugin costs nothing to a command or a notebook that never sends.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl, notified_when
from siyu.core.records import ModelSet
from siyu.plugins.risk.models import TABLES

_ = translator("siyu.plugins.risk")


@hookimpl
def register_models():
    """risk_word, risk_word_version, risk_dnc and risk_event (history ``risk``)."""
    return [ModelSet("risk", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_commands():
    """``siyu risk``, named by import path: its module (and the Aho-Corasick extension) is
    imported only when it is run (``siyu --help`` reads the help text here)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.risk.commands"
    return [CommandSpec("risk", _.lazy("risk control: sensitive words, do-not-contact list, "
                                       "quiet hours, staff daily cap, risk events"),
                        f"{module}:configure", f"{module}:run")]


@hookimpl
def register_risk_rules():
    """Sensitive words, the do-not-contact list, the staff daily cap and quiet hours."""
    from siyu.plugins.risk.rules import risk_rules

    return risk_rules()


@hookimpl
def register_pages(ws):
    """The Risk center (``data.read``; changes need ``data.write`` or ``settings.write``)."""
    from siyu.core.records import PageSpec

    return [PageSpec("risk", _.lazy("Risk center"), "siyu.plugins.risk.pages:RiskCenterPage",
                     icon="shield", permission="data.read", order=48)]


@hookimpl
def register_jobs(ws):
    """Record launch-time quiet-hours delays every minute (the readers do too)."""
    from siyu.core.records import JobSpec

    return [JobSpec("risk.launch_delays", run_launch_delays, "interval", {"minutes": 1},
                    _.lazy("Risk: record launches delayed by quiet hours"))]


def run_launch_delays(ws):
    """Scheduled: record the launch-time delays not recorded yet."""
    from siyu.plugins.risk.journal import record_launch_delays

    return _.ngettext("{n} delay recorded", "{n} delays recorded", record_launch_delays(ws))


@hookimpl
def risk_check(ws, action):
    """Block a campaign's content (at launch) or a message (when sent) that contains a
    sensitive word, naming the word and its category."""
    if action.get("kind") not in ("content", "send") or not action.get("text"):
        return None
    from siyu.plugins.risk.checks import word_reason

    return word_reason(ws, action["text"], fresh=action["kind"] == "content")


@hookimpl
def risk_check_batch(ws, batch):
    """Vet an outbox batch: sensitive words and the do-not-contact list block, quiet hours
    and the staff daily cap hold; every decision is recorded (see
    :func:`~siyu.plugins.risk.sending.check_batch`)."""
    from siyu.plugins.risk.sending import check_batch

    return check_batch(ws, batch)


@hookimpl
def launch_rules(ws, campaign, now):
    """Skip the contacts on the do-not-contact list; inside quiet hours, delay everyone
    until they end."""
    from siyu.plugins.risk.launching import launch_rules as rules

    return rules(ws, now)


@hookimpl
@notified_when(lambda status, **_: status == "skipped")
def on_delivery(ws, delivery, status):
    """Record a launch's do-not-contact skips as risk events (once per delivery)."""
    from siyu.plugins.risk.launching import record_skip

    record_skip(ws, delivery, status)
