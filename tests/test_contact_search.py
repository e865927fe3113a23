"""Contact search: masked phones stay masked, wildcards are literal, searches are audited and
rate-limited. Every test runs on SQLite and PostgreSQL."""

from datetime import timedelta

import pandas as pd
import panel as pn
import pytest

import siyu
import siyu.core.services.contacts as contacts_service
from siyu.apps.pages.contacts import ContactsPage
from siyu.core.errors import PermissionDenied, RateLimited
from siyu.core.permissions import Principal
from siyu.core.services.contacts import SEARCH_ACTION, SEARCHES_PER_MINUTE
from siyu.storage.models import AuditLog
from siyu.storage.types import utcnow

OPERATOR = Principal("otto", "operator")
ADMIN = Principal("root", "admin")


@pytest.fixture
def people(ws):
    """Two phones sharing the last four digits, names with LIKE wildcards in them."""
    ws.contacts.upsert("wm1", name="张三丰", phone="13800000001", notify=False)
    ws.contacts.upsert("wm2", name="李四", phone="13912340001", notify=False)
    ws.contacts.upsert("wm3", name="50%折扣", phone="13700005678", notify=False)
    ws.contacts.upsert("wm4", name="a_b", remark="老客户", notify=False)
    ws.contacts.upsert("wm5", name="axb", notify=False)
    return ws


def found(ws, search):
    """External user ids matching ``search``, in id order."""
    return ws.contacts.df(search=search, columns=["external_userid"])[
        "external_userid"].tolist()


def searches(ws, actor):
    """The ``contact.search`` audit rows written for ``actor``, oldest first."""
    log = ws.audit_log.df(action=SEARCH_ACTION, actor=actor, limit=None)
    return log.iloc[::-1].reset_index(drop=True)


# -- phones ---------------------------------------------------------------------------------

@pytest.mark.parametrize("term", ["13800000001", "+86 138-0000-0001", "1380000", "00000001",
                                  "138 0000 0001", "8613800000001"])
def test_an_operator_cannot_search_by_hidden_phone_digits(people, term):
    op = people.as_user(OPERATOR)
    with pytest.raises(PermissionDenied, match=r"last four digits.*138\*\*\*\*0001"):
        op.contacts.count(search=term)
    with pytest.raises(PermissionDenied, match="otto"):
        op.contacts.df(search=term)


def test_an_operator_finds_phones_by_last_four_or_masked_form(people):
    op = people.as_user(OPERATOR)
    assert found(op, "0001") == ["wm1", "wm2"]
    assert found(op, "****0001") == ["wm1", "wm2"]
    assert found(op, "138****0001") == ["wm1"]
    assert found(op, "+86 138-****-0001") == ["wm1"]
    assert op.contacts.count(search="139****0001") == 1
    # Four digits match the end of a phone only: "0000" sits in the hidden middle.
    assert found(op, "0000") == []
    frame = op.contacts.df(search="138****0001")
    assert frame["phone"].tolist() == ["138****0001"]


def test_an_operator_still_finds_names_remarks_and_external_ids(people):
    op = people.as_user(OPERATOR)
    assert found(op, "三丰") == ["wm1"]
    assert found(op, "老客") == ["wm4"]
    assert found(op, "wm3") == ["wm3"]
    assert found(op, "13") == []  # under four digits: not a phone search, and no error


def test_an_admin_searches_by_full_phone_or_any_digit_run(people):
    for ws in (people, people.as_user(ADMIN)):
        assert found(ws, "13800000001") == ["wm1"]
        assert found(ws, "+86 138 0000 0001") == ["wm1"]
        assert found(ws, "0000") == ["wm1", "wm3"]
        assert found(ws, "912340") == ["wm2"]
        assert found(ws, "138****0001") == ["wm1"]
    assert people.as_user(ADMIN).contacts.df(search="13800000001", reveal_pii=True)[
        "phone"].tolist() == ["13800000001"]


# -- wildcards ------------------------------------------------------------------------------

def test_like_wildcards_in_a_search_match_literally(people):
    for ws in (people, people.as_user(OPERATOR)):
        assert found(ws, "%") == ["wm3"]
        assert found(ws, "0%折") == ["wm3"]
        assert found(ws, "_") == ["wm4"]
        assert found(ws, "a_b") == ["wm4"]
        assert ws.contacts.count(search="%%") == 0
        assert ws.contacts.count(search="\\") == 0


@pytest.mark.parametrize("term", ["' OR 1=1 --", "%' OR '1'='1", "_%_", "%_", "\\%"])
def test_a_hostile_search_term_matches_nobody(people, term):
    for ws in (people, people.as_user(OPERATOR)):
        assert ws.contacts.count(search=term) == 0
    assert people.contacts.count() == 5  # and nothing was harmed


def test_audit_and_event_filters_keep_star_but_not_sql_wildcards(people):
    people.audit("contact_search", "x")
    log = people.audit_log.df(limit=None)
    assert set(people.audit_log.df(action="contact.*")["action"]) == {"contact.add"}
    assert people.audit_log.df(action="contact_search")["action"].tolist() == [
        "contact_search"]
    assert len(people.audit_log.df(action="%")) == 0
    assert len(people.audit_log.df(action="*")) == len(log)
    people.events.record("a_b", dedupe_key="e1")
    people.events.record("axb", dedupe_key="e2")
    assert people.events.df(kind="a_b")["kind"].tolist() == ["a_b"]
    assert sorted(people.events.df(kind="a*")["kind"]) == ["a_b", "axb"]


# -- audit and rate limit -------------------------------------------------------------------

def test_a_console_search_writes_an_audit_row_naming_the_user(people):
    people.contacts.count(search="张三")  # the local CLI/notebook user is not audited
    assert searches(people, "local").empty
    op = people.as_user(OPERATOR)
    op.contacts.count(search="  张三 ")
    op.contacts.df(search="0001")
    op.contacts.df()  # no term: not a search
    rows = searches(people, "otto")
    assert rows["detail"].tolist() == [{"term": "张三"}, {"term": "0001"}]
    assert set(rows["target"]) == {"contacts"}


def test_a_refused_phone_probe_is_audited_without_the_number(people):
    op = people.as_user(OPERATOR)
    with pytest.raises(PermissionDenied):
        op.contacts.count(search="13800000001")
    rows = searches(people, "otto")
    assert rows["detail"].tolist() == [{"term": "138****0001", "denied": True}]
    assert "13800000001" not in people.audit_log.df(limit=None).to_string()


def test_the_61st_search_in_a_minute_is_rate_limited(people, db_url):
    assert SEARCHES_PER_MINUTE == 60
    op = people.as_user(OPERATOR)
    for i in range(SEARCHES_PER_MINUTE):
        op.contacts.count(search=f"客{i}")
    with pytest.raises(RateLimited, match="too many contact searches.*try again") as info:
        op.contacts.df(search="0001")
    assert 0 < info.value.retry_after <= 60
    # Counted from the database: another process (a second workspace) sees the same budget.
    with siyu.open(db_url, load_entry_points=False) as other:
        with pytest.raises(RateLimited):
            other.as_user(OPERATOR).contacts.count(search="张")
    # Other users and searchless listings are not affected.
    assert people.as_user(Principal("amy", "operator")).contacts.count(search="张") == 1
    assert op.contacts.count() == 5
    assert len(searches(people, "otto")) == SEARCHES_PER_MINUTE


def test_searches_older_than_a_minute_do_not_count(people):
    old = utcnow() - timedelta(minutes=2)
    with people.session() as s:
        s.add_all(AuditLog(at=old, actor="otto", action=SEARCH_ACTION, target="contacts")
                  for _ in range(SEARCHES_PER_MINUTE))
    assert people.as_user(OPERATOR).contacts.count(search="张") == 1


# -- the console page -----------------------------------------------------------------------

def test_the_contacts_page_shows_a_refused_search_and_recovers(people, notes):
    page = ContactsPage(people.as_user(OPERATOR))
    page.search.value = "13800000001"
    assert any("last four digits" in m for m in notes.messages("error"))
    assert page.table.value.empty and page.pager.total == 0
    page.search.value = "138****0001"
    assert page.table.value["Phone"].tolist() == ["138****0001"]
    assert page.pager.text == "Page 1 of 1 · 1 contact"
    assert pn.panel(page.__panel__()).get_root() is not None


def test_paging_a_search_spends_one_search_per_page(people, notes, monkeypatch):
    monkeypatch.setattr(contacts_service, "SEARCHES_PER_MINUTE", 4)
    page = ContactsPage(people.as_user(OPERATOR), page_size=1)
    page.search.value = "0001"  # count + first page
    page.pager.go(2)  # second page: the count is reused
    assert page.table.value["External user ID"].tolist() == ["wm2"]
    assert len(searches(people, "otto")) == 3
    page.pager.go(1)
    assert len(searches(people, "otto")) == 4
    page.search.value = "李"
    assert any("too many contact searches" in m for m in notes.messages("error"))
    assert page.table.value.empty and isinstance(page.table.value, pd.DataFrame)
    assert page.pager.page == 1
