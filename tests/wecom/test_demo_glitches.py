"""Glitches of ``siyu demo``'s WeCom sandbox, each fixed at its root.

(a) the sample business's staff exist in the demo sandbox (the live-code member picker offers
    them; WeCom answered 60111 for every one of them);
(b) the callback URL the demo wired is recorded where the settings page and ``siyu doctor``
    read it (they showed it empty and said "no callback URL set");
(c) the scan link answers a person in a browser with a page saying what happened (it
    answered raw JSON), programs keep getting JSON;
and the console pages speak Chinese, with times in the workspace timezone.
"""

from __future__ import annotations

import asyncio
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from ui_text import english_words, visible_texts

import siyu
from siyu.apps.server import serve_in_background
from siyu.core.i18n import use_language
from siyu.plugins.livecodes import api
from siyu.plugins.wecom.config import load_config, save_config
from siyu.plugins.wecom.demo import DEMO_CODE, wire_sandbox
from siyu.plugins.wecom.sandbox import Sandbox
from siyu.plugins.wecom.sandbox import scans as scan_pages
from siyu.plugins.wecom.sandbox.testing import wait_until
from siyu.samples import load_sample_business, sample_staff

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
#: WeCom's own names for its settings: its admin console shows them in Latin letters too.
WECOM_TERMS = ("AgentId", "CorpID", "Secret", "Token", "EncodingAESKey", "access_token",
               "access token")


@pytest.fixture
def ws(db_url):
    """A demo workspace: the sample business loaded, as ``siyu demo`` makes it."""
    workspace = siyu.open(db_url, load_entry_points=False)
    load_sample_business(workspace)
    yield workspace
    workspace.close()


@pytest.fixture
def demo(ws):
    """The demo sandbox wired to a running console, as ``siyu demo`` wires them."""
    wired = wire_sandbox(ws, seed=5)
    try:
        with serve_in_background(ws, secret="demo-glitches") as console:
            wired.lines = wired.connect(int(console.url.rsplit(":", 1)[1]))
            wired.console_url = console.url
            yield wired
    finally:
        wired.stop()


# -- (a) the sample staff exist in the sandbox ---------------------------------------------


def test_every_sample_staff_member_exists_in_the_demo_sandbox(ws):
    demo = wire_sandbox(ws, seed=1)
    try:
        known = {u: s for u, s in demo.sandbox.world.staff.items()}
        offered = {s.userid: s.name for s in ws.staff.list()}  # the member picker's choices
        for row in sample_staff():
            assert row["userid"] in offered
            member = known[row["userid"]]
            assert member.name == row["name"] == offered[row["userid"]]
            assert member.activated and member.contact_permission and not member.resigned
            assert demo.sandbox.world.departments[member.department[0]].name == row["store_name"]
    finally:
        demo.stop()


def test_a_live_code_with_sample_staff_is_created_in_the_sandbox_over_http(ws):
    demo = wire_sandbox(ws, seed=2)
    try:
        guides = [row["userid"] for row in sample_staff() if row["store"] == "SH001"]
        code = api.create_code(ws, "南京西路店海报", guides[:2], backup=guides[2:3])
        assert code["config_id"]
        way = demo.sandbox.world.contact_ways[code["config_id"]]
        # round robin lists one member at a time
        assert way.user and set(way.user) <= set(guides[:2]) and way.remark == "南京西路店海报"
        scanned = demo.sandbox.people.scan_contact_way(code["config_id"], name="顾客")
        assert scanned.userid in guides[:2]
    finally:
        demo.stop()


def test_the_sync_keeps_the_sample_contacts(ws):
    before = ws.contacts.df(columns=["removed_at"])["removed_at"].isna().sum()
    demo = wire_sandbox(ws, seed=3)
    try:
        assert demo.report.staff >= len(sample_staff())
        after = ws.contacts.df(columns=["removed_at"])["removed_at"].isna().sum()
        assert after == before + demo.report.created
    finally:
        demo.stop()


# -- (b) the wired callback URL is recorded, shown and checked -------------------------------


