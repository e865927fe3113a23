"""Importing orders from a CSV or Excel file (an ERP or e-commerce export).

Orders are upserted by ``(source, order number)``: a new one is stored (``on_order``), a
known one is updated when its amount, status, refund or buyer changed (``on_order_changed``,
with what changed), and left alone otherwise. Buyers are matched to contacts by
:mod:`siyu.core.identity`, in the workspace's identity order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from siyu.core import identity
from siyu.core.errors import ImportFailed
from siyu.core.i18n import core as _
from siyu.core.importing import fast
from siyu.core.importing.contacts import _lookup, _nullable
from siyu.core.importing.headers import ORDER_FIELDS
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
from siyu.core.segments import stats
from siyu.storage.bulk import db_times, update_rows
from siyu.storage.models import PAID_STATUSES, Order, Staff, Store
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: Field → header aliases; defined in :mod:`siyu.core.importing.headers`.
FIELDS = ORDER_FIELDS
STATUSES = {"paid": "paid", "已支付": "paid", "已付款": "paid", "交易成功": "paid",
            "已完成": "paid", "partially_refunded": "partially_refunded",
            "部分退款": "partially_refunded", "已部分退款": "partially_refunded",
            "refunded": "refunded", "已退款": "refunded",
            "退款成功": "refunded", "cancelled": "cancelled", "canceled": "cancelled",
            "已取消": "cancelled", "交易关闭": "cancelled",
            # paid orders on their way (shop and ERP systems name every step)
            "shipped": "paid", "completed": "paid", "delivered": "paid", "已发货": "paid",
            "待发货": "paid", "待收货": "paid", "已收货": "paid", "交易完成": "paid"}
#: What may stand before or after a yuan amount: ``¥12.50``, ``12.50元``, ``RMB 12.50``.
CURRENCY_MARKS = ("¥", "￥", "元", "RMB", "CNY", "rmb", "cny")
#: Columns an existing order is compared on (and updated), as ``on_order_changed`` names them.
TRACKED = ("amount_fen", "status", "refunded_fen", "contact_id")
CHUNK = 5000
#: The columns a new order is inserted with.
INSERTED = ("source", "external_id", "contact_id", "store_id", "staff_id", "amount_fen", "status",
            "refunded_fen", "paid_at", "buyer_phone", "buyer_unionid", "created_at")
#: Rows written at a time where a lookup takes any number of values (:func:`fast.one_of`).
BIG_CHUNK = 100_000


def _yuan_to_fen(text: str) -> int | None:
    """``"199.9"``, ``"¥1,234.00"``, ``"12.50元"``, ``"RMB 12.5"`` → fen; ``None`` for
    anything else (a negative amount, a third decimal, another currency, words)."""
    whole, dot, cents = text.partition(".")
    if (whole.isascii() and whole.isdigit()
            and (not dot or (cents.isascii() and cents.isdigit() and len(cents) <= 2))):
        return int(whole) * 100 + (int(cents.ljust(2, "0")) if dot else 0)  # "199.9"
    bare = text.strip()
    for mark in CURRENCY_MARKS:
        bare = bare.removeprefix(mark).removesuffix(mark).strip()
    try:
        value = Decimal(bare.replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


def _clean(ws: Workspace, frame: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    if "external_id" not in frame:
        raise ImportFailed(_("the file has no order number column; map one with "
                             "--map COLUMN=external_id"))
    if "paid_at" not in frame:
        raise ImportFailed(_("the file has no payment time column; map one with "
                             "--map COLUMN=paid_at"))
    if "amount" not in frame and "amount_fen" not in frame:
        raise ImportFailed(_("the file has no amount column; map one with --map "
                             "COLUMN=amount (yuan) or COLUMN=amount_fen"))
    out = pd.DataFrame(index=frame.index)
    out["external_id"] = frame["external_id"]
    problems.add(frame, frame["external_id"].eq(""), "external_id",
                 _("order number is empty"))
    if "amount_fen" in frame:
        fen = pd.to_numeric(frame["amount_fen"], errors="coerce")
        bad = fen.isna() | (fen < 0) | (fen % 1 != 0)
        problems.add(frame, bad, "amount_fen", _("amount_fen {value!r} is not a whole number "
                                                 "of fen"))
        out["amount_fen"] = fen.fillna(0).astype("int64")
    else:
        fen = frame["amount"].map(_yuan_to_fen)
        problems.add(frame, fen.isna(), "amount", _("amount {value!r} is not a non-negative "
                                                    "yuan amount with at most 2 decimals"))
        out["amount_fen"] = fen.fillna(0).astype("int64")
    out["paid_at"], bad = parse_times(frame["paid_at"], ws.timezone)
    problems.add(frame, bad | frame["paid_at"].eq(""), "paid_at",
                 _("payment time {value!r} is not a date or time"))
    if "status" in frame:
        status = frame["status"].str.lower().replace("", "paid").map(STATUSES)
        problems.add(frame, status.isna(), "status", _(
            "order status {value!r} is not paid/partially_refunded/refunded/cancelled (or "
            "已支付/部分退款/已退款/已取消)"))
        status = status.fillna("paid")
    else:
        status = pd.Series("paid", index=frame.index)
    out["status"], out["refunded_fen"] = _settle(frame, out["amount_fen"], status,
                                                 _refunds(frame, problems), problems)
    if "buyer_phone" in frame:
        out["buyer_phone"], bad = normalize_phone_series(frame["buyer_phone"])
        problems.add(frame, bad, "buyer_phone", _("phone {value!r} is not a mainland mobile "
                                                  "number"))
    else:
        out["buyer_phone"] = None
    out["unionid"] = frame["unionid"] if "unionid" in frame else ""
    out["member_id"] = frame["member_id"] if "member_id" in frame else ""
    for column, model, lookup_key, unknown in (
            ("store", Store, "code", _("unknown store {value!r}; add it first")),
            ("staff", Staff, "userid", _("unknown staff member {value!r}; add it first"))):
        if column in frame:
            mapped = frame[column].map(_lookup(ws, model, lookup_key))
            problems.add(frame, mapped.isna() & frame[column].ne(""), column, unknown)
            out[f"{column}_id"] = mapped.astype("Int64")
        else:
            out[f"{column}_id"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    out["contact_id"] = _match_contacts(ws, frame, out, problems)
    return out


def _refunds(frame: pd.DataFrame, problems: Problems) -> pd.Series:
    """Refunded fen per row (``Int64``; ``<NA>`` where the file gives no refund)."""
    if "refunded_fen" in frame:
        given = frame["refunded_fen"].ne("")
        fen = pd.to_numeric(frame["refunded_fen"].where(given), errors="coerce")
        problems.add(frame, given & (fen.isna() | (fen < 0) | (fen % 1 != 0)), "refunded_fen",
                     _("refunded_fen {value!r} is not a whole number of fen"))
        return fen.where(given & fen.notna() & (fen >= 0) & (fen % 1 == 0)).astype("Int64")
    if "refunded" in frame:
        given = frame["refunded"].ne("")
        fen = frame["refunded"][given].map(_yuan_to_fen)
        problems.add(frame, given & fen.reindex(frame.index).isna(), "refunded",
                     _("refund {value!r} is not a non-negative yuan amount with at most 2 "
                       "decimals"))
        return fen.reindex(frame.index).astype("Int64")
    return pd.Series(pd.NA, index=frame.index, dtype="Int64")


def _settle(frame: pd.DataFrame, amount: pd.Series, status: pd.Series, refunded: pd.Series,
            problems: Problems) -> tuple[pd.Series, pd.Series]:
    """Status and refund per row, by the rules of :func:`siyu.core.services.orders.settle`:
    no refund given follows the status; ``paid`` with a refund is (partially) refunded."""
    column = "refunded_fen" if "refunded_fen" in frame else "refunded"
    given = refunded.notna()
    fen = refunded.fillna(0).astype("int64")
    problems.add(frame, status.eq("partially_refunded") & ~given,
                 "status" if "status" in frame else column,
                 _("a partially refunded order needs its refund amount (a 退款金额 column)"))
    problems.add(frame, given & (fen > amount), column,
                 _("refund {value!r} is more than the order's amount"))
    problems.add(frame, given & status.eq("partially_refunded") & ((fen <= 0) | (fen >= amount))
                 & (fen <= amount), column,
                 _("refund {value!r} is not part of the amount, as a partially refunded "
                   "order's is"))
    problems.add(frame, given & status.eq("refunded") & (fen < amount), column,
                 _("refund {value!r} is not the whole amount of a refunded order (部分退款 "
                   "for part of it)"))
    fen = fen.where(given, amount.where(status.eq("refunded"), 0))
    paid = status.eq("paid") & fen.gt(0)
    status = status.mask(paid & fen.ge(amount), "refunded")
    status = status.mask(paid & fen.lt(amount), "partially_refunded")
    return status, fen


def _match_contacts(ws: Workspace, frame: pd.DataFrame, out: pd.DataFrame,
                    problems: Problems) -> pd.Series:
    """Contact per order by :mod:`siyu.core.identity`, in the workspace's identity order
    (may stay empty). An external_userid that finds no contact, on a row no other key
    matched, is a problem: it names a contact that is not there."""
    order = identity.identity_order(ws)
    keys = {"unionid": out["unionid"], "phone": out["buyer_phone"],
            "member_id": out["member_id"]}
    if "contact" in frame:
        keys["external_userid"] = frame["contact"]
    with ws.engine.connect() as conn:
        result = identity.match_rows(conn, keys, order)
    if "contact" in frame and "external_userid" in order:
        problems.add(frame, result.isna() & frame["contact"].ne(""), "contact",
                     _("unknown contact {value!r} (no contact has this external_userid)"))
    return result


def import_orders(ws: Workspace, path: str | Path, *, mapping: dict[str, str] | None = None,
                  source: str = "import", skip_bad_rows: bool = False,
                  progress: bool | None = None) -> ImportReport:
    """Import orders; see :meth:`siyu.core.importing.Importer.orders`."""
    ws.principal.require("data.write")
    frame, encoding, ignored = read_table(path, FIELDS, mapping)
    report = ImportReport("orders", str(path), rows=len(frame), encoding=encoding,
                          ignored_columns=ignored)
    import_order_frame(ws, frame, report, source=source, skip_bad_rows=skip_bad_rows,
                       progress=progress)
    ws.audit("import.orders", Path(path).name, report.counts())
    ws.events.record("import.orders", dedupe_key=f"import:{uuid.uuid4()}", source="import",
                     payload={"file": Path(path).name, "summary": report.summary()})
    return report


def import_order_frame(ws: Workspace, frame: pd.DataFrame, report: ImportReport, *,
                       source: str = "import", skip_bad_rows: bool = False,
                       progress: bool | None = None,
                       in_transaction: Callable[[sa.Connection], None] | None = None
                       ) -> ImportReport:
    """Validate and write orders given as a frame of text cells named after :data:`FIELDS`,
    indexed by line (or record) number; the bulk path behind file imports and connector
    syncs. Neither audits nor records an event: the caller says what the whole import did.

    :param in_transaction: called with the connection after the orders are written, in
        their transaction (a connector advances its cursor there, so the cursor never
        passes an order that was not stored).
    :return: ``report``, counted.
    :raises ImportFailed: bad rows and not ``skip_bad_rows`` (nothing written).
    """
    ws.principal.require("data.write")
    problems = Problems()
    out = _clean(ws, frame, problems)
    out = _dedupe(out, problems, report)
    fail_or_skip(problems, report, skip_bad_rows, Path(report.path))
    out = out.drop(index=[line for line in problems.bad_lines if line in out.index])
    report.without_contact = out.loc[out["contact_id"].isna(), "external_id"].tolist()
    _write(ws, out, source, report, progress, in_transaction)
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
            problems.items.append(RowProblem(int(line), "external_id", value, _(
                "order {value!r} already appears on line {line} with different values",
                value=value, line=first[value])))
            problems.bad_lines.add(int(line))
        first.setdefault(value, int(line))
    return out


def _write(ws: Workspace, out: pd.DataFrame, source: str, report: ImportReport,
           progress: bool | None,
           in_transaction: Callable[[sa.Connection], None] | None = None) -> None:
    """Insert new orders, update changed ones; notify ``on_order`` and ``on_order_changed``
    in bulk notices, in the import's one transaction (delivered after it commits)."""
    table = Order.__table__
    notify_new = ws.has_hook("on_order")
    notify_changed = ws.has_hook("on_order_changed")
    with ws.session() as s, progress_bar(len(out), _("orders"), progress) as bar:
        conn = s.connection()
        now_db = db_times(conn, pd.Series([utcnow()]))[0]
        touched: set[int] = set()  # contacts whose changed orders need their stats redone
        new_paid: list[pd.DataFrame] = []  # new paid orders, folded into the stats
        size = BIG_CHUNK if fast.one_value(conn) else CHUNK
        for start in range(0, len(out), size):
            chunk = out.iloc[start:start + size]
            ids = chunk["external_id"].tolist()
            existing = {row[0]: row[1:] for row in conn.execute(
                sa.select(table.c.external_id, table.c.id,
                          *[table.c[column] for column in TRACKED])
                .where(table.c.source == source, fast.one_of(conn, table.c.external_id, ids)))}
            is_new = ~chunk["external_id"].isin(existing.keys())
            fresh = chunk[is_new]
            fast.copy_rows(conn, table, INSERTED, list(zip(
                [source] * len(fresh), fresh["external_id"], _int_list(fresh["contact_id"]),
                _int_list(fresh["store_id"]), _int_list(fresh["staff_id"]),
                fresh["amount_fen"].astype(int).tolist(), fresh["status"].tolist(),
                fresh["refunded_fen"].astype(int).tolist(), db_times(conn, fresh["paid_at"]),
                _nullable(fresh["buyer_phone"]), _nullable(fresh["unionid"]),
                [now_db] * len(fresh), strict=True)))
            report.created += len(fresh)
            updates, changes = _changed(chunk[~is_new], existing, notify_changed)
            update_rows(conn, table, TRACKED, updates)
            paid = fresh[fresh["status"].isin(PAID_STATUSES) & fresh["contact_id"].notna()]
            new_paid.append(pd.DataFrame({
                "contact_id": paid["contact_id"].astype("int64"), "paid_at": paid["paid_at"],
                "net_fen": (paid["amount_fen"] - paid["refunded_fen"]).astype("int64")}))
            updated_ids = {row[-1] for row in updates}
            touched.update(row[3] for row in updates if row[3] is not None)
            touched.update(known[4] for known in existing.values()
                           if known[0] in updated_ids and known[4] is not None)
            report.updated += len(updates)
            report.unchanged += int((~is_new).sum()) - len(updates)
            if notify_new and len(fresh):  # delivered once the import commits
                new_ids = conn.execute(sa.select(table.c.id).where(
                    table.c.source == source,
                    fast.one_of(conn, table.c.external_id, fresh["external_id"].tolist()))
                    .order_by(table.c.id)).scalars().all()
                ws.notify_each("on_order", session=s, refs={"order": (Order, new_ids)})
            if changes:
                ws.notify_each("on_order_changed", session=s,
                               refs={"order": (Order, [row[-1] for row in updates])},
                               each={"changes": changes})
            bar.update(len(chunk))
        # The segment rules' per-contact order stats: new orders are folded in, contacts
        # whose known orders changed are recomputed (their new orders included).
        if new_paid:
            folded = pd.concat(new_paid, ignore_index=True)
            stats.add_new_orders(conn, folded[~folded["contact_id"].isin(touched)])
        stats.refresh_orders(conn, touched)
        if in_transaction is not None:
            in_transaction(conn)


