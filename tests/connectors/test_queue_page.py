"""The Customers to match page: the queue, matching by hand, dismissing, undoing."""

from __future__ import annotations

import pytest

import siyu
from siyu.core.permissions import Principal
from siyu.plugins import connectors
from siyu.plugins.connectors import identity
from siyu.plugins.connectors.queue_page import IdentityQueuePage

from .test_identity import MAPPING, SOURCE, _plugin


@pytest.fixture
def queued(tmp_path):
    SOURCE["members"], SOURCE["orders"] = [], []
    ws = siyu.open(f"sqlite:///{tmp_path / 'q.db'}", plugins=[_plugin()],
                   load_entry_points=False)
    connectors.add(ws, "crm", "memory", mapping=MAPPING, entities="members,orders")
    a = ws.contacts.upsert("wmA", name="陈静", phone="13800000001")[0].id
    b = ws.contacts.upsert("wmB", name="<b>林</b>", unionid="oU-1")[0].id
    SOURCE["members"] = [{"no": "M1", "name": "会员一", "mobile": "13800000001",
                          "unionid": "oU-1"}]
    SOURCE["orders"] = [{"order": "O1", "fen": 990, "at": "2026-11-01 10:00",
                         "member": "M9", "mobile": ""}]
    connectors.sync(ws, "crm", progress=False)
    yield ws, a, b
    ws.close()


def test_an_operator_matches_a_queued_member_and_undoes_it(queued):
    ws, a, b = queued
    page = IdentityQueuePage(ws.as_user(Principal("amy", "operator")))
    shown = page.queue_table.value
    assert len(shown) == 2 and page.queue_empty.visible is False
    conflict = page.items.index[page.items["reason"] == "conflict"][0]
    page.queue_table.selection = [int(conflict)]
    assert page.resolver.visible
    assert set(page.contact.options.values()) == {a, b}   # the two candidates
    assert "会员一" in page.chosen.object and "M1" in page.chosen.object
    page.contact.value = b
    page.resolve()
    assert len(page.items) == 1 and ws.contacts.get(b).member_id == "M1"
    assert page.matches["how"].tolist() == ["manual"]

    page.match_table.selection = [0]
    assert page.undo.disabled is False
    page.undo_match()
    assert ws.contacts.get(b).member_id is None
    assert len(page.items) == 2
    assert page.undo.disabled is True


def test_a_search_offers_contacts_and_an_item_can_be_dismissed(queued):
    ws, a, _b = queued
    page = IdentityQueuePage(ws.as_user(Principal("amy", "operator")))
    buyer = page.items.index[page.items["reason"] == "unmatched"][0]
    page.queue_table.selection = [int(buyer)]
    page.search.value = "陈静"
    page.find_contacts()
    assert list(page.contact.options.values()) == [a]
    page.dismiss_item()
    assert identity.queue(ws)["reason"].tolist() == ["conflict"]


def test_an_analyst_sees_the_queue_masked_and_cannot_match(queued):
    ws, _a, _b = queued
    page = IdentityQueuePage(ws.as_user(Principal("ann", "analyst")))
    assert "138****0001" in page.queue_table.value.to_string()
    page.queue_table.selection = [0]
    assert page.resolver.visible is False and page.undo.visible is False
