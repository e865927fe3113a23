"""Fixes found by the browser tests on the live-code pages, each pinned by a test that failed
before its fix:

(a) a table first drawn empty showed the rows put in it later as ``NaN`` (text) and ``1.0``
(ids): Tabulator keeps the cell formatters of the first frame it is drawn with, and an empty
kit frame had number columns; (b) the QR code's place was a blank gap while no code was
chosen; (c) the report tables' page buttons had Tabulator's English titles and screen-reader
labels; (d) the report period's days were one range picker showing "… to …".
"""

import re
from pathlib import Path

import panel as pn
import pytest
import sqlalchemy as sa
from bokeh.models import NumberFormatter

from siyu.apps.kit import pager_words
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.livecodes import api, group_api
from siyu.plugins.livecodes.engine import CODES
from siyu.plugins.livecodes.group_pages import GroupCodesPage
from siyu.plugins.livecodes.pages import LiveCodesPage
from siyu.plugins.livecodes.report_pages import LiveCodeReportsPage

from .conftest import group_chats

OPERATOR = Principal("amy", "operator")
#: Every ``pagination`` word Tabulator 6 shows (``counter`` holds four more).
TABULATOR_PAGINATION = {"page_size", "page_title", "first", "first_title", "last",
                        "last_title", "prev", "prev_title", "next", "next_title", "all",
                        "counter"}
TABULATOR_COUNTER = {"showing", "of", "rows", "pages"}


def drawn(widget):
    """The Bokeh model of ``widget`` as a browser would first draw it now."""
    return widget.get_root()


def formatters(model) -> dict[str, str]:
    return {column.field: type(column.formatter).__name__ for column in model.columns}




# -- (a) tables first drawn empty ---------------------------------------------------------

def test_a_code_created_on_an_empty_page_shows_as_text_in_the_drawn_table(wired):
    wired.hire("t1", "t2")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    codes, preview = drawn(page.table), drawn(page.preview)  # no codes yet, none chosen
    page.code_name.value = "空表新码"
    page.members.value = ["t1", "t2"]
    page.create()
    assert list(codes.source.data["Name"]) == ["空表新码"]
    assert list(codes.source.data["ID"]) == [str(page.code.value)]
    assert not [field for field, kind in formatters(codes).items()
                if kind == NumberFormatter.__name__]  # which would show NaN and 1.0
    assert formatters(preview)["Staff"] != NumberFormatter.__name__
    assert sorted(preview.source.data["Staff"]) == ["员工t1", "员工t2"]


def test_a_table_without_rows_is_taken_out_of_the_page_not_hidden(wired):
    """A Tabulator drawn hidden never draws the rows it gets later (nor its headers)."""
    wired.hire("t4")
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    spots = (page.codes_spot, page.preview_spot, page.arrivals_spot)
    assert [spot.holder.objects for spot in spots] == [
        [page.no_codes], [page.no_preview], [page.no_arrivals]]
    page.code_name.value = "换表"
    page.members.value = ["t4"]
    page.create()
    assert [spot.holder.objects for spot in spots] == [
        [page.table], [page.preview], [page.no_arrivals]]
    assert page.table.visible and not page.no_codes.visible
    page.code.value = None
    assert page.preview_spot.holder.objects == [page.no_preview]


def test_a_group_code_table_first_drawn_empty_shows_text(wired):
    chats = group_chats(wired, "空表群")
    page = GroupCodesPage(wired.ws.as_user(OPERATOR))
    codes, groups = drawn(page.table), drawn(page.groups)
    page.code_name.value = "空表群码"
    page.chats.value = chats
    page.create()
    assert list(codes.source.data["Name"]) == ["空表群码"]
    assert formatters(codes)["Name"] == formatters(groups)["Group"] == "StringFormatter"
    assert list(groups.source.data["Group"]) == ["空表群"]


def test_a_report_table_first_drawn_empty_shows_text_once_there_are_codes(wired):
    page = LiveCodeReportsPage(wired.ws)  # no live codes yet: every report is empty
    tables = {tab: drawn(table) for tab, table in page.tables.items()}
    code = api.create_code(wired.ws, "报表新码", wired.hire("t3"), welcome={"text": "你好"})
    wired.scan(code["config_id"])
    page.period.value = 0
    assert list(tables["code"].source.data["Code"]) == ["报表新码"]
    assert list(tables["staff"].source.data["Staff ID"]) == ["t3"]
    for model in tables.values():
        assert NumberFormatter.__name__ not in formatters(model).values()


# -- (b) the QR code's place says what to do ------------------------------------------------

