"""Delivering hook notices to the plugins that implement them: at least once, retried with
backoff, in order per subject, one failing plugin isolated from the others.

A delivery row is claimed with one conditional ``UPDATE … RETURNING`` that moves its
``due_at`` a lease ahead (several threads and processes can share the work; a process that
dies mid-delivery leaves the row to be claimed again when the lease ends). A row is not
claimed while an earlier pending row of the same plugin and subject exists, so a plugin sees
one contact's notices in the order they were written. Bulk notices (an import's new
contacts) are delivered item by item, their position saved as they go; an item that fails is
split off into a row of its own and retried alone, and the rest go on.

Every process delivers the notices it commits right after the commit, in the committing
thread (:meth:`HookDispatcher.after_commit`); ``siyu serve`` also runs a background thread
(:meth:`HookDispatcher.start`) for retries, bulk notices and what a crashed process left.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.notices import Pages, decode, implementers
from siyu.core.permissions import Principal
from siyu.storage.models import HookDelivery, HookNotice
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.hooks")

#: Attempts before a delivery is parked as ``failed`` (retry it from the Hooks page).
MAX_ATTEMPTS = 8
#: How long a claimed delivery is left to its claimer before another may take it.
DEFAULT_LEASE_S = 300.0
#: Longest wait between attempts.
MAX_BACKOFF_S = 3600.0
#: How often the background thread looks for due deliveries without being woken.
POLL_S = 2.0
#: How often a bulk delivery saves its position.
SAVE_EVERY_S = 2.0
#: Deliveries claimed at once.
BATCH = 50
#: What a delivery can be.
STATUSES = ("pending", "done", "failed")
#: Done deliveries (and notices left with none pending) are deleted after this long.
KEEP_DONE = timedelta(days=7)

D = HookDelivery.__table__
N = HookNotice.__table__


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 2 s, 4 s, 8 s… at most an hour."""
    return timedelta(seconds=min(2.0 ** max(attempts, 1), MAX_BACKOFF_S))


def lease_seconds() -> float:
    """The lease (``SIYU_HOOK_LEASE_S``, default 300 s)."""
    try:
        return max(1.0, float(os.environ.get("SIYU_HOOK_LEASE_S", DEFAULT_LEASE_S)))
    except ValueError:
        return DEFAULT_LEASE_S


class _Notice(NamedTuple):
    id: int
    hook: str
    items: int
    payload: Any


_EARLIER = D.alias("earlier")
#: The deliveries of some notices, still pending and leased to their writer, with whether
#: an earlier delivery of the same plugin and subject is pending (built once: it runs after
#: every commit that notifies).
_LEASED = (
    sa.select(D.c.id, D.c.notice_id, D.c.plugin, D.c.item, D.c.position, D.c.attempts,
              N.c.hook, N.c["items"], N.c.payload,
              sa.exists().where(_EARLIER.c.plugin == D.c.plugin,
                                _EARLIER.c.subject == D.c.subject,
                                _EARLIER.c.status == "pending",
                                _EARLIER.c.id < D.c.id).label("blocked"))
    .join(N, N.c.id == D.c.notice_id)
    .where(D.c.notice_id.in_(sa.bindparam("ids", expanding=True)), D.c.status == "pending")
    .order_by(D.c.id))


