"""Live-code reports against the sandbox, on SQLite and PostgreSQL: customers scan codes,
delete the member, come back and order; the reports count each exactly."""

import io
import math
import unicodedata
from datetime import datetime, time, timedelta

import pandas as pd
import panel as pn
import pytest
import sqlalchemy as sa
from bokeh.model import Model

from siyu.cli import main
from siyu.core.errors import NotFound, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.livecodes import api, reports
from siyu.plugins.livecodes.models import LiveCodeAdd
from siyu.plugins.livecodes.report_pages import LiveCodeReportsPage
from siyu.plugins.wecom.sandbox.testing import wait_until
from siyu.storage.models import Contact, Event
from siyu.storage.types import utcnow

ANALYST = Principal("ann", "analyst")
WELCOME = {"text": "你好"}


# -- what customers do -----------------------------------------------------------------------

def leave(wired, outcome):
    """The customer deletes the member; returns once the removal is applied."""
    wired.sandbox.people.customer_deletes_staff(outcome.external_userid, outcome.userid)
    wait_until(lambda: wired.ws.contacts.get(outcome.external_userid).removed_at is not None
               and wired.settled())


def come_back(wired, code, outcome):
    """A customer who deleted the member scans the code again. WeCom tells two adds of one
    customer apart by their second, so the sandbox clock moves on by one first."""
    wired.sandbox.clock.advance(1)
    before = wired.handled()
    wired.sandbox.people.scan_contact_way(code["config_id"], outcome.external_userid)
    wait_until(lambda: wired.handled() > before and wired.settled())


def add_events(wired, state):
    with wired.ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Event).where(
            Event.kind == "contact.added", Event.payload["state"].as_string() == state)).scalar()


def move(wired, outcome, *, added=None, removed=None):
    """Move a customer's arrival (``added``) and removal (``removed``) to other times, as
    if they had happened then."""
    contact = wired.ws.contacts.get(outcome.external_userid)
    with wired.ws.engine.begin() as conn:
        if added is not None:
            conn.execute(sa.update(LiveCodeAdd).where(LiveCodeAdd.contact_id == contact.id)
                         .values(at=added))
            conn.execute(sa.update(Contact).where(Contact.id == contact.id)
                         .values(added_at=added))
            conn.execute(sa.update(Event).where(Event.contact_id == contact.id,
                                                Event.kind == "contact.added")
                         .values(occurred_at=added))
        if removed is not None:
            conn.execute(sa.update(Contact).where(Contact.id == contact.id)
                         .values(removed_at=removed))
            conn.execute(sa.update(Event).where(Event.contact_id == contact.id,
                                                Event.kind == "contact.removed")
                         .values(occurred_at=removed))


def width(text):
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def row(frame, column, value):
    found = frame[frame[column] == value]
    assert len(found) == 1, f"{column}={value!r}: {len(found)} rows"
    return found.iloc[0]


@pytest.fixture
def shop(wired):
    """Three codes over two channels: 海报A (3 customers, one leaves, one orders), 海报B
    (1 customer), 门店 (2 customers: one ordered before adding, one cancelled)."""
    ws = wired.ws
    ws.stores.upsert("SH001", "上海店")
    staff = wired.hire("s1", "s2")
    poster_a = api.create_code(ws, "海报A", staff, channel="poster", store="SH001",
                               welcome=WELCOME)
    poster_b = api.create_code(ws, "海报B", staff[:1], channel="poster")
    store = api.create_code(ws, "门店", staff[1:], channel="门店", welcome=WELCOME)
    a = [wired.scan(poster_a["config_id"]) for _ in range(3)]
    wired.scan(poster_b["config_id"])
    c = [wired.scan(store["config_id"]) for _ in range(2)]
    leave(wired, a[0])
    now = utcnow()
    ws.orders.add("A-1", amount_fen=9900, paid_at=now, contact=a[1].external_userid)
    ws.orders.add("A-2", amount_fen=100, paid_at=now, contact=a[1].external_userid)
    ws.orders.add("C-1", amount_fen=500, paid_at=now - timedelta(days=1),
                  contact=c[0].external_userid)
    ws.orders.add("C-2", amount_fen=500, paid_at=now, contact=c[1].external_userid,
                  status="cancelled")
    return {"a": poster_a, "b": poster_b, "store": store}


# -- per code ---------------------------------------------------------------------------------

