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
