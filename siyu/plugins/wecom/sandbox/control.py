"""The ``/sandbox/`` control endpoints: drive a running sandbox over HTTP (demos, other processes).

=====================================  =========================================================
``GET  /sandbox/world``                 summary: corp id, staff, codes, groups, counts, clock
``GET|POST /sandbox/scan``              ``{config_id, customer?, name?}`` — someone scans a code
``GET  /sandbox/scans/<id>``            what a scan led to, as a page (or JSON); see below
``POST /sandbox/people/<action>``       any simulated action, JSON body = its keyword arguments
``GET|POST /sandbox/clock``             ``{"advance": seconds}`` or ``{"set": timestamp}``
``GET|POST /sandbox/faults``            read or set fault knobs; ``{"revoke_tokens": true}``
``GET  /sandbox/deliveries``            every mass message delivered
``GET  /sandbox/tasks``                 every mass message: senders' confirmations, reminders
``GET  /sandbox/callbacks``             every callback posted, with attempts and outcomes
``POST /sandbox/verify-callback``       run WeCom's URL verification against the callback URL
``GET  /sandbox/qr/<config_id>``        the PNG QR code of a contact way or join way
=====================================  =========================================================

Errors are ``{"error": "…"}`` with HTTP 400 (bad request) or 404 (unknown thing).

A person who opens the scan link in a browser (``Accept: text/html``, or ``?format=html``)
is sent on (303) to ``/sandbox/scans/<id>``, a page saying in words what the scan did (see
:mod:`~siyu.plugins.wecom.sandbox.scans`); programs keep getting the outcome as JSON.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import segno
import tornado.web
from tornado.ioloop import IOLoop

from siyu.core.i18n import translator, use_language
from siyu.plugins.wecom.sandbox import scans
from siyu.plugins.wecom.sandbox.errors import SandboxError

if TYPE_CHECKING:  # pragma: no cover
    from siyu.plugins.wecom.sandbox.server import Sandbox

_ = translator("siyu.plugins.wecom")

#: Actions reachable through ``/sandbox/people/<action>`` (names of :class:`People` methods).
ACTIONS = ("scan_contact_way", "scan_join_way", "quit_group", "staff_creates_group",
           "customer_deletes_staff",
           "staff_deletes_customer", "chat", "staff_edits_customer",
           "staff_confirms_mass_send", "admin_adds_tags", "admin_renames_tag",
           "admin_deletes_tag", "admin_reorders_tags", "staff_resigns",
           "customer_refuses_transfer", "tick")


class AdminHandler(tornado.web.RequestHandler):
    def initialize(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def check_xsrf_cookie(self) -> None:
        return

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(data, ensure_ascii=False, default=str))

    def args(self) -> dict[str, Any]:
        """The JSON body, or the query string for GET."""
        if self.request.method == "GET" or not self.request.body.strip():
            return {k: self.get_query_argument(k) for k in self.request.query_arguments}
        try:
            body = json.loads(self.request.body)
        except json.JSONDecodeError as exc:
            raise tornado.web.HTTPError(400, reason=f"body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, reason="body must be a JSON object")
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.reply({"error": self._reason}, status_code)

    async def act(self, method: str, kwargs: dict[str, Any]) -> None:
        """Run a people action off the IO loop (it posts callbacks that may call us back)."""
        func = getattr(self.sandbox.people, method)
        try:
            result = await IOLoop.current().run_in_executor(None, lambda: func(**kwargs))
        except SandboxError as exc:
            self.reply({"error": str(exc)}, 400)
            return
        except TypeError as exc:
            self.reply({"error": f"bad arguments for {method}: {exc}"}, 400)
            return
        if isinstance(result, list):
            self.reply([r.as_dict() for r in result])
        else:
            self.reply(result.as_dict())


class WorldHandler(AdminHandler):
    def get(self) -> None:
        self.reply(self.sandbox.world.summary())


class ScanHandler(AdminHandler):
    """``/sandbox/scan``: someone scans a code. JSON for programs; a person's browser is
    sent on to the scan's page."""

    async def get(self) -> None:
        await self.post()

    async def post(self) -> None:
        args = self.args()
        fmt = args.pop("format", None)
        page = scans.wants_html(self.request.headers.get("Accept"), fmt)
        if "config_id" not in args:
            if page:
                with use_language(self.language()):
                    message = _("The link has no config_id: which code was scanned?")
                self.page(scans.render_error(message, self.language()), 400)
            else:
                self.reply({"error": "config_id is required"}, 400)
            return
        kind = ("scan_join_way" if args["config_id"] in self.sandbox.world.join_ways
                else "scan_contact_way")
        kwargs = {k: args[k] for k in ("config_id", "customer", "name") if k in args}
        if not page:
            await self.act(kind, kwargs)
            return
        func = getattr(self.sandbox.people, kind)
        try:
            outcome = await IOLoop.current().run_in_executor(None, lambda: func(**kwargs))
        except SandboxError as exc:
            self.page(scans.render_error(str(exc), self.language()), 400)
            return
        scan = self.sandbox.scans.add(str(args["config_id"]), outcome)
        # a page asked for by ?format=html stays a page whatever the client accepts
        self.redirect(scans.scan_page_path(scan) + ("?format=html" if fmt else ""), status=303)

    def language(self) -> str:
        """The language of the pages this sandbox shows people."""
        return self.sandbox.page_language()

    def page(self, document: str, status: int = 200) -> None:
        """Answer with the HTML ``document`` (never cached: a scan page changes)."""
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(document)