def test_each_code_counts_adds_removals_net_growth_and_first_orders(wired, shop):
    frame = reports.code_report(wired.ws)
    assert list(frame.columns) == reports.CODE_COLUMNS
    assert frame["code"].tolist() == ["海报A", "海报B", "门店"]
    a = row(frame, "code", "海报A")
    assert (a.state, a.channel, a.store, a.status) == (shop["a"]["state"], "poster", "SH001",
                                                     "active")
    assert (a.arrivals, a.adds, a.new_contacts, a.removals, a.net_growth, a.converted) == (
        3, 3, 3, 1, 2, 1)
    assert a.conversion == pytest.approx(1 / 3)
    assert a.welcome_p50_ms >= 0 and a.welcome_p99_ms >= a.welcome_p50_ms
    b = row(frame, "code", "海报B")
    assert (b.adds, b.removals, b.net_growth, b.converted, b.store) == (1, 0, 1, 0, "")
    assert math.isnan(b.welcome_p50_ms)  # no welcome message: nothing sent to time
    store = row(frame, "code", "门店")
    # one order was paid the day before the add, the other was cancelled
    assert (store.adds, store.converted, store.conversion) == (2, 0, 0.0)


def test_retention_counts_only_adds_old_enough(wired):
    code = api.create_code(wired.ws, "留存", wired.hire("r1"))
    # the fourth customer, added now, counts in adds but in no retention yet
    old_kept, old_left, young_left, _ = [wired.scan(code["config_id"]) for _ in range(4)]
    leave(wired, old_left)
    leave(wired, young_left)
    now = utcnow()
    move(wired, old_kept, added=now - timedelta(days=8))
    move(wired, old_left, added=now - timedelta(days=8), removed=now - timedelta(days=5))
    move(wired, young_left, added=now - timedelta(days=2),
         removed=now - timedelta(days=2) + timedelta(hours=12))
    got = reports.code_report(wired.ws, code["id"]).iloc[0]
    assert (got.adds, got.removals, got.net_growth) == (4, 2, 2)
    # 1 day: three adds are old enough; the one who left after 12 hours is gone
    assert got.retention_1d == pytest.approx(2 / 3)
    # 7 days: two adds are old enough; one left after 3 days
    assert got.retention_7d == pytest.approx(1 / 2)
    assert math.isnan(got.retention_30d)


def test_a_returning_customer_is_an_add_but_not_a_new_contact(wired):
    code = api.create_code(wired.ws, "回流", wired.hire("b1"))
    first = wired.scan(code["config_id"])
    leave(wired, first)
    now = utcnow()
    move(wired, first, added=now - timedelta(days=3), removed=now - timedelta(days=1))
    come_back(wired, code, first)
    got = reports.code_report(wired.ws, code["id"]).iloc[0]
    assert (got.arrivals, got.adds, got.new_contacts, got.removals, got.net_growth) == (
        2, 2, 1, 1, 1)
    assert got.retention_1d == 1.0  # the first friendship lasted two days, then ended


def test_a_customer_of_another_member_is_an_arrival_not_an_add(wired):
    staff = wired.hire("o1", "o2")
    first = api.create_code(wired.ws, "一号", staff[:1])
    second = api.create_code(wired.ws, "二号", staff[1:])
    customer = wired.scan(first["config_id"])
    move(wired, customer, added=utcnow() - timedelta(days=1))
    wired.sandbox.people.scan_contact_way(second["config_id"], customer.external_userid)
    wait_until(lambda: add_events(wired, second["state"]) == 1 and wired.settled())
    frame = reports.code_report(wired.ws).set_index("code")
    assert frame.loc["二号", ["arrivals", "adds", "new_contacts"]].tolist() == [1, 0, 0]
    assert frame.loc["一号", ["arrivals", "adds"]].tolist() == [1, 1]
    assert math.isnan(frame.loc["二号", "conversion"])


def test_the_period_is_local_days_in_the_workspace_timezone(wired):
    code = api.create_code(wired.ws, "按天", wired.hire("d1"))
    late, early = wired.scan(code["config_id"]), wired.scan(code["config_id"])
    tz = wired.ws.timezone
    today = datetime.now(tz).date()
    midnight = datetime.combine(today, time(0), tzinfo=tz)
    move(wired, late, added=midnight - timedelta(minutes=1))  # yesterday, local time
    move(wired, early, added=midnight + timedelta(seconds=1))  # today, local time

    def counts(**period):
        got = reports.code_report(wired.ws, code["state"], **period).iloc[0]
        return got.arrivals, got.adds

    assert counts(since=today) == (1, 1)
    assert counts(until=today) == (1, 1)
    assert counts(since=today - timedelta(days=1), until=today + timedelta(days=1)) == (2, 2)
    assert counts(since=today + timedelta(days=1)) == (0, 0)
    assert counts(since=str(today - timedelta(days=1))) == (2, 2)


# -- per channel and per staff member ---------------------------------------------------------

