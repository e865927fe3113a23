"""The transfers plugin is a built-in that needs the WeCom plugin, and registers its page,
command, job and tables."""

from __future__ import annotations

from siyu.core.plugins import get_plugin_manager


def info_of(pm, name):
    return next(info for info in pm.describe() if info.name == name)


def test_transfers_requires_wecom_and_goes_with_it():
    pm = get_plugin_manager(load_entry_points=False)
    assert info_of(pm, "transfers").requires == ("wecom",)
    assert info_of(pm, "transfers").status == "loaded"
    pm = get_plugin_manager(load_entry_points=False, disable=["wecom"])
    assert info_of(pm, "transfers").reason == "requires wecom, which is disabled"


def test_the_page_command_job_and_tables_are_registered(ws):
    assert "transfers" in ws.pages() and "transfer" in ws.commands()
    assert "transfers.poll" in ws.jobs
    assert {t.name for t in ws.model_sets["transfers"].tables} == {"transfer_plan",
                                                                   "transfer_item"}