class ScanPageHandler(ScanHandler):
    """``/sandbox/scans/<id>``: what a scan led to. Waits up to ``?wait=`` seconds (default
    :data:`~siyu.plugins.wecom.sandbox.scans.WAIT_S`, at most 10) for the console's answer."""

    async def post(self, scan_id: str = "") -> None:  # type: ignore[override]
        self.reply({"error": "use GET"}, 405)

    async def get(self, scan_id: str = "") -> None:  # type: ignore[override]
        page = scans.wants_html(self.request.headers.get("Accept"),
                                self.get_query_argument("format", None))
        scan = self.sandbox.scans.get(scan_id)
        if scan is None:
            if page:
                with use_language(self.language()):
                    message = _("This scan is not known (any more): the sandbox remembers "
                                "the last {n} scans until it stops.", n=scans.KEEP)
                self.page(scans.render_error(message, self.language()), 404)
            else:
                self.reply({"error": f"no scan {scan_id!r} (the sandbox keeps the last "
                                     f"{scans.KEEP})"}, 404)
            return
        try:
            wait = min(max(float(self.get_query_argument("wait", str(scans.WAIT_S))), 0.0),
                       10.0)
        except ValueError:
            wait = scans.WAIT_S
        deadline = time.monotonic() + wait
        found = scans.report(self.sandbox, scan)
        while not found.done and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            found = scans.report(self.sandbox, scan)
        if page:
            self.page(scans.render(found, self.language()))
        else:
            self.reply(found.as_dict())


class PeopleHandler(AdminHandler):
    async def post(self, action: str) -> None:
        if action not in ACTIONS:
            self.reply({"error": f"unknown action {action!r}; known: {', '.join(ACTIONS)}"},
                       404)
            return
        await self.act(action, self.args())


class ClockHandler(AdminHandler):
    def get(self) -> None:
        self.reply({"now": self.sandbox.clock.now()})

    async def post(self) -> None:
        args = self.args()
        clock = self.sandbox.clock
        try:
            if "advance" in args:
                move = lambda: clock.advance(float(args["advance"]))  # noqa: E731
            elif "set" in args:
                move = lambda: clock.set(float(args["set"]))  # noqa: E731
            else:
                self.reply({"error": "give 'advance' (seconds) or 'set' (timestamp)"}, 400)
                return
            now = await IOLoop.current().run_in_executor(None, move)
        except ValueError as exc:
            self.reply({"error": str(exc)}, 400)
            return
        self.reply({"now": now})


class FaultsHandler(AdminHandler):
    def get(self) -> None:
        self.reply(self.sandbox.faults.as_dict())

    def post(self) -> None:
        args = self.args()
        faults = self.sandbox.faults
        revoked = faults.revoke_tokens() if args.pop("revoke_tokens", False) else None
        try:
            faults.set(**args)
        except ValueError as exc:
            self.reply({"error": str(exc)}, 400)
            return
        self.reply(faults.as_dict() | ({"revoked": revoked} if revoked is not None else {}))


class DeliveriesHandler(AdminHandler):
    def get(self) -> None:
        self.reply([asdict(d) for d in self.sandbox.deliveries])


class TasksHandler(AdminHandler):
    def get(self) -> None:
        self.reply(self.sandbox.world.task_summaries())


class CallbacksHandler(AdminHandler):
    def get(self) -> None:
        self.reply([asdict(c) for c in list(self.sandbox.callbacks.log)])


class VerifyHandler(AdminHandler):
    async def post(self) -> None:
        url = self.args().get("url")
        result = await IOLoop.current().run_in_executor(
            None, lambda: self.sandbox.callbacks.verify_url(url))
        self.reply(result)


class QrHandler(AdminHandler):
    def get(self, config_id: str) -> None:
        world = self.sandbox.world
        if config_id not in world.contact_ways and config_id not in world.join_ways:
            self.reply({"error": f"no contact way or join way {config_id!r}"}, 404)
            return
        image = io.BytesIO()
        segno.make(f"{world.public_url}/sandbox/scan?config_id={config_id}").save(
            image, kind="png", scale=6)
        self.set_header("Content-Type", "image/png")
        self.finish(image.getvalue())


def control_routes(sandbox: Sandbox) -> list[tuple[str, type, dict]]:
    """URL rules of the control endpoints, bound to ``sandbox``."""
    kwargs = {"sandbox": sandbox}
    return [(r"/sandbox/world", WorldHandler, kwargs),
            (r"/sandbox/scan", ScanHandler, kwargs),
            (r"/sandbox/scans/(\w+)", ScanPageHandler, kwargs),
            (r"/sandbox/people/(\w+)", PeopleHandler, kwargs),
            (r"/sandbox/clock", ClockHandler, kwargs),
            (r"/sandbox/faults", FaultsHandler, kwargs),
            (r"/sandbox/deliveries", DeliveriesHandler, kwargs),
            (r"/sandbox/tasks", TasksHandler, kwargs),
            (r"/sandbox/callbacks", CallbacksHandler, kwargs),
            (r"/sandbox/verify-callback", VerifyHandler, kwargs),
            (r"/sandbox/qr/(\w+)", QrHandler, kwargs)]
