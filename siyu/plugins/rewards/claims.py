"""Claiming a reward: one transaction that takes the contact's next claim number, an item
(a coupon code or a lucky share) when the pool has them, the amount from the budget, writes
the claim to the ledger, queues the red packet's payout and the ``on_reward_claimed`` notice —
all of it committed together, or nothing.

Every limit is checked by the database in the same statement that uses it (conditional
updates, unique keys, check constraints; see :mod:`~siyu.plugins.rewards.models`), so many
threads, processes and servers may claim at once and the ledger stays exact::

    from siyu.plugins.rewards import claims

    granted = claims.claim(ws, "welcome", contact=42)   # a RewardClaim, or ClaimRefused
    granted.amount_fen, granted.code

A refusal raises :class:`ClaimRefused`; its ``reason`` is a code (:data:`REASONS`) and its
message says it in words. Claiming needs ``rewards.pay``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.core.i18n import translator
from siyu.plugins.rewards.models import (
    RewardClaim,
    RewardItem,
    RewardPayout,
    RewardPool,
    RewardQuota,
)
from siyu.storage.dialect import insert_for
from siyu.storage.models import Contact, ContactTag, Tag, TagGroup
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.rewards")

#: Why a claim is refused, in words.
REASONS: dict[str, Any] = {
    "paused": _.lazy("this pool is paused"),
    "ended": _.lazy("this pool has ended"),
    "not_started": _.lazy("this pool has not started yet"),
    "not_eligible": _.lazy("this customer may not claim from this pool"),
    "limit": _.lazy("this customer has claimed all they may from this pool"),
    "daily_limit": _.lazy("this customer has claimed all they may today"),
    "budget": _.lazy("the pool's budget is spent"),
    "sold_out": _.lazy("the pool has nothing left to hand out"),
}

P, ITEMS, Q, C = (RewardPool.__table__, RewardItem.__table__, RewardQuota.__table__,
                  RewardClaim.__table__)


class ClaimRefused(SiyuError):
    """A claim the pool's rules refuse; ``reason`` is a key of :data:`REASONS`."""

    def __init__(self, reason: str, pool: str = ""):
        self.reason, self.pool = reason, pool
        super().__init__(str(REASONS[reason]))


def _pool(conn: sa.Connection, pool: str | int) -> Any:
    from siyu.core.errors import NotFound

    key = P.c.id == pool if isinstance(pool, int) else P.c.name == pool
    row = conn.execute(sa.select(P).where(key)).first()
    if row is None:
        raise NotFound(_("unknown pool {name}", name=repr(pool)))
    return row


def _open(pool: Any, now: datetime) -> None:
    if pool.status != "active":
        raise ClaimRefused("paused" if pool.status == "paused" else "ended", pool.name)
    if pool.starts_at and now < pool.starts_at:
        raise ClaimRefused("not_started", pool.name)
    if pool.ends_at and now >= pool.ends_at:
        raise ClaimRefused("ended", pool.name)


def _eligible(ws: Workspace, conn: sa.Connection, pool: Any, contact_id: int) -> bool:
    c = Contact.__table__.c
    checks = [c.id == contact_id]
    if pool.tag:
        group, _sep, name = pool.tag.partition("/")
        t, g, ct = Tag.__table__.c, TagGroup.__table__.c, ContactTag.__table__.c
        checks.append(sa.exists(sa.select(1).select_from(
            ContactTag.__table__.join(Tag.__table__, t.id == ct.tag_id)
            .join(TagGroup.__table__, g.id == t.group_id))
            .where(ct.contact_id == c.id, g.name == group, t.name == name)))
    if pool.segment:
        checks.append(ws.segments.member_clause(pool.segment))
    return conn.execute(sa.select(c.id).where(*checks)).first() is not None


