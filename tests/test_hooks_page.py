"""The Hooks console page, driven through its Python object on both engines: a plugin whose
``on_contact_added`` raises leaves a delivery that waits in backoff, or (with
``MAX_ATTEMPTS`` at 1) one parked as failed."""

from __future__ import annotations

import html as stdlib_html
from datetime import timedelta

import pandas as pd
import panel as pn
import pytest
import sqlalchemy as sa
from bokeh.model import Model

import siyu
from siyu.apps.pages.hooks import HooksPage
from siyu.apps.safe import SafeNotificationArea
from siyu.core import dispatch
from siyu.core.errors import PermissionDenied
from siyu.core.permissions import Principal
from siyu.storage.models import HookDelivery
from siyu.storage.types import utcnow

ADMIN = Principal("root", "admin")
OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")
IMG = "<img src=x onerror=alert(1)>"


class Flaky:
    """A plugin whose ``on_contact_added`` raises ``error`` while ``failing`` is true."""

    def __init__(self, error: str = "boom"):
        self.error = error
        self.failing = True
        self.calls: list[str] = []

    @siyu.hookimpl
    def on_contact_added(self, ws, contact, via):
        self.calls.append(contact.external_userid)
        if self.failing:
            raise RuntimeError(self.error)


@pytest.fixture
def flaky():
    return Flaky()


@pytest.fixture
def hooks_ws(db_url, flaky):
    ws = siyu.open(db_url, plugins=[flaky], load_entry_points=False)
    yield ws
    ws.close()


@pytest.fixture
def failed(hooks_ws, flaky, monkeypatch):
    """The workspace with one delivery to ``flaky`` parked as failed (one attempt allowed)."""
    monkeypatch.setattr(dispatch, "MAX_ATTEMPTS", 1)
    # Added by a staff member without a state: the WeCom welcome is delivered too (done).
    hooks_ws.contacts.upsert("wm_1", via="staff")
    assert flaky.calls == ["wm_1"]
    return hooks_ws


def name_of(ws, plugin) -> str:
    return ws.pm.get_name(plugin)


def render(page):
    """Build the page's Bokeh model, as the server does for a browser session."""
    return pn.panel(page.__panel__()).get_root()


def row(page, delivery_id):
    """The deliveries table's row (as read, before formatting) for ``delivery_id``."""
    return page.rows.set_index("id").loc[delivery_id]


def shown_row(page, delivery_id):
    """The deliveries table's row as shown, by its "ID" column."""
    return page.table.value.set_index("ID").loc[str(delivery_id)]


def flaky_id(ws, plugin) -> int:
    ids = ws.hooks.df(plugin=name_of(ws, plugin))["id"].tolist()
    assert len(ids) == 1
    return int(ids[0])


# -- registration and permission ------------------------------------------------------------

def test_the_page_is_registered_after_jobs_with_jobs_manage(ws):
    pages = sorted(ws.pages().values(), key=lambda spec: spec.order)
    names = [spec.name for spec in pages]
    assert names[names.index("jobs") + 1] == "hooks"
    spec = ws.pages()["hooks"]
    assert (spec.title, spec.permission) == ("Hooks", "jobs.manage")
    page = spec.factory(ws.as_user(ADMIN))
    assert isinstance(page, HooksPage) and isinstance(render(page), Model)


def test_a_role_without_jobs_manage_is_refused(ws):
    with pytest.raises(PermissionDenied, match="ann"):
        HooksPage(ws.as_user(ANALYST))
    HooksPage(ws.as_user(OPERATOR))  # the operator manages jobs, and so hooks


def test_an_empty_workspace_says_so(ws):
    page = HooksPage(ws)
    assert page.table.value.empty and page.delivery.value is None
    assert page.retry_button.disabled and page.empty.visible and not page.summary.visible
    assert "does not run in this process" in page.dispatcher.object
    assert "No hook deliveries yet" in page.dispatcher.object


# -- what it shows --------------------------------------------------------------------------

