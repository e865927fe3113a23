"""The queries behind a customer card, one per section, each an indexed lookup by the
contact's id (``contact_id`` is indexed on every table read here), so that a card costs the
same on a workspace of a hundred contacts as on one of a hundred thousand.

Tables of other plugins (live codes, WeCom group chats, transfers, the risk lists) are read
only when the plugin that owns them is loaded: they are found among the workspace's
registered model sets (:func:`plugin_table`), never imported from the plugin.

Every function takes an open connection and returns plain rows or dicts; times are aware
UTC, money integer fen.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound
from siyu.core.i18n import translator
from siyu.storage.models import (
    AuditLog,
    Campaign,
    Contact,
    ContactField,
    ContactFollow,
    ContactStats,
    ContactTag,
    Delivery,
    Event,
    Order,
    Staff,
    Store,
    Tag,
    TagGroup,
)

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.customers")

C = Contact.__table__
F = ContactFollow.__table__
S = Staff.__table__
ST = Store.__table__
OT = Order.__table__
E = Event.__table__
D = Delivery.__table__
A = AuditLog.__table__

#: The newest orders a card lists (its totals count every order).
ORDERS_LIMIT = 200
#: The newest journey events, and the newest campaign deliveries, a card reads.
EVENTS_LIMIT = 200
#: The audit entry of an owner choice is written in the choice's transaction, this close to
#: the time the choice is stamped with.
CHOICE_WINDOW = timedelta(seconds=2)
#: The audit action of an owner chosen by a user (``ws.contacts.set_owner``).
OWNER_ACTION = "contact.owner"
#: Journey events that change a contact's owner.
TRANSFER_KINDS = ("contact.transferred", "contact.transferred_away")
#: The largest contact id (the column is a 32-bit INTEGER on PostgreSQL).
MAX_ID = 2**31 - 1


def as_id(value: int | str) -> int | None:
    """``value`` as a contact id it could be (digits, in range), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit() or len(value) > len(str(MAX_ID)):
            return None
        value = int(value)
    return value if isinstance(value, int) and 0 < value <= MAX_ID else None


def plugin_table(ws: Workspace, name: str) -> sa.Table | None:
    """The table ``name`` when the plugin that owns it is loaded, else ``None``."""
    for model_set in ws.model_sets.values():
        for table in model_set.tables:
            if table.name == name:
                return table
    return None


# -- the contact ----------------------------------------------------------------------------

def contact_row(conn: sa.Connection, contact: int | str) -> Any:
    """The contact ``contact`` (an id, or an external userid; digits given as text are an
    id when no external userid is spelt so) with its store and owner.

    :raises NotFound: no such contact.
    """
    owner = S.alias("owner")
    query = (sa.select(C.c.id, C.c.external_userid, C.c.unionid, C.c.name, C.c.phone,
                       C.c.gender, C.c.city, C.c.member_id, C.c.source_channel, C.c.remark,
                       C.c.added_at, C.c.removed_at, C.c.owner_id,
                       ST.c.code.label("store"), ST.c.name.label("store_name"),
                       owner.c.userid.label("owner"), owner.c.name.label("owner_name"))
             .select_from(C.outerjoin(ST, ST.c.id == C.c.store_id)
                          .outerjoin(owner, owner.c.id == C.c.owner_id)))
    row = None
    if isinstance(contact, str) and contact.strip():
        row = conn.execute(query.where(C.c.external_userid == contact.strip())).first()
    contact_id = as_id(contact)
    if row is None and contact_id is not None:
        row = conn.execute(query.where(C.c.id == contact_id)).first()
    if row is None:
        raise NotFound(_("unknown contact {contact!r}: give a contact id (as the Contacts page "
                         "shows it) or a WeCom external userid (wm…)", contact=contact))
    return row


def custom_fields(conn: sa.Connection, contact_id: int) -> dict[str, str]:
    """The contact's custom fields (``contact_field``), by name."""
    t = ContactField.__table__
    rows = conn.execute(sa.select(t.c.name, t.c.value).where(t.c.contact_id == contact_id)
                        .order_by(t.c.name))
    return {name: value for name, value in rows}