def test_the_qr_code_says_to_choose_a_live_code_when_none_is(wired):
    page = LiveCodesPage(wired.ws.as_user(OPERATOR))
    assert page.no_qr.visible and not page.qr.visible
    assert not page.png_download.visible and not page.svg_download.visible
    assert "Choose a live code above to see its QR code." in page.no_qr.object
    with use_language("zh_CN"):
        assert "查看它的二维码" in LiveCodesPage(wired.ws).no_qr.object
    code = api.create_code(wired.ws, "有码", wired.hire("q1"))
    page.refresh()
    assert page.code.value == code["id"]
    assert page.qr.visible and page.qr.object and not page.no_qr.visible
    assert page.png_download.visible and page.svg_download.visible


def test_a_live_code_wecom_has_not_confirmed_says_why_it_has_no_qr(wired):
    code = api.create_code(wired.ws, "无码", wired.hire("q2"))
    with wired.ws.engine.begin() as conn:
        conn.execute(sa.update(CODES).where(CODES.c.id == code["id"]).values(qr_url=""))
    page = LiveCodesPage(wired.ws)
    assert page.code.value == code["id"]
    assert page.no_qr.visible and not page.qr.visible and not page.png_download.visible
    assert "WeCom has not confirmed this code yet" in page.no_qr.object


def test_the_qr_code_says_to_choose_a_group_code_when_none_is(wired):
    page = GroupCodesPage(wired.ws.as_user(OPERATOR))
    assert page.no_qr.visible and not page.qr.visible and not page.png_download.visible
    assert "Choose a group code above to see its QR code." in page.no_qr.object
    assert "Choose a group code above" in page.invited.object  # no blank gap there either
    code = group_api.create_group_code(wired.ws, "有码群", group_chats(wired, "码群"))
    page.refresh()
    assert page.code.value == code["id"]
    assert page.qr.visible and not page.no_qr.visible and page.png_download.visible
    with use_language("zh_CN"):
        page = GroupCodesPage(wired.ws)
        page.code.value = None
        assert page.no_qr.visible and "在上方选择一个群活码，查看它的二维码" in page.no_qr.object


# -- (c) the report tables' page buttons ----------------------------------------------------

def tabulator_defaults() -> dict[str, set[str]] | None:
    """The ``pagination`` words of the Tabulator that Panel ships (``None`` when its bundle
    is not installed)."""
    from panel.models.tabulator import TABULATOR_VERSION

    bundle = (Path(pn.__file__).parent / "dist" / "bundled" / "datatabulator"
              / f"tabulator-tables@{TABULATOR_VERSION}" / "dist" / "js" / "tabulator.min.js")
    if not bundle.is_file():
        return None
    found = re.search(r"pagination:\{(page_size:.*?counter:\{(.*?)\})\}",
                      bundle.read_text(encoding="utf-8"))
    assert found, "Tabulator's default pagination words moved"
    outer = re.sub(r"counter:\{.*?\}", "counter:0", found.group(1))
    return {"pagination": set(re.findall(r"(\w+):", outer)),
            "counter": set(re.findall(r"(\w+):", found.group(2)))}


def test_the_pager_words_cover_every_word_tabulator_shows():
    words = pager_words()["langs"][pager_words()["locale"]]["pagination"]
    assert set(words) == TABULATOR_PAGINATION
    assert set(words["counter"]) == TABULATOR_COUNTER
    shipped = tabulator_defaults()
    if shipped is None:
        pytest.skip("Panel's Tabulator bundle is not installed")
    assert shipped == {"pagination": TABULATOR_PAGINATION, "counter": TABULATOR_COUNTER}


def test_the_report_tables_page_buttons_follow_the_language(wired):
    with use_language("zh_CN"):
        chinese = LiveCodeReportsPage(wired.ws)
    english = LiveCodeReportsPage(wired.ws)
    for tab in ("code", "channel", "staff"):
        config = drawn(chinese.tables[tab]).configuration  # what the browser is given
        assert config["locale"] == "zh-cn"
        words = config["langs"]["zh-cn"]["pagination"]
        assert (words["first"], words["prev"], words["next"], words["last"]) == (
            "首页", "上一页", "下一页", "末页")
        texts = [v for k, v in words.items() if k != "counter"] + [*words["counter"].values()]
        assert not [t for t in texts if re.search(r"[A-Za-z]", t)], texts
        assert drawn(english.tables[tab]).configuration["langs"]["en"]["pagination"][
            "page_title"] == "Show page"
    assert chinese.tables["code"].pagination == "local"


# -- (d) the report period's days -------------------------------------------------------------

def test_the_custom_period_is_a_start_and_an_end_date_in_chinese(wired):
    with use_language("zh_CN"):
        page = LiveCodeReportsPage(wired.ws)
    assert (page.first_day.name, page.last_day.name) == ("开始日期", "结束日期")
    assert page.days.objects == [page.first_day, page.last_day]
    with use_language("zh_CN"):
        pn.panel(page.__panel__()).get_root()
