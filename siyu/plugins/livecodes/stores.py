"""Store codes: one live code per store, created in bulk from a CSV or Excel file.

The file names the store (its code) and the staff who serve its customers; every row is
checked before WeCom is called, so a file with a bad row creates nothing. Stores that
already have an active code are left alone (their printed QR codes keep working).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ImportFailed, SiyuError
from siyu.core.importing.table import ImportReport, Problems, fail_or_skip, read_table
from siyu.plugins.livecodes.models import LiveCode
from siyu.storage.models import Staff, Store

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

FIELDS: dict[str, tuple[str, ...]] = {
    "store": ("门店", "门店编码", "store_code", "code"),
    "members": ("员工", "导购", "成员", "staff", "userids"),
    "backup": ("备用员工", "备用", "backup_staff"),
    "name": ("名称", "活码名称", "code_name"),
}
DEFAULT_CHANNEL = "门店"


@dataclass
class StoreCodesReport:
    """What a bulk run did: codes created, stores skipped (already coded), and the ids."""

    created: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        return (f"{len(self.created)} store codes created, {len(self.skipped)} stores "
                f"already had one")


def _split(text: str) -> list[str]:
    for sep in ("；", ";", "，", ",", "|", "、"):
        text = text.replace(sep, " ")
    return [part for part in text.split() if part]


def create_store_codes(ws: Workspace, path: str | Path, *,
                       mapping: Mapping[str, str] | None = None,
                       strategy: str = "round_robin", channel: str = DEFAULT_CHANNEL,
                       tags: Iterable[str] = (), welcome: Mapping[str, Any] | None = None,
                       daily_cap: int | None = None) -> StoreCodesReport:
    """Create a live code for every store in ``path`` that has none yet.

    Columns: ``store`` (store code), ``members`` (staff userids separated by ``;`` or ``,``),
    optional ``backup`` and ``name`` (default "<store name>活码"); Chinese headers (门店, 员工,
    备用员工, 名称) are recognised.

    :raises ImportFailed: unknown stores or staff, empty member lists, a store twice;
        nothing is created.
    :raises SiyuError: WeCom refused a code; the message names the store, and the codes
        created before it are kept and listed.
    """
    from siyu.plugins.livecodes import api

    ws.principal.require("data.write")
    frame, encoding, ignored = read_table(path, FIELDS, dict(mapping or {}))
    report = ImportReport("store codes", str(path), rows=len(frame), encoding=encoding,
                          ignored_columns=ignored)
    for needed in ("store", "members"):
        if needed not in frame:
            raise ImportFailed(f"{Path(path).name} has no {needed!r} column; map one with "
                               f"mapping={{COLUMN: {needed!r}}}")
    with ws.engine.connect() as conn:
        stores = dict(conn.execute(sa.select(Store.code, Store.name)).all())
        staff = set(conn.execute(sa.select(Staff.userid)).scalars())
        coded = set(conn.execute(
            sa.select(Store.code).join(LiveCode, LiveCode.store_id == Store.id)
            .where(LiveCode.status != "deleted")).scalars())
    problems = Problems()
    problems.add(frame, ~frame["store"].isin(stores), "store",
                 "unknown store {value!r}; add it first (siyu import or ws.stores.upsert)")
    problems.add(frame, frame["store"].duplicated(keep="first"), "store",
                 "store {value!r} appears twice")
    members = frame["members"].map(_split)
    problems.add(frame, members.map(len).eq(0), "members", "no staff listed for this store")
    for column in ("members", "backup"):
        if column in frame:
            unknown = frame[column].map(lambda text: [u for u in _split(text)
                                                      if u not in staff])
            problems.add(frame, unknown.map(bool), column,
                         "unknown staff in {value!r}; sync or add them first")
    fail_or_skip(problems, report, False, Path(path))

    result = StoreCodesReport()
    for line, row in frame.iterrows():
        if row["store"] in coded:
            result.skipped.append(row["store"])
            continue
        name = row.get("name") or f"{stores[row['store']]}活码"
        try:
            code = api.create_code(ws, name, _split(row["members"]), strategy=strategy,
                                   channel=channel, tags=tags, welcome=welcome,
                                   backup=_split(row.get("backup", "") or ""),
                                   daily_cap=daily_cap, store=row["store"])
        except SiyuError as exc:
            done = ", ".join(map(str, result.created)) or "none"
            raise SiyuError(f"line {line}: store {row['store']}: {exc} (codes created before "
                            f"it are kept: {done})") from exc
        result.created.append(code["id"])
    ws.audit("livecode.store_codes", Path(path).name, {"summary": result.summary()})
    return result


def store_code_ids(ws: Workspace) -> list[int]:
    """Ids of every live code that belongs to a store and is not deleted, by id."""
    with ws.engine.connect() as conn:
        return list(conn.execute(sa.select(LiveCode.id).where(
            LiveCode.store_id.is_not(None), LiveCode.status != "deleted")
            .order_by(LiveCode.id)).scalars())
