"""Hostile names in a real browser: every text the data can carry is shown as text, never run.

A workspace is seeded with names that are HTML, script and Markdown (tag groups and tags, a
store, staff, contacts, a live code and a group code, an audit entry, the last WeCom sync and
the workspace name itself). An admin then opens every registered page in Chromium and uses
the actions that echo names in notifications. Any ``alert()`` the payloads could reach opens a
dialog: the test records every dialog and fails on the first; it also checks that the hostile
names are shown literally. Screenshots go under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import siyu
from siyu.plugins.livecodes import api, group_api
from siyu.plugins.livecodes.models import LiveCode, LiveGroupCode

from .conftest import (
    Console,
    login_as,
    new_workspace,
    screenshot,
    serve_console,
    shown_text,
    visit,
    wait_until,
)

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
SVG = '"><svg onload=alert(3)>'
LINK = "[link](javascript:alert(4))"
MARKS = "**bold** _x_ {{7*7}}"
#: Runs only if it reaches HTML unescaped: sets a marker instead of opening a dialog.
MARKER = "<img src=y onerror=window.__xss=1>"

WORKSPACE = f"{IMG}{SVG} 店"
STORE = f"{IMG} 门店"
#: Tag parts cannot hold "/" (it separates group and name), so no <script>…</script> here.
TAG = f"{IMG}/{SVG}"
OTHER_TAG = f"{MARKS}/{LINK}"
NEW_TAG = f"{MARKS}/{MARKER}"
CONTACT = "wm-xss-1"
LIVE_CODE = f"{IMG} 活码"
GROUP_CODE = f"{SVG} 群码"
GROUP = f"{IMG} 群"
#: How long a page is given to run a payload after it is drawn (images fail at once).
SETTLE_MS = 600


def seed(ws: Any, sandbox: Any) -> None:
    """Put a hostile name in every place data can carry text."""
    ws.settings.set("name", WORKSPACE)
    ws.stores.upsert("S-XSS", STORE, city=SVG)
    ws.staff.upsert("zhangsan", IMG, store="S-XSS")
    ws.staff.upsert("lisi", f"{SVG}{MARKER}")
    for tag in (TAG, OTHER_TAG):
        ws.tags.create(tag)
    contacts = [(CONTACT, IMG, SVG, LINK, SCRIPT), ("wm-xss-2", MARKS, IMG, IMG, LINK),
                ("wm-xss-3", SVG, MARKS, MARKS, f"{IMG}{MARKER}"),
                ("wm-xss-4", SCRIPT, LINK, SVG, MARKS)]
    for external_userid, name, city, channel, remark in contacts:
        ws.contacts.upsert(external_userid, name=name, city=city, source_channel=channel,
                           remark=remark, owner="zhangsan", store="S-XSS")
    ws.tags.tag([CONTACT], [TAG, OTHER_TAG])
    ws.audit("xss.probe", IMG, {"note": SVG, "more": LINK})
    ws.settings.set("wecom.sync.last", {"at": IMG, "summary": f"{SVG} {LINK} {MARKS}"})

    code = api.create_code(ws, LIVE_CODE, ["zhangsan", "lisi"], channel=LINK,
                           tags=[f"{MARKS}/{IMG}"], welcome={"text": SCRIPT},
                           backup=["lisi"])
    with sandbox.world.lock:
        chat = sandbox.world.create_chat(GROUP, "zhangsan")
    group_api.reload_groups(ws)
    group = group_api.create_group_code(ws, GROUP_CODE, [chat.chat_id], room_base_name=MARKS)
    group_api.invite_to_group(ws, code["id"], group["id"])
    # Errors WeCom reported, as the checks store them: they quote names too.
    with ws.engine.begin() as conn:
        conn.execute(sa.update(LiveCode.__table__).values(last_error=f"{SVG} refused {LINK}"))
        conn.execute(sa.update(LiveGroupCode.__table__).values(
            warning=f"{GROUP} {IMG} is nearly full {MARKS}",
            last_error=f"{SVG}{MARKER} {LINK}"))


@pytest.fixture
def hostile_console(tmp_path) -> Iterator[tuple[Console, Any]]:
    """A console over the hostile workspace, wired to a WeCom sandbox (live and group codes
    are made in WeCom); ``(console, sandbox)``."""
    from siyu.plugins.wecom.config import save_config
    from siyu.plugins.wecom.sandbox.server import Sandbox

    with Sandbox(seed=7) as sandbox:
        db = new_workspace(tmp_path / "hostile.db")
        with siyu.open(str(db), load_entry_points=False) as ws:
            save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret,
                        token=sandbox.token, encoding_aes_key=sandbox.encoding_aes_key,
                        base_url=sandbox.base_url, welcome_text=SCRIPT)
            seed(ws, sandbox)
        with serve_console(db) as running:
            sandbox.set_callback_url(f"{running.url}/wecom/callback")
            yield running, sandbox


class Watch:
    """Every dialog the tab opened (dismissed at once) and the ``window.__xss`` marker."""

    def __init__(self, page: Any):
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{self.page.url}: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    def check(self, where: str) -> None:
        """Fail when a payload ran so far; ``where`` names the step."""
        __tracebackhide__ = True
        self.page.wait_for_timeout(SETTLE_MS)
        marker = self.page.evaluate("() => window.__xss === 1")
        assert not self.dialogs and not marker, (
            f"script ran at {where}: dialogs {self.dialogs}, window.__xss set: {marker}")


def notified(page: Any, text: str) -> None:
    """Wait until a notification shows ``text`` literally."""
    toasts = page.locator(".notyf__message")
    wait_until(lambda: any(text in t for t in toasts.all_inner_texts()), page=page)


def shows(page: Any, selector: str, *texts: str) -> None:
    """Wait until the element ``selector`` shows every one of ``texts`` literally."""
    def shown() -> bool:
        text = shown_text(page.locator(selector))
        missing = [t for t in texts if t not in text]
        assert not missing, f"{selector} does not show {missing}; it shows {text[:800]!r}"
        return True
    wait_until(shown, page=page)


@pytest.mark.slow
def test_hostile_names_are_shown_as_text_on_every_page(page, hostile_console):
    console, _sandbox = hostile_console
    with siyu.open(str(console.db)) as ws:  # the pages the server offers, plugins included
        pages = sorted(ws.pages().values(), key=lambda p: (p.order, p.name))
    watch = Watch(page)
    login_as(page, console, "admin")

    for spec in pages:
        visit(page, console, spec.name)
        watch.check(f"page {spec.name}")
        shows(page, ".siyu-user", WORKSPACE)
        assert WORKSPACE in page.locator("a.title").first.inner_text()

    visit(page, console, "contacts", ready=".siyu-contacts-table .tabulator-row")
    shows(page, ".siyu-contacts-table", IMG, SCRIPT, MARKS)
    page.locator(".siyu-contacts-search input").fill(IMG)
    page.locator(".siyu-contacts-search input").press("Enter")
    page.locator(".siyu-contacts-open-input input").fill(CONTACT)
    page.locator(".siyu-contacts-open button").click()
    shows(page, ".siyu-customer-card", IMG, SVG, LINK, SCRIPT, STORE, TAG, OTHER_TAG)
    page.locator(".siyu-contacts-open-input input").fill(SVG)
    page.locator(".siyu-contacts-open button").click()
    notified(page, SVG)
    screenshot(page, "contacts-actions")
    watch.check("contacts actions")

    visit(page, console, "tags", ready=".siyu-tags-table .tabulator-row")
    shows(page, ".siyu-tags-table", IMG, SVG, MARKS, LINK)
    page.locator(".siyu-tags-new-name input").fill(NEW_TAG)
    page.locator(".siyu-tags-create button").click()
    notified(page, NEW_TAG)
    page.locator(".siyu-tags-contacts textarea").fill(f"{CONTACT}\n{IMG}")
    page.locator(".siyu-tags-apply button").click()
    notified(page, IMG)  # the unknown contact, quoted back
    page.locator(".siyu-tags-contacts textarea").fill(CONTACT)
    page.locator(".siyu-tags-select select").select_option(label=NEW_TAG)
    page.locator(".siyu-tags-apply button").click()
    notified(page, f"with {NEW_TAG}")
    screenshot(page, "tags-actions")
    watch.check("tags actions")

    visit(page, console, "livecodes", ready=".siyu-livecodes-table .tabulator-row")
    shows(page, ".siyu-livecodes-table", LIVE_CODE, LINK)
    shows(page, ".siyu-livecodes-problems", LIVE_CODE, SVG, LINK)
    page.locator(".siyu-livecodes-members input.choices__input--cloned").click()
    shows(page, ".siyu-livecodes-members .choices__list--dropdown", f"{IMG} (zhangsan)",
          f"{SVG}{MARKER} (lisi)")
    page.locator(".siyu-livecodes-pause button").click()
    notified(page, f"paused {LIVE_CODE}")
    page.locator(".siyu-livecodes-resume button").click()
    notified(page, f"resumed {LIVE_CODE}")
    screenshot(page, "livecodes-actions")
    watch.check("live-code actions")

    visit(page, console, "groupcodes", ready=".siyu-groupcodes-table .tabulator-row")
    shows(page, ".siyu-groupcodes-table", GROUP_CODE)
    shows(page, ".siyu-groupcodes-invited", LIVE_CODE)
    shows(page, ".siyu-groupcodes-warning", GROUP, MARKS)
    shows(page, ".siyu-groupcodes-error", SVG, LINK)
    page.locator(".siyu-groupcodes-chats input.choices__input--cloned").click()
    shows(page, ".siyu-groupcodes-chats .choices__list--dropdown", GROUP)
    page.locator(".siyu-groupcodes-pause button").click()
    notified(page, f"paused {GROUP_CODE}")
    screenshot(page, "groupcodes-actions")
    watch.check("group-code actions")

    visit(page, console, "wecom-sync", ready=".siyu-wecom-status p")
    shows(page, ".siyu-wecom-status", IMG, SVG, LINK, MARKS)
    visit(page, console, "audit", ready=".siyu-audit-table .tabulator-row")
    shows(page, ".siyu-audit-table", IMG, SVG)
    watch.check("the last pages")
