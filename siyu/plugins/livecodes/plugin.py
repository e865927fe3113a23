"""The live-code plugin: tables, arrivals through ``lc:`` states, the shift job, the CLI.

Registered as a built-in (``siyu.plugins.livecodes.plugin``), written exactly like a
third-party plugin.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.plugins import hookimpl
from siyu.core.records import JobSpec, ModelSet
from siyu.plugins.livecodes import engine
from siyu.plugins.livecodes.models import TABLES


@hookimpl
def register_models():
    """live_code, live_code_member, live_code_day, live_code_add (history ``livecodes``)."""
    return [ModelSet("livecodes", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def on_contact_added(ws, contact, via):
    """Handle a customer who arrived through a live code (``via`` starts with ``lc:``)."""
    if not via or not via.startswith(engine.PREFIX):
        return
    engine.handle_added(ws, contact, via)


@hookimpl
def register_jobs(ws):
    """Re-list the codes whose shift boundary (or daily-cap midnight) has passed.

    Each minute the job reads only the codes whose ``next_change_at`` is due, by index;
    between boundaries it touches nothing and calls WeCom for nothing.
    """
    return [JobSpec("livecodes.shifts", run_shift_job, "cron", {"second": 0},
                    "Live codes: shift changes")]


def run_shift_job(ws):
    """Scheduled: re-plan the codes whose next change is due."""
    return f"{engine.replan_due(ws)} live codes re-planned"


@hookimpl
def register_commands():
    """``siyu livecode``."""
    from siyu.plugins.livecodes.commands import COMMANDS

    return list(COMMANDS)


@hookimpl
def register_pages(ws):
    """The Live codes page (``data.read``; changes need ``data.write``)."""
    from siyu.core.records import PageSpec

    def live_codes_page(user_ws):
        from siyu.plugins.livecodes.pages import LiveCodesPage
        return LiveCodesPage(user_ws)

    return [PageSpec("livecodes", "Live codes", live_codes_page, icon="qrcode",
                     permission="data.read", order=40)]
