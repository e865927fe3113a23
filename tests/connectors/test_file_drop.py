"""The file drop connector: CSV and Excel exports in a folder, each processed once."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest
import sqlalchemy as sa

from siyu.core.errors import ConfigError
from siyu.plugins import connectors
from siyu.storage.models import Order

MAPPING = {"orders": {"external_id": "订单号", "amount": "实付金额", "paid_at": "付款时间",
                      "status": "订单状态"}}


def write_csv(path, rows, encoding="utf-8-sig"):
    frame = pd.DataFrame(rows, columns=["订单号", "实付金额", "付款时间", "订单状态"])
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    old = time.time() - 60  # settled: not being copied any more
    os.utime(path, (old, old))


def rows(start, stop):
    return [[f"T{i:04d}", f"{i}.50元", "2026-11-11 20:00", "已付款"] for i in range(start, stop)]


def stored(ws) -> dict[str, int]:
    with ws.engine.connect() as conn:
        return dict(conn.execute(sa.select(Order.external_id, Order.amount_fen)).all())


@pytest.fixture
def drop(ws, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    connectors.add(ws, "erp-files", "files", mapping=MAPPING,
                   settings={"folder": str(inbox), "page_size": 3})
    return ws, inbox


def test_each_export_is_processed_once_and_a_corrected_one_again(drop):
    ws, inbox = drop
    write_csv(inbox / "orders-1201.csv", rows(1, 8), encoding="gbk")  # 7 rows: 3 pages
    frame = pd.DataFrame(rows(8, 10), columns=["订单号", "实付金额", "付款时间", "订单状态"])
    frame.to_excel(inbox / "orders-1202.xlsx", index=False)
    old = time.time() - 60
    os.utime(inbox / "orders-1202.xlsx", (old, old))
    (inbox / "members-1201.csv").write_text("会员号\nM1\n", encoding="utf-8")  # not orders
    (inbox / "orders-notes.txt").write_text("ignored", encoding="utf-8")

    run = connectors.sync(ws, "erp-files", progress=False).runs[0]
    assert (run.status, run.pages, run.records, run.created) == ("ok", 4, 9, 9)
    assert stored(ws) == {f"T{i:04d}": i * 100 + 50 for i in range(1, 10)}

    again = connectors.sync(ws, "erp-files", progress=False).runs[0]
    assert (again.records, again.created) == (0, 0)

    write_csv(inbox / "orders-1201.csv", [[*rows(1, 2)[0][:3], "已退款"]])  # corrected
    fixed = connectors.sync(ws, "erp-files", progress=False).runs[0]
    assert (fixed.records, fixed.created, fixed.updated) == (1, 0, 1)
    assert len(stored(ws)) == 9


def test_a_run_stopped_inside_a_file_resumes_at_its_next_row(drop):
    ws, inbox = drop
    write_csv(inbox / "orders-a.csv", rows(1, 8))
    first = connectors.sync(ws, "erp-files", max_pages=1, progress=False).runs[0]
    assert first.records == 3
    cursor = connectors.get(ws, "erp-files").cursors["orders"]
    assert cursor["row"] == 3 and cursor["file"][0] == "orders-a.csv"
    rest = connectors.sync(ws, "erp-files", progress=False).runs[0]
    assert (rest.records, rest.created) == (4, 4) and len(stored(ws)) == 7


def test_a_file_still_being_copied_waits_and_processed_files_can_be_moved(ws, tmp_path):
    inbox, done = tmp_path / "inbox", tmp_path / "done"
    inbox.mkdir()
    connectors.add(ws, "drop", "files", mapping=MAPPING,
                   settings={"folder": str(inbox), "move_to": str(done),
                             "settle_seconds": 30})
    write_csv(inbox / "orders-old.csv", rows(1, 3))
    fresh = inbox / "orders-new.csv"
    write_csv(fresh, rows(3, 5))
    os.utime(fresh, None)  # just written
    run = connectors.sync(ws, "drop", progress=False).runs[0]
    assert run.created == 2
    assert sorted(p.name for p in done.iterdir()) == ["orders-old.csv"]
    assert sorted(p.name for p in inbox.iterdir()) == ["orders-new.csv"]


def test_a_broken_export_fails_the_run_with_its_name_and_a_bad_folder_is_refused(drop, tmp_path):
    ws, inbox = drop
    (inbox / "orders-x.xlsx").write_text("not a workbook", encoding="utf-8")
    old = time.time() - 60
    os.utime(inbox / "orders-x.xlsx", (old, old))
    run = connectors.sync(ws, "erp-files", progress=False).runs[0]
    assert run.status == "failed" and "orders-x.xlsx" in run.error
    with pytest.raises(ConfigError, match="does not exist"):
        connectors.add(ws, "nowhere", "files", mapping=MAPPING,
                       settings={"folder": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="another folder"):
        connectors.update(ws, "erp-files", settings={"move_to": str(inbox)})


def test_a_huge_cell_is_a_bad_record_not_a_stalled_run(drop):
    ws, inbox = drop
    write_csv(inbox / "orders-huge.csv", [["H1", "1.00", "x" * 5_000_000, "已付款"],
                                         *rows(1, 3)])
    run = connectors.sync(ws, "erp-files", progress=False).runs[0]
    assert (run.status, run.created, run.skipped) == ("ok", 2, 1)
    assert run.problems[0]["field"] == "paid_at" and len(run.problems[0]["value"]) <= 200
