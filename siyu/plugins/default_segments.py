"""Built-in segment rules over the core contact columns.

Each rule compiles to one SQL predicate on the ``contact`` table, so a segment over a million
contacts is one query, never a Python loop.
"""

from __future__ import annotations

import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.plugins import hookimpl
from siyu.core.records import SegmentRule
from siyu.core.services.base import as_utc
from siyu.storage.models import (
    PAID_STATUSES,
    Contact,
    ContactTag,
    Order,
    Staff,
    Store,
    Tag,
    TagGroup,
)

RULES = (
    SegmentRule("tagged", "Carries a tag", {"tag": "group/tag name"}),
    SegmentRule("channel", "Came from a channel", {"channel": "source channel"}),
    SegmentRule("city", "Lives in a city", {"city": "city name"}),
    SegmentRule("owner", "Served by a staff member", {"owner": "staff userid"}),
    SegmentRule("store", "Belongs to a store", {"store": "store code"}),
    SegmentRule("active", "Still a friend", {}),
    SegmentRule("added_between", "Added in a period",
                {"since": "date (inclusive)", "until": "date (exclusive)"}),
    SegmentRule("ordered", "Has paid orders",
                {"min_orders": "at least this many paid orders (default 1)",
                 "since": "only orders paid since this date (optional)"}),
)


@hookimpl
def register_segment_rules():
    """The core rules: tag, channel, city, owner, store, active, added period, ordered."""
    return list(RULES)


def _need(params: dict, name: str, rule: str):
    value = params.get(name)
    if value in (None, ""):
        raise ValidationError(f"segment rule {rule!r} needs parameter {name!r}")
    return value


@hookimpl
def segment(ws, rule, params):
    """Compile a core rule into a predicate on ``contact``; ``None`` for other rules."""
    c = Contact.__table__.c
    if rule == "tagged":
        group, _, name = str(_need(params, "tag", rule)).partition("/")
        tag_ids = (sa.select(Tag.id).join(TagGroup, Tag.group_id == TagGroup.id)
                   .where(TagGroup.name == group, Tag.name == name))
        return c.id.in_(sa.select(ContactTag.contact_id)
                        .where(ContactTag.tag_id.in_(tag_ids)))
    if rule == "channel":
        return c.source_channel == _need(params, "channel", rule)
    if rule == "city":
        return c.city == _need(params, "city", rule)
    if rule == "owner":
        return c.owner_id.in_(sa.select(Staff.id)
                              .where(Staff.userid == _need(params, "owner", rule)))
    if rule == "store":
        return c.store_id.in_(sa.select(Store.id)
                              .where(Store.code == _need(params, "store", rule)))
    if rule == "active":
        return c.removed_at.is_(None)
    if rule == "added_between":
        clauses = []
        if params.get("since"):
            clauses.append(c.added_at >= as_utc(params["since"], ws.timezone))
        if params.get("until"):
            clauses.append(c.added_at < as_utc(params["until"], ws.timezone))
        if not clauses:
            raise ValidationError("segment rule 'added_between' needs 'since' or 'until'")
        return sa.and_(*clauses)
    if rule == "ordered":
        minimum = int(params.get("min_orders", 1))
        orders = sa.select(Order.contact_id).where(Order.status.in_(PAID_STATUSES),
                                                   Order.contact_id.is_not(None))
        if params.get("since"):
            orders = orders.where(Order.paid_at >= as_utc(params["since"], ws.timezone))
        orders = orders.group_by(Order.contact_id).having(sa.func.count() >= minimum)
        return c.id.in_(orders)
    return None
