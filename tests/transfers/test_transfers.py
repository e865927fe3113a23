"""Handing a departing member's customers over through WeCom: plans, chunks, the 90-day
limit, the 24-hour takeover, failures by callback and lost answers — against the sandbox
over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.plugins import transfers
from siyu.plugins.transfers import execute
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import Event, Staff


def states(ws, plan_id) -> dict[str, str]:
    """external userid → state of a plan's customers."""
    frame = transfers.items(ws, plan_id)
    return dict(zip(frame["external_userid"], frame["status"], strict=True))


def owner_of(ws, external_userid: str) -> str | None:
    contact = ws.contacts.get(external_userid)
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(Staff.userid).where(Staff.id == contact.owner_id)).scalar()


# -- plans ----------------------------------------------------------------------------------


def test_an_even_split_deals_the_customers_in_turn(wired):
    ws = wired.ws
    wired.give_customers("zhangsan", 4)
    from siyu.plugins.wecom.sync import sync
    sync(ws)
    made = transfers.plan(ws, "zhangsan", ["lisi", "wangwu"])
    assert made.kind == "onjob"
    assert made.counts == {"lisi": 4, "wangwu": 3}
    assert set(states(ws, made.plan_id).values()) == {"planned"}
    assert wired.sandbox.world.transfers == []  # nothing reached WeCom yet


def test_a_split_by_store_gives_each_customer_a_successor_of_their_store(wired):
    ws = wired.ws
    ws.stores.upsert("SH001", "上海南京西路店", city="上海")
    ws.stores.upsert("BJ001", "北京三里屯店", city="北京")
    ws.staff.upsert("lisi", "李四", store="SH001")
    ws.staff.upsert("wangwu", "王五", store="BJ001")
    first, second, third = wired.customers_of("zhangsan")
    ws.contacts.upsert(first, store="BJ001")
    ws.contacts.upsert(second, store="SH001")
    ws.contacts.upsert(third, store="BJ001")
    made = transfers.plan(ws, "zhangsan", ["lisi", "wangwu"], split="store")
    frame = transfers.items(ws, made.plan_id)
    assert dict(zip(frame["external_userid"], frame["takeover"], strict=True)) == {
        first: "wangwu", second: "lisi", third: "wangwu"}


def test_a_split_by_hand_moves_only_the_customers_named(wired):
    ws = wired.ws
    first, second, _third = wired.customers_of("zhangsan")
    made = transfers.plan(ws, "zhangsan", split="manual",
                          assignments={first: "wangwu", second: "lisi"})
    frame = transfers.items(ws, made.plan_id)
    assert dict(zip(frame["external_userid"], frame["takeover"], strict=True)) == {
        first: "wangwu", second: "lisi"}


def test_a_departing_members_groups_are_listed(wired):
    leaving = transfers.departing(wired.ws, "zhangsan")
    assert [g["name"] for g in leaving.groups] == ["VIP 客户群"]


@pytest.mark.parametrize(("handover", "successors", "fragment"), [
    ("nobody", ["lisi"], "unknown staff member 'nobody'"),
    ("zhangsan", ["ghost"], "unknown staff member 'ghost'"),
    ("zhangsan", ["zhangsan"], "cannot be their own successor"),
    ("zhangsan", [], "choose at least one successor"),
])
def test_bad_plans_name_the_problem(wired, handover, successors, fragment):
    with pytest.raises(ValidationError, match=fragment):
        transfers.plan(wired.ws, handover, successors)


# -- running ----------------------------------------------------------------------------------


def test_more_than_100_customers_go_out_in_calls_of_at_most_100(wired):
    ws = wired.ws
    waiting = wired.give_customers("zhouba", 248) + wired.customers_of("zhouba")[-2:]
    made = transfers.plan(ws, "zhouba", ["lisi"])
    assert made.kind == "resigned" and made.planned == 250
    report = transfers.run(ws, made.plan_id)
    assert report.calls == 3
    assert report.states == {"waiting": 250}
    assert len(wired.sandbox.world.transfers) == 250
    assert set(states(ws, made.plan_id)) == set(wired.customers_of("zhouba")) >= set(waiting)


