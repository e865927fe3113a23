"""A console server wired to a running sandbox: the real client, receiver and processor
against the sandbox's simulated people, over loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from siyu.plugins.wecom.sandbox.testing import wired_workspace
from siyu.plugins.wecom.service import wecom


def wait_until(check: Callable[[], object], timeout: float = 15.0, interval: float = 0.05):
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


class Wired:
    """The pieces of one wired test: workspace, sandbox and the console's base URL."""

    def __init__(self, ws, sandbox, base):
        self.ws, self.sandbox, self.base = ws, sandbox, base

    @property
    def service(self):
        return wecom(self.ws)

    def staff_ids(self, n: int) -> list[str]:
        return [u for u, s in sorted(self.sandbox.world.staff.items())
                if s.activated and s.contact_permission and not s.resigned
                and not s.console_welcome][:n]


@pytest.fixture
def wired(db_url):
    """A workspace on each engine serving its console with the WeCom callback route,
    configured against a fresh sandbox that posts callbacks to it."""
    with wired_workspace(db_url) as (ws, sandbox, base):
        yield Wired(ws, sandbox, base)


@pytest.fixture
def wait():
    """:func:`wait_until` as a fixture."""
    return wait_until
