"""``siyu livecode list`` reads plain rows (no pandas) and prints exactly the table the
pandas version printed: ``api.list_codes(ws)[columns].to_string(index=False)``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from siyu.plugins.livecodes import api
from siyu.plugins.livecodes.commands import LIST_COLUMNS, list_rows, list_text
from siyu.plugins.livecodes.engine import ADDS, CODES, DAYS, MEMBERS, local_now

NAMES = ("门店海报", "a", "trailing space ", "tab\there", "line\nbreak", "x" * 60, "7")


def _pandas_text(ws) -> str:
    frame = api.list_codes(ws)
    return frame[list(LIST_COLUMNS)].to_string(index=False) if len(frame) else "no live codes"


def _fill(ws, rnd: random.Random) -> None:
    """Codes with members, today's and older daily adds, and arrivals whose welcome latency
    is missing, small, large or mixed."""
    today = local_now(ws).date().isoformat()
    now = datetime.now(UTC)
    with ws.engine.begin() as conn:
        for table in (ADDS, DAYS, MEMBERS, CODES):
            conn.execute(table.delete())
        for n in range(rnd.randint(1, 6)):
            code_id = conn.execute(CODES.insert().values(
                name=rnd.choice(NAMES), state=f"lc:t{n}",
                strategy=rnd.choice(["round_robin", "weighted"]),
                status=rnd.choice(["active", "paused"]), created_at=now,
                updated_at=now)).inserted_primary_key[0]
            for m in range(rnd.randint(0, 3)):
                conn.execute(MEMBERS.insert().values(code_id=code_id, userid=f"u{m}"))
                for day in rnd.sample([today, "2020-01-01"], rnd.randint(0, 2)):
                    conn.execute(DAYS.insert().values(code_id=code_id, userid=f"u{m}",
                                                      day=day, adds=rnd.randint(0, 50)))
            kind = rnd.choice(["none", "unmeasured", "small", "large", "mixed"])
            for a in range(0 if kind == "none" else rnd.randint(1, 30)):
                latency = {"unmeasured": None, "small": rnd.randint(0, 3000),
                           "large": rnd.randint(10**6, 10**8),
                           "mixed": rnd.choice([None, rnd.randint(0, 99_999)])}[kind]
                conn.execute(ADDS.insert().values(
                    code_id=code_id, state=f"lc:t{n}", contact_id=a,
                    at=now - timedelta(seconds=a), latency_ms=latency))


def test_no_codes(ws):
    assert list_rows(ws) == []
    assert list_text(list_rows(ws)) == "no live codes" == _pandas_text(ws)


def test_the_table_is_the_one_pandas_printed(ws):
    rnd = random.Random(20240601)
    for _ in range(12):
        _fill(ws, rnd)
        assert list_text(list_rows(ws)) == _pandas_text(ws)


def test_rows_hold_the_figures_of_list_codes(ws):
    _fill(ws, random.Random(7))
    frame = api.list_codes(ws)
    rows = list_rows(ws)
    assert [row["id"] for row in rows] == list(frame["id"])
    for row, (_, expected) in zip(rows, frame.iterrows(), strict=True):
        for column in ("members", "adds_today", "adds_total"):
            assert row[column] == expected[column], column
        for column in ("welcome_p50_ms", "welcome_p99_ms"):
            if row[column] is None:
                assert expected[column] != expected[column]  # NaN
            else:
                assert row[column] == expected[column], column


def test_an_exact_table():
    rows = [{"id": 1, "name": "门店海报", "state": "lc:1", "strategy": "round_robin",
             "status": "active", "members": 2, "adds_today": 0, "adds_total": 3,
             "welcome_p50_ms": 120.0, "welcome_p99_ms": 150.25},
            {"id": 12, "name": "b", "state": "lc:12", "strategy": "weighted",
             "status": "paused", "members": 10, "adds_today": 4, "adds_total": 0,
             "welcome_p50_ms": None, "welcome_p99_ms": None}]
    assert list_text(rows).splitlines() == [
        " id name state    strategy status  members  adds_today  adds_total  welcome_p50_ms"
        "  welcome_p99_ms",
        "  1 门店海报  lc:1 round_robin active        2           0           3           120.0"
        "          150.25",
        " 12    b lc:12    weighted paused       10           4           0             NaN"
        "             NaN"]


def test_the_cli_prints_the_table(ws, capsys):
    from siyu.cli import main

    if ws.engine.dialect.name != "sqlite":
        pytest.skip("the CLI test needs the workspace's file path")
    _fill(ws, random.Random(3))
    expected = _pandas_text(ws)
    assert main(["--db", ws.engine.url.database, "livecode", "list"]) == 0
    assert capsys.readouterr().out == expected + "\n"
    with ws.engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CODES)).scalar() > 0
