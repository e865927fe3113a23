"""Reward pools: create and change them, load coupon codes, split a lucky total.

::

    from siyu.plugins.rewards import pools

    pools.create(ws, "welcome", kind="red_packet", amount_fen=888, budget_fen=100_000)
    pools.create(ws, "lucky", kind="red_packet", mode="lucky", budget_fen=50_000, shares=100)
    pools.create(ws, "c20", kind="coupon", amount_fen=2000, threshold_fen=10_000,
                 coupon_days=30, budget_fen=0)
    pools.add_codes(ws, "c20", ["A1B2C3", …])       # each issued once

Money is integer fen. Creating and changing pools needs ``rewards.pay``; bad input raises
:class:`~siyu.core.errors.ValidationError` naming the problem and stores nothing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.rewards.models import KINDS, MODES, STATUSES, RewardItem, RewardPool
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.rewards")

#: WeChat Pay's enterprise red packets: 1 to 200 yuan each.
RED_PACKET_MIN_FEN, RED_PACKET_MAX_FEN = 100, 20_000
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CODE = re.compile(r"[A-Za-z0-9_-]{4,64}")


def _check_red_packet_amount(fen: int, what: str) -> None:
    if not RED_PACKET_MIN_FEN <= fen <= RED_PACKET_MAX_FEN:
        raise ValidationError(_("{what} is {amount} fen; a red packet is 100 to 20,000 fen "
                                "(1 to 200 yuan)", what=what, amount=fen))


def lucky_split(total_fen: int, shares: int, *, rng: random.Random | None = None) -> list[int]:
    """Split ``total_fen`` into ``shares`` red packets of 100–20,000 fen each, at random
    (拼手气): the classic "twice the average of what is left" draw, kept within the limits.

    :raises ValidationError: the total cannot be split so.
    """
    if shares < 1:
        raise ValidationError(_("a lucky split needs at least one share"))
    if not shares * RED_PACKET_MIN_FEN <= total_fen <= shares * RED_PACKET_MAX_FEN:
        raise ValidationError(_("{total} fen cannot be split into {shares} red packets of 100 "
                                "to 20,000 fen", total=total_fen, shares=shares))
    rng = rng or random.SystemRandom()
    left, amounts = total_fen, []
    for i in range(shares, 1, -1):
        low = max(RED_PACKET_MIN_FEN, left - (i - 1) * RED_PACKET_MAX_FEN)
        high = min(RED_PACKET_MAX_FEN, left - (i - 1) * RED_PACKET_MIN_FEN,
                   max(low, 2 * left // i))
        amount = rng.randint(low, high)
        amounts.append(amount)
        left -= amount
    amounts.append(left)
    rng.shuffle(amounts)
    return amounts


def create(ws: Workspace, name: str, *, kind: str, title: str = "", mode: str = "fixed",
           amount_fen: int = 0, min_fen: int = 0, max_fen: int = 0, budget_fen: int = 0,
           shares: int = 0, threshold_fen: int = 0, coupon_days: int = 0,
           contact_limit: int = 1, daily_limit: int = 0, starts_at: datetime | None = None,
           ends_at: datetime | None = None, segment: str | None = None,
           tag: str | None = None) -> RewardPool:
    """Create a pool.

    :param kind: ``red_packet`` or ``coupon``.
    :param mode: red packets: ``fixed`` (``amount_fen`` each), ``random`` (between
        ``min_fen`` and ``max_fen``) or ``lucky`` (``budget_fen`` split into ``shares`` in
        advance).
    :param amount_fen: fixed red packets: each one; coupons: the face value.
    :param budget_fen: what the pool may pay out in all (red packets); coupons: 0 (their
        codes bound them).
    :param contact_limit: claims per contact in all; ``daily_limit``: per day (0: no limit).
    :param segment: only members of this saved segment may claim; ``tag``: only contacts with
        this ``group/name`` tag.
    """
    ws.principal.require("rewards.pay")
    if not NAME.fullmatch(name or ""):
        raise ValidationError(_("a pool name is 1-64 letters, digits, '_', '.' or '-', "
                                "starting with a letter or digit; got {name}",
                                name=repr(name)))
    if kind not in KINDS:
        raise ValidationError(_("unknown kind {kind}; use red_packet or coupon",
                                kind=repr(kind)))
    if contact_limit < 1 or daily_limit < 0:
        raise ValidationError(_("a contact may claim at least once; the daily limit is 0 (none) "
                                "or more"))
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationError(_("the pool ends before it starts"))
    amounts: list[int] = []
    if kind == "red_packet":
        if mode not in MODES:
            raise ValidationError(_("unknown mode {mode}; use fixed, random or lucky",
                                    mode=repr(mode)))
        if mode == "fixed":
            _check_red_packet_amount(amount_fen, _("the amount"))
        elif mode == "random":
            _check_red_packet_amount(min_fen, _("the smallest amount"))
            _check_red_packet_amount(max_fen, _("the largest amount"))
            if max_fen < min_fen:
                raise ValidationError(_("the largest amount is below the smallest"))
        else:
            amounts = lucky_split(budget_fen, shares)
        if budget_fen <= 0:
            raise ValidationError(_("a red-packet pool needs a budget above 0 fen"))
    else:
        mode = "fixed"
        if amount_fen <= 0:
            raise ValidationError(_("a coupon needs a face value above 0 fen"))
        if threshold_fen < 0 or coupon_days < 0:
            raise ValidationError(_("a coupon's threshold and validity cannot be negative"))
        budget_fen = 0
    if segment:
        ws.segments.get(segment)  # raises NotFound naming it
    if tag and tag not in ws.tags.names():
        raise NotFound(_("unknown tag {tag}", tag=repr(tag)))
    pool = RewardPool(name=name, title=title or name, kind=kind, mode=mode,
                      amount_fen=amount_fen, min_fen=min_fen, max_fen=max_fen,
                      threshold_fen=threshold_fen, coupon_days=coupon_days,
                      budget_fen=budget_fen, contact_limit=contact_limit,
                      daily_limit=daily_limit, starts_at=starts_at, ends_at=ends_at,
                      segment=segment or None, tag=tag or None, created_by=ws.principal.name)
    with ws.session() as s:
        if s.execute(sa.select(RewardPool.id).where(RewardPool.name == name)).first():
            raise ValidationError(_("a pool named {name} exists already", name=name))
        s.add(pool)
        s.flush()
        if amounts:
            s.execute(sa.insert(RewardItem), [{"pool_id": pool.id, "amount_fen": a}
                                              for a in amounts])
    ws.audit("reward.pool_create", name, {"kind": kind, "mode": mode, "budget_fen": budget_fen})
    return pool


def get(ws: Workspace, name: str) -> RewardPool:
    """The pool ``name``.

    :raises NotFound: no such pool.
    """
    ws.principal.require("data.read")
    with ws.session() as s:
        pool = s.execute(sa.select(RewardPool).where(RewardPool.name == name)).scalar_one_or_none()
    if pool is None:
        raise NotFound(_("unknown pool {name}", name=repr(name)))
    return pool


def set_status(ws: Workspace, name: str, status: str) -> RewardPool:
    """Pause, resume (``active``) or end a pool."""
    ws.principal.require("rewards.pay")
    if status not in STATUSES:
        raise ValidationError(_("unknown status {status}; use active, paused or ended",
                                status=repr(status)))
    pool = get(ws, name)
    with ws.session() as s:
        s.execute(sa.update(RewardPool).where(RewardPool.id == pool.id).values(status=status))
    ws.audit("reward.pool_status", name, {"status": status})
    return get(ws, name)


def add_codes(ws: Workspace, name: str, codes: Iterable[str]) -> int:
    """Load coupon codes into coupon pool ``name``; all or nothing.

    :return: how many codes were added.
    :raises ValidationError: not a coupon pool, a malformed code, a code twice in the list,
        or a code the pool has already (each named).
    """
    ws.principal.require("rewards.pay")
    pool = get(ws, name)
    if pool.kind != "coupon":
        raise ValidationError(_("pool {name} hands out red packets, not coupon codes",
                                name=name))
    wanted = [str(c).strip() for c in codes]
    bad = [c for c in wanted if not CODE.fullmatch(c)]
    if bad:
        raise ValidationError(_("coupon codes are 4-64 letters, digits, '_' or '-'; not {codes}",
                                codes=", ".join(map(repr, bad[:5]))))
    seen: set[str] = set()
    twice = sorted({c for c in wanted if c in seen or seen.add(c)})
    if twice:
        raise ValidationError(_("these codes appear more than once: {codes}",
                                codes=", ".join(twice[:10])))
    with ws.session() as s:
        have = set()
        for i in range(0, len(wanted), 5000):
            have.update(s.execute(sa.select(RewardItem.code).where(
                RewardItem.pool_id == pool.id,
                RewardItem.code.in_(wanted[i:i + 5000]))).scalars())
        if have:
            raise ValidationError(_("pool {name} has these codes already: {codes}", name=name,
                                    codes=", ".join(sorted(have)[:10])))
        if wanted:
            s.execute(sa.insert(RewardItem), [{"pool_id": pool.id, "code": c,
                                               "amount_fen": pool.amount_fen} for c in wanted])
    ws.audit("reward.codes_add", name, {"codes": len(wanted)})
    return len(wanted)


def summary(ws: Workspace, name: str) -> dict[str, Any]:
    """Budget, spend, claims and what is left of pool ``name``."""
    pool = get(ws, name)
    with ws.engine.connect() as conn:
        items, free = conn.execute(sa.select(
            sa.func.count(RewardItem.id),
            sa.func.count(RewardItem.id).filter(RewardItem.claim_id.is_(None)))
            .where(RewardItem.pool_id == pool.id)).one()
    return {"name": pool.name, "kind": pool.kind, "mode": pool.mode, "status": pool.status,
            "budget_fen": pool.budget_fen, "spent_fen": pool.spent_fen, "claims": pool.claims,
            "items": items, "items_left": free, "checked_at": utcnow()}


#: The columns of :func:`listing`.
POOL_COLUMNS = ("name", "title", "kind", "mode", "status", "amount_fen", "min_fen", "max_fen",
                "budget_fen", "spent_fen", "claims", "contact_limit", "daily_limit",
                "starts_at", "ends_at", "segment", "tag", "created_at", "created_by")


def listing(ws: Workspace) -> Any:
    """Every pool as a DataFrame (:data:`POOL_COLUMNS`), newest first."""
    import pandas as pd

    ws.principal.require("data.read")
    p = RewardPool.__table__.c
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(*[p[c] for c in POOL_COLUMNS])
                            .order_by(p.id.desc())).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(POOL_COLUMNS))