def billno(mch_id: str, when: datetime, claim_id: int) -> str:
    """The WeChat Pay ``mch_billno`` of a claim's payout: the merchant id, the day and the
    claim id (at most 28 letters and digits), so a retry names the same payout."""
    from zoneinfo import ZoneInfo

    head = "".join(ch for ch in (mch_id or "SY") if ch.isalnum())[:10]
    day = when.astimezone(ZoneInfo("Asia/Shanghai"))  # WeChat Pay's days are Beijing days
    return f"{head}{day:%Y%m%d}{claim_id:010d}"[:28]


def claim(ws: Workspace, pool: str | int, contact: int | str, *, source: str = "",
          now: datetime | None = None, rng: random.Random | None = None) -> RewardClaim:
    """Claim one reward from ``pool`` for ``contact``.

    :param pool: the pool's name or id.
    :param contact: a contact id or external userid.
    :param source: where the claim came from (``claim-page``, ``campaign:…``, a plugin).
    :param now: the claim's time (aware; default now).
    :return: the claim as written to the ledger.
    :raises ClaimRefused: the pool's rules refuse it (nothing is written).
    :raises NotFound: no such pool or contact.
    """
    ws.principal.require("rewards.pay")
    now = now or utcnow()
    day = now.astimezone(ws.timezone).date().isoformat()
    # One transaction, few round trips: every claim waits for the pool's row at the end.
    with ws.session() as s:
        conn = s.connection()
        contact_id = _contact_id(ws, conn, contact)
        found = _pool(conn, pool)
        _open(found, now)
        if (found.tag or found.segment) and not _eligible(ws, conn, found, contact_id):
            raise ClaimRefused("not_eligible", found.name)
        seq = _next_number(conn, found, contact_id, day)
        amount = found.amount_fen if found.mode != "random" or found.kind == "coupon" else \
            (rng or random.SystemRandom()).randint(found.min_fen, found.max_fen)
        values = {"pool_id": found.id, "contact_id": contact_id, "seq": seq,
                  "contact_limit": found.contact_limit, "amount_fen": amount,
                  "item_id": None, "code": None, "claimed_at": now, "source": source,
                  "expires_at": now + timedelta(days=found.coupon_days)
                  if found.kind == "coupon" and found.coupon_days else None}
        values["id"] = conn.execute(sa.insert(C).values(**values).returning(C.c.id)
                                    ).scalar_one()
        if found.kind == "coupon" or found.mode == "lucky":
            taken = _take_item(conn, found, values["id"])
            values.update(item_id=taken.id, amount_fen=taken.amount_fen, code=taken.code)
            conn.execute(sa.update(C).where(C.c.id == values["id"]).values(
                item_id=taken.id, amount_fen=taken.amount_fen, code=taken.code))
        if found.kind == "red_packet":
            conn.execute(sa.insert(RewardPayout.__table__).values(
                claim_id=values["id"], billno=billno(_setting(conn, "rewards.mch_id"), now,
                                                     values["id"]),
                amount_fen=values["amount_fen"], status="pending", attempts=0, err_code="",
                message="", send_listid="", updated_at=now))
        # The budget last: every claim waits for the pool's row, so it stays locked only
        # from this update to the commit.
        _spend(conn, found, values["amount_fen"])
        row = RewardClaim(**values)
        ws.notify("on_reward_claimed", session=s, subject=f"contact:{contact_id}", claim=row)
    return row


def _contact_id(ws: Workspace, conn: sa.Connection, contact: int | str) -> int:
    """The id of ``contact`` (an id, or an external userid); :class:`NotFound` as
    ``ws.contacts.get`` says it."""
    k = Contact.__table__.c
    key = k.id == contact if isinstance(contact, int) else k.external_userid == contact
    found = conn.execute(sa.select(k.id).where(key)).scalar()
    if found is None:
        return ws.contacts.get(contact).id  # raises NotFound, worded as everywhere
    return found


def _setting(conn: sa.Connection, key: str) -> str:
    """A workspace setting read in the claim's own transaction."""
    from siyu.storage.models import Setting

    value = conn.execute(sa.select(Setting.__table__.c.value).where(
        Setting.__table__.c.key == key)).scalar()
    return str(value or "")