def test_the_successor_takes_over_after_24_hours_and_becomes_the_owner(wired):
    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    made = transfers.plan(ws, "zhangsan", ["wangwu"], customers=[customer],
                          message="您好，后续由王五为您服务")
    assert transfers.run(ws, made.plan_id).states == {"waiting": 1}
    assert transfers.reconcile(ws).states == {}  # still waiting: nothing changed
    assert states(ws, made.plan_id) == {customer: "waiting"}
    wired.pass_a_day()
    assert transfers.reconcile(ws).states == {"taken_over": 1}
    assert states(ws, made.plan_id) == {customer: "taken_over"}
    assert owner_of(ws, customer) == "wangwu"
    follows = {f.staff: f for f in ws.follows.of(customer, include_deleted=True)}
    assert follows["zhangsan"].deleted_by == "transfer" and follows["wangwu"].live
    assert len(ws.events.df(kind="contact.transferred")) == 1
    assert transfers.reconcile(ws).states == {}  # done once


def test_a_third_transfer_within_90_days_is_refused_before_calling_wecom(wired):
    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    for handover, takeover in (("zhangsan", "lisi"), ("lisi", "wangwu")):
        made = transfers.plan(ws, handover, [takeover], customers=[customer])
        transfers.run(ws, made.plan_id)
        wired.pass_a_day()
        transfers.reconcile(ws)
    assert owner_of(ws, customer) == "wangwu"
    with pytest.raises(ValidationError, match="third transfer is refused") as caught:
        transfers.plan(ws, "wangwu", ["zhangsan"], customers=[customer])
    assert customer in str(caught.value)
    assert len(wired.takeovers(customer)) == 2


def test_customers_over_the_limit_are_left_out_and_named(wired):
    ws = wired.ws
    customer = wired.customers_of("wangwu")[0]  # wangwu's only customer
    for handover, takeover in (("wangwu", "lisi"), ("lisi", "wangwu")):
        transfers.run(ws, transfers.plan(ws, handover, [takeover],
                                         customers=[customer]).plan_id)
        wired.pass_a_day()
        transfers.reconcile(ws)
    others = wired.give_customers("wangwu", 2)
    from siyu.plugins.wecom.sync import sync
    sync(ws)
    made = transfers.plan(ws, "wangwu", ["zhangsan"])
    assert made.planned == 2 and len(made.over_limit) == 1 and customer in made.over_limit[0]
    frame = transfers.items(ws, made.plan_id).set_index("external_userid")
    assert frame.loc[customer, "status"] == "limit_exceeded"
    assert "already transferred 2 times in 90 days" in frame.loc[customer, "reason"]
    assert transfers.run(ws, made.plan_id).states == {"waiting": 2}
    assert {e for e in others} <= set(states(ws, made.plan_id))
    assert len(wired.takeovers(customer)) == 2


# -- failures ---------------------------------------------------------------------------------


def transfer_failed_events(ws) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Event)
                            .where(Event.kind == "contact.transfer_failed")).scalar()


def test_a_refusal_arriving_by_callback_marks_the_customer_refused(wired, wait, monkeypatch):
    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    made = transfers.plan(ws, "zhangsan", ["wangwu"], customers=[customer])
    transfers.run(ws, made.plan_id)
    wired.sandbox.people.customer_refuses_transfer(customer)
    wait(lambda: transfer_failed_events(ws) == 1)

    def no_results(*args, **kwargs):
        raise AssertionError("the callback alone should settle it")

    monkeypatch.setattr(execute, "_results", no_results)
    assert transfers.reconcile(ws).states == {"refused": 1}
    row = transfers.items(ws, made.plan_id).iloc[0]
    assert (row["status"], row["reason"]) == ("refused", "the customer refused the transfer")
    assert owner_of(ws, customer) == "zhangsan"