def follows(conn: sa.Connection, contact_id: int) -> list[Any]:
    """Every follow of the contact, ended ones included, the earliest added first."""
    return conn.execute(
        sa.select(F.c.staff_id, S.c.userid, S.c.name, F.c.added_at, F.c.state, F.c.remark,
                  F.c.deleted_at, F.c.deleted_by, F.c.owner_pinned_at)
        .select_from(F.join(S, S.c.id == F.c.staff_id))
        .where(F.c.contact_id == contact_id)
        .order_by(F.c.added_at.is_(None), F.c.added_at, F.c.id)).all()


def tags(conn: sa.Connection, contact_id: int) -> list[Any]:
    """The contact's tags with their group, who put them there and when."""
    ct, t, g = ContactTag.__table__, Tag.__table__, TagGroup.__table__
    return conn.execute(
        sa.select(g.c.name.label("group"), t.c.name, ct.c.source, ct.c.created_at)
        .select_from(ct.join(t, t.c.id == ct.c.tag_id).join(g, g.c.id == t.c.group_id))
        .where(ct.c.contact_id == contact_id).order_by(g.c.name, t.c.name)).all()


def staff_names(conn: sa.Connection, userids: Iterable[str]) -> dict[str, str]:
    """Staff userid → name, for the userids that are staff members."""
    wanted = sorted({u for u in userids if isinstance(u, str) and u})
    if not wanted:
        return {}
    return dict(conn.execute(sa.select(S.c.userid, S.c.name).where(S.c.userid.in_(wanted))).all())


# -- orders ---------------------------------------------------------------------------------

def orders(conn: sa.Connection, contact_id: int) -> list[Any]:
    """The contact's newest :data:`ORDERS_LIMIT` orders, newest first."""
    staff = S.alias("order_staff")
    return conn.execute(
        sa.select(OT.c.source, OT.c.external_id, OT.c.amount_fen, OT.c.refunded_fen, OT.c.status,
                  OT.c.paid_at, ST.c.code.label("store"), ST.c.name.label("store_name"),
                  staff.c.userid.label("staff"))
        .select_from(OT.outerjoin(ST, ST.c.id == OT.c.store_id)
                     .outerjoin(staff, staff.c.id == OT.c.staff_id))
        .where(OT.c.contact_id == contact_id)
        .order_by(OT.c.paid_at.desc(), OT.c.id.desc()).limit(ORDERS_LIMIT)).all()


def order_totals(conn: sa.Connection, contact_id: int, listed: list[Any]) -> dict[str, Any]:
    """Every order of the contact counted, and what counts as sales (``contact_stats``,
    kept current with every order: paid orders, revenue net of refunds, first and last).

    :param listed: the orders :func:`orders` read; when they are all of them, they are
        counted here instead of in the database.
    """
    if len(listed) < ORDERS_LIMIT:
        count, refunded = len(listed), sum(o.refunded_fen for o in listed)
    else:
        count, refunded = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(OT.c.refunded_fen), 0))
            .where(OT.c.contact_id == contact_id)).one()
    s = ContactStats.__table__
    stats = conn.execute(sa.select(s.c.orders, s.c.revenue_fen, s.c.first_order_at,
                                   s.c.last_order_at)
                         .where(s.c.contact_id == contact_id)).first()
    paid, revenue = (int(stats.orders), int(stats.revenue_fen)) if stats else (0, 0)
    return {"orders": int(count), "paid_orders": paid, "revenue_fen": revenue,
            "refunded_fen": int(refunded),
            "average_order_fen": round(revenue / paid) if paid else None,
            "first_order_at": stats.first_order_at if stats else None,
            "last_order_at": stats.last_order_at if stats else None}


# -- journey --------------------------------------------------------------------------------

def events(conn: sa.Connection, contact_id: int, kinds: Iterable[str] | None = None,
           limit: int = EVENTS_LIMIT) -> list[Any]:
    """The contact's newest journey events (of ``kinds``), newest first."""
    query = (sa.select(E.c.id, E.c.kind, E.c.occurred_at, E.c.source, E.c.payload)
             .where(E.c.contact_id == contact_id))
    if kinds is not None:
        query = query.where(E.c.kind.in_(list(kinds)))
    return conn.execute(query.order_by(E.c.occurred_at.desc(), E.c.id.desc())
                        .limit(limit)).all()


