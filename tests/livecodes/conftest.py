"""A console server wired to a running sandbox, as in tests/wecom/conftest.py, plus helpers
to add staff to the sandbox world and to scan a live code and wait for its arrival."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from siyu.plugins.livecodes.models import LiveCodeAdd
from siyu.plugins.wecom.sandbox.model import Staff as SandboxStaff
from siyu.plugins.wecom.sandbox.testing import wait_until, wired_workspace


class Wired:
    """Workspace, sandbox and console base URL of one test."""

    def __init__(self, ws, sandbox, base):
        self.ws, self.sandbox, self.base = ws, sandbox, base

    @property
    def world(self):
        return self.sandbox.world

    def hire(self, *userids: str, store: str | None = None) -> list[str]:
        """Add activated members with customer-contact permission to the sandbox corp."""
        with self.world.lock:
            for userid in userids:
                self.world.staff[userid] = SandboxStaff(userid, f"员工{userid}", [1])
        for userid in userids:
            self.ws.staff.upsert(userid, f"员工{userid}", store=store)
        return list(userids)

    def handled(self) -> int:
        """Arrivals whose welcome was handled (sent, failed or none)."""
        with self.ws.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(LiveCodeAdd).where(
                LiveCodeAdd.welcome != "pending")).scalar()

    def scan(self, config_id: str, name: str | None = None):
        """One new customer scans the code; returns once the arrival is fully handled."""
        before = self.handled()
        outcome = self.sandbox.people.scan_contact_way(config_id, name=name)
        wait_until(lambda: self.handled() > before and self.settled())
        return outcome

    def settled(self) -> bool:
        """Whether every stored callback has been applied (tags and remark come after the
        welcome, so the welcome alone does not mean the arrival is finished)."""
        from siyu.plugins.wecom.status import callback_counts

        counts = callback_counts(self.ws)
        return counts["pending"] == 0 and counts["processing"] == 0


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


def group_chats(wired, *names, owner="qunzhu"):
    """Customer groups in the sandbox corp, mirrored here; returns their chat ids."""
    from siyu.plugins.livecodes import group_api

    if owner not in wired.world.staff:
        wired.hire(owner)
    with wired.world.lock:
        ids = [wired.world.create_chat(name, owner).chat_id for name in names]
    group_api.reload_groups(wired.ws)
    return ids
