"""APScheduler wiring: a persistent job store in the workspace database, one scheduler per
database.

Jobs come from ``register_jobs``. They are stored by reference
(``siyu.core.scheduler:run_job`` with the job's name), so the job store survives restarts
and upgrades; the function itself is looked up in the running workspace at fire time.

Only one process may run the scheduler of a database: PostgreSQL guards it with a session
advisory lock, SQLite with an exclusive lock on a file next to the database.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import make_url

from siyu.core.errors import NotFound, SiyuError, listing
from siyu.core.i18n import core as _
from siyu.storage.models import JobRun
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.scheduler")

#: Running schedulers by database URL, so a fired job finds its workspace.
_RUNNING: weakref.WeakValueDictionary[str, WorkspaceScheduler] = weakref.WeakValueDictionary()
_LOCK_KEY = 727380


class SchedulerBusy(SiyuError):
    """Another process already runs the scheduler of this database."""


def run_job(url: str, name: str) -> None:
    """Entry point stored in the job store: run job ``name`` of the workspace at ``url``."""
    scheduler = _RUNNING.get(url)
    if scheduler is None:
        log.warning("job %s fired for %s but no scheduler runs there", name, url)
        return
    scheduler.run_now(name)


class WorkspaceScheduler:
    """The scheduler of one workspace. Created lazily by ``ws.scheduler``."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._scheduler: BackgroundScheduler | None = None
        self._lock_conn: sa.Connection | None = None
        self._lock_file: Any = None
        self._guard = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether this process runs the scheduler."""
        return self._scheduler is not None and self._scheduler.running

    def _jobstore(self) -> SQLAlchemyJobStore:
        return SQLAlchemyJobStore(engine=self.ws.engine, tablename="apscheduler_jobs")

    def _acquire(self) -> None:
        url = make_url(self.ws.url)
        if url.get_backend_name() == "postgresql":
            conn = self.ws.engine.connect()
            # Keyed by schema too, so workspaces sharing a server but not a schema don't clash.
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k, "
                                       "hashtext(current_schema()))"),
                               {"k": _LOCK_KEY}).scalar()
            conn.commit()
            if not got:
                conn.close()
                raise SchedulerBusy(_("another process already runs the scheduler of this "
                                      "database; run one scheduler per database"))
            self._lock_conn = conn
            return
        database = url.database or ":memory:"
        if database == ":memory:":
            return
        path = Path(database).expanduser().resolve().with_suffix(".scheduler.lock")
        handle = open(path, "w")  # noqa: SIM115 - held open for the scheduler's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise SchedulerBusy(_("another process already runs the scheduler of "
                                  "{database}; run one scheduler per database",
                                  database=database)) from exc
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    def _release(self) -> None:
        if self._lock_conn is not None:
            self._lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:k, "
                                            "hashtext(current_schema()))"), {"k": _LOCK_KEY})
            self._lock_conn.commit()
            self._lock_conn.close()
            self._lock_conn = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def start(self) -> None:
        """Take the database's scheduler lock, sync the registered jobs and start firing.

        :raises SchedulerBusy: another process runs this database's scheduler.
        """
        with self._guard:
            if self.running:
                return
            self._acquire()
            scheduler = BackgroundScheduler(jobstores={"default": self._jobstore()},
                                            timezone=self.ws.timezone,
                                            job_defaults={"coalesce": True,
                                                          "max_instances": 1,
                                                          "misfire_grace_time": 300})
            scheduler.start(paused=True)
            wanted = self.ws.jobs
            for job in scheduler.get_jobs():
                if job.id not in wanted:
                    scheduler.remove_job(job.id)
            for spec in wanted.values():
                existing = scheduler.get_job(spec.name)
                scheduler.add_job("siyu.core.scheduler:run_job", trigger=spec.trigger,
                                  args=(self.ws.url, spec.name), id=spec.name,
                                  name=str(spec.title or spec.name), replace_existing=True,
                                  **spec.trigger_args)
                if existing is not None and existing.next_run_time is None:
                    scheduler.pause_job(spec.name)  # keep an operator's pause
            self._scheduler = scheduler
            _RUNNING[self.ws.url] = self
            scheduler.resume()

    def shutdown(self) -> None:
        """Stop firing and release the lock; stored jobs stay in the job store."""
        with self._guard:
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
                self._scheduler = None
            _RUNNING.pop(self.ws.url, None)
            self._release()

    def run_now(self, name: str) -> JobRun:
        """Run job ``name`` in this thread and record the run (status and message)."""
        spec = self.ws.jobs.get(name)
        if spec is None:
            raise NotFound(_("unknown job {name!r}; registered jobs: {jobs}", name=name,
                             jobs=listing(self.ws.jobs) or _("none")))
        with self.ws.session() as s:
            run = JobRun(job=name, started_at=utcnow())
            s.add(run)
            s.flush()
            s.refresh(run)
        try:
            result = spec.func(self.ws)
            status, message = "ok", "" if result is None else str(result)[:2000]
        except Exception as exc:  # a job failure is recorded, not raised into the scheduler
            log.exception("job %s failed", name)
            status, message = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        with self.ws.session() as s:
            run = s.get(JobRun, run.id)
            run.status, run.message, run.finished_at = status, message, utcnow()
            s.add(run)
            s.flush()
            s.refresh(run)
        return run

    def pause(self, name: str) -> None:
        """Pause job ``name`` (kept paused across restarts)."""
        self._require_running().pause_job(name)

    def resume(self, name: str) -> None:
        """Resume job ``name``."""
        self._require_running().resume_job(name)

    def _require_running(self) -> BackgroundScheduler:
        if not self.running:
            raise SiyuError(_("the scheduler is not running in this process; start it with "
                              "ws.scheduler.start() or `siyu serve`"))
        return self._scheduler

    def jobs(self) -> list[dict[str, Any]]:
        """Every registered job: name, title, next run (None when paused), last run."""
        store_jobs = {}
        if self.running:
            store_jobs = {job.id: job for job in self._scheduler.get_jobs()}
        rows = []
        with self.ws.engine.connect() as conn:
            for name, spec in self.ws.jobs.items():
                last = conn.execute(sa.select(JobRun).where(JobRun.job == name)
                                    .order_by(JobRun.id.desc()).limit(1)).first()
                job = store_jobs.get(name)
                rows.append({
                    "name": name,
                    "title": str(spec.title or name),
                    "trigger": f"{spec.trigger} {spec.trigger_args}",
                    "next_run": job.next_run_time if job else None,
                    "paused": bool(job) and job.next_run_time is None,
                    "last_status": last.status if last else None,
                    "last_started": last.started_at if last else None,
                    "last_message": last.message if last else "",
                })
        return rows

