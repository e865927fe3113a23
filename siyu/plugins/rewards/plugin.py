"""The rewards plugin: reward pools, the claim ledger and payouts.

Written exactly like a third-party plugin; its tables form the Alembic history ``rewards``.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.rewards.models import TABLES


@hookimpl
def register_models():
    """reward_pool, reward_item, reward_quota, reward_claim and reward_payout."""
    return [ModelSet("rewards", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_routes(ws):
    """The public claim page ``/r/claim`` (a signed, expiring token names the customer)."""
    from siyu.core.records import RouteSpec
    from siyu.plugins.rewards.claim_page import ClaimHandler

    return [RouteSpec("rewards.claim", r"/r/claim", ClaimHandler, public=True)]