def test_a_full_successor_reported_by_callback_is_limit_exceeded(wired, wait):
    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    made = transfers.plan(ws, "zhangsan", ["wangwu"], customers=[customer])
    transfers.run(ws, made.plan_id)
    wired.sandbox.limits.staff_customer_limit = 1  # wangwu has one customer already
    wired.pass_a_day()
    wait(lambda: transfer_failed_events(ws) == 1)
    assert transfers.reconcile(ws).states == {"limit_exceeded": 1}
    row = transfers.items(ws, made.plan_id).iloc[0]
    assert row["reason"] == "the successor's customer list is full"


def test_a_call_wecom_refuses_is_failed_with_the_reason(wired):
    ws = wired.ws
    made = transfers.plan(ws, "zhangsan", ["wangwu"])
    with wired.sandbox.world.lock:
        wired.sandbox.world.staff["wangwu"].resigned = True  # left meanwhile
    report = transfers.run(ws, made.plan_id)
    assert report.states == {"failed": 3}
    reasons = set(transfers.items(ws, made.plan_id)["reason"])
    assert len(reasons) == 1 and "60011" in reasons.pop()


def prime_token(ws):
    wecom(ws).client.access_token()


def test_a_lost_answer_is_unknown_then_reconciled_from_transfer_result(wired):
    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    made = transfers.plan(ws, "zhangsan", ["wangwu"], customers=[customer])
    prime_token(ws)
    wired.sandbox.faults.set(lost_answer_rate=1.0)
    assert transfers.run(ws, made.plan_id).states == {"unknown": 1}
    wired.sandbox.faults.set(lost_answer_rate=0.0)
    assert wired.takeovers(customer) == [("zhangsan", "wangwu", 2)]  # WeCom did start it
    assert transfers.reconcile(ws).states == {"waiting": 1}
    assert transfers.run(ws, made.plan_id).states == {}  # never sent again
    assert len(wired.takeovers(customer)) == 1


def test_a_request_that_never_reached_wecom_goes_back_to_planned(wired):
    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    made = transfers.plan(ws, "zhangsan", ["wangwu"], customers=[customer])
    prime_token(ws)
    wired.sandbox.faults.set(drop_rate=1.0)
    assert transfers.run(ws, made.plan_id).states == {"unknown": 1}
    wired.sandbox.faults.set(drop_rate=0.0)
    assert wired.takeovers(customer) == []
    assert transfers.reconcile(ws).states == {"planned": 1}
    assert transfers.run(ws, made.plan_id).states == {"waiting": 1}
    assert wired.takeovers(customer) == [("zhangsan", "wangwu", 2)]


def test_the_poll_job_reports_what_changed(wired):
    ws = wired.ws
    made = transfers.plan(ws, "zhouba", ["lisi"])
    transfers.run(ws, made.plan_id)
    wired.pass_a_day()
    run = ws.scheduler.run_now("transfers.poll")
    assert run.status == "ok" and run.message == "taken over 2"
    assert set(states(ws, made.plan_id).values()) == {"taken_over"}


def test_a_run_that_died_after_claiming_is_reconciled_once_no_longer_in_flight(wired):
    from datetime import timedelta

    from siyu.storage.types import utcnow

    ws = wired.ws
    customer = wired.customers_of("zhangsan")[0]
    made = transfers.plan(ws, "zhangsan", ["wangwu"], customers=[customer])
    ids = list(transfers.items(ws, made.plan_id)["id"])
    claimed, _over = execute._claim(ws, ids, "onjob", utcnow())  # then the process died
    assert list(claimed) == [customer]
    assert transfers.reconcile(ws).states == {}  # it may still be waiting for WeCom
    assert states(ws, made.plan_id) == {customer: "requested"}
    later = utcnow() + execute.IN_FLIGHT + timedelta(seconds=1)
    assert transfers.reconcile(ws, now=later).states == {"planned": 1}
    assert transfers.run(ws, made.plan_id).states == {"waiting": 1}
