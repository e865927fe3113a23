"""The Chat sidebar console page, built as the console builds it: the set-up steps with the
address, the guides signed in, signing one out, and the sandbox preview link."""

from __future__ import annotations

from ui_text import visible_texts

from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins.sidebar import sessions
from siyu.plugins.sidebar.pages import ChatSidebarPage

ADMIN, ANALYST = Principal("root", "admin"), Principal("ann", "analyst")


def test_the_page_lists_guides_and_an_admin_signs_one_out(sidebar_world, notes):
    world = sidebar_world
    world.open_chat("zhangsan", world.customers_of("zhangsan")[0])
    page = ChatSidebarPage(world.ws.as_user(ADMIN))
    assert list(page.table.value.iloc[:, 0]) == ["zhangsan"]
    assert "/sidebar" in page.setup.object
    assert page.preview is not None
    link = page.preview.objects[-1].objects[-1].object
    assert f"{world.sandbox.base_url}/client/chat?userid=" in link
    page.end_select.value = "zhangsan"
    page.end()
    assert sessions.listing(world.ws).empty
    assert page.table.visible is False or page.empty.visible
    assert "zhangsan" in notes.messages("success")[-1]


def test_an_analyst_reads_but_cannot_sign_guides_out(sidebar_world):
    world = sidebar_world
    world.open_chat("zhangsan", world.customers_of("zhangsan")[0])
    page = ChatSidebarPage(world.ws.as_user(ANALYST))
    assert page.end_button.disabled and page.end_select.disabled


def test_the_page_speaks_chinese(sidebar_world):
    with use_language("zh_CN"):
        page = ChatSidebarPage(sidebar_world.ws.as_user(ADMIN))
        texts = " ".join(visible_texts(page.__panel__()))
    assert "聊天工具栏" in texts and "配置到聊天工具栏" in texts
