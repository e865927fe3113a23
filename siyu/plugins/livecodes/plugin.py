"""The live-code plugin: tables, arrivals through ``lc:`` states, the shift job, the CLI.

Registered as a built-in (``siyu.plugins.livecodes.plugin``), written exactly like a
third-party plugin.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl, notified_when
from siyu.core.records import JobSpec, ModelSet
from siyu.plugins.livecodes.models import TABLES

_ = translator("siyu.plugins.livecodes")

#: Live codes are WeCom 「联系我」 codes and join ways: without the WeCom plugin (its client,
#: callbacks and group tables) nothing here works, so siyu disables this plugin with it.
siyu_requires = ("wecom",)


@hookimpl
def register_models():
    """live_code, live_code_member, live_code_day, live_code_add and the group-code tables
    live_group_code, live_group_chat, live_group_join, live_code_invite (history
    ``livecodes``)."""
    return [ModelSet("livecodes", TABLES, Path(__file__).parent / "migrations")]


def _engine():
    """The live-code engine, imported when first needed (not by every ``siyu`` command)."""
    from siyu.plugins.livecodes import engine

    return engine


@hookimpl
@notified_when(lambda via, **_: _engine().STATES.claims(via))
def on_contact_added(ws, contact, via):
    """Handle a customer who arrived through a live code (``via`` starts with ``lc:``; the
    others are not delivered here)."""
    _engine().handle_added(ws, contact, via)


@hookimpl
def register_state_prefixes():
    """``lc:`` (staff live codes) and ``gl:`` (group live codes)."""
    from siyu.plugins.livecodes import groups

    return [_engine().STATES, groups.STATES]


@hookimpl
def on_group_member_changed(ws, chat_id, joined, left, at):
    """Record joins through group codes (states ``gl:``) and leaves, tag the joiners, and
    rotate a code's groups before they fill."""
    from siyu.plugins.livecodes import groups

    groups.handle_member_change(ws, chat_id, joined, left, at)


@hookimpl
def register_jobs(ws):
    """Re-list the codes whose shift boundary (or daily-cap midnight) has passed.

    Each minute the job reads only the codes whose ``next_change_at`` is due, by index;
    between boundaries it touches nothing and calls WeCom for nothing. Daily, check that
    WeCom still has every code (:func:`~siyu.plugins.livecodes.checks.check_codes`).
    """
    from siyu.plugins.livecodes.checks import run_check_job

    return [JobSpec("livecodes.shifts", run_shift_job, "cron", {"second": 0},
                    _.lazy("Live codes: shift changes")),
            JobSpec("livecodes.check", run_check_job, "cron", {"hour": 6, "minute": 30},
                    _.lazy("Live codes: check every code still exists in WeCom"))]


def run_shift_job(ws):
    """Scheduled: re-plan the codes whose next change is due."""
    return f"{_engine().replan_due(ws)} live codes re-planned"


@hookimpl
def register_commands():
    """``siyu livecode`` and ``siyu groupcode``, named by import path: their modules are
    imported only when one of them is run (``siyu --help`` reads the help text here)."""
    from siyu.core.records import CommandSpec

    staff = "siyu.plugins.livecodes.commands"
    group = "siyu.plugins.livecodes.group_commands"
    return [CommandSpec("livecode", _.lazy("staff live codes: create, list, show, pause, "
                                           "resume, delete, preview, check"),
                        f"{staff}:configure", f"{staff}:run"),
            CommandSpec("groupcode", _.lazy("group live codes: create, update, list, show, "
                                            "pause, resume, delete, members, joins, invite"),
                        f"{group}:configure", f"{group}:run")]


@hookimpl
def register_pages(ws):
    """The Live codes, Group codes and Live-code reports pages (``data.read``; changes need
    ``data.write``)."""
    from siyu.core.records import PageSpec

    # Import paths, not classes: the page modules import Panel, loaded on first build only.
    return [PageSpec("livecodes", _.lazy("Live codes"),
                     "siyu.plugins.livecodes.pages:LiveCodesPage",
                     icon="qrcode", permission="data.read", order=40),
            PageSpec("groupcodes", _.lazy("Group codes"),
                     "siyu.plugins.livecodes.group_pages:GroupCodesPage",
                     icon="users-group", permission="data.read", order=41),
            PageSpec("livecode-reports", _.lazy("Live-code reports"),
                     "siyu.plugins.livecodes.report_pages:LiveCodeReportsPage",
                     icon="chart-bar", permission="data.read", order=42)]


@hookimpl
def register_segment_rules():
    """The ``livecode`` segment rule: contacts who arrived through chosen live codes."""
    from siyu.plugins.livecodes import segment_rules

    return [segment_rules.RULE]


@hookimpl
def segment(ws, rule, params):
    """Compile the ``livecode`` rule; ``None`` for every other rule."""
    if rule != "livecode":
        return None
    from siyu.plugins.livecodes import segment_rules

    return segment_rules.compile_rule(params)
