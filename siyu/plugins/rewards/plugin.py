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


@hookimpl
def register_commands():
    """``siyu reward``, named by import path (imported only when it runs)."""
    from siyu.core.i18n import translator
    from siyu.core.records import CommandSpec

    _ = translator("siyu.plugins.rewards")
    module = "siyu.plugins.rewards.commands"
    return [CommandSpec("reward", _.lazy("red-packet and coupon pools, claim links, claims "
                                         "and payouts"), f"{module}:configure", f"{module}:run")]


@hookimpl
def register_pages(ws):
    """The Rewards page (``data.read``; creating and changing pools needs ``rewards.pay``)."""
    from siyu.core.i18n import translator
    from siyu.core.records import PageSpec

    _ = translator("siyu.plugins.rewards")
    return [PageSpec("rewards", _.lazy("Rewards"), "siyu.plugins.rewards.pages:RewardsPage",
                     icon="gift", permission="data.read", order=46)]


@hookimpl
def register_jobs(ws):
    """Every minute, pay waiting red packets and check unknown ones (when WeChat Pay is set
    up)."""
    from siyu.core.i18n import translator
    from siyu.core.records import JobSpec

    _ = translator("siyu.plugins.rewards")
    return [JobSpec("rewards.pay", pay_due, "interval", {"minutes": 1},
                    _.lazy("Rewards: pay red packets"))]


def pay_due(ws):
    """Scheduled: pay what is due; nothing to do until WeChat Pay is set up."""
    from siyu.plugins.rewards import payouts

    if not all(ws.settings.get(payouts.PREFIX + n) for n in ("mch_id", "mch_key",
                                                              "pay_secret")):
        return "WeChat Pay is not set up"
    report = payouts.pay_due(ws)
    return {"paid": report.paid, "failed": report.failed, "unknown": report.unknown}
