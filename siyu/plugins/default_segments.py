"""The built-in segment rules: tags, contact attributes, journey events, orders, RFM and
membership of another saved segment.

Each rule compiles to one SQL predicate on the ``contact`` table, so a segment over a million
contacts is one query, never a Python loop. Order and event rules read the per-contact stats
(:mod:`siyu.core.segments.stats`) where those answer the question, and the raw tables only for
counts inside a window.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from siyu.core.i18n import core as _
from siyu.core.plugins import hookimpl
from siyu.core.records import SegmentParam as P
from siyu.core.records import SegmentRule
from siyu.core.segments.compiler import evaluation_time
from siyu.storage.like import contains, glob
from siyu.storage.models import (
    PAID_STATUSES,
    Contact,
    ContactEventStats,
    ContactField,
    ContactStats,
    ContactTag,
    Event,
    Order,
    OrderLine,
    Staff,
    Store,
    Tag,
    TagGroup,
)

C = Contact.__table__.c
GENDERS = {"unknown": 0, "male": 1, "female": 2}


def _window(p: dict[str, Any]) -> tuple[Any, Any]:
    """``(since, until)`` from ``since``/``until``/``within_days`` (the later start wins)."""
    since, until = p.get("since"), p.get("until")
    days = p.get("within_days")
    if days:
        start = evaluation_time() - timedelta(days=days)
        since = max(since, start) if since is not None else start
    return since, until


def _check_window(p: dict[str, Any]) -> str | None:
    since, until = p.get("since"), p.get("until")
    if since is not None and until is not None and since >= until:
        return _("since must be before until")
    return None


def _window_params() -> tuple[P, ...]:
    return (P("within_days", "int", _.lazy("in the last N days"), minimum=1),
            P("since", "date", _.lazy("from (inclusive)")),
            P("until", "date", _.lazy("until (exclusive)")))


# -- tags -------------------------------------------------------------------------------------

def _tag(ws, p):
    tag_ids = sa.select(Tag.id).join(TagGroup, Tag.group_id == TagGroup.id)
    names = p["tags"] or []
    if p["group"]:
        tag_ids = tag_ids.where(TagGroup.name == p["group"])
    if names:
        tag_ids = tag_ids.where((TagGroup.name + "/" + Tag.name).in_(names))
    # The few tag ids are looked up now and bound as values: the planner then knows how many
    # contacts carry them, and PostgreSQL merges the tag index with a city or channel index.
    with ws.engine.connect() as conn:
        ids = sorted(conn.execute(tag_ids).scalars())
    carriers = sa.select(ContactTag.contact_id).where(ContactTag.tag_id.in_(ids))
    if p["match"] == "all" and names:
        carriers = (carriers.group_by(ContactTag.contact_id)
                    .having(sa.func.count(sa.distinct(ContactTag.tag_id)) >= len(set(names))))
    if p["match"] == "none":
        return C.id.not_in(carriers)
    return C.id.in_(carriers)


def _check_tag(p):
    if not p["tags"] and not p["group"]:
        return _("give tags, or a tag group (any tag of it)")
    return None


# -- attributes -------------------------------------------------------------------------------

def _owner(ws, p):
    return C.owner_id.in_(sa.select(Staff.id).where(Staff.userid.in_(p["staff"])))


def _store(ws, p):
    return C.store_id.in_(sa.select(Store.id).where(Store.code.in_(p["stores"])))


def _region(ws, p):
    return C.store_id.in_(sa.select(Store.id).where(Store.region.in_(p["regions"])))


def _channel(ws, p):
    return C.source_channel.in_(p["channels"])


def _city(ws, p):
    return C.city.in_(p["cities"])


def _gender(ws, p):
    return C.gender == GENDERS[p["gender"]]


def _added(ws, p):
    since, until = _window(p)
    clauses = [C.added_at.is_not(None)]
    if since is not None:
        clauses.append(C.added_at >= since)
    if until is not None:
        clauses.append(C.added_at < until)
    return sa.and_(*clauses)


def _check_added(p):
    if p["since"] is None and p["until"] is None and not p["within_days"]:
        return _("give within_days, since or until")
    return _check_window(p)


def _friend(ws, p):
    return C.removed_at.is_(None) if p["is_friend"] else C.removed_at.is_not(None)


# -- journey events ---------------------------------------------------------------------------

def _kind(column, kind: str):
    return glob(column, kind) if "*" in kind else column == kind


def _event(ws, p):
    since, until = _window(p)
    least = p["min_count"] or 1
    st = ContactEventStats.__table__.c
    if since is None and until is None:
        who = sa.select(st.contact_id).where(_kind(st.kind, p["kind"]))
        if least > 1:
            who = who.group_by(st.contact_id).having(sa.func.sum(st.events) >= least)
        return C.id.in_(who)
    if least == 1 and until is None:  # "did it since": the last time is recent enough
        return C.id.in_(sa.select(st.contact_id)
                        .where(_kind(st.kind, p["kind"]), st.last_at >= since))
    if least == 1 and since is None:
        return C.id.in_(sa.select(st.contact_id)
                        .where(_kind(st.kind, p["kind"]), st.first_at < until))
    e = Event.__table__.c
    who = sa.select(e.contact_id).where(_kind(e.kind, p["kind"]), e.contact_id.is_not(None))
    if since is not None:
        who = who.where(e.occurred_at >= since)
    if until is not None:
        who = who.where(e.occurred_at < until)
    if least > 1:
        who = who.group_by(e.contact_id).having(sa.func.count() >= least)
    return C.id.in_(who)


# -- orders -----------------------------------------------------------------------------------

ORDER_BOUNDS = ("min_count", "max_count", "min_total_fen", "max_total_fen", "min_avg_fen",
                "max_avg_fen")
ORDER_DATES = ("first_order_since", "first_order_until", "last_order_since",
               "last_order_until")


def _bounds(p, count, total) -> tuple[list, list]:
    """``(at_least, at_most)`` conditions on an aggregate's count and total."""
    low, high = [], []
    if p["min_count"]:
        low.append(count >= p["min_count"])
    if p["min_total_fen"] is not None:
        low.append(total >= p["min_total_fen"])
    if p["min_avg_fen"] is not None:
        low.append(total >= count * p["min_avg_fen"])
    if p["max_count"] is not None:
        high.append(count <= p["max_count"])
    if p["max_total_fen"] is not None:
        high.append(total <= p["max_total_fen"])
    if p["max_avg_fen"] is not None:
        high.append(total <= count * p["max_avg_fen"])
    return low, high


