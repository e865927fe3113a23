"""Importing orders from a CSV or Excel file (an ERP or e-commerce export)."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import ImportFailed
from siyu.core.importing.contacts import _ints, _lookup, _nullable
from siyu.core.importing.progress import progress_bar
from siyu.core.importing.table import (
    ImportReport,
    Problems,
    RowProblem,
    fail_or_skip,
    parse_times,
    read_table,
)
from siyu.core.pii import normalize_phone_series
from siyu.storage.bulk import db_times, insert_rows, update_rows
from siyu.storage.models import Contact, Order, Staff, Store
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

FIELDS: dict[str, tuple[str, ...]] = {
    "external_id": ("订单号", "订单编号", "订单id", "order_id", "orderno", "order_no"),
    "contact": ("外部联系人id", "externaluserid", "external_userid", "客户id"),
    "buyer_phone": ("手机号", "买家手机", "收货人手机", "手机", "phone", "mobile"),
    "unionid": ("unionid",),
    "amount": ("金额", "实付金额", "订单金额", "支付金额", "实付款"),
    "amount_fen": ("金额分", "amountfen"),
    "paid_at": ("支付时间", "付款时间", "下单时间", "paid", "paytime"),
    "store": ("门店", "门店编码", "store_code"),
    "staff": ("导购", "员工", "负责人", "staff_userid"),
    "status": ("状态", "订单状态"),
}
STATUSES = {"paid": "paid", "已支付": "paid", "已付款": "paid", "交易成功": "paid",
            "已完成": "paid", "refunded": "refunded", "已退款": "refunded",
            "退款成功": "refunded", "cancelled": "cancelled", "canceled": "cancelled",
            "已取消": "cancelled", "交易关闭": "cancelled"}
CHUNK = 5000


def _yuan_to_fen(text: str) -> int | None:
    try:
        value = Decimal(text.replace(",", "").replace("¥", "").replace("￥", ""))
    except InvalidOperation:
        return None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


def _clean(ws: Workspace, frame: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    if "external_id" not in frame:
        raise ImportFailed("the file has no order number column; map one with "
                           "--map COLUMN=external_id")
    if "paid_at" not in frame:
        raise ImportFailed("the file has no payment time column; map one with "
                           "--map COLUMN=paid_at")
    if "amount" not in frame and "amount_fen" not in frame:
        raise ImportFailed("the file has no amount column; map one with --map COLUMN=amount "
                           "(yuan) or COLUMN=amount_fen")
    out = pd.DataFrame(index=frame.index)
    out["external_id"] = frame["external_id"]
    problems.add(frame, frame["external_id"].eq(""), "external_id", "order number is empty")
    if "amount_fen" in frame:
        fen = pd.to_numeric(frame["amount_fen"], errors="coerce")
        bad = fen.isna() | (fen < 0) | (fen % 1 != 0)
        problems.add(frame, bad, "amount_fen", "amount_fen {value!r} is not a whole number "
                     "of fen")
        out["amount_fen"] = fen.fillna(0).astype("int64")
    else:
        fen = frame["amount"].map(_yuan_to_fen)
        problems.add(frame, fen.isna(), "amount", "amount {value!r} is not a non-negative "
                     "yuan amount with at most 2 decimals")
        out["amount_fen"] = fen.fillna(0).astype("int64")
    out["paid_at"], bad = parse_times(frame["paid_at"], ws.timezone)
    problems.add(frame, bad | frame["paid_at"].eq(""), "paid_at",
                 "payment time {value!r} is not a date or time")
    if "status" in frame:
        status = frame["status"].str.lower().replace("", "paid").map(STATUSES)
        problems.add(frame, status.isna(), "status", "order status {value!r} is not "
                     "paid/refunded/cancelled (or 已支付/已退款/已取消)")
        out["status"] = status.fillna("paid")
    else:
        out["status"] = "paid"
    if "buyer_phone" in frame:
        out["buyer_phone"], bad = normalize_phone_series(frame["buyer_phone"])
        problems.add(frame, bad, "buyer_phone", "phone {value!r} is not a mainland mobile "
                     "number")
    else:
        out["buyer_phone"] = None
    out["unionid"] = frame["unionid"] if "unionid" in frame else ""
    for column, model, lookup_key, label in (("store", Store, "code", "store"),
                                             ("staff", Staff, "userid", "staff member")):
        if column in frame:
            mapped = frame[column].map(_lookup(ws, model, lookup_key, label))
            problems.add(frame, mapped.isna() & frame[column].ne(""), column,
                         f"unknown {label} {{value!r}}; add it first")
            out[f"{column}_id"] = mapped.astype("Int64")
        else:
            out[f"{column}_id"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    out["contact_id"] = _match_contacts(ws, frame, out, problems)
    return out


def _match_contacts(ws: Workspace, frame: pd.DataFrame, out: pd.DataFrame,
                    problems: Problems) -> pd.Series:
    """Contact per order: by external_userid, else unionid, else phone (may stay empty)."""
    c = Contact.__table__
    result = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    with ws.engine.connect() as conn:
        def lookup(column: str, values: pd.Series) -> dict:
            wanted = sorted({v for v in values.dropna() if v})
            found: dict = {}
            for i in range(0, len(wanted), CHUNK):
                found.update(conn.execute(
                    sa.select(c.c[column], sa.func.min(c.c.id))
                    .where(c.c[column].in_(wanted[i:i + CHUNK]))
                    .group_by(c.c[column])).all())
            return found
        if "contact" in frame:
            mapped = frame["contact"].map(lookup("external_userid", frame["contact"]))
            problems.add(frame, mapped.isna() & frame["contact"].ne(""), "contact",
                         "unknown contact {value!r} (no contact has this external_userid)")
            result = result.fillna(mapped.astype("Int64"))
        if out["unionid"].ne("").any():
            result = result.fillna(out["unionid"].map(lookup("unionid", out["unionid"]))
                                   .astype("Int64"))
        if out["buyer_phone"].notna().any():
            result = result.fillna(out["buyer_phone"].map(
                lookup("phone", out["buyer_phone"])).astype("Int64"))
    return result


def import_orders(ws: Workspace, path: str | Path, *, mapping: dict[str, str] | None = None,
                  source: str = "import", skip_bad_rows: bool = False,
                  progress: bool | None = None) -> ImportReport:
    """Import orders; see :meth:`siyu.core.importing.Importer.orders`."""
    ws.principal.require("data.write")
    frame, encoding, ignored = read_table(path, FIELDS, mapping)
    report = ImportReport("orders", str(path), rows=len(frame), encoding=encoding,
                          ignored_columns=ignored)
    problems = Problems()
    out = _clean(ws, frame, problems)
    out = _dedupe(out, problems, report)
    fail_or_skip(problems, report, skip_bad_rows, Path(path))
    out = out.drop(index=[line for line in problems.bad_lines if line in out.index])
    created = _write(ws, out, source, report, progress)
    ws.audit("import.orders", Path(path).name, {"summary": report.summary()})
    ws.events.record("import.orders", dedupe_key=f"import:{uuid.uuid4()}", source="import",
                     payload={"file": Path(path).name, "summary": report.summary()})
    if created and ws.has_hook("on_order"):
        with ws.session() as s:
            for i in range(0, len(created), CHUNK):
                for order in s.query(Order).filter(Order.id.in_(created[i:i + CHUNK])):
                    ws.notify("on_order", order=order)
    return report


def _dedupe(out: pd.DataFrame, problems: Problems, report: ImportReport) -> pd.DataFrame:
    repeated = out["external_id"].duplicated(keep=False) & out["external_id"].ne("")
    if not repeated.any():
        return out
    exact = out.astype(str).duplicated(keep="first") & repeated
    report.duplicates = int(exact.sum())
    out = out[~exact]
    first: dict[str, int] = {}
    for line, value in out["external_id"].items():
        if value in first and value:
            problems.items.append(RowProblem(int(line), "external_id", value,
                                             f"order {value!r} already appears on line "
                                             f"{first[value]} with different values"))
            problems.bad_lines.add(int(line))
        first.setdefault(value, int(line))
    return out


def _write(ws: Workspace, out: pd.DataFrame, source: str, report: ImportReport,
           progress: bool | None) -> list[int]:
    table = Order.__table__
    created: list[int] = []
    with ws.engine.begin() as conn, progress_bar(len(out), "orders", progress) as bar:
        now_db = db_times(conn, pd.Series([utcnow()]))[0]
        out = out.assign(paid_db=db_times(conn, out["paid_at"]))
        for start in range(0, len(out), CHUNK):
            chunk = out.iloc[start:start + CHUNK]
            ids = chunk["external_id"].tolist()
            existing = {row[0]: row for row in conn.execute(
                sa.select(table.c.external_id, table.c.id, table.c.amount_fen,
                          table.c.status)
                .where(table.c.source == source, table.c.external_id.in_(ids)))}
            is_new = ~chunk["external_id"].isin(existing.keys())
            fresh = chunk[is_new]
            insert_rows(conn, table, ["source", "external_id", "contact_id", "store_id",
                                      "staff_id", "amount_fen", "status", "paid_at",
                                      "buyer_phone", "buyer_unionid", "created_at"],
                        list(zip([source] * len(fresh), fresh["external_id"],
                                 _ints(fresh["contact_id"]), _ints(fresh["store_id"]),
                                 _ints(fresh["staff_id"]),
                                 fresh["amount_fen"].astype(int).tolist(),
                                 fresh["status"].tolist(), fresh["paid_db"].tolist(),
                                 _nullable(fresh["buyer_phone"]), _nullable(fresh["unionid"]),
                                 [now_db] * len(fresh), strict=True)))
            report.created += len(fresh)
            changes = [(int(r.amount_fen), r.status, existing[r.external_id][1])
                       for r in chunk[~is_new].itertuples(index=False)
                       if (existing[r.external_id][2], existing[r.external_id][3])
                       != (int(r.amount_fen), r.status)]
            update_rows(conn, table, ["amount_fen", "status"], changes)
            report.updated += len(changes)
            report.unchanged += int((~is_new).sum()) - len(changes)
            if len(fresh):
                created += conn.execute(sa.select(table.c.id).where(
                    table.c.source == source,
                    table.c.external_id.in_(fresh["external_id"].tolist()))).scalars().all()
            bar.update(len(chunk))
    return created
