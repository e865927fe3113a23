"""A browser tab that closes while ``siyu serve`` writes to it leaves no traceback in the log.

Panel writes some updates as several Tornado writes it does not all await — the template's
busy spinner turning off half a second after a page loaded is one. When the tab has closed in
between, the orphaned writes fail with ``WebSocketClosedError`` and asyncio logged "Task
exception was never retrieved" with a traceback for each. These tests recreate that over a
real websocket, deterministically: the server's event loop is held while the client resets
its connection, then the page's busy spinner changes.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import os
import re
import socket
import struct
import threading
import time

import httpx
import panel as pn
import pytest
from panel.io.state import set_curdoc
from tornado.websocket import WebSocketClosedError

import siyu
from siyu.apps.console_client import console_client
from siyu.apps.server import ClosedSocketFilter, serve_in_background

CLOSED_LINE = "a browser page closed while the console was writing to it"


@pytest.fixture
def console(tmp_path):
    """A console in a thread of this process (its log goes to ``caplog``), with an admin."""
    ws = siyu.open(tmp_path / "tabs.db", load_entry_points=False)
    ws.users.add("ada", "admin", "ada-password")
    with serve_in_background(ws, secret="closed-tabs-secret-of-32-characters") as running:
        yield running
    ws.close()


def open_page_socket(base: str, client: httpx.Client, page: str) -> socket.socket:
    """Load console page ``page`` with ``client`` and open its websocket on a plain socket, as
    the browser does; returns the socket once the server acknowledged the session."""
    answer = client.get(f"/{page}")
    assert answer.status_code == 200, answer.status_code
    token = re.search(r'"token":"([^"]+)"', answer.text).group(1)
    port = int(base.rsplit(":", 1)[1])
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall((f"GET /{page}/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Protocol: bokeh, {token}\r\n"
                  f"Origin: {base}\r\nCookie: {cookies}\r\n\r\n").encode())
    received = b""
    while b'"ACK"' not in received:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the websocket: {received[:300]!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 101"), received[:300]
    return sock


def client_frame(text: str, opcode: int = 0x1) -> bytes:
    """One masked websocket frame from the client (a text frame by default)."""
    data, mask = text.encode(), os.urandom(4)
    size = len(data)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | size]) if size < 126 else
                                     bytes([0x80 | 126]) + struct.pack("!H", size))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def send_document_ready(sock: socket.socket) -> None:
    """Tell the server the page is drawn, as BokehJS does once it rendered the document
    (Panel pushes updates itself only to a page that said so)."""
    event = {"type": "event", "name": "document_ready", "values": {"type": "map"}}
    content = {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event",
                           "msg_data": event}]}
    for part in ({"msgid": "ready-1", "msgtype": "PATCH-DOC"}, {}, content):
        sock.sendall(client_frame(json.dumps(part)))


def reset(sock: socket.socket) -> None:
    """Close ``sock`` the way a killed tab or a dropped network does: a TCP reset, no
    websocket close frame."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def on_server_loop(server, fn, timeout: float = 10.0):
    """Run ``fn()`` on the console's event loop and return what it returned."""
    done = threading.Event()
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            outcome["error"] = exc
        finally:
            done.set()

    server.io_loop.add_callback(run)
    assert done.wait(timeout), "the console's event loop did not run the callback"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def settle(server) -> None:
    """Let the console's loop finish what is pending, then collect garbage, so an unawaited
    task that failed is reported now (asyncio reports it when the task is freed)."""
    for _ in range(5):
        on_server_loop(server, lambda: None)
        time.sleep(0.05)
    gc.collect()
    on_server_loop(server, lambda: None)


