"""The built-in console pages, driven through their Python objects on both engines."""

import pandas as pd
import panel as pn
import pytest
from bokeh.model import Model

import siyu
from siyu.apps.pages.audit import AuditPage
from siyu.apps.pages.contacts import ContactsPage
from siyu.apps.pages.jobs import JobsPage
from siyu.apps.pages.overview import OverviewPage
from siyu.apps.pages.plugins import PluginsPage
from siyu.apps.pages.tags import TagsPage
from siyu.core.errors import PermissionDenied
from siyu.core.permissions import Principal
from siyu.core.records import JobSpec, PageSpec
from siyu.plugins import default_pages

ADMIN = Principal("root", "admin")
OPERATOR = Principal("amy", "operator")
ANALYST = Principal("ann", "analyst")



def render(page):
    """Build the page's Bokeh model, as the server does for a browser session."""
    return pn.panel(page.__panel__()).get_root()


@pytest.fixture
def crowd(sample_world):
    """250 contacts: owners in turn, 30 tagged 渠道/抖音, channels 抖音 / 天猫."""
    ws = sample_world
    owners = ["zhangsan", "lisi", "wangwu"]
    for i in range(1, 251):
        ws.contacts.upsert(f"wm{i:03d}", name=f"客{i:03d}", phone=f"139{i:08d}",
                           owner=owners[i % 3], source_channel="抖音" if i <= 100 else "天猫",
                           added_at="2026-11-01T10:00", notify=False)
    ws.tags.create("渠道/抖音")
    ws.tags.tag([f"wm{i:03d}" for i in range(1, 31)], ["渠道/抖音"])
    return ws


# -- registration ---------------------------------------------------------------------------

def test_register_pages_declares_each_page_with_its_permission():
    specs = {spec.name: spec for spec in default_pages.register_pages(ws=None)}
    assert all(isinstance(spec, PageSpec) for spec in specs.values())
    assert {name: spec.permission for name, spec in specs.items()} == {
        "overview": "console.view", "contacts": "data.read", "tags": "data.read",
        "segments": "data.read", "jobs": "jobs.manage", "hooks": "jobs.manage",
        "plugins": "plugins.read", "audit": "audit.read"}
    assert [s.name for s in sorted(specs.values(), key=lambda s: s.order)] == [
        "overview", "contacts", "tags", "segments", "jobs", "hooks", "plugins", "audit"]
    assert specs["audit"].title == "Audit log"


@pytest.mark.parametrize("name", ["overview", "contacts", "tags", "segments", "jobs", "hooks",
                                  "plugins", "audit"])
def test_every_page_renders_for_an_admin(sample_world, name):
    page = sample_world.pages()[name].factory(sample_world.as_user(ADMIN))
    assert isinstance(page, pn.viewable.Viewer)
    assert isinstance(render(page), Model)


def test_each_factory_call_builds_fresh_widgets(sample_world):
    spec = sample_world.pages()["contacts"]
    first, second = spec.factory(sample_world), spec.factory(sample_world)
    assert first.table is not second.table and first.pager is not second.pager


@pytest.mark.parametrize("page", [JobsPage, AuditPage])
def test_a_page_refuses_a_role_without_its_permission(sample_world, page):
    with pytest.raises(PermissionDenied, match="ann"):
        page(sample_world.as_user(ANALYST))


# -- contacts -------------------------------------------------------------------------------

def test_contacts_pager_shows_one_page_and_the_total(crowd):
    page = ContactsPage(crowd)
    render(page)
    assert page.pager.indicator.object == "Page 1 of 5 · 250 contacts"
    assert page.rows["id"].tolist() == list(range(1, 51))
    assert page.table.value["ID"].tolist() == [str(i) for i in range(1, 51)]
    assert page.pager.previous.disabled and not page.pager.next.disabled
    page.pager.next.clicks += 1
    page.pager.go(3)
    assert page.pager.indicator.object == "Page 3 of 5 · 250 contacts"
    assert page.table.value["External user ID"].iloc[0] == "wm101"
    assert len(page.table.value) == 50 and page.rows["id"].iloc[0] == 101
    page.pager.go(99)
    assert page.pager.page == 5 and page.pager.next.disabled


def test_search_narrows_the_count_and_goes_back_to_page_one(crowd):
    page = ContactsPage(crowd)
    page.pager.go(4)
    page.search.value = "客24"
    assert page.pager.text == "Page 1 of 1 · 10 contacts"
    assert page.table.value["Customer name"].tolist() == [f"客{i}" for i in range(240, 250)]


