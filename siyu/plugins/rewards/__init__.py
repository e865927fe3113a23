"""Rewards: red-packet and coupon pools, claims and payouts.

A pool hands out red packets (a fixed amount, a random amount in a range, or shares of a
lucky split) or coupon codes, within a budget, per-contact and daily limits, a time window and
an eligibility rule (a segment or a tag). Claims go to a ledger whose invariants the database
enforces (:mod:`~.models`); red packets are paid through WeChat Pay (:mod:`~.wxpay`).

::

    from siyu.plugins.rewards import claims, pools

    pools.create(ws, "welcome", kind="red_packet", amount_fen=888, budget_fen=888_000)
    claims.claim(ws, "welcome", contact=42)
"""
