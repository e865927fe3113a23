"""Fixtures of the customer-card tests (the shop itself is built in :mod:`.world`)."""

from __future__ import annotations

import pytest

from .world import Shop, build_shop


@pytest.fixture
def shop(ws) -> Shop:
    """The shop of :mod:`.world` in a workspace on each engine."""
    return build_shop(ws)