def test_tag_owner_and_channel_filters_combine(crowd):
    page = ContactsPage(crowd)
    assert "渠道/抖音" in page.tag.values
    page.tag.value = "渠道/抖音"
    assert page.pager.text == "Page 1 of 1 · 30 contacts"
    page.owner.value = "zhangsan"
    assert page.pager.total == 10
    page.clear_filters()
    page.channel.value = "天猫"
    assert page.pager.text == "Page 1 of 3 · 150 contacts"


def test_phones_in_the_table_are_masked_for_an_operator(crowd):
    page = ContactsPage(crowd.as_user(OPERATOR))
    assert page.table.value["Phone"].iloc[0] == "139****0001"


def test_customer_card_masks_the_phone_for_an_operator(crowd):
    page = ContactsPage(crowd.as_user(OPERATOR))
    page.table.selection = [0]
    assert page.card.contact_id == 1
    assert "139****0001" in page.card.profile.object
    assert "13900000001" not in page.card.profile.object


def test_customer_card_shows_the_phone_to_an_admin(crowd):
    page = ContactsPage(crowd.as_user(ADMIN))
    page.open_contact("wm001")
    assert "13900000001" in page.card.profile.object


def test_customer_card_shows_tags_orders_and_journey(crowd):
    crowd.orders.add("A1", amount_fen=1990, paid_at="2026-11-02T23:30", contact="wm001")
    crowd.orders.add("A2", amount_fen=500, paid_at="2026-11-03T10:00", contact="wm001",
                     status="refunded")
    crowd.events.record("contact.added", dedupe_key="k1", contact_id=1,
                        occurred_at="2026-11-01T10:00", payload={"via": "lc:spring"})
    page = ContactsPage(crowd)
    page.open_input.value = "1"
    page.open_button.clicks += 1
    card = page.card
    assert "渠道/抖音" in card.tags.object
    assert card.orders.value["Order number"].tolist() == ["A1", "A2"]
    assert card.orders.value["Paid at"].iloc[0] == "2026-11-02 23:30"
    assert card.orders.value["Amount"].tolist() == ["¥19.90", "¥5.00"]
    assert card.orders.value["Status"].tolist() == ["Paid", "Refunded"]
    assert card.orders_summary.object == "2 orders · ¥19.90 paid"
    assert card.journey_lines == ["2026-11-01 10:00 · Added as a contact · Via: lc:spring"]
    assert "lc:spring" in card.timeline.object


def test_opening_an_unknown_contact_is_a_notification(crowd, notes):
    page = ContactsPage(crowd)
    page.open_contact("wm999")
    assert notes.messages("error") == ["unknown contact 'wm999'"]
    assert page.card.contact_id is None


# -- tags -----------------------------------------------------------------------------------

def test_creating_a_tag_from_the_tags_page(sample_world, notes):
    page = TagsPage(sample_world.as_user(OPERATOR))
    page.new_tag.value = "会员/金卡"
    page.create_button.clicks += 1
    assert "会员/金卡" in sample_world.tags.names()
    assert "会员/金卡" in page.tag_select.options
    assert notes.messages("success") == ["created tag 会员/金卡"]
    assert page.table.value["Tag"].tolist() == ["金卡"]
    assert page.table.value["Tag group"].tolist() == ["会员"]


def test_tagging_contacts_in_bulk_from_the_tags_page(crowd, notes):
    page = TagsPage(crowd)
    page.tag_select.value = "渠道/抖音"
    page.contacts_input.value = "wm001\nwm031\n\n32\nwm031\n"
    assert page.tag_contacts() == 2
    assert crowd.contacts.count(tag="渠道/抖音") == 32
    row = page.rows.set_index("name").loc["抖音"]
    assert row["contacts"] == 32
    assert page.table.value.set_index("Tag").loc["抖音", "Contacts"] == "32"
    assert notes.messages("success") == ["tagged 2 of 3 contacts with 渠道/抖音; 1 had it "
                                          "already"]


def test_an_unknown_contact_tags_nobody_and_says_which(crowd, notes):
    page = TagsPage(crowd)
    page.tag_select.value = "渠道/抖音"
    page.contacts_input.value = "wm040\nwm-nobody"
    page.tag_button.clicks += 1
    assert "wm-nobody" in notes.messages("error")[0]
    assert crowd.contacts.count(tag="渠道/抖音") == 30


