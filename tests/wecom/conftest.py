"""A console server wired to a running sandbox: the real client, receiver and processor
against the sandbox's simulated people, over loopback HTTP."""

from __future__ import annotations

import pytest

from siyu.plugins.wecom.sandbox.testing import wait_until, wired_workspace
from siyu.plugins.wecom.service import wecom


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
