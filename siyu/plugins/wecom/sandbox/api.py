"""The WeCom-compatible HTTP API: ``/cgi-bin/…`` on a Tornado application.

Every call goes through the same steps, in WeCom's order: injected faults (latency, dropped
connection, 5xx, busy), access token (41001 / 40014 / 42001), the per-corp per-API rate limit
(45009), the JSON body (47001 + "Warning: wrong json format."; a ``multipart/form-data`` body,
as media/upload takes, reaches the endpoint as :attr:`Call.files` instead), then the endpoint
itself with the world lock held. Answers are ``{"errcode": 0, "errmsg": "ok", …payload}`` or
``{"errcode": N, "errmsg": "…, hint: […], from ip: …, more info at …"}``, always HTTP 200, as
WeCom answers.

Changes made here never produce callbacks ("通过API进行的操作不会产生回调").
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import tornado.web

from siyu.plugins.wecom.sandbox.client_app import client_routes
from siyu.plugins.wecom.sandbox.control import control_routes
from siyu.plugins.wecom.sandbox.endpoints import NO_TOKEN, ROUTES, Call
from siyu.plugins.wecom.sandbox.endpoints.base import FileAnswer
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.redpack import pay_routes

if TYPE_CHECKING:  # pragma: no cover
    from siyu.plugins.wecom.sandbox.server import Sandbox

#: errcode for a body that is not JSON. WeCom and WeChat answer unparsable JSON with 47001
#: "data format error"; the code is not in the reference's table (§1.3), which only promises
#: the "Warning: wrong json format." errmsg, so clients must not rely on it beyond that.
BAD_JSON_ERRCODE = 47001

access_log = logging.getLogger("siyu.wecom.sandbox.access")


def log_request(handler: tornado.web.RequestHandler) -> None:
    """One line per request on the sandbox's own logger (quiet unless configured).

    Only the path is logged: query strings carry the app secret and access tokens.
    """
    request = handler.request
    access_log.info("%d %s %s %.1fms", handler.get_status(), request.method, request.path,
                    1000 * request.request_time())


class CgiHandler(tornado.web.RequestHandler):
    """Answers every ``/cgi-bin/<path>`` request from the route table."""

    def initialize(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def check_xsrf_cookie(self) -> None:  # an API, not a web form
        return

    async def get(self, path: str) -> None:
        await self._answer(path)

    async def post(self, path: str) -> None:
        await self._answer(path)

    def _body(self) -> dict[str, Any]:
        if self._multipart():
            return {}  # the parts are in self.request.files
        raw = self.request.body
        if not raw or not raw.strip():
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(BAD_JSON_ERRCODE, f"body is not JSON ({exc})",
                           json_warning=True) from None
        if not isinstance(body, dict):
            raise ApiError(BAD_JSON_ERRCODE, "body must be a JSON object", json_warning=True)
        return body

    def _multipart(self) -> bool:
        content_type = self.request.headers.get("Content-Type", "")
        return content_type.lower().startswith("multipart/form-data")

    async def _answer(self, path: str) -> None:
        faults = self.sandbox.faults
        fault = faults.draw()
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if fault == "drop":
            self.request.connection.stream.close()  # no status line, no body
            self.finish()
            return
        if fault == "error":
            self.set_status(faults.error_status)
            self.finish(f"<html><body><h1>{faults.error_status}</h1>"
                        "Service temporarily unavailable</body></html>")
            return
        endpoint = ROUTES.get(path)
        if endpoint is None:
            self.set_status(404)
            self.finish({"errcode": 404, "errmsg": f"unknown api /cgi-bin/{path}"})
            return
        world = self.sandbox.world
        query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        payload: dict = {}
        with world.lock:
            try:
                if fault == "busy":
                    raise ApiError(-1)
                if path not in NO_TOKEN:
                    world.check_token(query.get("access_token"), faults.revoke_after)
                world.count_call(path)
                files = self.request.files if self._multipart() else {}
                payload = endpoint(Call(world, query, self._body(), files))
                answer = {"errcode": 0, "errmsg": "ok", **payload}
            except ApiError as exc:
                answer = {"errcode": exc.errcode,
                          "errmsg": exc.errmsg(world.now(), self.request.remote_ip or "")}
        if faults.answer_latency > 0:
            await asyncio.sleep(faults.answer_latency)
        if faults.lose_answer():
            self.request.connection.stream.close()  # it happened; nobody hears so
            self.finish()
            return
        if isinstance(payload, FileAnswer):
            self.set_header("Content-Type", payload.content_type)
            if payload.filename:
                self.set_header("Content-Disposition",
                                f"attachment; filename*=UTF-8''{quote(payload.filename)}")
            self.finish(payload.content)
            return
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(answer, ensure_ascii=False))


def make_app(sandbox: Sandbox) -> tornado.web.Application:
    """The Tornado application of ``sandbox``: the WeCom API, WeChat Pay's red-packet API
    (``/mmpaymkttransfers/``), the ``/sandbox/`` admin and the simulated WeCom client (OAuth
    page, chat sidebar, JS-SDK shim)."""
    return tornado.web.Application(
        [(r"/cgi-bin/(.+)", CgiHandler, {"sandbox": sandbox}), *pay_routes(sandbox),
         *control_routes(sandbox), *client_routes(sandbox)],
        compress_response=False,
        log_function=log_request,
    )
