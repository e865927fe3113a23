"""The connectors acceptance, end to end in Chromium: an operator configures a REST connector
from the console, runs it, matches by hand the one member siyu could not match by itself, and
sees that member's orders on the customer card.

The shop (:class:`~tests.connectors.rest_shop.RestShop`) serves 40 members and 250 orders. The
workspace knows two WeCom contacts that are both the shop's member ``M0000001`` by one key
each: one has its phone, the other its unionid. The run queues that member (and, since no
contact is member M0000001, the buyer of its orders); matching the member to the contact with
the unionid gives it the member number and its orders.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import siyu
from siyu.storage.models import Order
from tests.connectors.rest_shop import RestShop

from .conftest import login_as, new_workspace, serve_console, shown_text, wait_until
from .test_connectors import fill_rest_form, shot

TOKEN = "tok-acceptance"
MEMBERS, ORDERS = 40, 250


def first_member_with_unionid(shop: RestShop) -> dict:
    return next(shop.member(j) for j in range(shop.n_members) if shop.member(j)["unionid"])


@pytest.fixture
def acceptance_console(tmp_path):
    with RestShop(ORDERS, MEMBERS, seed=5, token=TOKEN) as shop:
        member = first_member_with_unionid(shop)
        db = new_workspace(tmp_path / "acceptance.db")
        with siyu.open(str(db), load_entry_points=False) as ws:
            by_phone = ws.contacts.upsert("wmPhone", name="手机号客户",
                                          phone=member["phone"])[0].id
            by_union = ws.contacts.upsert("wmUnion", name="微信客户",
                                          unionid=member["unionid"])[0].id
        orders = [shop.order(i)["order_id"] for i in range(ORDERS)
                  if shop.order(i)["member_id"] == member["member_id"]]
        assert orders, "the chosen member has no orders in this shop"
        with serve_console(db) as running:
            yield running, shop, db, member, by_phone, by_union, orders


def test_configure_run_match_by_hand_and_see_the_orders_on_the_card(page,
                                                                       acceptance_console):
    console, shop, db, member, _by_phone, by_union, orders = acceptance_console
    page.set_viewport_size({"width": 1440, "height": 900})
    login_as(page, console, "operator")

    # 1. configure a REST connector from the console
    page.goto(f"{console.url}/connectors")
    page.locator(".siyu-connector-save button").wait_for(state="visible", timeout=60_000)
    fill_rest_form(page, shop.url, TOKEN, orders=[("member number", "member_id")],
                   members=[("name", "name"), ("phone", "phone"), ("UnionID", "unionid")])
    page.locator(".siyu-connector-save button").click()
    wait_until(lambda: "shop" in shown_text(page.locator(".siyu-connectors-table")),
               page=page, timeout=60)

    # 2. run it
    page.locator(".siyu-connectors-chosen select").select_option(label="shop")
    wait_until(lambda: "/page/members" in shown_text(page.locator(".siyu-connectors-details")),
               page=page, timeout=30)
    page.locator(".siyu-connectors-run button").click()
    wait_until(lambda: shown_text(page.locator(".siyu-connectors-runs")).count("finished") == 2,
               page=page, timeout=120)
    shot(page, "acceptance_run")

    # 3. match by hand the member siyu could not match by itself
    page.goto(f"{console.url}/identity-queue")
    queue = page.locator(".siyu-idqueue-table")
    wait_until(lambda: member["member_id"] in shown_text(queue), page=page, timeout=60)
    queue.locator(".tabulator-row", has_text="unclear which contact").first.click()
    page.locator(".siyu-idqueue-resolver").wait_for(state="visible", timeout=30_000)
    page.locator(".siyu-idqueue-contact select").select_option(label=f"微信客户 ({by_union})")
    page.locator(".siyu-idqueue-match button").click()
    wait_until(lambda: "by hand" in shown_text(page.locator(".siyu-idqueue-matches")),
               page=page, timeout=60)
    wait_until(lambda: member["member_id"] not in shown_text(queue), page=page, timeout=30)
    shot(page, "acceptance_matched")

    # 4. the member's orders are on the customer card
    page.goto(f"{console.url}/customer?contact={by_union}")
    # the member's name replaced the WeChat one: the member's fields were stored on it
    wait_until(lambda: member["name"] in shown_text(page.locator(".siyu-customer-title")),
               page=page, timeout=60)
    wait_until(lambda: orders[0] in shown_text(page.locator(".siyu-customer-orders")),
               page=page, timeout=30)
    shot(page, "acceptance_card")
    with siyu.open(str(db), load_entry_points=False) as ws, ws.engine.connect() as conn:
        mine = conn.execute(sa.select(Order.external_id).where(Order.contact_id == by_union)
                            ).scalars().all()
        assert sorted(mine) == sorted(orders)
        assert ws.contacts.get(by_union).member_id == member["member_id"]
