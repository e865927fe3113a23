"""Importing contacts from a CSV or Excel file."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import ImportFailed
from siyu.core.i18n import core as _
from siyu.core.importing.headers import CONTACT_FIELDS
from siyu.core.importing.progress import progress_bar
from siyu.core.importing.table import (
    CUSTOM_PREFIX,
    ImportReport,
    Problems,
    RowProblem,
    fail_or_skip,
    parse_times,
    read_table,
)
from siyu.core.notices import implementers
from siyu.core.pii import normalize_phone_series
from siyu.core.services.contacts import GENDERS, split_tag_name
from siyu.storage.bulk import db_times, insert_rows, update_rows
from siyu.storage.models import (
    Contact,
    ContactField,
    ContactTag,
    Staff,
    Store,
    Tag,
    TagGroup,
)
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: Field → header aliases; defined in :mod:`siyu.core.importing.headers`.
FIELDS = CONTACT_FIELDS
KEYS = ("external_userid", "phone", "unionid", "member_id")
#: Columns compared to decide whether an existing contact changed.
COMPARED = ("name", "unionid", "phone", "gender", "city", "owner_id", "store_id",
            "source_channel", "remark")
CHUNK = 5000


def _lookup(ws: Workspace, model, key: str) -> dict[str, int]:
    """Map both ``key`` values and names to ids (staff userid or name; store code or name)."""
    table = model.__table__
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c[key], table.c.name)).all()
    by_name: dict[str, list[int]] = {}
    for row_id, _key, name in rows:
        by_name.setdefault(name, []).append(row_id)
    ids = {name: ids[0] for name, ids in by_name.items() if len(ids) == 1}
    ids.update({k: row_id for row_id, k, _name in rows})
    return ids


def _clean(ws: Workspace, frame: pd.DataFrame, key: str, problems: Problems,
           create_tags: bool) -> pd.DataFrame:
    """Validate and normalise every column; bad cells become row problems."""
    out = pd.DataFrame(index=frame.index)
    for name in ("external_userid", "unionid", "name", "city", "source_channel", "remark"):
        out[name] = frame[name] if name in frame else ""
    if "member_id" in frame:  # only then: a file without member numbers keeps them
        out["member_id"] = frame["member_id"]
    for column in frame.columns:  # custom fields, kept as text
        if str(column).startswith(CUSTOM_PREFIX):
            out[column] = frame[column]
            problems.add(frame, frame[column].str.len() > 500, column,
                         _("{column} {value!r} is longer than 500 characters"))
    if key not in frame:
        raise ImportFailed(_("the file has no column for the key {key!r}; map one with "
                             "--map COLUMN={key}", key=key))
    if "phone" in frame:
        out["phone"], bad = normalize_phone_series(frame["phone"])
        problems.add(frame, bad, "phone", _("phone {value!r} is not a mainland mobile number "
                                            "(11 digits, optional +86)"))
    else:
        out["phone"] = None
    if "gender" in frame:
        lowered = frame["gender"].str.lower().str.replace(r"\.0$", "", regex=True)
        mapped = lowered.map(GENDERS)
        problems.add(frame, mapped.isna(), "gender",
                     _("gender {value!r} is not one of 男/女/未知, male/female, 0/1/2"))
        out["gender"] = mapped.fillna(0).astype(int)
    else:
        out["gender"] = 0
    for column, model, lookup_key, unknown in (
            ("owner", Staff, "userid", _("unknown staff member {value!r}; add it first")),
            ("store", Store, "code", _("unknown store {value!r}; add it first"))):
        target = f"{column}_id"
        if column in frame:
            ids = _lookup(ws, model, lookup_key)
            mapped = frame[column].map(ids)
            problems.add(frame, mapped.isna() & frame[column].ne(""), column, unknown)
            out[target] = mapped.astype("Int64")
        else:
            out[target] = pd.array([pd.NA] * len(frame), dtype="Int64")
    if "added_at" in frame:
        out["added_at"], bad = parse_times(frame["added_at"], ws.timezone)
        problems.add(frame, bad, "added_at", _("added_at {value!r} is not a date or time"))
    else:
        out["added_at"] = pd.NaT
    keys = out[key] if key != "phone" else out["phone"]
    problems.add(frame, keys.isna() | keys.eq(""), key, _("{column} is empty"))
    if "tags" in frame:
        out["tags"] = _parse_tags(ws, frame, problems, create_tags)
    return out


def _parse_tags(ws: Workspace, frame: pd.DataFrame, problems: Problems,
                create_tags: bool) -> pd.Series:
    lists = frame["tags"].str.replace("，", ",").str.replace("；", ";").str.split(r"[;,]")
    lists = lists.map(lambda items: [t.strip() for t in items if t.strip()])
    wanted = sorted({t for items in lists for t in items})
    known = set(ws.tags.names())
    unknown = [t for t in wanted if f"{split_tag_name(t)[0]}/{split_tag_name(t)[1]}"
               not in known]
    if unknown and not create_tags:
        bad = lists.map(lambda items: any(t in unknown for t in items))
        problems.add(frame, bad, "tags", _("unknown tag in {value!r}; create the tag first or "
                                           "import with --create-tags"))
    return lists


def _dedupe(out: pd.DataFrame, key: str, problems: Problems,
            report: ImportReport) -> pd.DataFrame:
    """Merge identical repeated rows; a repeated key with different values is a problem."""
    keys = out[key]
    repeated = keys.duplicated(keep=False) & keys.notna() & keys.ne("")
    if not repeated.any():
        return out
    comparable = out.drop(columns=["tags"], errors="ignore").astype(str)
    exact = comparable.duplicated(keep="first") & repeated
    report.duplicates = int(exact.sum())
    out = out[~exact]
    valid = out[key].notna() & out[key].ne("")
    conflicting = out[key].duplicated(keep="first") & valid
    if conflicting.any():
        first_line = {}
        for line, value in out.loc[valid, key].items():
            first_line.setdefault(value, line)
        for line in out.index[conflicting]:
            value = out.at[line, key]
            problems.items.append(RowProblem(
                int(line), key, value, _("{column} {value!r} already appears on line {line} "
                                         "with different values", column=key, value=value,
                                         line=first_line[value])))
            problems.bad_lines.add(int(line))
    return out


def import_contacts(ws: Workspace, path: str | Path, *, mapping: dict[str, str] | None = None,
                    key: str = "external_userid", skip_bad_rows: bool = False,
                    create_tags: bool = False, progress: bool | None = None,
                    custom_fields: bool | list[str] = False) -> ImportReport:
    """Import contacts; see :meth:`siyu.core.importing.Importer.contacts`."""
    ws.principal.require("data.write")
    if key not in KEYS:
        raise ImportFailed(_("key {key!r} is not one of {keys}", key=key,
                             keys=", ".join(KEYS)))
    mapping = dict(mapping or {})
    if isinstance(custom_fields, list | tuple):
        mapping.update({column: CUSTOM_PREFIX + str(column).strip()
                        for column in custom_fields})
    frame, encoding, ignored = read_table(path, FIELDS, mapping, custom=True)
    if custom_fields is True and ignored:  # every column not otherwise imported
        mapping.update({column: CUSTOM_PREFIX + column.strip() for column in ignored})
        frame, encoding, ignored = read_table(path, FIELDS, mapping, custom=True)
    report = ImportReport("contacts", str(path), rows=len(frame), encoding=encoding,
                          ignored_columns=ignored)
    return import_contact_frame(ws, frame, report, key=key, skip_bad_rows=skip_bad_rows,
                                create_tags=create_tags, progress=progress, via="import")


def import_contact_frame(ws: Workspace, frame: pd.DataFrame, report: ImportReport, *,
                         key: str = "external_userid", skip_bad_rows: bool = False,
                         create_tags: bool = False, progress: bool | None = None,
                         via: str = "import", record: bool = True,
                         in_transaction: Callable[[sa.Connection], None] | None = None
                         ) -> ImportReport:
    """Validate and write contacts given as a frame of text cells named after
    :data:`FIELDS`, indexed by line number; the bulk path behind file imports and syncs.

    :param via: passed to ``on_contact_added`` and recorded as the source.
    :param record: audit the import and record its event (a connector says once what its
        whole run did instead).
    :param in_transaction: called with the connection after the contacts are written, in
        their transaction (a connector advances its cursor there).
    """
    ws.principal.require("data.write")
    problems = Problems()
    out = _clean(ws, frame, key, problems, create_tags)
    out = _dedupe(out, key, problems, report)
    fail_or_skip(problems, report, skip_bad_rows, Path(report.path))
    out = out.drop(index=[line for line in problems.bad_lines if line in out.index])

    _write(ws, out, key, report, create_tags, progress, via, in_transaction)
    if not record:
        return report
    name = Path(report.path).name
    ws.audit(f"{via}.contacts", name, report.counts())
    ws.events.record(f"{via}.contacts", dedupe_key=f"{via}:{uuid.uuid4()}",
                     source=via, payload={"file": name, "summary": report.summary()})
    return report


def _write(ws: Workspace, out: pd.DataFrame, key: str, report: ImportReport,
           create_tags: bool, progress: bool | None, via: str,
           in_transaction: Callable[[sa.Connection], None] | None = None) -> None:
    """Insert new contacts, update changed ones, tag them, and notify ``on_contact_added``
    and ``on_contact_tagged`` in bulk notices; one transaction, delivered after it commits.
    """
    table = Contact.__table__
    if create_tags and "tags" in out:
        for tag in sorted({t for items in out["tags"] for t in items}):
            ws.tags.create(tag)
    tag_ids = _tag_ids(ws) if "tags" in out else {}
    now = utcnow()
    # Only plugins that want contacts arriving this way are told (see notified_when).
    notify_added = bool(implementers(ws.pm, "on_contact_added", {"via": via}))
    notify_tagged = bool(implementers(ws.pm, "on_contact_tagged", {"source": via}))
    # Contact ids are only needed to tag contacts or to tell plugins who was added.
    custom = [c for c in out.columns if str(c).startswith(CUSTOM_PREFIX)]
    need_ids = "tags" in out or notify_added or bool(custom)
    by_range = ws.engine.dialect.name == "sqlite"
    member = "member_id" in out
    compared = (*COMPARED, "member_id") if member else COMPARED
    with ws.session() as s, progress_bar(len(out), _("contacts"), progress) as bar:
        conn = s.connection()
        # A first import into an empty table has nothing to compare against.
        empty = conn.execute(sa.select(table.c.id).limit(1)).first() is None
        now_db = db_times(conn, pd.Series([now]))[0]
        added_db = db_times(conn, out["added_at"].where(out["added_at"].notna(), now))
        out = out.assign(added_db=added_db)
        for start in range(0, len(out), CHUNK):
            chunk = out.iloc[start:start + CHUNK]
            keys = chunk[key].tolist()
            existing = {} if empty else {row[0]: row for row in conn.execute(
                sa.select(table.c[key], table.c.id, *[table.c[c] for c in compared])
                .where(table.c[key].in_(keys)))}
            is_new = ~chunk[key].isin(existing.keys())
            fresh = chunk[is_new]
            columns = ["external_userid", "unionid", "name", "phone", "gender", "city",
                       "owner_id", "store_id", "source_channel", "remark", "added_at",
                       "created_at", "updated_at"] + (["member_id"] if member else [])
            rows = list(zip(
                _nullable(fresh["external_userid"]), _nullable(fresh["unionid"]),
                fresh["name"].tolist(), _nullable(fresh["phone"]),
                fresh["gender"].tolist(), fresh["city"].tolist(),
                _ints(fresh["owner_id"]), _ints(fresh["store_id"]),
                fresh["source_channel"].tolist(), fresh["remark"].tolist(),
                fresh["added_db"].tolist(), [now_db] * len(fresh), [now_db] * len(fresh),
                *([_nullable(fresh["member_id"])] if member else []), strict=True))
            # SQLite has one writer: the rows this chunk adds are the ids above this one.
            last_id = (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
                       if need_ids and by_range else None)
            insert_rows(conn, table, columns, rows)
            report.created += len(rows)
            changes = _changed_rows(chunk[~is_new], existing, key, member)
            update_rows(conn, table, [*compared, "updated_at"],
                        [(*values, now_db, row_id) for row_id, values in changes])
            report.updated += len(changes)
            report.unchanged += int((~is_new).sum()) - len(changes)
            if not need_ids:
                bar.update(len(chunk))
                continue
            if last_id is not None and "tags" not in chunk and not custom:
                ids = dict(conn.execute(sa.select(table.c[key], table.c.id)
                                        .where(table.c.id > last_id)).all())
            else:
                ids = dict(conn.execute(sa.select(table.c[key], table.c.id)
                                        .where(table.c[key].in_(keys))).all())
            if notify_added and len(fresh):
                ws.notify_each("on_contact_added", session=s,
                               refs={"contact": (Contact, [ids[k] for k in fresh[key]])},
                               via=via)
            if custom:
                _write_fields(conn, chunk, key, ids, custom)
            if "tags" in chunk:
                tagged: dict[int, list[str]] = {}
                _tag_rows(conn, chunk, key, ids, tag_ids, now_db,
                          tagged if notify_tagged else None)
                if tagged:
                    contact_ids = sorted(tagged)
                    ws.notify_each("on_contact_tagged", session=s,
                                   refs={"contact": (Contact, contact_ids)},
                                   each={"added": [tagged[i] for i in contact_ids],
                                         "removed": [[] for _ in contact_ids]},
                                   source=via)
            bar.update(len(chunk))
        if in_transaction is not None:
            in_transaction(conn)


def _write_fields(conn: sa.Connection, chunk: pd.DataFrame, key: str, ids: dict,
                  columns: list[str]) -> None:
    """Store the chunk's custom fields: a value replaces the contact's, an empty cell
    removes that field."""
    table = ContactField.__table__
    contact_ids = [ids[k] for k in chunk[key]]
    for column in columns:
        name = column[len(CUSTOM_PREFIX):].strip()
        values = chunk[column].tolist()
        conn.execute(table.delete().where(table.c.name == name,
                                          table.c.contact_id.in_(contact_ids)))
        insert_rows(conn, table, ["contact_id", "name", "value"],
                    [(cid, name, value) for cid, value in zip(contact_ids, values, strict=True)
                     if value])


def _nullable(values: pd.Series) -> list:
    """Values as a list, with ``None`` for empty and missing cells."""
    return [None if v is None or v == "" or (isinstance(v, float) and v != v) else v
            for v in values.tolist()]


def _ints(values: pd.Series) -> list:
    return [None if pd.isna(v) else int(v) for v in values]


def _changed_rows(chunk: pd.DataFrame, existing: dict, key: str,
                  member: bool = False) -> list[tuple[int, tuple]]:
    changes = []
    for record in chunk.itertuples(index=False):
        row = existing[getattr(record, key)]
        new = (record.name, record.unionid or None, record.phone, int(record.gender),
               record.city, None if pd.isna(record.owner_id) else int(record.owner_id),
               None if pd.isna(record.store_id) else int(record.store_id),
               record.source_channel, record.remark)
        if member:
            new += (record.member_id or None,)
        if tuple(row[2:]) != new:
            changes.append((row[1], new))
    return changes


def _tag_ids(ws: Workspace) -> dict[str, int]:
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(TagGroup.name, Tag.name, Tag.id)
                            .join(TagGroup, Tag.group_id == TagGroup.id)).all()
    ids = {f"{g}/{n}": i for g, n, i in rows}
    ids.update({n: i for g, n, i in rows if g == "默认"})
    return ids


def _tag_rows(conn, chunk: pd.DataFrame, key: str, ids: dict, tag_ids: dict, now_db,
              tagged: dict[int, list[str]] | None) -> None:
    rows = []
    for contact_key, tags in zip(chunk[key], chunk["tags"], strict=True):
        for tag in tags:
            tag_id = tag_ids.get(tag) or tag_ids.get("/".join(split_tag_name(tag)))
            rows.append((ids[contact_key], tag_id, "import", now_db, tag))
    if tagged is not None and rows:
        have = set(conn.execute(sa.select(ContactTag.contact_id, ContactTag.tag_id).where(
            ContactTag.contact_id.in_({row[0] for row in rows}))).all())
        for contact_id, tag_id, *_rest, tag in rows:
            if (contact_id, tag_id) not in have:
                tagged.setdefault(contact_id, []).append(tag)
    rows = [row[:4] for row in rows]
    insert_rows(conn, ContactTag.__table__, ["contact_id", "tag_id", "source", "created_at"],
                rows, ignore_conflicts=True)


