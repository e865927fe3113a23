"""Serve a workspace's console exactly as ``siyu serve`` does, plus one static page.

``python bench/_hello_serve.py --db FILE`` builds the server with
:func:`siyu.apps.server.make_server` (what ``siyu serve`` calls) on a free port, no
scheduler, with one extra plugin page ``/hello`` that shows a fixed "hello" Markdown pane in
the same console template, behind the same sign-in. ``bench/console_load.py`` times the
first page after sign-in next to it. Prints ``Listening: http://127.0.0.1:PORT/``.
"""

from __future__ import annotations

import argparse
import sys

import siyu
from siyu import hookimpl
from siyu.core.records import PageSpec

HELLO_TEXT = "hello"


def hello_page(ws):
    """The static page: one Markdown pane, nothing read from the database."""
    import panel as pn

    return pn.pane.Markdown(HELLO_TEXT, css_classes=["siyu-bench-hello"])


class HelloPlugin:
    """Registers ``/hello`` (any signed-in user may open it)."""

    name = "bench_hello"

    @hookimpl
    def register_pages(self, ws):
        return [PageSpec("hello", "hello", hello_page, permission="console.view", order=999)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="the workspace's SQLite file")
    args = parser.parse_args()
    from siyu.apps.server import make_server

    ws = siyu.open(f"sqlite:///{args.db}", plugins=[HelloPlugin()])
    server = make_server(ws, port=0, scheduler=False)
    server.start()
    print(f"Listening: http://127.0.0.1:{server.port}/", flush=True)
    try:
        server.io_loop.start()
    finally:
        server.stop()
        ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