class HookDispatcher:
    """Delivers the pending hook deliveries of one workspace (one per process)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._actors: dict[str, Workspace] = {}
        self._last_purge = 0.0
        self._count_lock = threading.Lock()
        self._hooks_cache: tuple[int, dict[str, set[str]]] | None = None
        self.delivered = 0

    # -- the background thread -----------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether this process runs the background thread."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="siyu-hooks")
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background thread after the delivery in hand."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def wake(self) -> None:
        """Tell the background thread there is work."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_S)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self.deliver(limit=BATCH) > 0:
                    pass
                if time.monotonic() - self._last_purge > 3600:
                    self._last_purge = time.monotonic()
                    self.purge()
            except Exception:  # keep going; the rows stay for the next round
                log.exception("delivering hook notices failed")

    # -- delivering ----------------------------------------------------------------------

    def after_commit(self, notice_ids: list[int], bulk: bool, *, leased: bool = False
                     ) -> None:
        """Deliver notices a transaction just committed, in this thread; bulk ones are left
        to the background thread when this process runs one.

        :param leased: the notices' deliveries were written already claimed by this thread
            (:func:`~siyu.core.notices.write_notice` with ``lease_s``): they are run without
            a claim, unless an earlier delivery of the same plugin and subject is still
            pending — then they are handed back to be claimed in order.
        """
        if bulk and self.running:
            self.wake()
            return
        try:
            if leased:
                self._deliver_leased(notice_ids)
            else:
                self.deliver(notice_ids=notice_ids, limit=None)
            if not self.running:
                self.deliver(limit=BATCH)  # retries that came due, in a process without one
        except Exception:  # the rows stay pending; a later round delivers them
            log.exception("delivering hook notices %s failed", notice_ids)
            self.wake()

    def _deliver_leased(self, notice_ids: list[int]) -> int:
        """Run the deliveries of ``notice_ids`` that this thread holds the lease of."""
        with self.ws.engine.connect() as conn:
            found = conn.execute(_LEASED, {"ids": notice_ids}).all()
        blocked = [row.id for row in found if row.blocked]
        if blocked:  # an earlier notice of the subject waits: claimed after it, in order
            with self.ws.engine.begin() as conn:
                conn.execute(D.update().where(D.c.id.in_(blocked))
                             .values(due_at=utcnow(), attempts=D.c.attempts - 1))
            self.wake()
        outcomes: list[tuple[int, dict[str, Any]]] = []
        pages = Pages(self.ws.engine)
        try:
            for row in found:
                if not row.blocked:
                    self._run((row, _Notice(row.notice_id, row.hook, row.items, row.payload)),
                              None, outcomes, pages)
        finally:
            self._record(outcomes)
        return len(found) - len(blocked)

    def deliver(self, notice_ids: Iterable[int] | None = None, limit: int | None = BATCH,
                progress: Callable[[int], None] | None = None) -> int:
        """Claim and run due deliveries (of ``notice_ids`` only, when given), until none is
        due or ``limit`` were run; returns how many were run."""
        ids = list(notice_ids) if notice_ids is not None else None
        run = 0
        while limit is None or run < limit:
            want = BATCH if limit is None else min(BATCH, limit - run)
            claimed = self._claim(ids, want)
            if not claimed:
                break
            outcomes: list[tuple[int, dict[str, Any]]] = []
            pages = Pages(self.ws.engine)  # views of one row share what was read
            try:
                for row in claimed:
                    self._run(row, progress, outcomes, pages)
            finally:  # one transaction for the batch's outcomes
                self._record(outcomes)
            run += len(claimed)
        return run

    def _plugins(self) -> dict[str, set[str]]:
        """Hook name → the plugins this process can deliver it to."""
        from siyu.core import hookspecs

        key = len(self.ws.pm.get_plugins())
        if self._hooks_cache is not None and self._hooks_cache[0] == key:
            return self._hooks_cache[1]
        out: dict[str, set[str]] = {}
        for name in dir(hookspecs):
            if name.startswith("on_") and hasattr(self.ws.pm.hook, name):
                plugins = implementers(self.ws.pm, name)
                if plugins:
                    out[name] = set(plugins)
        self._hooks_cache = (key, out)
        return out

    def _claim(self, notice_ids: list[int] | None, limit: int) -> list[Any]:
        now = utcnow()
        plugins = sorted({p for names in self._plugins().values() for p in names})
        if not plugins or notice_ids == []:
            return []
        earlier = D.alias("earlier")
        pick = (sa.select(D.c.id).where(
            D.c.status == "pending", D.c.due_at <= now, D.c.plugin.in_(plugins),
            ~sa.exists().where(earlier.c.plugin == D.c.plugin,
                               earlier.c.subject == D.c.subject,
                               earlier.c.status == "pending", earlier.c.id < D.c.id))
            .order_by(D.c.id).limit(limit))
        if notice_ids is not None:
            pick = pick.where(D.c.notice_id.in_(notice_ids))
        with self.ws.engine.begin() as conn:
            ids = conn.execute(pick).scalars().all()
            if not ids:
                return []
            lease = now + timedelta(seconds=lease_seconds())
            rows = conn.execute(
                D.update().where(D.c.id.in_(ids), D.c.status == "pending", D.c.due_at <= now)
                .values(due_at=lease, attempts=D.c.attempts + 1)
                .returning(D.c.id, D.c.notice_id, D.c.plugin, D.c.item, D.c.position,
                           D.c.attempts)).all()
            notices = {row.id: row for row in conn.execute(
                sa.select(N.c.id, N.c.hook, N.c["items"], N.c.payload)
                .where(N.c.id.in_({r.notice_id for r in rows})))}
        return sorted(((row, notices[row.notice_id]) for row in rows),
                      key=lambda pair: pair[0].id)

    def _actor(self, plugin: str) -> Workspace:
        """The workspace a plugin's hook runs with: acting as the plugin, with admin rights."""
        ws = self._actors.get(plugin)
        if ws is None:
            ws = self._actors[plugin] = self.ws.as_user(Principal(plugin, "admin"))
        return ws

    def _impl(self, hook: str, plugin: str) -> Any:
        caller = getattr(self.ws.pm.hook, hook, None)
        for impl in caller.get_hookimpls() if caller else []:
            if impl.plugin_name == plugin and not (impl.hookwrapper or impl.wrapper):
                return impl
        return None

    def _run(self, claimed: tuple[Any, Any], progress: Callable[[int], None] | None,
             outcomes: list[tuple[int, dict[str, Any]]], pages: Pages) -> None:
        row, notice = claimed
        impl = self._impl(notice.hook, row.plugin)
        if impl is None:  # unloaded since the claim: let a process that has it deliver
            self._finish(row.id, status="pending", due_at=utcnow(), attempts=row.attempts - 1)
            return
        ws = self._actor(row.plugin)
        payload = notice.payload or {}
        if "refs" not in payload:  # a single notice
            args = decode(payload, pages)
            error = self._call(impl, notice.hook, ws, args, str(notice.id))
            outcomes.append((row.id, self._outcome(row, error)))
            if progress:
                progress(1)
            return
        self._run_bulk(row, notice, impl, ws, payload, pages, progress)

    def _run_bulk(self, row: Any, notice: Any, impl: Any, ws: Workspace,
                  payload: dict[str, Any], pages: Pages,
                  progress: Callable[[int], None] | None) -> None:
        common = decode(payload.get("common", {}), pages)
        refs = {key: (ref["table"], ref["ids"]) for key, ref in payload["refs"].items()}
        each = payload.get("each", {})
        if row.item is not None:  # a split-off item: that one alone
            start, stop = row.item, row.item + 1
        else:
            start, stop = row.position, notice.items
        wanted = set(impl.argnames)
        fixed = {name: value for name, value in {**common, "ws": ws}.items() if name in wanted}
        views = {key: pages.views(table, ids, start, stop)
                 for key, (table, ids) in refs.items() if key in wanted}
        items = {key: values[start:stop] for key, values in each.items() if key in wanted}
        give_id = "delivery_id" in wanted
        function, prefix = impl.function, f"{notice.id}:"
        lease = timedelta(seconds=lease_seconds())
        since_save, saved_at = 0, time.monotonic()
        for offset in range(stop - start):
            i = start + offset
            kwargs = dict(fixed)
            for key, values in views.items():
                kwargs[key] = values[offset]
            for key, values in items.items():
                kwargs[key] = decode(values[offset], pages)
            if give_id:
                kwargs["delivery_id"] = prefix + str(i)
            try:
                function(**kwargs)
            except Exception as exc:  # this item alone is retried; the rest go on
                error = self._failed(impl, notice.hook, exc, prefix + str(i))
                if row.item is not None:
                    self._finish(row.id, **self._outcome(row, error))
                    return
                self._split_off(row, notice, i, refs, error)
            since_save += 1
            if since_save >= 1000 and time.monotonic() - saved_at >= SAVE_EVERY_S:
                # Where to resume after a crash, and a longer lease for the rest.
                self._finish(row.id, position=i + 1, due_at=utcnow() + lease)
                if progress:
                    progress(since_save)
                since_save, saved_at = 0, time.monotonic()
        if self._trace:
            logging.getLogger("siyu.plugins").info(
                "%s.%s(%s) delivered %s%d..%d", impl.plugin_name, notice.hook,
                ", ".join(impl.argnames), prefix, start, stop - 1)
        if progress and since_save:
            progress(since_save)
        self._finish(row.id, status="done", position=notice.items, delivered_at=utcnow(),
                     error="")
        with self._count_lock:
            self.delivered += 1

    @property
    def _trace(self) -> bool:
        return os.environ.get("SIYU_TRACE_PLUGINS") == "1"

    def _call(self, impl: Any, hook: str, ws: Workspace, args: dict[str, Any],
              delivery_id: str) -> str:
        """Call one implementation; returns ``""`` or the error it raised, as text."""
        args = {**args, "ws": ws, "delivery_id": delivery_id}
        try:
            impl.function(**{name: args[name] for name in impl.argnames})
        except Exception as exc:  # a plugin bug: recorded on its delivery, others go on
            return self._failed(impl, hook, exc, delivery_id)
        if self._trace:
            logging.getLogger("siyu.plugins").info(
                "%s.%s(%s) delivered %s", impl.plugin_name, hook, ", ".join(impl.argnames),
                delivery_id)
        return ""

    def _failed(self, impl: Any, hook: str, exc: Exception, delivery_id: str) -> str:
        """Log and record a plugin's failure as a ``plugin.error`` event; returns it as
        text for its delivery row."""
        message = f"{type(exc).__name__}: {exc}"
        log.error("plugin %r failed in %s (delivery %s): %s", impl.plugin_name, hook,
                  delivery_id, message)
        self.ws.events.record(
            "plugin.error", dedupe_key=f"plugin.error:{uuid.uuid4()}", source=hook,
            payload={"error": f"plugin {impl.plugin_name!r} failed in {hook}: {message}",
                     "delivery": delivery_id})
        return message[:2000]

    def _outcome(self, row: Any, error: str) -> dict[str, Any]:
        """The values a delivery row gets after an attempt that ended with ``error``."""
        if not error:
            with self._count_lock:
                self.delivered += 1
            return {"status": "done", "delivered_at": utcnow(), "error": ""}
        if row.attempts >= MAX_ATTEMPTS:
            return {"status": "failed", "error": error}
        return {"due_at": utcnow() + backoff(row.attempts), "error": error}

    def _record(self, outcomes: list[tuple[int, dict[str, Any]]]) -> None:
        if not outcomes:
            return
        with self.ws.engine.begin() as conn:
            for delivery_id, values in outcomes:
                conn.execute(D.update().where(D.c.id == delivery_id).values(**values))

    def _split_off(self, row: Any, notice: Any, index: int,
                   refs: dict[str, tuple[str, list[int]]], error: str) -> None:
        """Give a bulk notice's failed item a delivery row of its own, retried alone."""
        first = next(iter(refs.values()), None)
        subject = f"{first[0]}:{first[1][index]}" if first else None
        failed = MAX_ATTEMPTS <= 1
        with self.ws.engine.begin() as conn:
            conn.execute(sa.insert(D).values(
                notice_id=notice.id, plugin=row.plugin, subject=subject, item=index,
                position=0, status="failed" if failed else "pending", attempts=1,
                due_at=utcnow() + backoff(1), error=error))

    def _finish(self, delivery_id: int, **values: Any) -> None:
        with self.ws.engine.begin() as conn:
            conn.execute(D.update().where(D.c.id == delivery_id).values(**values))

    # -- housekeeping --------------------------------------------------------------------

    def purge(self, older_than: timedelta = KEEP_DONE) -> int:
        """Delete done deliveries older than ``older_than`` and the notices left without
        deliveries; returns how many deliveries were deleted."""
        cutoff = utcnow() - older_than
        with self.ws.engine.begin() as conn:
            gone = conn.execute(D.delete().where(D.c.status == "done",
                                                 D.c.delivered_at < cutoff)).rowcount
            conn.execute(N.delete().where(
                N.c.created_at < cutoff,
                ~sa.exists().where(D.c.notice_id == N.c.id)))
        return gone or 0


