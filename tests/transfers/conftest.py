"""A workspace wired to a running sandbox (real client, receiver and processor over loopback
HTTP), synced once, for the transfer tests; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from siyu.plugins.wecom.sandbox.testing import wait_until, wired_workspace
from siyu.plugins.wecom.sync import sync

DAY = 24 * 3600


class Wired:
    """One wired test: workspace, sandbox, the console's base URL and the database URL."""

    def __init__(self, ws, sandbox, base, url):
        self.ws, self.sandbox, self.base, self.url = ws, sandbox, base, url

    def customers_of(self, userid: str) -> list[str]:
        """The sandbox's customers of ``userid`` (external userids, sorted)."""
        world = self.sandbox.world
        with world.lock:
            return sorted(ext for ext, c in world.customers.items() if userid in c.follows)

    def give_customers(self, userid: str, n: int) -> list[str]:
        """``n`` new sandbox customers of ``userid`` (not synced)."""
        world = self.sandbox.world
        made = []
        with world.lock:
            for i in range(n):
                customer = world.new_customer(f"客户{i}")
                world.add_follow(customer, userid)
                made.append(customer.external_userid)
        return made

    def takeovers(self, external_userid: str) -> list[tuple[str, str, int]]:
        """Every transfer WeCom (the sandbox) started for a customer: (from, to, status)."""
        with self.sandbox.world.lock:
            return [(t.handover, t.takeover, t.status) for t in self.sandbox.world.transfers
                    if t.external_userid == external_userid]

    def pass_a_day(self) -> None:
        """Move the sandbox clock past the 24-hour takeover delay."""
        self.sandbox.clock.advance(DAY + 60)


@pytest.fixture
def wired(db_url):
    """A synced workspace on each engine wired to a fresh sandbox (seed 7: zhangsan has three
    customers, lisi three, wangwu one; zhouba has left with two)."""
    with wired_workspace(db_url) as (ws, sandbox, base):
        sync(ws)
        yield Wired(ws, sandbox, base, db_url)


@pytest.fixture
def wait():
    return wait_until
