"""Real HTTP servers on 127.0.0.1 (ephemeral ports) standing in for the providers.

:class:`FakeRobots` answers like the group robots of WeCom (``/cgi-bin/webhook/send?key=K``),
Feishu (``/open-apis/bot/v2/hook/K``) and DingTalk (``/robot/send?access_token=K``). A WeCom
robot enforces the documented 20 messages per minute itself and answers errcode 45009 beyond;
some keys misbehave on purpose (see :attr:`FakeRobots.BEHAVIOUR`).

:class:`Receiver` is an integrator's webhook endpoint that checks every request's signature
with :func:`siyu.plugins.robots.webhook.verify_signature`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from siyu.plugins.robots.webhook import verify_signature


class _Server:
    """A threading HTTP server in a daemon thread; ``handle(handler)`` answers requests."""

    def __init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(length)
                status, answer, content_type = owner.handle(self)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, request):  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeRobots(_Server):
    """Group robots of three providers on one port."""

    #: key → how the robot misbehaves.
    BEHAVIOUR = {
        "broken": "502",        # HTTP 502 Bad Gateway
        "gone": "404",          # HTTP 404 (a deleted robot's URL)
        "invalid": "93000",     # errcode 93000: invalid webhook url
        "slow": "slow",         # answers after SLOW_S seconds
        "low": "limit2",        # a robot whose provider allows 2 a minute (45009 beyond)
    }
    SLOW_S = 1.5
    LIMIT = 20
    WINDOW_S = 60.0

    def __init__(self):
        self.received: list[dict] = []  # accepted and refused requests, in order
        self.accepted: dict[str, list[float]] = defaultdict(list)
        super().__init__()

    def url(self, key: str, kind: str = "wecom") -> str:
        base = f"http://127.0.0.1:{self.port}"
        if kind == "feishu":
            return f"{base}/open-apis/bot/v2/hook/{key}"
        if kind == "dingtalk":
            return f"{base}/robot/send?access_token={key}"
        return f"{base}/cgi-bin/webhook/send?key={key}"

    def calls(self, key: str) -> list[dict]:
        return [r for r in self.received if r["key"] == key]

    def handle(self, request):
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path.startswith("/open-apis/bot/v2/hook/"):
            kind, key = "feishu", parts.path.rsplit("/", 1)[1]
        elif parts.path == "/robot/send":
            kind, key = "dingtalk", query.get("access_token", "")
        else:
            kind, key = "wecom", query.get("key", "")
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        with self.lock:
            self.received.append({"kind": kind, "key": key, "body": body, "query": query,
                                  "headers": dict(request.headers), "at": time.time()})
        behaviour = self.BEHAVIOUR.get(key, "")
        if behaviour == "502":
            return 502, b"<html>502 Bad Gateway</html>", "text/html"
        if behaviour == "404":
            return 404, b"not found", "text/plain"
        if behaviour == "slow":
            time.sleep(self.SLOW_S)
        if kind == "feishu":
            return 200, {"code": 0, "msg": "success", "data": {}}, "application/json"
        if kind == "dingtalk":
            return 200, {"errcode": 0, "errmsg": "ok"}, "application/json"
        if behaviour == "93000":
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [x]"}, \
                "application/json"
        content = ((body or {}).get((body or {}).get("msgtype", ""), {}) or {}).get("content")
        if not isinstance(content, str) or not content:
            return 200, {"errcode": 44004, "errmsg": "empty content"}, "application/json"
        if body["msgtype"] == "text" and len(content.encode()) > 2048:
            return 200, {"errcode": 40058, "errmsg": "content exceed max length"}, \
                "application/json"
        limit = 2 if behaviour == "limit2" else self.LIMIT
        with self.lock:
            now = time.time()
            recent = [t for t in self.accepted[key] if t > now - self.WINDOW_S]
            if len(recent) >= limit:
                return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, \
                    "application/json"
            self.accepted[key].append(now)
        return 200, {"errcode": 0, "errmsg": "ok"}, "application/json"


class Receiver(_Server):
    """An integrator's endpoint; the path picks the answer:

    ``/ok`` 200 with ``{"id": "r-<n>"}``, ``/empty`` 204, ``/busy`` 503, ``/throttled``
    429, ``/timeout`` 408, ``/reject`` 422 with a text, ``/slow`` 200 after ``SLOW_S``. A bad
    signature gets 401.
    """

    SLOW_S = 1.5

    def __init__(self, secret: str):
        self.secret = secret
        self.received: list[dict] = []
        super().__init__()

    def url(self, path: str = "/ok") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def handle(self, request):
        signed = verify_signature(self.secret, request.headers.get("X-Siyu-Signature"),
                                  request.body)
        with self.lock:
            self.received.append({"path": request.path, "headers": dict(request.headers),
                                  "body": request.body, "valid": signed})
            n = len(self.received)
        if not signed:
            return 401, {"error": "bad signature"}, "application/json"
        if request.path == "/empty":
            return 204, b"", "text/plain"
        if request.path == "/busy":
            return 503, b"busy, come back later", "text/plain"
        if request.path == "/throttled":
            return 429, b"slow down", "text/plain"
        if request.path == "/timeout":
            return 408, b"request timeout", "text/plain"
        if request.path == "/reject":
            return 422, {"error": "unknown campaign " + "x" * 400}, "application/json"
        if request.path == "/slow":
            time.sleep(self.SLOW_S)
        return 200, {"id": f"r-{n}"}, "application/json"


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