class Hooks:
    """``ws.hooks``: the process's :class:`HookDispatcher`, seen by one principal, with the
    deliveries as pandas and a retry for failed ones."""

    def __init__(self, ws: Workspace, dispatcher: HookDispatcher):
        self.ws = ws
        self.dispatcher = dispatcher

    @property
    def running(self) -> bool:
        """Whether this process runs the background delivery thread."""
        return self.dispatcher.running

    def start(self) -> None:
        """Start the background delivery thread (``siyu serve`` does)."""
        self.dispatcher.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background delivery thread."""
        self.dispatcher.stop(timeout)

    def after_commit(self, notice_ids: list[int], bulk: bool, *, leased: bool = False
                     ) -> None:
        """See :meth:`HookDispatcher.after_commit`."""
        self.dispatcher.after_commit(notice_ids, bulk, leased=leased)

    def deliver(self, limit: int | None = None,
                progress: Callable[[int], None] | None = None) -> int:
        """Deliver every due delivery now (``limit`` at most); returns how many ran."""
        return self.dispatcher.deliver(limit=limit, progress=progress)

    def purge(self, older_than: timedelta = KEEP_DONE) -> int:
        """See :meth:`HookDispatcher.purge`."""
        return self.dispatcher.purge(older_than)

    def query(self, status: str | None = None, plugin: str | None = None,
              hook: str | None = None) -> sa.Select:
        """The deliveries with their notice's hook, newest first (the ``SELECT`` behind
        :meth:`df` and the Hooks page)."""
        query = (sa.select(D.c.id, N.c.hook, D.c.plugin, D.c.notice_id, D.c.item,
                           D.c.subject, D.c.status, D.c.attempts, D.c.position,
                           N.c["items"], D.c.due_at, D.c.error, N.c.created_at,
                           D.c.delivered_at)
                 .select_from(D.join(N, N.c.id == D.c.notice_id))
                 .order_by(D.c.id.desc()))
        if status:
            if status not in STATUSES:
                raise ValidationError(_("delivery status {status!r} is not one of {statuses}",
                                        status=status, statuses=listing(STATUSES)))
            query = query.where(D.c.status == status)
        if plugin:
            query = query.where(D.c.plugin == plugin)
        if hook:
            query = query.where(N.c.hook == hook)
        return query

    def df(self, status: str | None = None, plugin: str | None = None,
           hook: str | None = None, limit: int | None = 500) -> Any:
        """Deliveries as a DataFrame, newest first (times in the workspace timezone)."""
        import pandas as pd

        query = self.query(status, plugin, hook)
        if limit:
            query = query.limit(limit)
        with self.ws.engine.connect() as conn:
            result = conn.execute(query)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        for column in ("due_at", "created_at", "delivered_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(
                self.ws.timezone)
        return frame

    def get(self, delivery_id: int) -> dict[str, Any]:
        """One delivery as a dict (the columns of :meth:`df`, times in UTC).

        :raises NotFound: no such delivery.
        """
        with self.ws.engine.connect() as conn:
            row = conn.execute(self.query().where(D.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(_("no hook delivery {id}", id=delivery_id))
        return dict(row._mapping)

    def summary(self) -> dict[str, dict[str, int]]:
        """Delivery counts by status, per ``"plugin.hook"``."""
        query = (sa.select(D.c.plugin, N.c.hook, D.c.status, sa.func.count())
                 .select_from(D.join(N, N.c.id == D.c.notice_id))
                 .group_by(D.c.plugin, N.c.hook, D.c.status))
        out: dict[str, dict[str, int]] = {}
        with self.ws.engine.connect() as conn:
            for plugin, hook, status, count in conn.execute(query):
                out.setdefault(f"{plugin}.{hook}", {})[status] = count
        return out

    def retry(self, delivery_id: int) -> None:
        """Deliver a failed (or waiting) delivery again now, with a fresh set of attempts.

        :raises NotFound: no such delivery.
        :raises ValidationError: it was delivered already.
        """
        self.ws.principal.require("jobs.manage")
        with self.ws.engine.begin() as conn:
            row = conn.execute(sa.select(D.c.status).where(D.c.id == delivery_id)).first()
            if row is None:
                raise NotFound(_("no hook delivery {id}", id=delivery_id))
            if row.status == "done":
                raise ValidationError(_("hook delivery {id} was delivered already",
                                        id=delivery_id))
            conn.execute(D.update().where(D.c.id == delivery_id)
                         .values(status="pending", attempts=0, due_at=utcnow()))
        self.ws.audit("hook.retry", delivery_id)
        if self.dispatcher.running:
            self.dispatcher.wake()
        else:
            self.dispatcher.deliver(limit=BATCH)
