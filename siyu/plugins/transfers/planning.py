"""Deciding who takes over whom: a plan splits a departing member's customers over successors
(evenly, by store, or by hand) and stores one ``planned`` item per customer. Nothing is sent
to WeCom here (see :mod:`~siyu.plugins.transfers.execute`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import translator
from siyu.plugins.transfers.departed import customer_label, departing, limit_reason
from siyu.plugins.transfers.models import SPLITS, STATUSES, TransferItem, TransferPlan
from siyu.storage.models import Contact, Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.transfers")

#: The longest message an on-job transfer sends the customer (WeCom: 200 characters).
MAX_MESSAGE = 200


@dataclass
class PlanResult:
    """What :func:`plan` stored.

    :ivar plan_id: the new plan.
    :ivar kind: ``"onjob"`` or ``"resigned"``.
    :ivar counts: successor userid → customers planned for them.
    :ivar over_limit: labels of the customers left out because WeCom allows no third
        transfer within 90 days (stored as ``limit_exceeded``, with the reason).
    """

    plan_id: int
    kind: str
    counts: dict[str, int] = field(default_factory=dict)
    over_limit: list[str] = field(default_factory=list)

    @property
    def planned(self) -> int:
        return sum(self.counts.values())


def _successors(ws: Workspace, userids: Iterable[str], handover: str) -> dict[str, Any]:
    """The active staff members ``userids`` (userid → row), in the order given."""
    wanted = list(dict.fromkeys(u.strip() for u in userids if u and u.strip()))
    if not wanted:
        raise ValidationError(_("choose at least one successor (a staff member who takes "
                                "the customers over)"))
    if handover in wanted:
        raise ValidationError(_("{userid!r} is the departing member and cannot be their own "
                                "successor", userid=handover))
    with ws.engine.connect() as conn:
        rows = {r.userid: r for r in conn.execute(
            sa.select(Staff.userid, Staff.name, Staff.store_id, Staff.status)
            .where(Staff.userid.in_(wanted)))}
    unknown = [u for u in wanted if u not in rows]
    if unknown:
        raise ValidationError(_("unknown staff member {userids}: successors must be in the "
                                "staff list (`siyu wecom sync` or ws.staff.upsert)",
                                userids=listing(repr(u) for u in unknown)))
    gone = [u for u in wanted if rows[u].status != "active"]
    if gone:
        raise ValidationError(_("{userids} cannot take customers over: not an active staff "
                                "member", userids=listing(repr(u) for u in gone)))
    return {u: rows[u] for u in wanted}


def _even(customers: list[dict[str, Any]], successors: list[str]) -> dict[str, str]:
    """Customer → successor, dealt in turn: counts differ by at most one."""
    return {c["external_userid"]: successors[i % len(successors)]
            for i, c in enumerate(customers)}


def _by_store(customers: list[dict[str, Any]], successors: dict[str, Any]) -> dict[str, str]:
    """Customer → a successor of the customer's store, dealt in turn among them; customers
    of a store no successor works in (or of none) are dealt evenly over all successors."""
    by_store: dict[Any, list[str]] = {}
    for userid, row in successors.items():
        if row.store_id is not None:
            by_store.setdefault(row.store_id, []).append(userid)
    assigned: dict[str, str] = {}
    dealt: dict[Any, int] = {}
    rest = []
    for customer in customers:
        choices = by_store.get(customer["store_id"])
        if not choices:
            rest.append(customer)
            continue
        turn = dealt.get(customer["store_id"], 0)
        assigned[customer["external_userid"]] = choices[turn % len(choices)]
        dealt[customer["store_id"]] = turn + 1
    assigned.update(_even(rest, list(successors)))
    return assigned


def _by_hand(customers: list[dict[str, Any]], assignments: Mapping[Any, str]
             ) -> dict[str, str]:
    """Customer → successor as ``assignments`` says (keys: external userids or contact ids)."""
    by_key: dict[str, str] = {}
    for c in customers:
        by_key[c["external_userid"]] = c["external_userid"]
        if c["contact_id"] is not None:
            by_key[str(c["contact_id"])] = c["external_userid"]
    assigned: dict[str, str] = {}
    strangers = []
    for key, successor in assignments.items():
        ext = by_key.get(str(key).strip())
        if ext is None:
            strangers.append(str(key))
        else:
            assigned[ext] = str(successor).strip()
    if strangers:
        raise ValidationError(_("not customers of the departing member: {customers}",
                                customers=listing(strangers)))
    return assigned


def plan(ws: Workspace, handover: str, successors: Iterable[str] = (), *, split: str = "even",
         assignments: Mapping[Any, str] | None = None, customers: Iterable[Any] | None = None,
         message: str = "", now: datetime | None = None) -> PlanResult:
    """Split the customers of the departing member ``handover`` over ``successors`` and store
    the plan (nothing is sent to WeCom: :func:`~siyu.plugins.transfers.execute.run` does).

    :param successors: the staff members (userids) who take customers over.
    :param split: ``"even"`` (dealt in turn), ``"store"`` (to a successor of the customer's
        store; the rest evenly) or ``"manual"`` (as ``assignments`` says).
    :param assignments: for ``"manual"``: customer (external userid or contact id) →
        successor userid; the customers not named stay where they are.
    :param customers: only these customers (external userids or contact ids); default all.
    :param message: what an employed member's customers read (≤ 200 characters; WeCom's
        default text when empty). Resigned transfers send none.
    :return: the plan's id and counts; customers WeCom would refuse a third transfer within
        90 days are stored as ``limit_exceeded`` and named in ``over_limit``.
    :raises ValidationError: an unknown member, a successor who cannot serve, an unknown
        split, a customer not of ``handover``, nothing to transfer, or only customers over
        the 90-day limit (named).
    """
    ws.principal.require("data.write")
    if split not in SPLITS:
        raise ValidationError(_("unknown split {split!r}; use one of {splits}", split=split,
                                splits=listing(SPLITS)))
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise ValidationError(_("the message to customers has {n} characters; WeCom allows "
                                "at most {limit}", n=len(message), limit=MAX_MESSAGE))
    now = now or utcnow()
    leaving = departing(ws, handover, now=now)
    pool = leaving.customers
    if customers is not None:
        keys = {str(k).strip() for k in customers}
        pool = [c for c in pool if c["external_userid"] in keys or str(c["contact_id"]) in keys]
        found = {c["external_userid"] for c in pool} | {str(c["contact_id"]) for c in pool}
        strangers = sorted(keys - found)
        if strangers:
            raise ValidationError(_("not customers of the departing member: {customers}",
                                    customers=listing(strangers)))
    if split == "manual":
        if not assignments:
            raise ValidationError(_("a split by hand needs assignments: customer → successor"))
        wanted = _successors(ws, dict.fromkeys(assignments.values()), leaving.handover)
        assigned = _by_hand(pool, assignments)
    else:
        wanted = _successors(ws, successors, leaving.handover)
        assigned = (_by_store(pool, wanted) if split == "store"
                    else _even(pool, list(wanted)))
    chosen = [c for c in pool if c["external_userid"] in assigned]
    if not chosen:
        raise ValidationError(_("{userid!r} has no customers to transfer",
                                userid=leaving.handover))
    limit = {c["external_userid"] for c in leaving.over_limit()}
    if chosen and all(c["external_userid"] in limit for c in chosen):
        raise ValidationError(_("WeCom hands a customer over at most twice in 90 days; a "
                                "third transfer is refused for: {customers}",
                                customers=listing(customer_label(c) for c in chosen)))
    result = PlanResult(0, leaving.kind)
    tz = ws.timezone
    with ws.session() as s:
        row = TransferPlan(kind=leaving.kind, handover=leaving.handover,
                           successors=",".join(wanted), split=split,
                           message=message if leaving.kind == "onjob" else "",
                           created_by=ws.principal.name)
        s.add(row)
        s.flush()
        result.plan_id = row.id
        items = []
        for c in chosen:
            ext = c["external_userid"]
            over = ext in limit
            items.append({"plan_id": row.id, "kind": leaving.kind, "external_userid": ext,
                          "contact_id": c["contact_id"], "handover": leaving.handover,
                          "takeover": assigned[ext],
                          "status": "limit_exceeded" if over else "planned", "errcode": None,
                          "reason": limit_reason(c["recent"], tz) if over else "",
                          "requested_at": None, "takeover_at": None, "updated_at": now})
            if over:
                result.over_limit.append(customer_label(c))
            else:
                result.counts[assigned[ext]] = result.counts.get(assigned[ext], 0) + 1
        s.connection().execute(TransferItem.__table__.insert(), items)
        ws.audit("transfer.plan", leaving.handover,
                 {"plan": row.id, "kind": leaving.kind, "split": split,
                  "counts": result.counts, "over_limit": len(result.over_limit)}, session=s)
    return result


# -- reading ------------------------------------------------------------------------------

#: Columns of :func:`items`, in order.
ITEM_COLUMNS = ("id", "plan_id", "kind", "external_userid", "contact_id", "customer",
                "handover", "takeover", "takeover_name", "status", "errcode", "reason",
                "requested_at", "takeover_at", "updated_at")


def get_plan(ws: Workspace, plan_id: int) -> TransferPlan:
    """The plan ``plan_id``.

    :raises NotFound: no such plan.
    """
    ws.principal.require("data.read")
    with ws.session() as s:
        row = s.get(TransferPlan, int(plan_id))
    if row is None:
        raise NotFound(_("no transfer plan {id}; see `siyu transfer status`", id=plan_id))
    return row


def items(ws: Workspace, plan_id: int | None = None, *, status: str | None = None
          ) -> pd.DataFrame:
    """The customers of one plan (or of every plan) with their transfer state: one row per
    customer (:data:`ITEM_COLUMNS`), times aware UTC.

    :raises NotFound: no such plan.
    :raises ValidationError: an unknown status.
    """
    ws.principal.require("data.read")
    if plan_id is not None:
        get_plan(ws, plan_id)
    if status is not None and status not in STATUSES:
        raise ValidationError(_("unknown status {status!r}; use one of {statuses}",
                                status=status, statuses=listing(STATUSES)))
    t = TransferItem.__table__
    taker = Staff.__table__.alias("taker")
    query = (sa.select(t.c.id, t.c.plan_id, t.c.kind, t.c.external_userid, t.c.contact_id,
                       Contact.name.label("customer"), t.c.handover, t.c.takeover,
                       taker.c.name.label("takeover_name"), t.c.status, t.c.errcode,
                       t.c.reason, t.c.requested_at, t.c.takeover_at, t.c.updated_at)
             .select_from(t.outerjoin(Contact.__table__, Contact.id == t.c.contact_id)
                          .outerjoin(taker, taker.c.userid == t.c.takeover))
             .order_by(t.c.plan_id, t.c.id))
    if plan_id is not None:
        query = query.where(t.c.plan_id == int(plan_id))
    if status is not None:
        query = query.where(t.c.status == status)
    return _frame(ws, query, ITEM_COLUMNS)


def plans(ws: Workspace) -> pd.DataFrame:
    """Every plan, the newest first, with how many of its customers are in each state
    (one column per state, see :data:`~siyu.plugins.transfers.models.STATUSES`)."""
    ws.principal.require("data.read")
    p, t = TransferPlan.__table__, TransferItem.__table__
    counts = [sa.func.sum(sa.case((t.c.status == state, 1), else_=0)).label(state)
              for state in STATUSES]
    query = (sa.select(p.c.id, p.c.kind, p.c.handover, p.c.successors, p.c.split,
                       p.c.created_at, p.c.created_by, sa.func.count(t.c.id).label("total"),
                       *counts)
             .select_from(p.outerjoin(t, t.c.plan_id == p.c.id))
             .group_by(p.c.id, p.c.kind, p.c.handover, p.c.successors, p.c.split,
                       p.c.created_at, p.c.created_by)
             .order_by(p.c.id.desc()))
    frame = _frame(ws, query, ("id", "kind", "handover", "successors", "split", "created_at",
                               "created_by", "total", *STATUSES))
    for column in ("total", *STATUSES):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame


def _frame(ws: Workspace, query: sa.Select, columns: Iterable[str]) -> pd.DataFrame:
    import pandas as pd

    with ws.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return pd.DataFrame(rows, columns=list(columns))