#: The stats columns of the most recent, second and third most recent paid orders.
RECENT_ORDERS = (ContactStats.__table__.c.last_order_at, ContactStats.__table__.c.last2_order_at,
                 ContactStats.__table__.c.last3_order_at)


def _orders(ws, p):
    since, until = _window(p)
    st = ContactStats.__table__.c
    dates = []
    for name, column, op in (("first_order_since", st.first_order_at, "ge"),
                             ("first_order_until", st.first_order_at, "lt"),
                             ("last_order_since", st.last_order_at, "ge"),
                             ("last_order_until", st.last_order_at, "lt")):
        if p[name] is not None:
            dates.append(column >= p[name] if op == "ge" else column < p[name])
    if since is None and until is None:
        low, high = _bounds(p, st.orders, st.revenue_fen)
        source, key, having = ContactStats.__table__, st.contact_id, False
    else:
        o = Order.__table__.c
        count, total = sa.func.count(), sa.func.sum(o.amount_fen - o.refunded_fen)
        low, high = _bounds(p, count, total)
        recent = (p["min_count"] or 1) if (until is None and not dates
                                           and p["min_count"] != 0) else None
        if (recent is not None and recent <= len(RECENT_ORDERS) and not high
                and p["min_total_fen"] is None and p["min_avg_fen"] is None):
            # "N orders since T" is "the N-th most recent order is at or after T": read off
            # the stats, no scan of orders.
            return C.id.in_(sa.select(st.contact_id).where(RECENT_ORDERS[recent - 1] >= since))
        source = (sa.select(o.contact_id).where(o.status.in_(PAID_STATUSES),
                                                o.contact_id.is_not(None))
                  .group_by(o.contact_id))
        if since is not None:
            source = source.where(o.paid_at >= since)
        if until is not None:
            source = source.where(o.paid_at < until)
        key, having = o.contact_id, True
    clauses = []
    if dates:
        clauses.append(C.id.in_(sa.select(st.contact_id).where(*dates)))
    none_allowed = p["min_count"] == 0 or (p["min_count"] is None and p["max_count"] is not None)
    if none_allowed:
        # Contacts with no (windowed) orders qualify; exclude those breaking a maximum.
        if high:
            bad = sa.or_(*[sa.not_(h) for h in high])
            excluded = (source.having(bad) if having
                        else sa.select(key).select_from(source).where(bad))
            clauses.append(C.id.not_in(excluded))
        return sa.and_(*clauses) if clauses else sa.true()
    conditions = low + high
    if having:
        who = source.having(sa.and_(*conditions)) if conditions else source
    else:
        who = sa.select(key).where(*conditions) if conditions else sa.select(key)
    clauses.append(C.id.in_(who))
    return sa.and_(*clauses)