def deliveries(conn: sa.Connection, contact_id: int) -> list[Any]:
    """The contact's newest campaign deliveries (every status), newest first."""
    cp = Campaign.__table__
    return conn.execute(
        sa.select(D.c.id, D.c.status, D.c.reason, D.c.sender, D.c.sent_at, D.c.updated_at,
                  cp.c.name.label("campaign"), cp.c.channel)
        .select_from(D.join(cp, cp.c.id == D.c.campaign_id))
        .where(D.c.contact_id == contact_id)
        .order_by(D.c.id.desc()).limit(EVENTS_LIMIT)).all()


def code_names(ws: Workspace, conn: sa.Connection, states: Iterable[str]) -> dict[str, str]:
    """WeCom ``state`` → the name of the live code (staff or group) that has it, for the
    codes of the live-code plugin (none when it is not loaded)."""
    wanted = sorted({s for s in states if isinstance(s, str) and s})
    found: dict[str, str] = {}
    for name in ("live_code", "live_group_code"):
        table = plugin_table(ws, name)
        if table is None or not wanted:
            continue
        found.update(conn.execute(sa.select(table.c.state, table.c.name)
                                  .where(table.c.state.in_(wanted))).all())
    return found


def group_names(ws: Workspace, conn: sa.Connection, chat_ids: Iterable[str]) -> dict[str, str]:
    """WeCom group chat id → its name, as the WeCom plugin last synced it."""
    table = plugin_table(ws, "wecom_group_chat")
    wanted = sorted({c for c in chat_ids if isinstance(c, str) and c})
    if table is None or not wanted:
        return {}
    return {chat: name for chat, name in conn.execute(
        sa.select(table.c.chat_id, table.c.name).where(table.c.chat_id.in_(wanted))) if name}


# -- owners and risk ------------------------------------------------------------------------

def owner_choice(conn: sa.Connection, contact: Any, follows: list[Any]) -> list[Any]:
    """The owner a user chose for the contact (``ws.contacts.set_owner``), if the choice
    still holds: its audit entry (``contact.owner``: ``{"owner", "was"}``), found by the
    time the choice was made, as a one-item list (empty without a choice).

    The audit log is indexed by time, not by contact, so only the choice that holds (its
    time is on the owner's follow) is looked up; earlier ones stay in the audit log.
    """
    pinned = next((f for f in follows if f.owner_pinned_at is not None
                   and f.deleted_at is None), None)
    if pinned is None:
        return []
    targets = [str(contact.id)] + ([contact.external_userid] if contact.external_userid else [])
    at = pinned.owner_pinned_at
    # By time alone (the action is checked here): an index on the action would otherwise
    # look tempting to a planner without statistics, and walk every owner choice ever made.
    entries = conn.execute(
        sa.select(A.c.action, A.c.at, A.c.actor, A.c.detail)
        .where(A.c.at.between(at - CHOICE_WINDOW, at + CHOICE_WINDOW),
               A.c.target.in_(targets))
        .order_by(A.c.at.desc(), A.c.id.desc())).all()
    entry = next((e for e in entries if e.action == OWNER_ACTION
                  and isinstance(e.detail, dict) and e.detail.get("owner") == pinned.userid),
                 None)
    if entry is not None:
        return [entry]
    return [SimpleNamespace(at=at, actor="", detail={"owner": pinned.userid, "was": ""})]


def transfer_items(ws: Workspace, conn: sa.Connection, contact: Any) -> list[Any]:
    """The contact's items of the transfers plugin (none when it is not loaded)."""
    t = plugin_table(ws, "transfer_item")
    if t is None:
        return []
    match = t.c.contact_id == contact.id
    if contact.external_userid:
        match = sa.or_(match, t.c.external_userid == contact.external_userid)
    return conn.execute(
        sa.select(t.c.id, t.c.kind, t.c.handover, t.c.takeover, t.c.status, t.c.reason,
                  t.c.requested_at, t.c.takeover_at, t.c.updated_at)
        .where(match).order_by(t.c.id.desc())).all()


def do_not_contact(ws: Workspace, conn: sa.Connection, contact_id: int) -> Any:
    """The contact's entry on the risk plugin's do-not-contact list, or ``None``."""
    t = plugin_table(ws, "risk_dnc")
    if t is None:
        return None
    return conn.execute(sa.select(t.c.reason, t.c.added_at, t.c.added_by)
                        .where(t.c.contact_id == contact_id)).first()
