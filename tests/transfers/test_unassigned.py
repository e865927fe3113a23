"""``externalcontact/get_unassigned_list`` in the sandbox (WeCom doc 92124): resigned
members' customers waiting to be assigned, paged with a cursor (or the deprecated page_id)."""

from __future__ import annotations

import httpx
import pytest

from siyu.core.errors import ValidationError
from siyu.plugins.wecom.client import WeComClient
from siyu.plugins.wecom.sandbox import Sandbox


@pytest.fixture
def sandbox():
    with Sandbox(seed=7) as sandbox:
        world = sandbox.world
        with world.lock:
            for i in range(23):
                customer = world.new_customer(f"客户{i}")
                world.add_follow(customer, "zhouba")
        yield sandbox


@pytest.fixture
def client(sandbox):
    with WeComClient(sandbox.corp_id, sandbox.secret, base_url=sandbox.base_url) as client:
        yield client


def post(sandbox, client, body: dict) -> dict:
    answer = httpx.post(f"{sandbox.base_url}/cgi-bin/externalcontact/get_unassigned_list",
                        params={"access_token": client.access_token()}, json=body)
    return answer.json()


def waiting(sandbox) -> list[str]:
    world = sandbox.world
    with world.lock:
        return sorted(e for e, c in world.customers.items() if "zhouba" in c.follows)


def test_the_cursor_pages_through_every_waiting_customer_once(sandbox, client):
    pages, cursor = [], ""
    while True:
        page = client.get_unassigned_list(page_size=10, cursor=cursor or None)
        pages.append(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [len(p["info"]) for p in pages] == [10, 10, 5]
    assert [p["is_last"] for p in pages] == [False, False, True]
    seen = [entry["external_userid"] for p in pages for entry in p["info"]]
    assert sorted(seen) == waiting(sandbox) and len(set(seen)) == 25
    entry = pages[0]["info"][0]
    assert set(entry) == {"handover_userid", "external_userid", "dimission_time"}
    assert entry["handover_userid"] == "zhouba"
    assert entry["dimission_time"] == int(sandbox.world.staff["zhouba"].resigned_at)


def test_the_deprecated_page_id_still_pages_without_a_next_cursor(sandbox, client):
    first = post(sandbox, client, {"page_id": 0, "page_size": 20})
    last = post(sandbox, client, {"page_id": 1, "page_size": 20})
    assert (len(first["info"]), first["is_last"]) == (20, False)
    assert (len(last["info"]), last["is_last"]) == (5, True)
    assert "next_cursor" not in first and "next_cursor" not in last


def test_page_size_beyond_1000_is_refused(sandbox, client):
    assert post(sandbox, client, {"page_size": 1001})["errcode"] == 40058
    with pytest.raises(ValidationError, match="1–1000"):
        client.get_unassigned_list(page_size=1001)


def test_customers_being_assigned_leave_the_list_and_a_refusal_brings_them_back(
        sandbox, client):
    first, second = waiting(sandbox)[:2]
    client.resigned_transfer_customer("zhouba", "lisi", [first, second])
    listed = {e["external_userid"] for e in client.iter_unassigned()}
    assert first not in listed and second not in listed and len(listed) == 23
    sandbox.people.customer_refuses_transfer(first)
    assert first in {e["external_userid"] for e in client.iter_unassigned()}


def test_members_still_employed_are_not_listed(client):
    assert {e["handover_userid"] for e in client.iter_unassigned()} == {"zhouba"}
