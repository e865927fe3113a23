"""The Leaderboards page built in Python as the console builds it: the wall screen shows the
ranking with movement, names escaped; the form defines, changes and deletes boards; roles."""

from __future__ import annotations

from datetime import timedelta

from siyu.core.i18n import use_language
from siyu.core.permissions import Principal
from siyu.plugins import leaderboards as lb
from siyu.plugins.leaderboards.pages import LeaderboardsPage
from siyu.storage.types import utcnow

ADMIN = Principal("root", "admin")
ANALYST = Principal("ann", "analyst")


def _shop(ws):
    ws.stores.upsert("S01", "<b>南京西路</b>店", region="华东")
    ws.stores.upsert("S02", "北京店", region="华北")
    now = utcnow()
    ws.orders.upsert("pos", "A", amount_fen=90000, paid_at=now - timedelta(days=1), store="S02")
    ws.orders.upsert("pos", "B", amount_fen=50000, paid_at=now - timedelta(days=1), store="S01")
    ws.orders.upsert("pos", "C", amount_fen=80000, paid_at=now, store="S01")
    lb.define(ws, "week", metric="sales_fen", dimension="store", period="this_week",
              title="本周门店榜")


def test_the_page_is_registered_and_shows_the_board(ws):
    _shop(ws)
    spec = ws.pages()["leaderboards"]
    assert spec.permission == "data.read"
    page = spec.factory(ws.as_user(ADMIN))
    assert isinstance(page, LeaderboardsPage)
    shown = str(page.board.object)
    assert "&lt;b&gt;南京西路&lt;/b&gt;店" in shown and "<b>南京西路" not in shown
    assert "¥1,300.00" in shown and "本周门店榜" in shown
    if utcnow().astimezone(ws.timezone).weekday() > 0:  # yesterday is in this week
        assert "▲1" in shown and "▼1" in shown
    assert list(page.frame["key"]) == ["S01", "S02"]
    assert len(page._export()) == 2
    page.__panel__()


def test_the_form_defines_changes_and_deletes(ws):
    _shop(ws)
    page = LeaderboardsPage(ws.as_user(ADMIN))
    form = page.form
    form.board_name.value, form.metric.value, form.dimension.value = "r", "orders", "region"
    form.period.value = "today"
    assert form.submit().name == "r"
    assert page.chosen.value == "r"
    form.period.value = "window"
    form.start.value = (utcnow() + timedelta(days=3)).date()
    form.end.value = utcnow().date()
    assert form.submit() is None  # refused: the window ends before it starts
    assert lb.get(ws, "r").period == "today"
    page.delete()
    assert "r" not in page.chosen.options.values()


def test_an_analyst_reads_without_the_form_and_chinese_is_shown(ws):
    _shop(ws)
    with use_language("zh_CN"):
        page = LeaderboardsPage(ws.as_user(ANALYST))
        assert page.form is None and not page.delete_button.visible
        text = str(page.__panel__().objects[0].object)
        assert "排行榜" in text


def test_an_empty_workspace_says_what_to_do(ws):
    page = LeaderboardsPage(ws.as_user(ADMIN))
    assert page.empty.visible and not page.board.visible