def _int_list(values: pd.Series) -> list[int | None]:
    """An ``Int64`` column as a list of ints, ``None`` for ``<NA>``."""
    return values.astype(object).where(values.notna(), None).tolist()


def _changed(rows: pd.DataFrame, existing: dict[str, tuple], describe: bool
             ) -> tuple[list[tuple], list[dict[str, list]]]:
    """The known orders whose tracked fields differ from the file, as update rows
    ``(*TRACKED, id)``; with ``describe``, also each one's ``{"field": [old, new]}``.

    A row that matched no contact keeps the order's contact."""
    updates: list[tuple] = []
    changes: list[dict[str, list]] = []
    for external_id, amount, status, refunded, contact in zip(
            rows["external_id"].tolist(), rows["amount_fen"].tolist(),
            rows["status"].tolist(), rows["refunded_fen"].tolist(),
            rows["contact_id"].tolist(), strict=True):
        order_id, *old = existing[external_id]
        new = (int(amount), status, int(refunded),
               old[3] if contact is None or contact is pd.NA else int(contact))
        if tuple(old) == new:
            continue
        updates.append((*new, order_id))
        if describe:
            changes.append({field: [before, after] for field, before, after
                            in zip(TRACKED, old, new, strict=True) if before != after})
    return updates, changes
