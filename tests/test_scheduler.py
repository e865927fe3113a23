"""Scheduled jobs: registered by plugins, persisted, one scheduler per database."""

import pytest

import siyu
from siyu.core.records import JobSpec
from siyu.core.scheduler import SchedulerBusy


def count_contacts(ws):
    """A job: report how many contacts there are."""
    return f"{ws.contacts.count()} contacts"


def broken(ws):
    """A job that fails."""
    raise RuntimeError("upstream CRM answered 502")


class Jobs:
    @siyu.hookimpl
    def register_jobs(self, ws):
        return [JobSpec("count", count_contacts, "interval", {"hours": 1}, "Count contacts"),
                JobSpec("broken", broken, "cron", {"hour": 3})]


@pytest.fixture
def jobs_ws(db_url):
    ws = siyu.open(db_url, plugins=[Jobs()], load_entry_points=False)
    yield ws
    ws.close()


def test_run_now_records_the_result(jobs_ws):
    jobs_ws.contacts.upsert("wm1")
    run = jobs_ws.scheduler.run_now("count")
    assert (run.status, run.message) == ("ok", "1 contacts")
    listed = {job["name"]: job for job in jobs_ws.scheduler.jobs()}
    assert listed["count"]["last_status"] == "ok"
    assert listed["count"]["title"] == "Count contacts"


def test_a_failing_job_is_recorded_not_raised(jobs_ws):
    run = jobs_ws.scheduler.run_now("broken")
    assert run.status == "failed" and "502" in run.message


def test_started_scheduler_stores_jobs_with_next_run(jobs_ws):
    jobs_ws.scheduler.start()
    try:
        listed = {job["name"]: job for job in jobs_ws.scheduler.jobs()}
        assert listed["count"]["next_run"] is not None
        jobs_ws.scheduler.pause("count")
        assert {j["name"]: j for j in jobs_ws.scheduler.jobs()}["count"]["paused"]
    finally:
        jobs_ws.scheduler.shutdown()


def test_pause_survives_restart(jobs_ws, db_url):
    jobs_ws.scheduler.start()
    jobs_ws.scheduler.pause("count")
    jobs_ws.scheduler.shutdown()
    with siyu.open(db_url, plugins=[Jobs()], load_entry_points=False) as again:
        again.scheduler.start()
        assert {j["name"]: j for j in again.scheduler.jobs()}["count"]["paused"]


def test_only_one_scheduler_per_database(jobs_ws, db_url):
    jobs_ws.scheduler.start()
    try:
        with siyu.open(db_url, plugins=[Jobs()], load_entry_points=False) as other:
            with pytest.raises(SchedulerBusy, match="one scheduler per database"):
                other.scheduler.start()
    finally:
        jobs_ws.scheduler.shutdown()


def test_unknown_job_is_named(jobs_ws):
    with pytest.raises(siyu.core.errors.NotFound, match="nope"):
        jobs_ws.scheduler.run_now("nope")