def _check_orders(p):
    if p["min_count"] == 0 and any(p[name] is not None for name in
                                   ("min_total_fen", "min_avg_fen", *ORDER_DATES)):
        return _("min_count 0 (no orders allowed) cannot be combined with a minimum total, "
                 "average or order date")
    for low, high in (("min_count", "max_count"), ("min_total_fen", "max_total_fen"),
                      ("min_avg_fen", "max_avg_fen")):
        if p[low] is not None and p[high] is not None and p[low] > p[high]:
            return _("{low} is more than {high}", low=low, high=high)
    return _check_window(p)


def _bought(ws, p):
    since, until = _window(p)
    o, line = Order.__table__.c, OrderLine.__table__.c
    what = []
    if p["products"]:
        what.append(line.product.in_(p["products"]))
    if p["skus"]:
        what.append(line.sku.in_(p["skus"]))
    if p["categories"]:
        what.append(line.category.in_(p["categories"]))
    buyers = (sa.select(o.contact_id)
              .select_from(OrderLine.__table__.join(Order.__table__, o.id == line.order_id))
              .where(sa.or_(*what), o.status.in_(PAID_STATUSES), o.contact_id.is_not(None)))
    if since is not None:
        buyers = buyers.where(o.paid_at >= since)
    if until is not None:
        buyers = buyers.where(o.paid_at < until)
    return C.id.in_(buyers)


def _check_bought(p):
    if not (p["products"] or p["skus"] or p["categories"]):
        return _("give products, SKUs or categories")
    return _check_window(p)


# -- RFM --------------------------------------------------------------------------------------

def rfm_scores(per_store: bool = False) -> sa.Select:
    """Each contact with paid orders and its RFM scores, 1–5 by quintile (5 best: most
    recent, most orders, most revenue); ties are broken by contact id, so every engine
    gives the same scores. ``per_store`` ranks within each contact's store."""
    st = ContactStats.__table__.c
    partition = [C.store_id] if per_store else None

    def ntile(*order):
        return sa.func.ntile(5).over(partition_by=partition, order_by=[*order, st.contact_id])

    query = sa.select(st.contact_id, ntile(st.last_order_at).label("r"),
                      ntile(st.orders).label("f"), ntile(st.revenue_fen).label("m"))
    if per_store:
        query = query.join(Contact.__table__, C.id == st.contact_id)
    return query.where(st.orders > 0)


def _rfm(ws, p):
    if p["per_store"]:
        scores = rfm_scores(True).subquery("rfm")
        conditions = [scores.c[k].in_(p[k]) for k in ("r", "f", "m") if p[k]]
        return C.id.in_(sa.select(scores.c.contact_id).where(*conditions))
    st = ContactStats.__table__.c
    # Every stats row is a contact with paid orders (the rows RFM ranks). Counted now, once:
    # the boundary rows' places become bound numbers (PostgreSQL would otherwise count the
    # table again for every place it is used in).
    with ws.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(ContactStats.__table__)
                         ).scalar_one()
    conditions = []
    for key, column in (("r", st.last_order_at), ("f", st.orders), ("m", st.revenue_fen)):
        wanted = sorted(set(p[key] or ()))
        if not wanted or wanted == [1, 2, 3, 4, 5]:
            continue
        ranges: list[list[int]] = []
        for score in wanted:  # contiguous scores make one range: 4, 5 → score ≥ 4
            if ranges and ranges[-1][1] == score - 1:
                ranges[-1][1] = score
            else:
                ranges.append([score, score])
        parts = []
        for low, high in ranges:
            bounds = []
            if low > 1:
                bounds.append(_quintile_at_least(column, low, n))
            if high < 5:
                bounds.append(sa.not_(_quintile_at_least(column, high + 1, n)))
            parts.append(sa.and_(*bounds))
        conditions.append(sa.or_(*parts))
    return C.id.in_(sa.select(st.contact_id).where(*conditions))