def test_a_failed_delivery_is_listed_first_with_its_error(failed, flaky):
    page = HooksPage(failed.as_user(OPERATOR))
    render(page)
    plugin, failed_id = name_of(failed, flaky), flaky_id(failed, flaky)

    shown = row(page, failed_id)
    assert (shown["status"], shown["plugin"], shown["hook"]) == (
        "failed", plugin, "on_contact_added")
    assert shown["error"] == "RuntimeError: boom"
    assert shown["subject"] == "contact:1" and shown["attempts"] == 1
    assert pd.isna(shown["next_attempt"]) and pd.isna(shown["delivered_at"])
    cells = shown_row(page, failed_id)
    assert (cells["Status"], cells["Next attempt"], cells["Delivered at"]) == (
        "Failed", "—", "—")
    assert page.rows["status"].tolist() == ["failed"]  # default: failed and pending
    assert page.totals["failed"] == 1
    counts = page.summary.value.set_index(["Plugin", "Hook"])
    assert counts.loc[(plugin, "on_contact_added"), "Failed"] == "1"
    assert page.summary.value["Plugin"].iloc[0] == plugin  # most failures first
    assert page.delivery.value == failed_id and not page.retry_button.disabled
    assert "RuntimeError: boom" in page.detail.object


def test_the_filters_choose_status_and_plugin(failed, flaky):
    page = HooksPage(failed)
    everything = failed.hooks.df()
    page.status_filter.value = "all"
    statuses = page.rows["status"].tolist()
    assert statuses[0] == "failed" and len(statuses) == len(everything)
    assert statuses == sorted(statuses, key=["failed", "pending", "done"].index)
    page.status_filter.value = "done"
    assert set(page.table.value["Status"]) == {"Delivered"}
    page.status_filter.value = "all"
    plugin = name_of(failed, flaky)
    page.summary.selection = [page.summary_rows["plugin"].tolist().index(plugin)]
    assert page.source.value == f"{plugin}.on_contact_added"
    assert page.table.value["Plugin"].tolist() == [plugin]


def test_a_delivery_in_backoff_shows_its_error_and_next_attempt(hooks_ws, flaky):
    hooks_ws.contacts.upsert("wm_1")
    page = HooksPage(hooks_ws)
    shown = row(page, flaky_id(hooks_ws, flaky))
    assert shown["status"] == "pending" and shown["error"] == "RuntimeError: boom"
    assert not pd.isna(shown["next_attempt"])
    assert shown_row(page, flaky_id(hooks_ws, flaky))["Next attempt"] != "—"
    assert page.delivery.options == {}  # only failed ones are offered for a retry
    assert page.retry_button.disabled
    assert page.totals["pending"] == 1


# -- actions --------------------------------------------------------------------------------

def test_retry_redelivers_and_marks_it_done(failed, flaky, notes):
    page = HooksPage(failed.as_user(OPERATOR))
    failed_id = flaky_id(failed, flaky)
    flaky.failing = False
    page.table.selection = [page.rows["id"].tolist().index(failed_id)]
    assert page.delivery.value == failed_id

    page.retry_button.clicks += 1

    assert flaky.calls == ["wm_1", "wm_1"]
    plugin = name_of(failed, flaky)
    assert notes.messages("success") == [
        f"delivery {failed_id} ({plugin}.on_contact_added) delivered"]
    assert failed.hooks.df(plugin=plugin)["status"].tolist() == ["done"]
    assert page.table.value.empty and page.totals["failed"] == 0
    assert page.retry_button.disabled
    assert f"Delivery {failed_id}</b> · Delivered" in page.detail.object
    audit = failed.audit_log.df(action="hook.*")
    assert audit[["actor", "action", "target"]].values.tolist() == [
        ["amy", "hook.retry", str(failed_id)]]


def test_a_retry_that_fails_again_says_why(failed, flaky, notes):
    page = HooksPage(failed)
    failed_id = flaky_id(failed, flaky)
    flaky.error = "still broken"

    page.retry()

    plugin = name_of(failed, flaky)
    assert notes.messages("error") == [
        f"delivery {failed_id} ({plugin}.on_contact_added) failed again: "
        "RuntimeError: still broken"]
    assert row(page, failed_id)["error"] == "RuntimeError: still broken"
    assert row(page, failed_id)["status"] == "failed"