def test_the_demo_records_the_callback_url_it_wired(demo, ws):
    url = f"{demo.console_url}/wecom/callback"
    assert demo.sandbox.world.corp.callback_url == url
    assert load_config(ws).callback_url == url
    assert any(url in line for line in demo.lines)


def test_the_settings_page_shows_the_wired_callback_url(demo, ws):
    from siyu.plugins.wecom.pages import WeComSettingsPage

    url = f"{demo.console_url}/wecom/callback"
    page = WeComSettingsPage(ws)
    assert page.inputs["callback_url"].value == url
    assert url in page.hint.object
    shown = dict(zip(page.connection.value["Setting"], page.connection.value["Value"],
                     strict=True))
    assert shown["Public callback URL"] == url
    assert shown["App secret"] == "set"


def test_doctor_verifies_the_wired_callback_url(demo, ws):
    from siyu.plugins.wecom.doctor import run_checks

    checks = {c.step: c for c in run_checks(ws)}
    check = checks["callback URL"]
    assert check.ok is True, check.line()
    assert f"{demo.console_url}/wecom/callback" in check.detail
    assert "verified" in check.line()


def test_the_settings_page_runs_the_checks_off_the_event_loop(demo, ws):
    """The button's checks call this very server's callback URL: they must not block it."""
    from siyu.plugins.wecom.pages import WeComSettingsPage

    page = WeComSettingsPage(ws)
    # On a thread of its own: earlier tests (Playwright's sync API) may leave this thread's
    # event loop marked running, and asyncio.run refuses to start under it.
    done = []
    runner = threading.Thread(target=lambda: done.append(asyncio.run(page._check_clicked())))
    runner.start()
    runner.join(60)
    assert done, "the checks did not finish within 60 s"
    results = dict(zip(page.checks.value["Step"], page.checks.value["Result"], strict=True))
    assert results["callback URL"] == "Passed"
    assert page.checks.visible and not page.checks_empty.visible


def test_doctor_reports_an_unreachable_callback_url(ws):
    from siyu.plugins.wecom.doctor import run_checks

    demo = wire_sandbox(ws, seed=6)
    try:
        save_config(ws, callback_url="http://127.0.0.1:9/wecom/callback")
        check = {c.step: c for c in run_checks(ws, timeout=1)}["callback URL"]
        assert check.ok is False
        assert "http://127.0.0.1:9/wecom/callback" in check.detail
        assert "unreachable" in check.detail
    finally:
        demo.stop()


# -- (c) the scan link answers people with a page ------------------------------------------


def _scan_link(demo) -> str:
    return demo.lines[-1].rsplit(" ", 1)[-1]


def test_programs_still_get_json_from_the_scan_link(demo):
    answer = httpx.get(_scan_link(demo), headers={"Accept": "application/json"}, timeout=10)
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["external_userid"].startswith("wm")
    plain = httpx.get(_scan_link(demo), timeout=10)  # httpx sends */*
    assert plain.headers["content-type"].startswith("application/json")


def test_a_browser_gets_a_page_saying_what_the_scan_did(demo, ws):
    answer = httpx.get(_scan_link(demo) + "&name=王敏", headers=BROWSER, timeout=15,
                       follow_redirects=True)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.history and answer.history[0].status_code == 303
    page = answer.text
    scan_id = urlsplit(str(answer.url)).path.rsplit("/", 1)[-1]
    outcome = demo.sandbox.scans.get(scan_id).outcome
    staff = demo.sandbox.world.staff[outcome.userid].name
    assert f"王敏 scanned “{DEMO_CODE['name']}” → added by {staff}, welcome message sent" \
        in page
    assert 'data-state="sent"' in page
    # the link opens this customer's card: /contacts?contact=<external_userid>
    assert f'href="{demo.console_url}/contacts?contact={outcome.external_userid}"' in page
    # the welcome the console sent, as WeCom received it, naming the member as WeCom does
    assert ws.staff.get(outcome.userid).name == staff
    assert f"王敏您好，我是{staff}" in page
    # reloading the page shows the same scan again; it does not scan a second time
    customers = len(demo.sandbox.world.customers)
    again = httpx.get(str(answer.url), headers=BROWSER, timeout=15)
    assert 'data-state="sent"' in again.text
    assert len(demo.sandbox.world.customers) == customers