def test_channels_add_up_their_codes(wired, shop):
    frame = reports.channel_report(wired.ws)
    assert list(frame.columns) == reports.CHANNEL_COLUMNS
    assert frame["channel"].tolist() == ["poster", "门店"]  # most adds first
    poster = row(frame, "channel", "poster")
    assert (poster.codes, poster.arrivals, poster.adds, poster.removals, poster.net_growth,
            poster.converted) == (2, 4, 4, 1, 3, 1)
    assert poster.conversion == pytest.approx(1 / 4)
    only = reports.channel_report(wired.ws, "门店")
    assert only[["channel", "codes", "adds", "converted"]].values.tolist() == [
        ["门店", 1, 2, 0]]


def test_staff_load_shows_todays_adds_against_the_cap_and_the_periods_removals(wired):
    wired.hire("s1", "s2", "bk")
    code = api.create_code(wired.ws, "负载", ["s1", {"userid": "s2", "daily_cap": 2}],
                           daily_cap=5, backup=["bk"])
    got = [wired.scan(code["config_id"]) for _ in range(3)]
    assert [o.userid for o in got] == ["s1", "s2", "s1"]
    leave(wired, got[0])
    frame = reports.staff_load(wired.ws)
    assert list(frame.columns) == reports.STAFF_COLUMNS
    assert frame["userid"].tolist() == ["bk", "s1", "s2"]
    s1, s2, bk = row(frame, "userid", "s1"), row(frame, "userid", "s2"), row(frame, "userid",
                                                                               "bk")
    assert (s1.staff, s1.role, s1.adds_today, s1.daily_cap, s1.adds, s1.removals,
            s1.net_growth) == ("员工s1", "member", 2, 5, 2, 1, 1)
    assert s1.cap_use == pytest.approx(0.4)
    assert (s2.adds_today, s2.daily_cap, s2.cap_use, s2.adds, s2.removals) == (1, 2, 0.5, 1, 0)
    assert (bk.role, bk.adds_today, bk.adds) == ("backup", 0, 0)
    assert pd.isna(bk.daily_cap) and math.isnan(bk.cap_use)
    tomorrow = datetime.now(wired.ws.timezone).date() + timedelta(days=1)
    later = reports.staff_load(wired.ws, since=tomorrow).set_index("userid")
    assert later["adds"].tolist() == [0, 0, 0]
    assert later["adds_today"].tolist() == [0, 2, 1]  # today is today, whatever the period
    api.update_code(wired.ws, code["id"], members=["s2"])
    former = row(reports.staff_load(wired.ws, code["id"]), "userid", "s1")
    assert (former.role, former.adds, former.adds_today) == ("former", 2, 2)


# -- arguments ---------------------------------------------------------------------------------

def test_bad_arguments_name_the_value_and_the_fix(ws):
    with pytest.raises(NotFound, match="no live code 'lc:nope'"):
        reports.code_report(ws, "lc:nope")
    with pytest.raises(NotFound, match="no live code 99"):
        reports.staff_load(ws, 99)
    with pytest.raises(NotFound, match="no live code has channel '抖音'"):
        reports.channel_report(ws, "抖音")
    with pytest.raises(ValidationError, match="starts on 2026-11-20 but ends before it"):
        reports.code_report(ws, since="2026-11-20", until="2026-11-10")
    with pytest.raises(ValidationError, match="ends before it"):
        reports.channel_report(ws, since="2026-11-20", until="2026-11-20")
    with pytest.raises(ValidationError, match="'last week' is not a date"):
        reports.staff_load(ws, since="last week")
    with pytest.raises(ValidationError, match="cannot report by 'store'"):
        reports.report(ws, "store")


def test_an_empty_workspace_has_empty_reports(ws):
    for by, columns in (("code", reports.CODE_COLUMNS), ("channel", reports.CHANNEL_COLUMNS),
                        ("staff", reports.STAFF_COLUMNS)):
        frame = reports.report(ws, by)
        assert frame.empty and list(frame.columns) == columns
        assert reports.report_text(frame) == "no live codes"


def test_the_notebook_door_has_the_reports(ws):
    assert api.code_report is reports.code_report
    assert {"code_report", "channel_report", "staff_load"} <= set(api.__all__)


# -- the CLI -----------------------------------------------------------------------------------