def test_an_analyst_sees_tags_with_the_write_buttons_disabled(crowd):
    page = TagsPage(crowd.as_user(ANALYST))
    render(page)
    assert page.rows["contacts"].tolist() == [30]
    assert page.create_button.disabled and page.tag_button.disabled
    assert page.untag_button.disabled and page.new_tag.disabled


# -- jobs, plugins, audit, overview ---------------------------------------------------------

def tally(ws):
    return f"{ws.contacts.count()} contacts"


class Jobs:
    @siyu.hookimpl
    def register_jobs(self, ws):
        return [JobSpec("tally", tally, "interval", {"hours": 1}, "Count contacts")]


@pytest.fixture
def jobs_ws(db_url):
    ws = siyu.open(db_url, plugins=[Jobs()], load_entry_points=False)
    yield ws
    ws.close()


def job_row(page, name):
    """The Jobs page's row (as read) for job ``name``."""
    return page.rows.set_index("name").loc[name]


def test_run_now_from_the_jobs_page_records_and_audits(jobs_ws, notes):
    page = JobsPage(jobs_ws.as_user(OPERATOR))
    page.table.selection = [page.rows["name"].tolist().index("tally")]
    assert page.job.value == "tally"
    page.run_button.clicks += 1
    assert notes.messages("success") == ["job tally finished: 0 contacts"]
    assert job_row(page, "tally")["last_status"] == "ok"
    audit = jobs_ws.audit_log.df(action="job.*")
    assert audit[["actor", "action", "target"]].values.tolist() == [["amy", "job.run", "tally"]]


def test_pausing_without_a_running_scheduler_is_explained(jobs_ws, notes):
    page = JobsPage(jobs_ws)
    page.job.value = "tally"
    page.pause_button.clicks += 1
    assert "scheduler is not running" in notes.messages("error")[0]
    assert jobs_ws.audit_log.df(action="job.pause").empty


def test_pause_and_resume_with_the_scheduler_running(jobs_ws, notes):
    jobs_ws.scheduler.start()
    page = JobsPage(jobs_ws.as_user(ADMIN))
    page.job.value = "tally"
    page.pause()
    assert job_row(page, "tally")["paused"]
    page.resume()
    assert not job_row(page, "tally")["paused"]
    actions = jobs_ws.audit_log.df(action="job.*")["action"].tolist()
    assert actions == ["job.resume", "job.pause"]


def test_plugins_page_lists_plugins_and_their_hooks(ws):
    page = PluginsPage(ws)
    frame = page.rows.set_index("name")
    assert frame.loc["default_pages", "hooks"] == "register_pages"
    assert frame.loc["default_segments", "status"] == "loaded"
    shown = page.table.value.set_index("Plugin")
    assert shown.loc["default_pages", "Source"] == "built-in"


def test_audit_page_filters_and_pages(sample_world):
    ws = sample_world
    for i in range(7):
        ws.tags.create(f"批次/{i}")
    page = AuditPage(ws, page_size=3)
    page.action.value = "tag.create"
    assert page.table.value["Target"].tolist() == ["批次/6", "批次/5", "批次/4"]
    assert page.pager.text == "Page 1" and not page.pager.next.disabled
    page.pager.go(3)  # the total is unknown: one page at a time
    assert page.pager.page == 2
    page.pager.next.clicks += 1
    assert page.rows["target"].tolist() == ["批次/0"]
    assert page.pager.next.disabled
    page.actor.value = "nobody"
    assert page.pager.page == 1 and page.table.value.empty and page.rows.empty
    assert page.empty.visible and not page.table.visible


def test_overview_shows_the_reports(sample_world):
    ws = sample_world
    ws.contacts.upsert("wm1", source_channel="抖音")
    ws.orders.add("o1", amount_fen=12345, paid_at=pd.Timestamp.now(tz="UTC"), contact="wm1")
    page = OverviewPage(ws)
    render(page)
    assert page.kpis["contacts_active"] == 1
    assert page.kpis["added_today"] == 1
    assert page.kpis["revenue_30d_fen"] == 12345
    assert "¥123.45" in page.numbers.object
    assert 'siyu-kpi-contacts_active' in page.numbers.object
    assert len(page.contacts_daily) == 30 and page.contacts_daily["added"].sum() == 1
    page.period.value = 7
    assert len(page.orders_daily) == 7 and page.orders_daily["revenue_fen"].sum() == 12345
    assert page.channels_pane.object.y_range.factors == ["抖音"]
