"""The built-in pages speak Chinese: every string a user reads on them — labels, buttons,
placeholders, options, pane text, table headers, chart titles, axes and legends — is
translated when the page is built for a Chinese-speaking user (the default language).

Data (names, tag names, plugin and hook names, ids) is not translated: the seeded values
are allowed.
"""

from __future__ import annotations

import pytest
from ui_text import english_hits, english_words, visible_texts

import siyu
from siyu.core import dispatch
from siyu.core.i18n import use_language
from siyu.core.permissions import Principal

ADMIN = Principal("root", "admin")
PAGES = ["overview", "contacts", "tags", "jobs", "hooks", "plugins", "audit"]
#: Seeded data and identifiers a page shows as they are.
DATA = ["zhangsan", "lisi", "wangwu", "Broken.on_contact_added", "lc:spring", "contact:1",
        "RuntimeError: boom",
        # the Audit page's example filter is a pattern of action codes
        "tag.*", "user.add",
        # WeChat's own name for the id, as WeCom's documents write it in Chinese too
        "UnionID"]


class Broken:
    """A plugin whose ``on_contact_added`` fails, so the Hooks page has a failed delivery."""

    @siyu.hookimpl
    def on_contact_added(self, ws, contact, via):
        raise RuntimeError("boom")


@pytest.fixture
def world(db_url, monkeypatch):
    monkeypatch.setattr(dispatch, "MAX_ATTEMPTS", 1)
    with siyu.open(db_url, plugins=[Broken()], load_entry_points=False) as ws:
        ws.stores.upsert("SH001", "上海南京西路店", region="华东", city="上海")
        ws.staff.upsert("zhangsan", "张三", store="SH001")
        ws.staff.upsert("lisi", "李四", store="SH001")
        ws.contacts.upsert("wm001", name="客一", phone="13900000001", owner="zhangsan",
                           source_channel="抖音", added_at="2026-11-01T10:00")
        ws.contacts.upsert("wm002", name="客二", owner="lisi", notify=False)
        ws.tags.create("渠道/抖音")
        ws.tags.tag(["wm001"], ["渠道/抖音"])
        ws.orders.add("A1", amount_fen=1990, paid_at="2026-11-02T23:30", contact="wm001")
        ws.events.record("contact.added", dedupe_key="k1", contact_id=1, source="wecom",
                         occurred_at="2026-11-01T10:00",
                         payload={"userid": "zhangsan", "state": "lc:spring"})
        yield ws


def allowed(ws) -> list[str]:
    """Data the pages show untranslated: seeded values, and what other plugins register
    (job titles and names, plugin names)."""
    jobs = [part for name, spec in ws.jobs.items() for part in (name, str(spec.title))]
    plugins = [info.name for info in ws.pm.describe()]
    return [*DATA, *jobs, *plugins]


@pytest.mark.parametrize("name", PAGES)
def test_a_page_built_for_a_chinese_user_shows_no_english(world, name):
    ws = world.as_user(ADMIN)
    with use_language("zh_CN"):
        page = world.pages()[name].factory(ws)
        if name == "contacts":
            page.open_contact("wm001")  # the customer card, with follows, orders, journey
            assert page.card.showing
        texts = visible_texts(page)
    assert texts, "the walker found no text"
    hits = english_hits(texts, allow=allowed(world))
    assert not hits, "\n".join(f"{word!r} in {text!r}" for word, text in hits)


def test_the_walker_finds_english_where_there_is_some(world):
    """The check above can fail: the same pages in English are full of English words."""
    page = world.pages()["tags"].factory(world.as_user(ADMIN))
    words = english_words(visible_texts(page), allow=allowed(world))
    assert {"Tags", "Create", "Contacts"} <= set(words)


def test_page_titles_are_translated_when_shown(world):
    specs = world.pages()
    with use_language("zh_CN"):
        titles = {name: str(specs[name].title) for name in PAGES}
    assert titles == {"overview": "概览", "contacts": "客户", "tags": "标签",
                      "jobs": "定时任务", "hooks": "插件通知", "plugins": "插件",
                      "audit": "操作日志"}
    assert str(specs["audit"].title) == "Audit log"  # tests run in English
