"""The Leaderboards page in Chromium, in Chinese: an operator opens the wall screen of a store
sales board (rank, name, ¥ value, movement), it follows a new order within one refresh, and
it fits at 1440 and 390 px wide. Screenshots go to ``test-artifacts/screenshots``."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

import siyu
from siyu.plugins import leaderboards
from siyu.storage.types import utcnow

from .conftest import login_as, new_workspace, screenshot, serve_console, shown_text, wait_until

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def board_console(tmp_path):
    db = new_workspace(tmp_path / "shop.db")
    with siyu.open(str(db), load_entry_points=False) as ws:
        now = utcnow()
        for i, (code, name) in enumerate([("SH001", "上海南京西路店"), ("BJ001", "北京国贸店"),
                                          ("GZ001", "<i>广州</i>天河店")]):
            ws.stores.upsert(code, name, region="华东")
            ws.orders.upsert("pos", f"Y{i}", amount_fen=(3 - i) * 10000,
                             paid_at=now - timedelta(days=1), store=code)
        ws.orders.upsert("pos", "T1", amount_fen=50000, paid_at=now, store="GZ001")
        leaderboards.define(ws, "month", metric="sales_fen", dimension="store",
                            period="this_month", title="本月门店销售榜")
    with serve_console(db, environ={"SIYU_LANGUAGE": None}) as running:
        yield running, db


@pytest.mark.parametrize("width", [1440, 390])
def test_the_wall_screen_shows_the_ranking_and_follows_new_orders(page, board_console,
                                                                  width):
    console, db = board_console
    page.set_viewport_size({"width": width, "height": 900})
    login_as(page, console, "operator")
    page.goto(f"{console.url}/leaderboards")
    board = page.locator(".siyu-leaderboards-board")
    board.first.wait_for(state="visible", timeout=60_000)
    wait_until(lambda: "本月门店销售榜" in shown_text(board), page=page, timeout=60)
    text = shown_text(board)
    same_month = (utcnow() - timedelta(days=1)).astimezone(ZONE).month == \
        utcnow().astimezone(ZONE).month
    assert "<i>广州</i>天河店" in text
    assert ("¥600.00" if same_month else "¥500.00") in text
    assert "排行榜" in shown_text(page.locator("nav.siyu-nav"))
    screenshot(page, f"board-{width}")
    overflow = page.evaluate("document.documentElement.scrollWidth - "
                             "document.documentElement.clientWidth")
    assert overflow <= 1, overflow
    with siyu.open(str(db), load_entry_points=False) as ws:
        ws.orders.upsert("pos", f"N{width}", amount_fen=99900, paid_at=utcnow(),
                         store="BJ001")
    expected = "¥1,199.00" if same_month else "¥999.00"
    wait_until(lambda: expected in shown_text(board), page=page, timeout=30)
    screenshot(page, f"board-{width}-after")