def complaints(caplog) -> list[logging.LogRecord]:
    """Records at WARNING or above that are about closed websockets."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING and (
        (r.exc_info and isinstance(r.exc_info[1], WebSocketClosedError))
        or any(text in r.getMessage() for text in ("WebSocketClosedError", "never retrieved",
                                                   "connection was closed")))]


def test_a_tab_reset_while_the_busy_spinner_changes_logs_no_traceback(console, caplog):
    caplog.set_level(logging.DEBUG, logger="asyncio")  # to see the quiet line instead
    client = console_client(console.url, "ada", "ada-password")
    sock = open_page_socket(console.url, client, "overview")
    server = console.server
    [session] = server.get_sessions("/overview")
    send_document_ready(sock)

    def page_loaded() -> bool:
        with set_curdoc(session.document):
            return pn.state.loaded

    deadline = time.monotonic() + 10
    while not on_server_loop(server, page_loaded):
        assert time.monotonic() < deadline, "the page never counted as loaded"
        time.sleep(0.05)
    holding, released, pushed = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def push_after_the_tab_is_gone() -> None:
        # Holding the loop keeps the server from reading the reset before it writes, as it
        # does when the reset arrives during the write.
        holding.set()
        try:
            assert released.wait(10), "the test did not reset its connection"
            doc = session.document
            with set_curdoc(doc):
                spinner = pn.state.template.busy_indicator
                spinner.value = not spinner.value
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            pushed.set()

    server.io_loop.add_callback(push_after_the_tab_is_gone)
    assert holding.wait(10)
    reset(sock)
    released.set()
    assert pushed.wait(10)
    settle(server)

    assert not failures, failures
    assert not complaints(caplog), caplog.text
    assert "Traceback" not in caplog.text and "WebSocketClosedError" not in caplog.text
    # The failed writes were there, and were reported as one DEBUG line each.
    assert any(r.getMessage() == CLOSED_LINE and r.levelno == logging.DEBUG
               for r in caplog.records), caplog.text
    # The session let go of the connection, and the console goes on serving.
    assert on_server_loop(server, lambda: session.connection_count) == 0
    assert client.get("/health").status_code == 200
    assert client.get("/overview").status_code == 200
    client.close()


def test_a_tab_closed_normally_logs_nothing(console, caplog):
    client = console_client(console.url, "ada", "ada-password")
    for page in ("overview", "contacts", "jobs"):
        sock = open_page_socket(console.url, client, page)
        send_document_ready(sock)
        time.sleep(0.2)
        sock.sendall(client_frame("", opcode=0x8))  # a close frame, as a closing tab sends
        sock.close()
    settle(console.server)

    assert not complaints(caplog), caplog.text
    assert "Traceback" not in caplog.text
    assert client.get("/health").status_code == 200
    client.close()


def test_other_errors_of_the_console_loop_are_still_logged(console, caplog):
    async def bug() -> None:
        raise RuntimeError("a real bug in a page callback")

    async def tab_closed() -> None:
        raise WebSocketClosedError()

    def tornado_callback_bug() -> None:
        raise KeyError("a real bug in a Tornado callback")

    def orphan_tasks() -> None:
        asyncio.ensure_future(bug())
        asyncio.ensure_future(tab_closed())
        console.server.io_loop.add_callback(tornado_callback_bug)

    on_server_loop(console.server, orphan_tasks)
    settle(console.server)

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    kinds = {type(r.exc_info[1]).__name__ for r in errors if r.exc_info}
    assert kinds == {"RuntimeError", "KeyError"}, caplog.text
    assert "a real bug in a page callback" in caplog.text
    assert "WebSocketClosedError" not in caplog.text


@pytest.mark.parametrize("level, shown", [(logging.WARNING, False), (logging.DEBUG, True)])
def test_the_quiet_line_shows_only_where_debug_logging_is_on(level, shown):
    logger = logging.getLogger("asyncio")
    before = logger.level
    logger.setLevel(level)
    try:
        error = WebSocketClosedError()
        record = logger.makeRecord("asyncio", logging.ERROR, __file__, 1,
                                   "Task exception was never retrieved", (),
                                   (type(error), error, None))
        assert ClosedSocketFilter().filter(record) is shown
    finally:
        logger.setLevel(before)
    assert (record.levelno, record.getMessage(), record.exc_info) == (
        logging.DEBUG, CLOSED_LINE, None)