def test_the_page_speaks_the_workspaces_language_chinese_by_default(db_url):
    ws = siyu.open(db_url, load_entry_points=False)
    ws.settings.set("language", "zh_CN")
    demo = wire_sandbox(ws, seed=8)
    try:
        with serve_in_background(ws, secret="demo-zh") as console:
            lines = demo.connect(int(console.url.rsplit(":", 1)[1]))
            link = lines[-1].rsplit(" ", 1)[-1]
            answer = httpx.get(link + "&name=王敏", headers=BROWSER, timeout=15,
                               follow_redirects=True)
            scan_id = urlsplit(str(answer.url)).path.rsplit("/", 1)[-1]
            staff = demo.sandbox.world.staff[demo.sandbox.scans.get(scan_id).outcome.userid]
            assert f"王敏 扫描了「演示海报」→ 由 {staff.name} 添加，已发送欢迎语" in answer.text
            assert '<html lang="zh-CN">' in answer.text
            assert "在控制台中查看该客户" in answer.text
    finally:
        demo.stop()
        ws.close()


def test_the_page_escapes_names_and_loads_nothing_from_outside(demo):
    hostile = '<img src=x onerror=alert(1)>"&'
    config_id = _scan_link(demo).rsplit("=", 1)[-1]
    answer = httpx.get(f"{demo.sandbox.base_url}/sandbox/scan", timeout=15,
                       params={"config_id": config_id, "name": hostile, "format": "html"},
                       follow_redirects=True)
    page = answer.text
    assert hostile not in page and "&lt;img src=x onerror=alert(1)&gt;&quot;&amp;" in page
    assert not re.search(r"<(script|link|img|iframe)\b", page, re.I)
    tags = re.findall(r"<[^>]*>", page)
    assert not [t for t in tags if re.search(r"\bsrc\s*=", t, re.I)]
    assert not re.search(r"@import|url\(", page, re.I)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert all(h.startswith(demo.console_url + "/contacts") for h in hrefs)


class _SilentConsole(BaseHTTPRequestHandler):
    """Takes callbacks and never answers them with a welcome: a console still busy."""

    def do_POST(self):  # noqa: N802 - the http.server name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args):
        return


def test_the_page_says_processing_honestly_and_refreshes_itself():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SilentConsole)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/wecom/callback"
    try:
        with Sandbox(seed=9, callback_url=url, language="en") as sandbox:
            config_id = next(iter(sandbox.world.contact_ways))
            answer = httpx.get(f"{sandbox.base_url}/sandbox/scan",
                               params={"config_id": config_id, "format": "html"},
                               timeout=15, follow_redirects=False)
            assert answer.status_code == 303
            page = httpx.get(sandbox.base_url + answer.headers["location"],
                             params={"wait": 0}, headers=BROWSER, timeout=15).text
            assert 'data-state="processing"' in page
            assert "welcome message being processed" in page
            assert '<meta http-equiv="refresh"' in page
            # the welcome code expires unused: the page then says no welcome was sent
            sandbox.clock.advance(sandbox.limits.welcome_ttl + 1)
            page = httpx.get(sandbox.base_url + answer.headers["location"],
                             params={"wait": 0}, headers=BROWSER, timeout=15).text
            assert 'data-state="not_sent"' in page and "refresh" not in page
            # the console link comes from the callback URL when nobody set one
            assert f'href="http://127.0.0.1:{server.server_address[1]}/contacts' in page
    finally:
        server.shutdown()
        server.server_close()


def test_a_scan_that_cannot_happen_answers_a_page_too():
    with Sandbox(seed=10, language="en") as sandbox:
        page = httpx.get(f"{sandbox.base_url}/sandbox/scan", params={"config_id": "nope"},
                         headers=BROWSER, timeout=10)
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
        assert "Scan failed" in page.text and "nope" in page.text
        data = httpx.get(f"{sandbox.base_url}/sandbox/scan", params={"config_id": "nope"},
                         timeout=10)
        assert data.status_code == 400 and "error" in data.json()
        missing = httpx.get(f"{sandbox.base_url}/sandbox/scans/abc", headers=BROWSER,
                            timeout=10)
        assert missing.status_code == 404 and "Scan failed" in missing.text