def _quintile_at_least(column, score: int, n: int):
    """``column``'s RFM score is at least ``score``, without ranking every contact.

    ``NTILE(5)`` over ``n`` rows in ``(column, contact_id)`` order gives the first ``n % 5``
    groups one row more than the others, so the group ``score`` starts at row
    ``start = (score - 1) * (n // 5) + min(score - 1, n % 5)``; a contact is in that group or
    a later one when ``(column, contact_id)`` is at or after that row's.

    The boundary row is found by skipping rows of the ``(column, contact_id)`` index from
    whichever end is nearer (row ``n - 1 - start`` counting backwards), so at most half the
    rows are skipped (for the top quintile, a fifth).
    """
    st = ContactStats.__table__.c
    start = (score - 1) * (n // 5) + min(score - 1, n % 5)
    if start >= n:  # an empty group (fewer than five contacts): nobody is in it
        return sa.false()
    if n - 1 - start < start:
        order, skip = (column.desc(), st.contact_id.desc()), n - 1 - start
    else:
        order, skip = (column, st.contact_id), start

    def boundary(value):
        return sa.select(value).order_by(*order).limit(1).offset(skip).scalar_subquery()

    at_value = boundary(column)
    return sa.or_(column > at_value, sa.and_(column == at_value,
                                             st.contact_id >= boundary(st.contact_id)))


def _check_rfm(p):
    if not (p["r"] or p["f"] or p["m"]):
        return _("give at least one of r, f, m (scores 1–5)")
    return None


# -- custom fields --------------------------------------------------------------------------

def _field(ws, p):
    f = ContactField.__table__.c
    having = sa.select(f.contact_id).where(f.name == p["name"], f.value != "")
    if p["equals"]:
        having = having.where(f.value.in_(p["equals"]))
    if p["contains"]:
        having = having.where(contains(f.value, p["contains"]))
    return C.id.in_(having)


# -- membership -------------------------------------------------------------------------------

def _segment(ws, p):
    return ws.segments.member_clause(p["name"])


def _score(name, title):
    return P(name, "ints", title, minimum=1, maximum=5)


RULES = (
    SegmentRule("tag", _.lazy("Tags"), (
        P("tags", "list", _.lazy("tag"), choices_from="tags", strict=True),
        P("match", "choice", _.lazy("match"), default="any",
          choices=(("any", _.lazy("any of them")), ("all", _.lazy("all of them")),
                   ("none", _.lazy("none of them")))),
        P("group", "str", _.lazy("tag group"), choices_from="tag_groups", strict=True)),
        family="tags", description=_.lazy("Carries any, all or none of some tags, or any tag "
                                          "of a group"), compile=_tag, check=_check_tag),
    SegmentRule("owner", _.lazy("Owner"), (
        P("staff", "list", _.lazy("staff member"), required=True, choices_from="staff",
          strict=True),), family="attributes",
        description=_.lazy("Served by one of these staff members"), compile=_owner),
    SegmentRule("store", _.lazy("Store"), (
        P("stores", "list", _.lazy("store"), required=True, choices_from="stores",
          strict=True),), family="attributes",
        description=_.lazy("Belongs to one of these stores"), compile=_store),
    SegmentRule("region", _.lazy("Region"), (
        P("regions", "list", _.lazy("region"), required=True, choices_from="regions"),),
        family="attributes", description=_.lazy("Belongs to a store in one of these regions"),
        compile=_region),
    SegmentRule("channel", _.lazy("Source channel"), (
        P("channels", "list", _.lazy("channel"), required=True, choices_from="channels"),),
        family="attributes", description=_.lazy("Came from one of these channels"),
        compile=_channel),
    SegmentRule("city", _.lazy("City"), (
        P("cities", "list", _.lazy("city"), required=True, choices_from="cities"),),
        family="attributes", description=_.lazy("Lives in one of these cities"),
        compile=_city),
    SegmentRule("gender", _.lazy("Gender"), (
        P("gender", "choice", _.lazy("gender"), required=True,
          choices=(("female", _.lazy("female")), ("male", _.lazy("male")),
                   ("unknown", _.lazy("unknown")))),),
        family="attributes", compile=_gender),
    SegmentRule("added", _.lazy("Added"), _window_params(), family="attributes",
                description=_.lazy("Added in a period"), compile=_added, check=_check_added),
    SegmentRule("friend", _.lazy("Still a friend"), (
        P("is_friend", "bool", _.lazy("still a friend"), default=True),),
        family="attributes", description=_.lazy("Still a friend of a staff member (or "
                                                 "removed)"), compile=_friend),
    SegmentRule("event", _.lazy("Journey event"), (
        P("kind", "str", _.lazy("event kind"), required=True, choices_from="event_kinds"),
        P("min_count", "int", _.lazy("at least N times"), minimum=1, default=1),
        *_window_params()), family="journey",
        description=_.lazy("Did an event (e.g. contact.added, livecode.*) at least N times"),
        compile=_event, check=_check_window),
    SegmentRule("orders", _.lazy("Orders"), (
        P("min_count", "int", _.lazy("at least N orders"), minimum=0),
        P("max_count", "int", _.lazy("at most N orders"), minimum=0),
        P("min_total_fen", "int", _.lazy("total at least (fen)"), minimum=0),
        P("max_total_fen", "int", _.lazy("total at most (fen)"), minimum=0),
        P("min_avg_fen", "int", _.lazy("average at least (fen)"), minimum=0),
        P("max_avg_fen", "int", _.lazy("average at most (fen)"), minimum=0),
        *_window_params(),
        P("first_order_since", "date", _.lazy("first order from")),
        P("first_order_until", "date", _.lazy("first order before")),
        P("last_order_since", "date", _.lazy("last order from")),
        P("last_order_until", "date", _.lazy("last order before"))), family="orders",
        description=_.lazy("Paid orders: how many, how much, when (no parameter: ordered at "
                           "least once)"), compile=_orders, check=_check_orders),
    SegmentRule("bought", _.lazy("Bought a product"), (
        P("products", "list", _.lazy("product"), choices_from="products"),
        P("skus", "list", _.lazy("SKU")),
        P("categories", "list", _.lazy("category"), choices_from="categories"),
        *_window_params()), family="orders",
        description=_.lazy("Paid for one of these products, SKUs or categories (from order "
                           "lines)"), compile=_bought, check=_check_bought),
    SegmentRule("field", _.lazy("Custom field"), (
        P("name", "str", _.lazy("field"), required=True, choices_from="custom_fields",
          strict=True),
        P("equals", "list", _.lazy("is one of")),
        P("contains", "str", _.lazy("contains"))), family="attributes",
        description=_.lazy("A custom field imported with contacts (has it, equals, "
                           "contains)"), compile=_field),
    SegmentRule("rfm", _.lazy("RFM scores"), (
        _score("r", _.lazy("recency score")), _score("f", _.lazy("frequency score")),
        _score("m", _.lazy("monetary score")),
        P("per_store", "bool", _.lazy("rank within each store"), default=False)),
        family="rfm", description=_.lazy("Recency, frequency and monetary scores 1–5 by "
                                         "quintile (5 best)"), compile=_rfm, check=_check_rfm),
    SegmentRule("segment", _.lazy("Saved segment"), (
        P("name", "str", _.lazy("segment"), required=True, choices_from="segments",
          strict=True),), family="membership",
        description=_.lazy("A member of another saved segment"), compile=_segment),
)


@hookimpl
def register_segment_rules():
    """The built-in rules (see the module docstring)."""
    return list(RULES)
