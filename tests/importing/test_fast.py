"""The bulk import path's engine fast paths give what the plain SQL gives."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa

from siyu.core import identity
from siyu.core.importing import fast
from siyu.plugins.connectors.mapping import as_text, map_records, parse_path, value_at
from siyu.storage.bulk import db_times
from siyu.storage.models import Contact, Order


def _contacts(ws, n: int) -> None:
    with ws.engine.begin() as conn:
        conn.execute(sa.insert(Contact.__table__), [
            {"external_userid": f"wm{j}", "name": f"c{j}", "member_id": f"M{j:05d}",
             "phone": f"139{j:08d}" if j % 3 else None, "added_at": datetime.now(UTC),
             "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)}
            for j in range(1, n + 1)])


def test_one_of_finds_what_in_finds_for_many_values_and_none(ws):
    _contacts(ws, 300)
    c = Contact.__table__
    wanted = [f"M{j:05d}" for j in range(0, 12_000, 7)]  # more than a chunk; most unknown
    with ws.engine.connect() as conn:
        got = set(conn.execute(sa.select(c.c.member_id).where(
            fast.one_of(conn, c.c.member_id, wanted))).scalars())
        ids = set(conn.execute(sa.select(c.c.id).where(
            fast.one_of(conn, c.c.id, [1, 2, 299, 100_000]))).scalars())
        none = conn.execute(sa.select(c.c.id).where(fast.one_of(conn, c.c.id, []))).all()
        parts = list(fast.chunks(conn, wanted))
    assert got == {f"M{j:05d}" for j in range(7, 301, 7)}
    assert ids == {1, 2, 299}
    assert none == []
    assert [v for part in parts for v in part] == wanted


def test_match_rows_matches_key_by_key_in_order(ws):
    """Contacts 1-200: member M{j:05d}, phone 139{j:08d} when j is not a multiple of 3."""
    _contacts(ws, 200)
    index = pd.RangeIndex(10, 16)
    keys = {"member_id": pd.Series(["M00005", "", "M99999", "M00150", None, "M00007"],
                                   index=index, dtype=object),
            "phone": pd.Series(["13900000002", "13900000004", "", None, "13900000008",
                                "13900000007"], index=index, dtype=object)}
    with ws.engine.connect() as conn:
        ids = dict(conn.execute(sa.select(Contact.external_userid, Contact.id)).all())
    expected = {("phone", "member_id"): ["wm2", "wm4", None, "wm150", "wm8", "wm7"],
                ("member_id", "phone"): ["wm5", "wm4", None, "wm150", "wm8", "wm7"]}
    for order, names in expected.items():
        with ws.engine.connect() as conn:
            got = identity.match_rows(conn, keys, order)
        assert got.tolist() == [ids[n] if n else pd.NA for n in names], order


def test_copy_rows_stores_the_rows(ws):
    table = Order.__table__
    columns = ["source", "external_id", "contact_id", "amount_fen", "status", "refunded_fen",
               "paid_at", "buyer_phone", "created_at"]
    paid = pd.Series(pd.date_range("2026-01-01 08:00", periods=50, freq="37min", tz=UTC))
    with ws.engine.begin() as conn:
        times = db_times(conn, paid)
        rows = [("shop\t1", f"N{j}\\ \n", None, 100 + j, "paid", 0, times[j],
                 None if j % 2 else "13900000000", times[0]) for j in range(50)]
        fast.copy_rows(conn, table, columns, rows)
    with ws.engine.connect() as conn:
        stored = conn.execute(sa.select(*[table.c[c] for c in columns[:6]], table.c.paid_at,
                                        table.c.buyer_phone).order_by(table.c.id)).all()
    assert [tuple(row) for row in stored] == [
        (*row[:6], paid[j].to_pydatetime(), row[7]) for j, row in enumerate(rows)]


def test_map_records_fast_path_maps_as_the_general_path():
    records = [{"no": " A1 ", "amount": 12.0, "fen": Decimal("12.50"), "paid": datetime(
                   2026, 1, 2, 3, 4, 5), "day": date(2026, 1, 2), "ok": True, "none": None,
                "n": 7, "nested": {"a": [1, 2]}, "x": 1.5},
               {"no": "B2", "amount": 3, "paid": datetime(2026, 1, 2, tzinfo=UTC)}]
    mapping = {"external_id": "no", "amount": "amount", "refunded": "fen", "paid_at": "paid",
               "status": "day", "member_id": "ok", "store": "none", "staff": "n",
               "buyer_phone": "nested", "unionid": "x"}
    frame = map_records("orders", mapping, records, 1)
    for target, path in mapping.items():
        assert frame[target].tolist() == [as_text(value_at(r, parse_path(path)))
                                          for r in records], target
    assert frame.loc[1, "external_id"] == "A1" and frame.loc[2, "refunded"] == ""


def test_one_of_does_not_cut_long_values(ws):
    _contacts(ws, 3)
    c = Contact.__table__
    prefix = "M" + "9" * 63  # member_id holds 64 characters
    with ws.engine.begin() as conn:
        conn.execute(sa.update(c).where(c.c.id == 1).values(member_id=prefix))
    with ws.engine.connect() as conn:
        long = prefix + "x"  # a cut to 64 characters would find contact 1
        found = conn.execute(sa.select(c.c.id).where(
            fast.one_of(conn, c.c.member_id, [long]))).all()
    assert found == []