@pytest.mark.parametrize(("accept", "fmt", "page"), [
    (BROWSER["Accept"], None, True),
    ("text/html", None, True),
    ("application/json", None, False),
    ("*/*", None, False),
    (None, None, False),
    ("application/json, text/html", None, False),
    ("text/html;q=0.5, application/json", None, False),
    ("application/json;q=0.5, text/html", None, True),
    ("text/html;q=0", None, False),
    ("application/json", "html", True),
    (BROWSER["Accept"], "json", False),
])
def test_pages_go_to_those_who_ask_for_html(accept, fmt, page):
    assert scan_pages.wants_html(accept, fmt) is page


# -- the console pages: Chinese, times in the workspace timezone ------------------------------


def test_the_sync_page_shows_the_last_sync_in_the_workspace_timezone(ws):
    from siyu.plugins.wecom.pages import WeComSyncPage

    ws.settings.set("timezone", "Asia/Shanghai")
    ws.settings.set("wecom.sync.last", {"at": "2026-11-20T13:05:00+00:00",
                                        "summary": "WeCom sync: 6 staff, 6 tags, 8 customers "
                                                   "(8 new, 0 updated, 0 removed), 9 follows "
                                                   "(9 started, 0 ended), 2 groups"})
    page = WeComSyncPage(ws)
    texts = " ".join(visible_texts(page))
    assert "2026-11-20 21:05" in texts
    assert "13:05" not in texts and "+00:00" not in texts
    assert "8 customers (8 new, 0 updated, 0 removed)" in texts
    with use_language("zh_CN"):
        assert "8 位客户（新增 8，更新 0，流失 0）" in " ".join(visible_texts(WeComSyncPage(ws)))


def test_the_wecom_pages_speak_chinese(demo, ws):
    from siyu.plugins.wecom.pages import WeComSettingsPage, WeComSyncPage

    url = f"{demo.console_url}/wecom/callback"
    with use_language("zh_CN"):
        settings = WeComSettingsPage(ws)
        settings._check()
        sync_page = WeComSyncPage(ws)
        texts = visible_texts(settings) + visible_texts(sync_page)
        shown = " ".join(texts)
        assert "企业微信设置" in shown and "企业微信同步" in shown and "回调地址" in shown
        assert not english_words(texts, allow=[*WECOM_TERMS, url]), texts
        cells = visible_texts(settings.checks, cells=True)
        assert "通过" in cells
        assert not english_words([c for c in cells if url not in c],
                                 allow=[*WECOM_TERMS, demo.sandbox.corp_id]), cells


def test_the_doctor_and_status_commands_speak_chinese(demo, ws, capsys):
    import argparse

    from siyu.plugins.wecom.commands import run_doctor, run_wecom

    with use_language("zh_CN"):
        run_doctor(ws, argparse.Namespace(timeout=5.0))
        run_wecom(ws, argparse.Namespace(wecom_command="status"))
    out = capsys.readouterr().out
    assert "[通过] 回调地址：" in out and "上次同步：" in out
    assert not english_words(
        [line for line in out.splitlines()],
        allow=[*WECOM_TERMS, demo.console_url + "/wecom/callback", demo.sandbox.corp_id]), out


def test_the_sandbox_waits_for_the_welcome_before_answering(demo):
    """The scan completes asynchronously: the page waits (boundedly) for the welcome."""
    answer = httpx.get(_scan_link(demo), headers=BROWSER, timeout=15, follow_redirects=True)
    assert 'data-state="sent"' in answer.text
    scan_id = urlsplit(str(answer.url)).path.rsplit("/", 1)[-1]
    found = httpx.get(str(answer.url), params={"format": "json"}, timeout=10).json()
    assert found["scan_id"] == scan_id and found["done"] and found["state"] == "sent"
    wait_until(lambda: demo.sandbox.world.welcomes)
