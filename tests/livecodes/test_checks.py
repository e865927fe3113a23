"""Bad input around live codes: a code deleted in WeCom while still on posters, and customers
arriving with a state no code has. Against the sandbox over HTTP, on both engines."""

import time

import pytest

from siyu.core.errors import ValidationError
from siyu.plugins.livecodes import api
from siyu.plugins.livecodes.checks import run_check_job
from siyu.plugins.livecodes.pages import LiveCodesPage
from siyu.plugins.wecom.service import wecom

#: The 「联系我」 code the default sandbox world has, made in the WeCom admin, not in siyu.
FOREIGN_STATE = "lc:store01"


def delete_in_wecom(world, config_id):
    """Delete a 「联系我」 code in WeCom the way another tool or an admin would: siyu hears
    nothing about it."""
    with world.lock:
        return world.contact_ways.pop(config_id)


def foreign_code(world):
    with world.lock:
        return next(w.config_id for w in world.contact_ways.values()
                    if w.state == FOREIGN_STATE)


@pytest.fixture
def two_codes(wired):
    """Two live codes; the second is deleted in WeCom behind siyu's back."""
    staff = wired.hire("d1", "d2")
    kept = api.create_code(wired.ws, "留着", staff[:1])
    gone = api.create_code(wired.ws, "被删", staff[1:])
    delete_in_wecom(wired.world, gone["config_id"])
    return kept, gone


def test_a_code_deleted_in_wecom_gets_a_plain_warning(wired, two_codes):
    kept, gone = two_codes

    report = api.check_codes(wired.ws, progress=False)

    assert (report.checked, report.missing, report.failed) == (
        2, [f"被删 ({gone['state']})"], [])
    assert not report.ok
    assert report.summary() == (f"2 live codes checked in WeCom; 1 deleted in WeCom (their QR "
                                f"codes add nobody): 被删 ({gone['state']})")
    warning = api.get_code(wired.ws, gone["id"])["last_error"]
    assert warning.startswith("deleted in WeCom: ")
    assert gone["config_id"] in warning and "41044" in warning
    assert "posters showing it no longer work" in warning
    assert "Create a new live code" in warning
    assert api.get_code(wired.ws, kept["id"])["last_error"] == ""


def test_the_missing_code_is_one_event_however_often_the_check_runs(wired, two_codes):
    _, gone = two_codes

    api.check_codes(wired.ws, progress=False)
    api.check_codes(wired.ws, progress=False)

    events = wired.ws.events.df(kind="livecode.missing")
    assert len(events) == 1
    assert events["payload"].iloc[0] == {"code_id": gone["id"], "name": "被删",
                                         "state": gone["state"],
                                         "config_id": gone["config_id"]}
    audit = wired.ws.audit_log.df(action="livecode.check")
    assert len(audit) == 2
    assert audit["target"].tolist() == ["2 codes", "2 codes"]


def test_a_code_wecom_answers_for_again_loses_the_warning(wired):
    code = api.create_code(wired.ws, "回来", wired.hire("r1"))
    way = delete_in_wecom(wired.world, code["config_id"])
    api.check_codes(wired.ws, progress=False)
    with wired.world.lock:
        wired.world.contact_ways[way.config_id] = way

    report = api.check_codes(wired.ws, progress=False)

    assert (report.checked, report.missing, report.ok) == (1, [], True)
    assert api.get_code(wired.ws, code["id"])["last_error"] == ""


def test_deleted_codes_are_not_checked(wired, two_codes):
    kept, gone = two_codes
    api.delete_code(wired.ws, gone["id"])

    report = api.check_codes(wired.ws, progress=False)

    assert (report.checked, report.missing, report.ok) == (1, [], True)


def test_calls_are_paced_at_per_minute(wired):
    staff = wired.hire("p1", "p2", "p3", "p4")
    for userid in staff:
        api.create_code(wired.ws, f"码{userid}", [userid])

    started = time.monotonic()
    report = api.check_codes(wired.ws, per_minute=600, progress=False)
    elapsed = time.monotonic() - started

    assert report.checked == 4
    assert elapsed >= 3 * 60 / 600  # four calls, at least 0.1 s apart


