"""``ws.segments``: check, count, preview, explain, export and save audiences.

A segment is a spec (see :mod:`siyu.core.segments.spec`) compiled to one SQL statement over
``contact``. Saved segments keep every version; a snapshot freezes the member list at one
time (a campaign sends to a snapshot, not to a segment that keeps changing).
"""

from __future__ import annotations

import contextvars
import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.segments import compiler, stats
from siyu.core.segments.spec import SegmentError, SpecLike, parse, references, to_dict
from siyu.core.services.base import Service
from siyu.storage.models import (
    Contact,
    ContactStats,
    Segment,
    SegmentSnapshot,
    SegmentSnapshotMember,
    SegmentVersion,
)
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.segments.spec import Node

#: Names of saved segments being compiled, outermost first (membership rules nest).
_compiling: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "siyu_segments_compiling", default=())
#: Export formats by file suffix.
EXPORT_FORMATS = (".csv", ".xlsx")
#: Rows a preview shows by default.
PREVIEW_ROWS = 20


def _jsonable(value: Any) -> Any:
    """A spec with dates turned into ISO text (what JSON and the database keep)."""
    if isinstance(value, SpecLike):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class SegmentsService(Service):
    """``ws.segments``: audiences as one SQL query, saved with versions."""

    # -- specs ----------------------------------------------------------------------------

    def rules(self) -> dict[str, Any]:
        """The rules a spec may use (``SegmentRule`` records by name), from every plugin."""
        return dict(self.ws.segment_rules)

    def check(self, spec: Any, *, saving: str | None = None) -> Node:
        """Check ``spec`` (a dict, a JSON text or an ``S`` expression) and return its tree.

        :param saving: the name it is being saved under (a reference back to it is a cycle).
        :raises SegmentError: every problem, each with its place in the spec.
        """
        spec = self._as_spec(spec)
        node = parse(self.ws, spec)
        self._check_cycles(spec, saving)
        return node

    def validate(self, spec: Any) -> dict[str, Any]:
        """``spec`` as a plain JSON-able dict once it checks out.

        :raises SegmentError: as :meth:`check`.
        """
        self.check(spec)
        return _jsonable(self._as_spec(spec))

    @staticmethod
    def _as_spec(spec: Any) -> Any:
        if isinstance(spec, str):
            try:
                return json.loads(spec)
            except json.JSONDecodeError as exc:
                raise SegmentError([("", _("not valid JSON: {reason}", reason=exc.msg))]
                                   ) from None
        return to_dict(spec)

    def _check_cycles(self, spec: Any, saving: str | None) -> None:
        """A saved segment reached again through ``segment`` rules is a cycle."""
        def walk(names: list[str], chain: tuple[str, ...]) -> None:
            for name in names:
                if name in chain or name == saving:
                    loop = " → ".join((*chain, name)) if chain else name
                    raise SegmentError([("segment.name", _(
                        "segment {name!r} refers back to itself ({loop})", name=name,
                        loop=loop))])
                saved = self._find(name, required=False)
                if saved is not None:
                    walk(references(saved.spec), (*chain, name))

        start = (saving,) if saving else ()
        for name in references(spec):
            if name == saving:
                raise SegmentError([("segment.name", _(
                    "segment {name!r} cannot contain itself", name=name))])
            walk([name], start)

    def _resolve(self, spec_or_name: Any) -> tuple[Any, Segment | None]:
        if isinstance(spec_or_name, str) and not spec_or_name.lstrip().startswith("{"):
            saved = self.get(spec_or_name)
            return saved.spec, saved
        return self._as_spec(spec_or_name), None

    # -- evaluating -----------------------------------------------------------------------

    def query(self, spec_or_name: Any, *, now: datetime | None = None) -> sa.Select:
        """``SELECT contact.id …`` for a spec or a saved segment's name (one statement).

        :param now: evaluate windows (``within_days``) as at this aware time.
        """
        self.ws.principal.require("data.read")
        spec, saved = self._resolve(spec_or_name)
        node = self.check(spec)
        with compiler.evaluated_at(now), self._compiling(saved):
            return compiler.members(self.ws, node)

    def member_clause(self, name: str) -> sa.ColumnElement[bool]:
        """``contact.id IN (members of saved segment name)``, for the ``segment`` rule.

        :raises SegmentError: the segments refer to each other in a cycle.
        """
        chain = _compiling.get()
        if name in chain:
            raise SegmentError([("segment.name", _(
                "segment {name!r} refers back to itself ({loop})", name=name,
                loop=" → ".join((*chain, name))))])
        saved = self.get(name)
        token = _compiling.set((*chain, name))
        try:
            node = parse(self.ws, saved.spec)
            return Contact.__table__.c.id.in_(compiler.members(self.ws, node))
        finally:
            _compiling.reset(token)

    def _compiling(self, saved: Segment | None):
        chain = (saved.name,) if saved is not None else ()

        class _Scope:
            def __enter__(self_inner):
                self_inner.token = _compiling.set(chain)

            def __exit__(self_inner, *exc):
                _compiling.reset(self_inner.token)

        return _Scope()

    def count(self, spec_or_name: Any, *, now: datetime | None = None) -> int:
        """How many contacts the spec (or saved segment) selects. Counting a saved segment
        records the count and when (shown in the list)."""
        self.ws.principal.require("data.read")
        spec, saved = self._resolve(spec_or_name)
        node = self.check(spec)
        with compiler.evaluated_at(now), self._compiling(saved):
            query = compiler.count_query(self.ws, node)
        with self.ws.engine.connect() as conn:
            result = conn.execute(query).scalar_one()
        if saved is not None:
            with self.ws.session() as s:
                s.connection().execute(
                    Segment.__table__.update().where(Segment.__table__.c.id == saved.id)
                    .values(last_count=result, counted_at=utcnow()))
        return int(result)

    def df(self, spec_or_name: Any, *, columns: list[str] | None = None,
           limit: int | None = None, offset: int = 0, reveal_pii: bool = False,
           now: datetime | None = None) -> pd.DataFrame:
        """The members as a contacts DataFrame (phones masked unless ``reveal_pii`` and the
        role may see them); see ``ws.contacts.df`` for ``columns``."""
        members = self.query(spec_or_name, now=now)
        return self.ws.contacts.df(columns=columns, limit=limit, offset=offset,
                                   reveal_pii=reveal_pii, within=members)

    def preview(self, spec_or_name: Any, *, limit: int = PREVIEW_ROWS,
                now: datetime | None = None) -> pd.DataFrame:
        """A sample of the members (the first ``limit`` by id), phones masked by role."""
        return self.df(spec_or_name, limit=limit, now=now,
                       columns=["id", "name", "phone", "city", "owner", "store",
                                "source_channel", "added_at"],
                       reveal_pii=self.ws.principal.can("pii.view"))

    def explain(self, spec_or_name: Any, *, now: datetime | None = None) -> dict[str, Any]:
        """The count's SQL, its bound parameters and the engine's query plan.

        :return: ``{"sql": str, "params": dict, "plan": [str, ...]}``.
        """
        self.ws.principal.require("data.read")
        spec, saved = self._resolve(spec_or_name)
        node = self.check(spec)
        with compiler.evaluated_at(now), self._compiling(saved):
            query = compiler.count_query(self.ws, node)
        sql, params = compiler.sql_text(self.ws, query)
        prefix = ("EXPLAIN QUERY PLAN " if self.ws.engine.dialect.name == "sqlite"
                  else "EXPLAIN ")
        with self.ws.engine.connect() as conn:
            compiled = compiler.compile_for(self.ws, query)
            rows = conn.exec_driver_sql(prefix + str(compiled),
                                        _positional(compiled)).fetchall()
        plan = ([f"{'  ' * _depth(rows, row)}{row[-1]}" for row in rows]
                if self.ws.engine.dialect.name == "sqlite" else [row[0] for row in rows])
        return {"sql": sql, "params": {k: _jsonable(v) for k, v in params.items()},
                "plan": plan}

    def export(self, spec_or_name: Any, path: str | Path, *, reveal_pii: bool = False,
               now: datetime | None = None) -> Path:
        """Write the members to a CSV (UTF-8 with BOM, opens in Excel) or XLSX file.

        Phones are masked unless ``reveal_pii`` (needs ``pii.view``). Audited.

        :raises ValidationError: a suffix other than .csv or .xlsx.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in EXPORT_FORMATS:
            raise ValidationError(_("export to a .csv or .xlsx file, not {name!r}",
                                    name=path.name))
        if reveal_pii:
            self.ws.principal.require("pii.view")
        frame = self.df(spec_or_name, reveal_pii=reveal_pii, now=now)
        for column in ("added_at", "removed_at"):
            if column in frame:
                frame[column] = frame[column].dt.tz_localize(None)
        tmp = path.with_name(path.name + ".part")
        if suffix == ".csv":
            frame.to_csv(tmp, index=False, encoding="utf-8-sig")
        else:
            frame.to_excel(tmp, index=False, engine="openpyxl")
        tmp.replace(path)
        target = spec_or_name if isinstance(spec_or_name, str) else "spec"
        self.ws.audit("segment.export", target, {"rows": len(frame), "file": path.name,
                                                 "pii": bool(reveal_pii)})
        return path

    def snapshot(self, spec_or_name: Any, *, now: datetime | None = None) -> SegmentSnapshot:
        """Freeze the current members (one ``INSERT … SELECT``) with the time taken.

        :return: the snapshot (``id``, ``members``, ``taken_at``); its contacts are
            :meth:`snapshot_members`.
        """
        self.ws.principal.require("segments.write")
        spec, saved = self._resolve(spec_or_name)
        members = self.query(spec_or_name, now=now)
        with self.ws.session() as s:
            conn = s.connection()
            snap = SegmentSnapshot(segment_id=saved.id if saved else None,
                                   version=saved.version if saved else None,
                                   spec=_jsonable(spec), members=0,
                                   taken_by=self.ws.principal.name)
            s.add(snap)
            s.flush()
            m = SegmentSnapshotMember.__table__
            sub = members.subquery()
            conn.execute(m.insert().from_select(
                ["snapshot_id", "contact_id"],
                sa.select(sa.literal(snap.id), sub.c.id)))
            snap.members = conn.execute(sa.select(sa.func.count()).select_from(m)
                                        .where(m.c.snapshot_id == snap.id)).scalar_one()
            self.ws.audit("segment.snapshot", saved.name if saved else "spec",
                          {"snapshot": snap.id, "members": snap.members}, session=s)
        return snap

    def snapshot_members(self, snapshot_id: int) -> list[int]:
        """The contact ids a snapshot froze."""
        self.ws.principal.require("data.read")
        m = SegmentSnapshotMember.__table__
        with self.ws.engine.connect() as conn:
            if conn.execute(sa.select(SegmentSnapshot.id)
                            .where(SegmentSnapshot.id == snapshot_id)).first() is None:
                raise NotFound(_("no segment snapshot {id}", id=snapshot_id))
            return list(conn.execute(sa.select(m.c.contact_id).where(m.c.snapshot_id ==
                                     snapshot_id).order_by(m.c.contact_id)).scalars())

    # -- saved segments -------------------------------------------------------------------

    def _find(self, name: str, *, required: bool = True) -> Segment | None:
        with self.ws.engine.connect() as conn:
            row = conn.execute(sa.select(Segment.__table__)
                               .where(Segment.__table__.c.name == name)).first()
        if row is None:
            if required:
                raise NotFound(_("no saved segment {name!r}", name=name))
            return None
        return Segment(**row._mapping)

    def get(self, name: str) -> Segment:
        """The saved segment ``name`` (its current version).

        :raises NotFound: no segment has that name.
        """
        self.ws.principal.require("data.read")
        return self._find(name)

    def list(self) -> pd.DataFrame:
        """Saved segments: name, description, owner, version, last count and when."""
        self.ws.principal.require("data.read")
        t = Segment.__table__
        return self._read_df(sa.select(t.c.name, t.c.description, t.c.owner, t.c.version,
                                       t.c.last_count, t.c.counted_at, t.c.updated_at)
                             .order_by(t.c.name), ("counted_at", "updated_at"))

    def create(self, name: str, spec: Any, *, description: str = "") -> Segment:
        """Save a new segment (version 1).

        :raises ValidationError: an empty or taken name, a spec that does not check out.
        """
        self.ws.principal.require("segments.write")
        name = self._name(name)
        self.check(spec, saving=name)
        spec = _jsonable(self._as_spec(spec))
        now = utcnow()
        with self.ws.session() as s:
            if s.exec(sa.select(Segment.id).where(Segment.name == name)).first():
                raise ValidationError(_("a segment named {name!r} exists already; choose "
                                        "another name or save a new version of it",
                                        name=name))
            segment = Segment(name=name, description=description.strip(), spec=spec,
                              owner=self.ws.principal.name, version=1, created_at=now,
                              updated_at=now)
            s.add(segment)
            s.flush()
            s.add(SegmentVersion(segment_id=segment.id, version=1, spec=spec,
                                 description=segment.description,
                                 saved_by=self.ws.principal.name, saved_at=now,
                                 note=_("created")))
            self.ws.audit("segment.create", name, {"spec": spec}, session=s)
        return segment

    def save(self, name: str, spec: Any = None, *, description: str | None = None,
             note: str = "") -> Segment:
        """Save a new version of ``name`` (its spec and/or description).

        :raises NotFound: no such segment.
        """
        self.ws.principal.require("segments.write")
        current = self._find(name)
        new_spec = current.spec if spec is None else spec
        self.check(new_spec, saving=name)
        new_spec = _jsonable(self._as_spec(new_spec))
        text = current.description if description is None else description.strip()
        if new_spec == current.spec and text == current.description:
            return current
        return self._write_version(current, new_spec, text, note)

    def _write_version(self, current: Segment, spec: Any, description: str,
                       note: str) -> Segment:
        t = Segment.__table__
        now = utcnow()
        with self.ws.session() as s:
            version = current.version + 1
            done = s.connection().execute(
                t.update().where(t.c.id == current.id, t.c.version == current.version)
                .values(spec=spec, description=description, version=version,
                        updated_at=now, last_count=None, counted_at=None)).rowcount
            if not done:
                raise ValidationError(_("segment {name!r} was changed by someone else "
                                        "meanwhile; reload it and save again",
                                        name=current.name))
            s.add(SegmentVersion(segment_id=current.id, version=version, spec=spec,
                                 description=description, saved_by=self.ws.principal.name,
                                 saved_at=now, note=note[:300]))
            self.ws.audit("segment.save", current.name, {"version": version, "spec": spec},
                          session=s)
        return self._find(current.name)

    def versions(self, name: str) -> pd.DataFrame:
        """Every saved version of ``name``, newest first."""
        segment = self.get(name)
        v = SegmentVersion.__table__
        return self._read_df(sa.select(v.c.version, v.c.saved_at, v.c.saved_by, v.c.note,
                                       v.c.description, v.c.spec)
                             .where(v.c.segment_id == segment.id)
                             .order_by(v.c.version.desc()), ("saved_at",))

    def restore(self, name: str, version: int) -> Segment:
        """Make an earlier version current again (saved as a new version)."""
        self.ws.principal.require("segments.write")
        current = self._find(name)
        v = SegmentVersion.__table__
        with self.ws.engine.connect() as conn:
            row = conn.execute(sa.select(v.c.spec, v.c.description).where(
                v.c.segment_id == current.id, v.c.version == version)).first()
        if row is None:
            raise NotFound(_("segment {name!r} has no version {version}", name=name,
                             version=version))
        self.check(row.spec, saving=name)
        return self._write_version(current, copy.deepcopy(row.spec), row.description,
                                   _("restored version {version}", version=version))

    def duplicate(self, name: str, new_name: str) -> Segment:
        """Save a copy of ``name`` under ``new_name`` (version 1)."""
        source = self.get(name)
        return self.create(new_name, source.spec, description=source.description)

    def users_of(self, name: str) -> list[str]:
        """Saved segments whose current spec refers to ``name``."""
        t = Segment.__table__
        with self.ws.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.name, t.c.spec)).all()
        return sorted(row.name for row in rows if name in references(row.spec))

    def campaigns_using(self, name: str) -> list[str]:
        """Drafted or scheduled campaigns whose audience is saved segment ``name``."""
        from siyu.storage.models import Campaign

        t = Campaign.__table__
        with self.ws.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.name, t.c.audience).where(
                t.c.status.in_(("draft", "scheduled")))).all()
        return sorted(row.name for row in rows if (row.audience or {}).get("segment") == name)

    def delete(self, name: str) -> None:
        """Delete a saved segment and its versions (snapshots stay, unlinked).

        :raises ValidationError: another saved segment refers to it.
        """
        self.ws.principal.require("segments.write")
        segment = self._find(name)
        users = [n for n in self.users_of(name) if n != name]
        if users:
            raise ValidationError(_("segment {name!r} is used by {users}; change those first",
                                    name=name, users=listing(users)))
        campaigns = self.campaigns_using(name)
        if campaigns:
            raise ValidationError(_("segment {name!r} is the audience of campaigns {names} "
                                    "that are not launched yet; change or cancel those first",
                                    name=name, names=listing(campaigns)))
        with self.ws.session() as s:
            s.connection().execute(Segment.__table__.delete()
                                   .where(Segment.__table__.c.id == segment.id))
            self.ws.audit("segment.delete", name, {"version": segment.version}, session=s)

    @staticmethod
    def _name(name: Any) -> str:
        text = str(name if name is not None else "").strip()
        if not text:
            raise ValidationError(_("a segment needs a name"))
        if len(text) > 100:
            raise ValidationError(_("a segment name has at most 100 characters"))
        if text.startswith("{"):
            raise ValidationError(_("a segment name cannot start with {brace}", brace="{"))
        return text

    # -- analysis -------------------------------------------------------------------------

    def rfm(self, *, per_store: bool = False, now: datetime | None = None) -> pd.DataFrame:
        """RFM scores of every contact with paid orders: ``contact_id, store, recency_days,
        orders, revenue_fen, r, f, m, rfm`` (``"555"`` is the best cell)."""
        from siyu.plugins.default_segments import rfm_scores  # noqa: PLC0415

        self.ws.principal.require("data.read")
        st = ContactStats.__table__
        scores = rfm_scores(per_store).subquery()
        c = Contact.__table__
        from siyu.storage.models import Store  # noqa: PLC0415

        store = Store.__table__
        query = (sa.select(st.c.contact_id, store.c.code.label("store"), st.c.last_order_at,
                           st.c.orders, st.c.revenue_fen, scores.c.r, scores.c.f, scores.c.m)
                 .select_from(st.join(scores, scores.c.contact_id == st.c.contact_id)
                              .join(c, c.c.id == st.c.contact_id)
                              .outerjoin(store, store.c.id == c.c.store_id))
                 .order_by(st.c.contact_id))
        frame = self._read_df(query, ("last_order_at",))
        at = now or datetime.now(UTC)
        frame["recency_days"] = (at - frame["last_order_at"]).dt.days
        frame["rfm"] = (frame["r"].astype(str) + frame["f"].astype(str)
                        + frame["m"].astype(str))
        return frame[["contact_id", "store", "last_order_at", "recency_days", "orders",
                      "revenue_fen", "r", "f", "m", "rfm"]]

    def rebuild_stats(self) -> dict[str, int]:
        """Recompute the per-contact stats the rules read from all orders and events (one
        transaction; use after loading data behind siyu's back)."""
        self.ws.principal.require("data.write")
        with self.ws.session() as s:
            counts = stats.rebuild(s.connection())
            self.ws.audit("segment.rebuild_stats", "contact_stats", counts, session=s)
        return counts


def _positional(compiled: Any) -> Any:
    """The compiled statement's parameters as the driver wants them."""
    if compiled.positiontup is not None:
        return tuple(compiled.params[name] for name in compiled.positiontup)
    return compiled.params


def _depth(rows: list, row: Any) -> int:
    """Nesting depth of a SQLite ``EXPLAIN QUERY PLAN`` row (id, parent, _, detail)."""
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth
