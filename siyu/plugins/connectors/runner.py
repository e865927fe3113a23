"""Running a connector: read its source page by page and store each page with its cursor.

For each entity a run:

1. refuses to start while another run of the same connector and entity is alive (a run whose
   process on this host is gone, or that stopped storing pages :data:`STALE` ago, was
   interrupted: it is marked ``failed``);
2. records itself (``connector_run``, committed) and reads where the entity stands;
3. asks the kind's ``read`` for pages from there; maps each page's records to siyu's fields
   and stores them through the import path — orders upserted by ``(connector name, order
   number)``, members by member number — in one transaction that also saves the page's
   cursor and the run's counts. ``on_order``, ``on_order_changed`` and ``on_contact_added``
   are notified in that transaction. A record that can't be stored (no order number, an
   amount like ``"12.50美元"``, an unknown store) is skipped and named in the run's problems;
   the others of its page are stored;
4. ends ``ok``, or ``failed`` with the error that stopped it. Whatever stopped it, the cursor
   is where the last stored page left it: the next run resumes there, and nothing is stored
   twice.

The source is read outside any transaction of siyu's database: a page is fetched, then
stored.
"""

from __future__ import annotations

import os
import socket
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ConfigError, ImportFailed, SiyuError, SyncError
from siyu.core.i18n import translator
from siyu.core.importing.contacts import import_contact_frame
from siyu.core.importing.orders import import_order_frame
from siyu.core.importing.progress import progress_bar
from siyu.core.importing.table import ImportReport
from siyu.plugins.connectors import identity, store
from siyu.plugins.connectors.mapping import map_records
from siyu.plugins.connectors.models import (
    MAX_ERROR,
    MAX_PROBLEMS,
    ConnectorCursor,
    ConnectorRun,
)
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.connectors")

#: A ``running`` run that stored no page for this long was interrupted.
STALE = timedelta(minutes=15)
#: The order entities are synced in.
SYNC_ORDER = ("members", "orders")
#: What ``on_contact_added`` hears as ``via`` for members a connector adds.
VIA = "connector"


@dataclass
class RunResult:
    """What one run of one entity did."""

    run_id: int
    entity: str
    status: str = "running"
    pages: int = 0
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    queued: int = 0
    error: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """The numbers, as the audit log and ``--json`` give them."""
        return {"entity": self.entity, "status": self.status, "pages": self.pages,
                "records": self.records, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "skipped": self.skipped, "queued": self.queued}

    def summary(self) -> str:
        """One line for people, in the current language."""
        text = _("{entity}: {status}, {pages} pages, {records} records: {created} new, "
                 "{updated} updated, {unchanged} unchanged, {skipped} skipped",
                 entity=ENTITY_LABELS.get(self.entity, self.entity),
                 status=STATUS_LABELS.get(self.status, self.status), pages=self.pages,
                 records=self.records, created=self.created, updated=self.updated,
                 unchanged=self.unchanged, skipped=self.skipped)
        if self.queued:
            text += _.ngettext(", {n} waiting to be matched by hand",
                               ", {n} waiting to be matched by hand", self.queued)
        return f"{text} — {self.error}" if self.error else text


ENTITY_LABELS = {"orders": _.lazy("orders"), "members": _.lazy("members")}
STATUS_LABELS = {"running": _.lazy("running"), "ok": _.lazy("finished"),
                 "failed": _.lazy("failed")}


@dataclass
class SyncReport:
    """What a sync of a connector did, one :class:`RunResult` per entity."""

    connector: str
    runs: list[RunResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every entity's run ended ``ok``."""
        return all(run.status == "ok" for run in self.runs)

    def summary(self) -> str:
        """One line per entity."""
        return "\n".join(f"{self.connector} · {run.summary()}" for run in self.runs)


def sync(ws: Workspace, name: str, entities: Any = None, *, max_pages: int | None = None,
         trigger: str = "hand", progress: bool | None = None) -> SyncReport:
    """Run connector ``name``: read what changed in its source and store it.

    :param entities: ``"orders"``, ``"members"``, both, or ``None`` for every entity it syncs.
    :param max_pages: stop each entity after this many pages (the next run goes on).
    :param trigger: ``"hand"`` or ``"schedule"``, recorded with the run.
    :param progress: show a progress bar (default: on a terminal).
    :return: a :class:`SyncReport`; a failed entity's run says why, the others still ran.
    :raises NotFound: no such connector.
    :raises ConfigError: an unknown kind or entity, an entity without a mapping.
    :raises SyncError: a run of this connector is going on already.
    """
    ws.principal.require("data.write")
    spec, settings, row = store.secrets_of(ws, name)
    own = tuple(e for e in row.entities.split(",") if e)
    chosen = own if entities is None else store.chosen_entities(spec, entities)
    report = SyncReport(name)
    # Members first: the orders of this run then find the buyers it just stored.
    for entity in sorted(chosen, key=SYNC_ORDER.index):
        if entity not in own:
            raise ConfigError(_("connector {name!r} does not sync {entity}; it syncs {own}",
                                name=name, entity=entity, own=", ".join(own)))
        mapping = (row.mapping or {}).get(entity)
        if not mapping:
            raise ConfigError(_("connector {name!r} has no field mapping for {entity}",
                                name=name, entity=entity))
        result = _start(ws, row.id, name, entity, trigger)
        report.runs.append(result)
        try:
            _run(ws, spec, settings, name, row.id, entity, mapping, result, max_pages,
                 progress)
        except (SyncError, ImportFailed, ConfigError) as exc:
            _finish(ws, name, result, "failed", str(exc))
        except Exception as exc:
            _finish(ws, name, result, "failed", f"{type(exc).__name__}: {exc}")
            raise
        else:
            _finish(ws, name, result, "ok", "")
    return report


def _start(ws: Workspace, connector_id: int, name: str, entity: str,
           trigger: str) -> RunResult:
    now = utcnow()
    with ws.session() as s:
        going = s.execute(sa.select(ConnectorRun).where(
            ConnectorRun.connector_id == connector_id, ConnectorRun.entity == entity,
            ConnectorRun.status == "running").with_for_update()).scalars().all()
        for run in going:
            if _alive(run, now):
                raise SyncError(_("connector {name!r} is syncing {entity} already (run "
                                  "{run}, started {started:%Y-%m-%d %H:%M} UTC)", name=name,
                                  entity=entity, run=run.id, started=run.started_at))
            run.status, run.finished_at = "failed", now
            run.error = _("interrupted: the process stopped while it ran")
            s.add(run)
        run = ConnectorRun(connector_id=connector_id, entity=entity, trigger=trigger,
                           started_by=ws.principal.name, host=socket.gethostname()[:255],
                           pid=os.getpid())
        s.add(run)
        s.flush()
        return RunResult(run.id, entity)


def _alive(run: ConnectorRun, now: Any) -> bool:
    """Whether a ``running`` run may still be going: its process, when it ran on this host,
    still exists; else it stored a page less than :data:`STALE` ago."""
    if run.pid and run.host == socket.gethostname()[:255]:
        try:
            os.kill(run.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process: it exists
            return True
        return True
    return now - run.heartbeat_at < STALE


def _cursor(ws: Workspace, connector_id: int, entity: str) -> Any:
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(ConnectorCursor.cursor).where(
            ConnectorCursor.connector_id == connector_id,
            ConnectorCursor.entity == entity)).scalar()


def _run(ws: Workspace, spec, settings: dict, name: str, connector_id: int, entity: str,
         mapping: dict[str, str], result: RunResult, max_pages: int | None,
         progress: bool | None) -> None:
    cursor = _cursor(ws, connector_id, entity)
    pages = spec.read(settings, entity, cursor)
    with ExitStack() as stack:
        close = getattr(pages, "close", None)
        if close is not None:
            stack.callback(close)  # let the source close its connection at once
        bar = None
        for page in pages:
            if bar is None:
                bar = stack.enter_context(progress_bar(
                    page.total or 0, str(ENTITY_LABELS.get(entity, entity)), progress))
            _store(ws, name, connector_id, entity, mapping, page, result)
            bar.update(len(page.records))
            if max_pages is not None and result.pages >= max_pages:
                break


def _store(ws: Workspace, name: str, connector_id: int, entity: str,
           mapping: dict[str, str], page, result: RunResult) -> None:
    frame = map_records(entity, mapping, page.records, result.records + 1)
    report = ImportReport(entity, name, rows=len(frame))
    queued = 0
    if entity == "members":
        stored, queued = identity.link_members(ws, name, frame)
    else:
        stored = frame

    def save(conn: sa.Connection) -> None:
        """In the page's transaction: where the source stands now, and the run's counts."""
        now = utcnow()
        saved = conn.execute(sa.update(ConnectorCursor).where(
            ConnectorCursor.connector_id == connector_id, ConnectorCursor.entity == entity)
            .values(cursor=page.cursor, updated_at=now))
        if saved.rowcount == 0:
            conn.execute(sa.insert(ConnectorCursor).values(
                connector_id=connector_id, entity=entity, cursor=page.cursor,
                updated_at=now))
        buyers = (identity.queue_unmatched_buyers(conn, name, stored,
                                                  report.without_contact)
                  if entity == "orders" else 0)
        _count(result, report, page, queued + buyers)
        conn.execute(sa.update(ConnectorRun).where(ConnectorRun.id == result.run_id).values(
            heartbeat_at=now, pages=result.pages, records=result.records,
            created=result.created, updated=result.updated, unchanged=result.unchanged,
            skipped=result.skipped, queued=result.queued, problems=result.problems))

    before = _snapshot(result)
    try:
        if entity == "orders":
            import_order_frame(ws, stored, report, source=name, skip_bad_rows=True,
                               progress=False, in_transaction=save)
        else:
            import_contact_frame(ws, stored, report, key="member_id", skip_bad_rows=True,
                                 progress=False, via=VIA, record=False,
                                 in_transaction=save)
    except BaseException:
        _restore(result, before)  # the page was not stored: nor were its counts
        raise


def _snapshot(result: RunResult) -> tuple:
    return (result.pages, result.records, result.created, result.updated, result.unchanged,
            result.skipped, result.queued, list(result.problems))


def _restore(result: RunResult, before: tuple) -> None:
    (result.pages, result.records, result.created, result.updated, result.unchanged,
     result.skipped, result.queued, result.problems) = before


def _count(result: RunResult, report: ImportReport, page, queued: int) -> None:
    result.pages += 1
    result.queued += queued
    result.records += len(page.records)
    result.created += report.created
    result.updated += report.updated
    result.unchanged += report.unchanged + report.duplicates
    result.skipped += report.skipped
    room = MAX_PROBLEMS - len(result.problems)
    result.problems.extend({"record": p.line, "field": p.column, "value": str(p.value)[:200],
                            "reason": p.reason} for p in report.problems[:max(room, 0)])


def _finish(ws: Workspace, name: str, result: RunResult, status: str, error: str) -> None:
    result.status, result.error = status, error[:MAX_ERROR]
    with ws.session() as s:
        s.execute(sa.update(ConnectorRun).where(ConnectorRun.id == result.run_id).values(
            status=status, error=result.error, finished_at=utcnow(), pages=result.pages,
            records=result.records, created=result.created, updated=result.updated,
            unchanged=result.unchanged, skipped=result.skipped, queued=result.queued,
            problems=result.problems))
        ws.audit("connector.sync", name, {**result.counts(), "error": result.error},
                 session=s)
        ws.events.record("connector.synced", dedupe_key=f"connector-run:{result.run_id}",
                         source=name, payload=result.counts(), session=s)


@dataclass(frozen=True)
class RunRecord:
    """One stored run, as the history shows it (``connector_name`` names its connector)."""

    id: int
    connector_name: str
    entity: str
    status: str
    trigger: str
    started_at: Any
    finished_at: Any
    pages: int
    records: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    queued: int
    error: str
    problems: list[dict[str, Any]]
    started_by: str


def runs(ws: Workspace, name: str | None = None, *, limit: int = 50,
         run_id: int | None = None) -> list[RunRecord]:
    """The latest runs (of connector ``name``, or of all; or the one run ``run_id``),
    newest first."""
    ws.principal.require("data.read")
    from siyu.plugins.connectors.models import Connector

    r = ConnectorRun.__table__
    query = sa.select(r, Connector.__table__.c.name.label("connector_name")).join(
        Connector.__table__, Connector.__table__.c.id == r.c.connector_id)
    if name is not None:
        query = query.where(Connector.__table__.c.name == name)
    if run_id is not None:
        query = query.where(r.c.id == run_id)
    with ws.engine.connect() as conn:
        rows = conn.execute(query.order_by(r.c.id.desc()).limit(limit)).mappings().all()
    fields = RunRecord.__dataclass_fields__
    return [RunRecord(**{k: (row[k] if k != "problems" else list(row[k] or []))
                         for k in fields}) for row in rows]


def run_due(ws: Workspace) -> dict[str, Any]:
    """Sync every enabled connector whose schedule says it is due (the scheduled job)."""
    now = utcnow()
    done: dict[str, Any] = {}
    last = store.last_runs(ws)
    for info in store.configured(ws):
        if not info.enabled or info.every_minutes <= 0:
            continue
        started = last.get(info.name, {}).get("started_at")
        if started is not None and now - started < timedelta(minutes=info.every_minutes):
            continue
        try:
            done[info.name] = [run.counts() for run in
                               sync(ws, info.name, trigger="schedule", progress=False).runs]
        except SiyuError as exc:
            done[info.name] = str(exc)
    return done


__all__ = ["RunRecord", "RunResult", "SyncReport", "run_due", "runs", "sync"]