def test_retry_waits_for_the_dispatcher_thread(failed, flaky, notes):
    failed.hooks.start()
    page = HooksPage(failed)
    assert "runs in this process" in page.dispatcher.object
    flaky.failing = False

    page.retry()

    assert notes.messages("success")[0].endswith("on_contact_added) delivered")
    assert failed.hooks.df(plugin=name_of(failed, flaky))["status"].tolist() == ["done"]


def test_retry_without_a_failed_delivery_is_a_notification(ws, notes):
    HooksPage(ws).retry()
    assert notes.messages("error") == ["choose a failed delivery first"]


def test_deliver_due_now_runs_deliveries_that_came_due(hooks_ws, flaky, notes):
    hooks_ws.contacts.upsert("wm_1")
    waiting = flaky_id(hooks_ws, flaky)
    page = HooksPage(hooks_ws.as_user(OPERATOR))
    page.deliver()
    assert notes.messages("success") == ["no delivery was due"]

    with hooks_ws.engine.begin() as conn:  # its backoff ends
        conn.execute(sa.update(HookDelivery.__table__)
                     .where(HookDelivery.__table__.c.id == waiting)
                     .values(due_at=utcnow() - timedelta(seconds=1)))
    flaky.failing = False
    page.deliver_button.clicks += 1

    assert notes.messages("success")[-1] == "ran 1 due delivery"
    assert flaky.calls == ["wm_1", "wm_1"]
    assert page.table.value.empty and page.totals["pending"] == 0
    audit = hooks_ws.audit_log.df(action="hook.deliver")
    assert audit[["actor", "detail"]].values.tolist() == [["amy", {"ran": 1}]]


# -- escaping -------------------------------------------------------------------------------

@pytest.fixture
def hostile(db_url, monkeypatch):
    plugin = Flaky(IMG)
    monkeypatch.setattr(dispatch, "MAX_ATTEMPTS", 1)
    ws = siyu.open(db_url, plugins=[plugin], load_entry_points=False)
    ws.contacts.upsert("wm_1")
    yield ws, plugin
    ws.close()


def sent_texts(root: Model) -> list[str]:
    """The text of every HTML-rendered model of a page, as the browser gets it (Panel
    escapes pane text once for transport)."""
    return [stdlib_html.unescape(model.text) for model in root.references()
            if isinstance(getattr(model, "text", None), str)]


def test_a_hostile_plugin_error_is_shown_escaped(hostile, monkeypatch):
    ws, plugin = hostile
    area = SafeNotificationArea()
    monkeypatch.setattr(pn.state, "_notification", area)
    page = HooksPage(ws)
    failed_id = flaky_id(ws, plugin)

    texts = sent_texts(render(page))

    assert any("RuntimeError: &lt;img src=x onerror=alert(1)&gt;" in t for t in texts)
    assert not any("<img" in t for t in texts)
    # The table gets the text itself: Tabulator's formatters escape it in the browser.
    assert row(page, failed_id)["error"] == f"RuntimeError: {IMG}"

    page.retry()  # fails again; the notification is escaped
    assert [n.message for n in area.notifications] == [
        f"delivery {failed_id} ({name_of(ws, plugin)}.on_contact_added) failed again: "
        "RuntimeError: &lt;img src=x onerror=alert(1)&gt;"]


def test_a_long_error_is_cut_in_the_table_and_whole_in_the_detail(db_url, monkeypatch):
    plugin = Flaky("x" * 1500)
    monkeypatch.setattr(dispatch, "MAX_ATTEMPTS", 1)
    with siyu.open(db_url, plugins=[plugin], load_entry_points=False) as ws:
        ws.contacts.upsert("wm_1")
        page = HooksPage(ws)
        cell = row(page, flaky_id(ws, plugin))["error"]
        assert len(cell) == 200 and cell.endswith("…")
        assert "x" * 1500 in page.detail.object