def test_the_cli_prints_an_aligned_table_and_writes_csv(wired, shop, capsys, tmp_path):
    url = wired.ws.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "livecode", "report", "--by", "channel"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["channel", "codes", "arrivals", "adds", "new_contacts",
                                    "removals"]
    poster = lines[1].split()
    assert poster[:8] == ["poster", "2", "4", "4", "4", "1", "3", "-"]  # no 1-day-old add
    assert "25.0%" in poster
    assert len({width(line) for line in lines}) == 1  # aligned, Chinese names included
    out = tmp_path / "codes.csv"
    assert main(["--db", url, "livecode", "report", "--csv", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"3 rows written to {out}"
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert frame["code"].tolist() == ["海报A", "海报B", "门店"]
    assert frame["net_growth"].tolist() == [2, 1, 2]
    assert main(["--db", url, "livecode", "report", "--by", "staff", "--since", "2026-11-20",
                 "--until", "2026-11-10"]) == 2
    assert "ends before it" in capsys.readouterr().err


# -- the console page ------------------------------------------------------------------------

def test_the_page_follows_the_live_code_and_group_code_pages(wired):
    pages = wired.ws.pages()
    spec = pages["livecode-reports"]
    assert (spec.title, spec.permission) == ("Live-code reports", "data.read")
    assert pages["livecodes"].order < pages["groupcodes"].order < spec.order
    page = spec.factory(wired.ws.as_user(ANALYST))
    assert isinstance(page, LiveCodeReportsPage)
    assert isinstance(pn.panel(page.__panel__()).get_root(), Model)


def test_the_page_shows_the_numbers_the_chart_and_downloads_csv(wired, shop):
    page = LiveCodeReportsPage(wired.ws.as_user(ANALYST))
    assert isinstance(pn.panel(page.__panel__()).get_root(), Model)
    codes = page.tables["code"].value
    assert codes["Code"].tolist() == ["海报A", "海报B", "门店"]
    assert row(codes, "Code", "海报A")[["Adds", "Removals", "Net growth"]].tolist() == [
        "3", "1", "2"]
    assert row(codes, "Code", "海报A")["Ordered"] == "33.3%"
    assert row(codes, "Code", "海报B")["Retained after 30 days"] == "—"
    assert page.tables["channel"].value["Channel"].tolist() == ["poster", "门店"]
    assert sorted(page.tables["staff"].value["Staff ID"]) == ["s1", "s1", "s2", "s2"]
    assert set(page.tables["staff"].value["Role"]) == {"Member"}
    assert page.totals == {"arrivals": 6, "adds": 6, "new_contacts": 6, "removals": 1,
                           "net_growth": 5, "converted": 1}
    assert "First orders" in page.kpis.object and "16.7% of adds" in page.kpis.object
    chart = page.chart.object
    labels = list(chart.y_range.factors)
    assert labels[-1] == f"{shop['a']['id']} · 海报A"  # most adds on top
    assert chart.renderers[0].data_source.data["net"][-1] == 2
    page.tabs.active = 1
    assert page.download.filename.startswith("livecode-report-channel-")
    frame = pd.read_csv(io.BytesIO(page.download.callback().getvalue()), encoding="utf-8-sig")
    assert frame["Channel"].tolist() == ["poster", "门店"]
    assert frame["Adds"].tolist() == [4, 2]
    assert page.download_xlsx.filename == page.download.filename.replace(".csv", ".xlsx")
    excel = pd.read_excel(page.download_xlsx.callback())
    assert excel["Channel"].tolist() == ["poster", "门店"]


def test_a_custom_period_reloads_the_numbers(wired, shop):
    page = LiveCodeReportsPage(wired.ws)
    today = datetime.now(wired.ws.timezone).date()
    page.period.value = 7  # a preset shows its days in the pickers, Custom starts from them
    assert (page.first_day.value, page.last_day.value) == (today - timedelta(days=6), today)
    page.period.value = -1
    assert not page.first_day.disabled and not page.last_day.disabled
    page.first_day.value = today - timedelta(days=10)
    page.last_day.value = today - timedelta(days=1)
    assert page.tables["code"].value["Adds"].tolist() == ["0", "0", "0"]
    assert page.totals["adds"] == 0
    assert page.no_data.visible and not page.chart.visible
    assert page.download.filename == (f"livecode-report-code-{today - timedelta(days=10)}"
                                      f"-to-{today - timedelta(days=1)}.csv")
    page.period.value = 0
    assert page.first_day.disabled and page.last_day.disabled and page.totals["adds"] == 6
    assert page.download.filename == "livecode-report-code-all-time.csv"


def test_a_custom_period_without_its_days_is_a_notification(wired, notes):
    page = LiveCodeReportsPage(wired.ws)
    page.period.value = -1
    page.first_day.value = None
    assert notes.messages("error") == ["pick the first and the last day of the period"]


def test_a_custom_period_ending_before_it_starts_is_a_notification(wired, notes):
    page = LiveCodeReportsPage(wired.ws)
    page.period.value = -1
    today = datetime.now(wired.ws.timezone).date()
    first, last = today - timedelta(days=5), today - timedelta(days=10)
    page.first_day.value = first
    page.last_day.value = last
    assert notes.messages("error") == [
        f"the period ends on {last}, before it starts on {first}"]