@pytest.mark.parametrize("per_minute", [0, 10_001])
def test_a_rate_beyond_wecoms_limit_is_refused(wired, per_minute):
    with pytest.raises(ValidationError, match=f"per_minute {per_minute} must be between 1 "
                                              "and 10,000"):
        api.check_codes(wired.ws, per_minute=per_minute)


def test_a_code_that_cannot_be_checked_is_reported_not_marked(wired, two_codes):
    kept, gone = two_codes
    wecom(wired.ws).client.max_retries = 0
    wired.sandbox.faults.error_rate = 1.0

    report = api.check_codes(wired.ws, progress=False)

    assert report.checked == 0 and report.missing == [] and not report.ok
    assert [line.split("): ")[0] + ")" for line in report.failed] == [
        f"留着 ({kept['state']})", f"被删 ({gone['state']})"]
    assert "HTTP 503" in report.failed[0]
    assert api.get_code(wired.ws, gone["id"])["last_error"] == ""


def test_the_live_codes_page_warns_about_a_code_deleted_in_wecom(wired, two_codes):
    _, gone = two_codes
    page = LiveCodesPage(wired.ws)
    assert not page.problems.visible

    api.check_codes(wired.ws, progress=False)
    page.refresh()

    assert page.problems.visible
    assert page.problems.object.startswith("**Needs attention**")
    assert f"- 被删 ({gone['state']}): deleted in WeCom: " in page.problems.object


def test_a_customer_with_an_unknown_state_is_stored_assigned_and_warned_about(wired):
    outcome = wired.scan(foreign_code(wired.world), name="陌生人")

    contact = wired.ws.contacts.get(outcome.external_userid)
    assert contact.name == "陌生人"
    assert contact.owner_id == wired.ws.staff.get(outcome.userid).id
    welcomes = [w for w in wired.world.welcomes if w.external_userid == outcome.external_userid]
    assert [(w.userid, w.text) for w in welcomes] == [(outcome.userid, "欢迎来到私域!")]
    arrivals = api.adds_df(wired.ws)
    assert arrivals["state"].tolist() == [FOREIGN_STATE]
    assert arrivals["code_id"].isna().all() and arrivals["welcome"].tolist() == ["none"]
    unknown = api.unknown_states(wired.ws)
    assert unknown[["state", "arrivals"]].values.tolist() == [[FOREIGN_STATE, 1]]
    assert unknown["staff"].tolist() == [[outcome.userid]]

    page = LiveCodesPage(wired.ws)

    assert page.problems.visible
    text = page.problems.object
    assert f"1 customer arrived with state &#x27;{FOREIGN_STATE}&#x27;" in text
    assert f"kept with the member WeCom gave them ({outcome.userid})" in text
    assert "create a live code here with this state" in text


def test_the_cli_check_names_the_missing_code_and_exits_1(wired, two_codes, capsys):
    from siyu.cli import main

    _, gone = two_codes
    wired.scan(foreign_code(wired.world))

    assert main(["--db", str(wired.ws.url), "livecode", "check", "--no-progress"]) == 1

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2 live codes checked in WeCom; 1 deleted in WeCom")
    assert out[1].startswith(f"- 被删 ({gone['state']}): deleted in WeCom: ")
    assert out[2].startswith(f"- 1 customer arrived with state '{FOREIGN_STATE}'")


def test_the_cli_check_exits_0_when_every_code_is_in_wecom(wired, capsys):
    from siyu.cli import main

    api.create_code(wired.ws, "好码", wired.hire("ok1"))

    assert main(["--db", str(wired.ws.url), "livecode", "check", "--no-progress",
                 "--per-minute", "6000"]) == 0

    assert capsys.readouterr().out == "1 live codes checked in WeCom; none missing\n"


def test_the_check_runs_daily_as_a_scheduled_job(wired, two_codes):
    job = wired.ws.jobs["livecodes.check"]
    assert (job.trigger, job.trigger_args) == ("cron", {"hour": 6, "minute": 30})

    assert job.func(wired.ws).startswith("2 live codes checked in WeCom; 1 deleted in WeCom")
    assert job.func is run_check_job
