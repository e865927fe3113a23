"""Org sync: WeCom's departments and members become regions, stores and staff, on both engines,
against the sandbox over real HTTP."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.org_sync import (
    OrgSyncError,
    OrgSyncSettings,
    last_org_sync,
    load_org_settings,
    parse_skip,
    save_org_settings,
    sync_org,
)
from siyu.plugins.wecom.sandbox import Sandbox
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import Staff, Store


@pytest.fixture
def sandbox():
    with Sandbox(seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def org_ws(ws, sandbox):
    """``ws`` configured for the sandbox, whose seed is a chain: brand → 2 regions → 3
    stores."""
    save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret,
                base_url=sandbox.base_url)
    wecom(ws).reload()
    return ws


def stores(ws) -> dict[str, tuple[str, str]]:
    return {s.code: (s.name, s.region) for s in ws.stores.list()}


def staff(ws) -> dict[str, tuple[str, str | None, str]]:
    frame = ws.staff.df()
    return {row.userid: (row.name, row.store if isinstance(row.store, str) else None,
                         row.status) for row in frame.itertuples()}


def row_counts(ws) -> dict[str, int]:
    with ws.engine.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for name, table in (("store", Store.__table__), ("staff", Staff.__table__))}


def test_the_first_sync_creates_regions_stores_and_staff(org_ws):
    report = sync_org(org_ws)
    assert stores(org_ws) == {"wecom-4": ("上海南京西路店", "华东"),
                              "wecom-5": ("杭州湖滨银泰店", "华东"),
                              "wecom-6": ("深圳万象城店", "华南")}
    assert staff(org_ws) == {"zhangsan": ("张三", "wecom-4", "active"),
                             "lisi": ("李四", "wecom-4", "active"),
                             "zhaoliu": ("赵六", "wecom-4", "inactive"),  # not activated
                             "wangwu": ("王五", "wecom-5", "active"),
                             "sunqi": ("孙七", "wecom-6", "active")}
    assert (report.stores.created, report.staff.created) == (3, 5)
    assert report.regions == ["华东", "华南"] and report.problems == []
    at, counts = last_org_sync(org_ws)
    assert at is not None and counts["staff"]["created"] == 5


def test_a_second_sync_changes_nothing(org_ws):
    sync_org(org_ws)
    report = sync_org(org_ws)
    assert (report.stores.created, report.stores.updated, report.stores.unchanged) == (0, 0, 3)
    assert (report.staff.created, report.staff.updated, report.staff.unchanged,
            report.staff.departed) == (0, 0, 5, 0)


def test_a_member_moved_in_wecom_changes_store(org_ws, sandbox):
    sync_org(org_ws)
    sandbox.world.move_staff("lisi", 6)
    report = sync_org(org_ws)
    assert staff(org_ws)["lisi"] == ("李四", "wecom-6", "active")
    assert report.staff.updated == 1 and report.staff.unchanged == 4


def test_a_member_removed_in_wecom_is_marked_departed_not_deleted(org_ws, sandbox):
    sync_org(org_ws)
    sandbox.people.staff_resigns("wangwu")
    report = sync_org(org_ws)
    assert staff(org_ws)["wangwu"] == ("王五", "wecom-5", "resigned")
    assert report.staff.departed == 1
    assert sync_org(org_ws).staff.departed == 0  # once


def test_departed_members_stay_when_the_setting_says_so(org_ws, sandbox):
    sync_org(org_ws)
    sandbox.people.staff_resigns("wangwu")
    sync_org(org_ws, OrgSyncSettings(mark_departed=False))
    assert staff(org_ws)["wangwu"][2] == "active"


def test_staff_added_by_hand_are_not_marked_departed(org_ws):
    org_ws.staff.upsert("temp01", "临时促销员")
    sync_org(org_ws)
    assert staff(org_ws)["temp01"] == ("临时促销员", None, "active")


def test_a_renamed_department_renames_its_store_and_keeps_its_code(org_ws, sandbox):
    sync_org(org_ws)
    sandbox.world.departments[5].name = "杭州湖滨银泰in77店"
    report = sync_org(org_ws)
    assert stores(org_ws)["wecom-5"] == ("杭州湖滨银泰in77店", "华东")
    assert report.stores.updated == 1


def test_a_store_with_the_same_name_is_taken_over(org_ws):
    org_ws.stores.upsert("SH001", "上海南京西路店", region="华东", city="上海")
    sync_org(org_ws)
    assert stores(org_ws)["SH001"] == ("上海南京西路店", "华东")
    assert "wecom-4" not in stores(org_ws)
    assert staff(org_ws)["zhangsan"][1] == "SH001"


def test_a_store_level_deeper_than_the_tree_is_a_clear_error_and_writes_nothing(org_ws):
    before = row_counts(org_ws)
    with pytest.raises(OrgSyncError, match="no department is at store level 5.*3 levels deep"):
        sync_org(org_ws, OrgSyncSettings(store_level=5, region_level=2))
    assert row_counts(org_ws) == before
    assert last_org_sync(org_ws) == (None, {})


@pytest.mark.parametrize(("settings", "words"), [
    (OrgSyncSettings(store_level=0), "store level 0"),
    (OrgSyncSettings(store_level=3, region_level=3), "region level 3"),
    (OrgSyncSettings(store_level=2, region_level=-1), "region level -1"),
])
def test_bad_levels_are_refused_before_wecom_is_asked(org_ws, sandbox, settings, words):
    calls = len(sandbox.world.tokens)
    with pytest.raises(ValidationError, match=words):
        sync_org(org_ws, settings)
    assert len(sandbox.world.tokens) == calls
    assert row_counts(org_ws) == {"store": 0, "staff": 0}


def test_skipped_departments_and_their_members_are_left_out(org_ws):
    report = sync_org(org_ws, OrgSyncSettings(skip=(3,)))
    assert set(stores(org_ws)) == {"wecom-4", "wecom-5"}
    assert "sunqi" not in staff(org_ws) and report.regions == ["华东"]


def test_members_above_store_level_have_no_store(org_ws, sandbox):
    sandbox.world.move_staff("sunqi", 3)  # the region's own staff
    sync_org(org_ws)
    assert staff(org_ws)["sunqi"] == ("孙七", None, "active")


def test_departments_outside_the_visible_range_are_reported(org_ws, sandbox):
    sandbox.world.visible_departments = {2, 6}
    report = sync_org(org_ws)
    assert set(stores(org_ws)) == {"wecom-4", "wecom-5"}
    assert [p.id for p in report.problems] == ["6"]  # its level is unknown: 3 is not visible
    assert "visible range" in str(report.problems[0])
    sandbox.world.visible_departments = {6}
    with pytest.raises(OrgSyncError, match="visible range"):
        sync_org(org_ws)


def test_settings_are_saved_by_admins_only(org_ws):
    saved = save_org_settings(org_ws, store_level=4, region_level=2, skip="12, 15",
                              mark_departed=False)
    assert load_org_settings(org_ws) == saved == OrgSyncSettings(4, 2, (12, 15), False)
    with pytest.raises(ValidationError, match="'x'"):
        save_org_settings(org_ws, skip="12, x")
    assert load_org_settings(org_ws).skip == (12, 15)
    operator = org_ws.as_user(Principal("op", "operator"))
    with pytest.raises(Exception, match="settings"):
        save_org_settings(operator, store_level=3)
    assert load_org_settings(org_ws).store_level == 4


def test_parse_skip_accepts_commas_and_spaces():
    assert parse_skip("12, 15 ，18 12") == (12, 15, 18)
    assert parse_skip("") == ()


def test_the_console_section_runs_for_operators_but_only_admins_change_settings(org_ws):
    from siyu.plugins.wecom.pages import WeComSyncPage

    admin = WeComSyncPage(org_ws).org
    assert admin.save.visible and not admin.store_level.disabled
    admin.store_level.value, admin.skip.value = 3, "3"
    admin._save()
    assert load_org_settings(org_ws).skip == (3,)
    operator = WeComSyncPage(org_ws.as_user(Principal("op", "operator"))).org
    assert not operator.save.visible and operator.store_level.disabled
    report = operator._sync("en")
    operator.show(report)
    assert report.stores.created == 2 and "2 new" in operator.status.object
