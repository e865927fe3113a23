"""A workspace wired to a sandbox, for plugin authors' tests and demos.

::

    with wired_workspace("sqlite:///t.db") as (ws, sandbox, console_url):
        config_id = wecom(ws).client.add_contact_way(2, 2, user=["zhangsan"])["config_id"]
        sandbox.people.scan_contact_way(config_id)   # → callback → on_contact_added

The console (with the WeCom callback route) runs in a background thread; the sandbox posts
its callbacks there, and the workspace's WeCom settings record that callback URL (as
``siyu demo`` does), so ``siyu doctor`` and the settings page see the wiring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import siyu
from siyu.apps.server import serve_in_background
from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.sandbox.server import Sandbox


@contextmanager
def wired_workspace(url: str, *, seed: int = 7, welcome_text: str = "欢迎来到私域!",
                    **open_options: Any) -> Iterator[tuple[Any, Sandbox, str]]:
    """Open a workspace at ``url``, start a sandbox and the console, and connect them.

    :return: ``(ws, sandbox, console_url)``; everything is stopped on exit.
    """
    from siyu.plugins.wecom.demo import wire_callbacks

    open_options.setdefault("load_entry_points", False)
    ws = siyu.open(url, **open_options)
    sandbox = Sandbox(seed=seed).start()
    try:
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url,
                    welcome_text=welcome_text)
        with serve_in_background(ws, secret="sandbox-test") as console:
            wire_callbacks(ws, sandbox, console.url)
            yield ws, sandbox, console.url
    finally:
        sandbox.stop()
        ws.close()


def wait_until(check: Callable[[], object], timeout: float = 20.0,
               interval: float = 0.02) -> object:
    """Poll ``check`` until it returns something truthy and return that; callbacks and
    their processing are asynchronous, so tests wait on outcomes, never on sleeps.

    :raises AssertionError: the condition did not hold within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
