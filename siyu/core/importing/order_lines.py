"""Importing order lines (which products an order holds) from a line-item export.

Each row is one line of an order already imported from the same ``source``; the lines in the
file replace the stored lines of the orders it names, so importing a file twice changes
nothing. Segment rules select buyers by product and category from these lines.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import ImportFailed
from siyu.core.i18n import core as _
from siyu.core.importing.headers import ORDER_LINE_FIELDS
from siyu.core.importing.orders import _yuan_to_fen
from siyu.core.importing.progress import progress_bar
from siyu.core.importing.table import ImportReport, Problems, fail_or_skip, read_table
from siyu.storage.bulk import insert_rows
from siyu.storage.models import Order, OrderLine

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

FIELDS = ORDER_LINE_FIELDS
CHUNK = 5000


def import_order_lines(ws: Workspace, path: str | Path, *,
                       mapping: dict[str, str] | None = None, source: str = "import",
                       skip_bad_rows: bool = False, progress: bool | None = None
                       ) -> ImportReport:
    """Import order lines; see :meth:`siyu.core.importing.Importer.order_lines`."""
    ws.principal.require("data.write")
    frame, encoding, ignored = read_table(path, FIELDS, mapping)
    report = ImportReport("order lines", str(path), rows=len(frame), encoding=encoding,
                          ignored_columns=ignored)
    problems = Problems()
    out = _clean(ws, frame, source, problems)
    fail_or_skip(problems, report, skip_bad_rows, Path(path))
    out = out.drop(index=[line for line in problems.bad_lines if line in out.index])
    _write(ws, out, report, progress)
    ws.audit("import.order_lines", Path(path).name, report.counts())
    ws.events.record("import.order_lines", dedupe_key=f"import:{uuid.uuid4()}",
                     source="import", payload={"file": Path(path).name,
                                               "summary": report.summary()})
    return report


def _clean(ws: Workspace, frame: pd.DataFrame, source: str,
           problems: Problems) -> pd.DataFrame:
    if "external_id" not in frame:
        raise ImportFailed(_("the file has no order number column; map one with "
                             "--map COLUMN=external_id"))
    if "product" not in frame and "sku" not in frame:
        raise ImportFailed(_("the file has no product or SKU column; map one with --map "
                             "COLUMN=product"))
    out = pd.DataFrame(index=frame.index)
    problems.add(frame, frame["external_id"].eq(""), "external_id", _("order number is empty"))
    numbers = sorted(set(frame["external_id"]) - {""})
    known: dict[str, int] = {}
    o = Order.__table__
    with ws.engine.connect() as conn:
        for start in range(0, len(numbers), CHUNK):
            known.update(conn.execute(sa.select(o.c.external_id, o.c.id).where(
                o.c.source == source, o.c.external_id.in_(numbers[start:start + CHUNK]))).all())
    out["order_id"] = frame["external_id"].map(known).astype("Int64")
    problems.add(frame, out["order_id"].isna() & frame["external_id"].ne(""), "external_id",
                 _("no order {{value!r}} from source {source!r}; import the orders first",
                   source=source))
    for column, limit in (("sku", 100), ("product", 200), ("category", 100)):
        out[column] = frame[column].str.strip() if column in frame else ""
        problems.add(frame, out[column].str.len() > limit, column,
                     _("{{column}} {{value!r}} is longer than {n} characters", n=limit))
    problems.add(frame, out["product"].eq("") & out["sku"].eq(""),
                 "product" if "product" in frame else "sku", _("a line needs a product or SKU"))
    if "quantity" in frame:
        qty = pd.to_numeric(frame["quantity"].replace("", "1"), errors="coerce")
        problems.add(frame, qty.isna() | (qty < 1) | (qty % 1 != 0), "quantity",
                     _("quantity {value!r} is not a whole number of at least 1"))
        out["quantity"] = qty.fillna(1).astype("int64")
    else:
        out["quantity"] = 1
    if "amount_fen" in frame:
        fen = pd.to_numeric(frame["amount_fen"].replace("", "0"), errors="coerce")
        problems.add(frame, fen.isna() | (fen < 0) | (fen % 1 != 0), "amount_fen",
                     _("amount_fen {value!r} is not a whole number of fen"))
        out["amount_fen"] = fen.fillna(0).astype("int64")
    elif "amount" in frame:
        fen = frame["amount"].replace("", "0").map(_yuan_to_fen)
        problems.add(frame, fen.isna(), "amount", _("amount {value!r} is not a non-negative "
                                                    "yuan amount with at most 2 decimals"))
        out["amount_fen"] = fen.fillna(0).astype("int64")
    else:
        out["amount_fen"] = 0
    if "line_no" in frame:
        given = pd.to_numeric(frame["line_no"], errors="coerce")
        problems.add(frame, frame["line_no"].ne("") & (given.isna() | (given < 1)
                                                        | (given % 1 != 0)),
                     "line_no", _("line number {value!r} is not a whole number of at least 1"))
    else:
        given = pd.Series(float("nan"), index=frame.index)
    # Lines without a number are numbered in file order within their order.
    position = out.groupby("order_id", dropna=False).cumcount() + 1
    out["line_no"] = given.where(given.notna(), position).fillna(1).astype("int64")
    twice = out.duplicated(["order_id", "line_no"], keep="first") & out["order_id"].notna()
    problems.add(frame, twice, "external_id",
                 _("order {value!r} has this line number twice in the file"))
    return out


def _write(ws: Workspace, out: pd.DataFrame, report: ImportReport,
           progress: bool | None) -> None:
    """Replace the lines of every order in the file, in one transaction."""
    table = OrderLine.__table__
    orders = sorted({int(i) for i in out["order_id"].dropna()})
    with ws.session() as s, progress_bar(len(out), _("order lines"), progress) as bar:
        conn = s.connection()
        for start in range(0, len(orders), CHUNK):
            conn.execute(table.delete().where(
                table.c.order_id.in_(orders[start:start + CHUNK])))
        for start in range(0, len(out), CHUNK):
            chunk = out.iloc[start:start + CHUNK]
            insert_rows(conn, table, ["order_id", "line_no", "sku", "product", "category",
                                      "quantity", "amount_fen"],
                        list(zip(chunk["order_id"].astype(int).tolist(),
                                 chunk["line_no"].tolist(), chunk["sku"].tolist(),
                                 chunk["product"].tolist(), chunk["category"].tolist(),
                                 chunk["quantity"].tolist(),
                                 chunk["amount_fen"].tolist(), strict=True)))
            bar.update(len(chunk))
    report.created = len(out)
