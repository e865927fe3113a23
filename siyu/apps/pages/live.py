"""Work that follows a user's edits without holding up the console: debounced, run on a
worker thread, its result shown once it is still the latest.

A page calls :meth:`Debounced.request` after every edit. Once the edits pause for
``delay_ms``, ``prepare()`` runs on the event loop (it reads the widgets and returns the job),
the job runs on a worker thread (the event loop keeps serving this and every other browser
session meanwhile), and ``show(result)`` runs back on the event loop with the session's
document locked — the only safe way to change a page from another thread (Bokeh's
``add_next_tick_callback``). At most one job of a page runs at a time; a result overtaken by
a newer edit is dropped and the newer edit is worked on instead.

Outside a browser session (tests, a notebook) :meth:`Debounced.request` prepares, runs and
shows at once, in the caller's thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

import panel as pn
from panel.io.state import set_curdoc

from siyu.core.i18n import current_language, use_language

log = logging.getLogger("siyu.console")

#: Jobs of all sessions of this process that may run at once (each is a database query:
#: more would only queue in the database).
WORKERS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_pool() -> ThreadPoolExecutor:
    """The process's pool for page jobs (made on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="siyu-page-job")
        return _pool


def session_document() -> Any:
    """The Bokeh document of the browser session running now, or ``None`` (no server)."""
    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


class Debounced:
    """Run a job once edits pause, off the event loop (see the module docstring).

    :param prepare: called on the event loop when the edits paused; returns the job, a
        callable without arguments run on a worker thread (in the session's language).
    :param show: called on the event loop with the job's result, if no edit came since.
    :param delay_ms: how long the edits must pause.
    """

    def __init__(self, prepare: Callable[[], Callable[[], Any]],
                 show: Callable[[Any], None], *, delay_ms: int = 600):
        self.prepare = prepare
        self.show = show
        self.delay_ms = delay_ms
        #: Number of the latest request.
        self.latest = 0
        #: Whether a job is running.
        self.running = False
        self._again = False

    def request(self) -> None:
        """An edit happened: work on the state it left, once the edits pause."""
        self.latest += 1
        doc = session_document()
        if doc is None:
            self.show(self.prepare()())
            return
        doc.add_timeout_callback(partial(self._due, doc, self.latest), self.delay_ms)

    def _due(self, doc: Any, ticket: int) -> None:
        if ticket != self.latest:
            return  # a later edit has its own timer
        if self.running:
            self._again = True  # start again when the running job ends
            return
        self._start(doc)

    def _start(self, doc: Any) -> None:
        with set_curdoc(doc):
            job = self.prepare()
            language = current_language()
        ticket = self.latest
        self.running = True
        self._again = False

        def run() -> Any:
            with use_language(language):
                return job()

        future = worker_pool().submit(run)
        future.add_done_callback(partial(self._finished, doc, ticket))

    def _finished(self, doc: Any, ticket: int, future: Future) -> None:
        """On the worker thread: hand the result to the event loop."""
        try:
            doc.add_next_tick_callback(partial(self._deliver, doc, ticket, future))
        except Exception:  # noqa: BLE001 - the session is gone: nothing to show
            log.debug("a page job finished after its session closed")

    def _deliver(self, doc: Any, ticket: int, future: Future) -> None:
        self.running = False
        with set_curdoc(doc):
            if ticket == self.latest:
                try:
                    result = future.result()
                except Exception:  # a bug in the job: keep the page alive, log it
                    log.exception("a page job failed")
                    return
                self.show(result)
            elif self._again:
                self._start(doc)
