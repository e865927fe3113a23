"""The chat sidebar in real Chromium at a phone's width, as a shopping guide uses it beside a
chat: WeCom (the sandbox's simulated client) opens the page, OAuth signs the guide in, the
JS-SDK shim says who the chat is with, and the guide sends quick replies, tags the customer
and writes a note."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import siyu

from .conftest import screenshot, wait_until

SHOTS = Path("/tmp/shots")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ"
                       "GAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture
def sidebar_console(tmp_path):
    """A console in this process wired to a sandbox (zhangsan has three customers), with two
    quick replies and a tag to choose."""
    from siyu.apps.server import serve_in_background
    from siyu.plugins import quickreplies
    from siyu.plugins.wecom.config import save_config
    from siyu.plugins.wecom.sandbox.server import DEFAULT_AGENT_ID, Sandbox
    from siyu.plugins.wecom.sync import sync

    with Sandbox(seed=7) as sandbox:
        ws = siyu.open(f"sqlite:///{tmp_path / 'sidebar.db'}", load_entry_points=False)
        ws.set_language("zh_CN")
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url,
                    agent_id=str(DEFAULT_AGENT_ID))
        sync(ws)
        ws.staff.upsert("zhangsan", "张三")
        ws.tags.create("意向/高")
        quickreplies.add(ws, category="售后", title="退换货",
                         text="您好，七天内可无理由退换，运费我们承担。")
        quickreplies.add(ws, category="活动", title="双十二海报", image=PNG,
                         image_name="poster.png")
        with serve_in_background(ws, secret="s" * 40) as server:
            yield ws, sandbox, server.url.rstrip("/")
        ws.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"sidebar_{name}.png"), full_page=True)
    screenshot(page, name)


def test_a_guide_uses_the_sidebar_beside_a_chat(page, sidebar_console):
    ws, sandbox, url = sidebar_console
    from siyu.storage.models import Contact, ContactFollow, Staff

    with ws.engine.connect() as conn:
        customer = conn.execute(
            Contact.__table__.select().with_only_columns(Contact.__table__.c.external_userid)
            .join_from(Contact.__table__, ContactFollow.__table__,
                       ContactFollow.__table__.c.contact_id == Contact.__table__.c.id)
            .join(Staff.__table__, Staff.__table__.c.id == ContactFollow.__table__.c.staff_id)
            .where(Staff.__table__.c.userid == "zhangsan")
            .order_by(Contact.__table__.c.id)).scalars().first()
    name = ws.contacts.get(customer).name
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(sandbox.client.open_chat("zhangsan", customer, url=f"{url}/sidebar"))
    page.locator(".siyu-sidebar-profile h1").wait_for(state="visible")
    assert page.locator(".siyu-sidebar-profile h1").inner_text() == name
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "390_card")

    page.locator(".siyu-sidebar-reply button.send").first.click()
    wait_until(lambda: page.locator("#sidebar-status").inner_text() == "已发送到聊天。",
               page=page)
    page.locator("summary", has_text="活动").click()
    page.locator(".siyu-sidebar-reply", has_text="双十二海报").locator("button.send").click()
    wait_until(lambda: len(sandbox.client.sent) == 2, page=page)
    text, image = sandbox.client.sent
    assert (text.msgtype, text.external_userid, text.userid) == ("text", customer, "zhangsan")
    assert text.content == "您好，七天内可无理由退换，运费我们承担。"
    assert image.msgtype == "image" and image.media_id
    shot(page, "390_sent")

    page.locator(".siyu-sidebar-search").fill("退换")
    assert page.locator(".siyu-sidebar-reply", has_text="双十二海报").is_hidden()
    page.locator(".siyu-sidebar-search").fill("")

    page.locator(".siyu-sidebar-add-tag select").select_option("意向/高")
    page.locator(".siyu-sidebar-add-tag button").click()
    page.locator(".siyu-sidebar-tag", has_text="意向/高").wait_for(state="visible")
    page.locator(".siyu-sidebar-notes textarea").fill("只在周末联系，尺码 38")
    page.locator(".siyu-sidebar-notes button").click()
    page.locator(".siyu-sidebar-notes li", has_text="只在周末联系").wait_for(state="visible")
    assert page.locator("#sidebar-status").inner_text() == "备注已保存。"
    shot(page, "390_tagged")
    contact_id = ws.contacts.get(customer).id
    assert "意向/高" in ws.tags.of(contact_id)

    page.set_viewport_size({"width": 1440, "height": 900})
    shot(page, "1440_card")


def test_outside_a_single_chat_the_sidebar_says_where_to_open_it(page, sidebar_console):
    ws, sandbox, url = sidebar_console
    sandbox.client.sign_in("zhangsan")  # signed in, no chat open
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/sidebar")
    wait_until(lambda: "单个客户的聊天" in page.locator(".siyu-sidebar-finding").inner_text(),
               page=page)
    shot(page, "390_no_chat")