def _next_number(conn: sa.Connection, pool: Any, contact_id: int, day: str) -> int:
    """Raise the contact's claim count if the limits allow (one upsert); its new value."""
    q = Q.c
    allowed = q.claimed < pool.contact_limit
    if pool.daily_limit:
        allowed = sa.and_(allowed, sa.or_(q.day != day, q.day_claimed < pool.daily_limit))
    got = conn.execute(
        insert_for(conn, Q).values(pool_id=pool.id, contact_id=contact_id, claimed=1, day=day,
                                   day_claimed=1)
        .on_conflict_do_update(
            index_elements=[q.pool_id, q.contact_id],
            set_={"claimed": q.claimed + 1, "day": day,
                  "day_claimed": sa.case((q.day == day, q.day_claimed + 1), else_=1)},
            where=allowed)
        .returning(q.claimed)).first()
    if got is None:
        claimed = conn.execute(sa.select(q.claimed).where(
            q.pool_id == pool.id, q.contact_id == contact_id)).scalar_one()
        raise ClaimRefused("limit" if claimed >= pool.contact_limit else "daily_limit",
                           pool.name)
    return got.claimed


def _take_item(conn: sa.Connection, pool: Any, claim_id: int) -> Any:
    """Give the claim the pool's next free item (a coupon code or a lucky share)."""
    i = ITEMS.c
    free = (sa.select(i.id).where(i.pool_id == pool.id, i.claim_id.is_(None))
            .order_by(i.id).limit(1).with_for_update(skip_locked=True).scalar_subquery())
    taken = conn.execute(sa.update(ITEMS).where(i.id == free, i.claim_id.is_(None))
                         .values(claim_id=claim_id)
                         .returning(i.id, i.amount_fen, i.code)).first()
    if taken is None:
        raise ClaimRefused("sold_out", pool.name)
    return taken


def _spend(conn: sa.Connection, pool: Any, amount: int) -> None:
    """Take a red packet's amount from the budget and count the claim, if the budget allows
    and the pool is still active."""
    spend = amount if pool.kind == "red_packet" else 0
    paid = conn.execute(sa.update(P).where(
        P.c.id == pool.id, P.c.status == "active", P.c.spent_fen + spend <= P.c.budget_fen)
        .values(spent_fen=P.c.spent_fen + spend, claims=P.c.claims + 1)
        .returning(P.c.spent_fen)).first()
    if paid is None:
        raise ClaimRefused("budget", pool.name)


#: The columns of :func:`listing`.
CLAIM_COLUMNS = ("id", "pool", "contact_id", "contact", "seq", "amount_fen", "code",
                 "claimed_at", "expires_at", "redeemed_at", "source", "payout", "billno",
                 "payout_message")


def listing(ws: Workspace, *, pool: str | None = None, contact: int | str | None = None,
            limit: int | None = 1000) -> Any:
    """The ledger as a DataFrame (:data:`CLAIM_COLUMNS`), newest first, with each red
    packet's payout state."""
    import pandas as pd

    from siyu.plugins.rewards.models import RewardPayout

    ws.principal.require("data.read")
    c, p, o, k = C.c, P.c, RewardPayout.__table__.c, Contact.__table__.c
    query = (sa.select(c.id, p.name.label("pool"), c.contact_id, k.name.label("contact"),
                       c.seq, c.amount_fen, c.code, c.claimed_at, c.expires_at,
                       c.redeemed_at, c.source, o.status.label("payout"), o.billno,
                       o.message.label("payout_message"))
             .select_from(C.join(P, p.id == c.pool_id)
                          .join(Contact.__table__, k.id == c.contact_id, isouter=True)
                          .join(RewardPayout.__table__, o.claim_id == c.id, isouter=True))
             .order_by(c.id.desc()))
    if pool is not None:
        query = query.where(p.name == pool)
    if contact is not None:
        query = query.where(c.contact_id == ws.contacts.get(contact).id)
    if limit:
        query = query.limit(limit)
    with ws.engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(CLAIM_COLUMNS))
