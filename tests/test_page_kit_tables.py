"""Paged tables made by the page kit word their page buttons in the reader's language.

Tabulator's own words are English; a paged table without the kit's ``pager_words`` showed
"First / Prev / Next / Last" on a Chinese page (the customer-transfer tables did).
"""

import pytest

from siyu.apps.kit import Col, data_table
from siyu.apps.pages.common import table
from siyu.core.i18n import use_language

COLUMNS = [Col("name", "Name")]


def configuration(widget):
    """The Tabulator configuration the browser is given for ``widget``."""
    return widget.get_root().configuration


def paged_tables():
    return [data_table(COLUMNS, css_class="t", pagination="remote", page_size=20),
            data_table(COLUMNS, css_class="t", pagination="local", page_size=20),
            table(css_class="t", pagination="remote", page_size=20)]


@pytest.mark.parametrize("language, previous", [("zh_CN", "上一页"), ("en", "Previous")])
def test_a_paged_kit_table_words_its_page_buttons_in_the_readers_language(language, previous):
    with use_language(language):
        for widget in paged_tables():
            given = configuration(widget)
            words = given["langs"][given["locale"]]["pagination"]
            assert words["prev"] == previous
            assert words["counter"]["showing"] in ("显示", "Showing")


def test_an_unpaged_kit_table_carries_no_pager_words():
    assert "langs" not in configuration(data_table(COLUMNS, css_class="t"))
    assert "langs" not in configuration(table(css_class="t"))


def test_a_page_may_still_give_its_own_tabulator_configuration():
    given = configuration(data_table(COLUMNS, css_class="t", pagination="remote",
                                     configuration={"locale": "x"}))
    assert given["locale"] == "x" and "langs" not in given
