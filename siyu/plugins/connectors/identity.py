"""Identity resolution for connectors: which contact a source's member or buyer is.

Members are stored by member number. A member whose number no contact has yet may still be a
customer siyu knows — a WeCom contact with the same unionid or phone. Before a page of
members is stored, each such member is looked up by the other keys of the workspace's
identity order (``identity.order``: external_userid, unionid, phone):

- one contact, without a member number → **linked**: the member number is put on that
  contact (an :class:`~.models.IdentityLink` records it, undoable) and the member's fields
  update it;
- two contacts (the phone finds one, the unionid another), a contact that is already another
  member, two members of the page finding the same contact, or a match a person undid before
  → **queued** (:class:`~.models.IdentityQueueItem`, reason ``conflict``) for a person to
  decide; the member is not stored until then;
- nothing → a new contact.

An order whose buyer matches no contact is stored without one, and its buyer is queued
(reason ``unmatched``) with the order numbers. A person resolves an item by naming the
contact (:func:`resolve`): a member is linked and stored; a buyer's orders are given to the
contact (``on_order_changed`` with the ``contact_id`` change, order stats recomputed) and
its member number put on the contact when it has none, so later orders match by
themselves. Every link — automatic or by hand — is undone by :func:`undo`: the contact gets
its member number back and the orders given to it go back to having no buyer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import select

from siyu.core import identity as core_identity
from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import translator
from siyu.core.importing import fast
from siyu.core.pii import mask_phone, normalize_phone_series
from siyu.core.segments import stats
from siyu.plugins.connectors.models import IdentityLink, IdentityQueueItem
from siyu.storage.models import Contact, Order
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.connectors")

#: Keys a member is looked up by before it is stored (its member number aside).
LOOKUP_KEYS = ("external_userid", "unionid", "phone")
#: Order numbers kept per queued buyer.
MAX_QUEUED_ORDERS = 5000


def _text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


# -- members, before a page is stored ------------------------------------------------------


def link_members(ws: Workspace, source: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Link the page's new members to the contacts they already are, queue the ambiguous
    ones; in one transaction of its own (a page read again finds its links made).

    :param frame: the mapped page (text cells, ``member_id`` and maybe ``external_userid``,
        ``unionid``, ``phone``).
    :return: the frame without the queued members, and how many were queued.
    """
    order = [key for key in core_identity.identity_order(ws) if key in LOOKUP_KEYS
             and key in frame]
    if not order or "member_id" not in frame:
        return frame, 0
    table = Contact.__table__
    queued: list[int] = []
    with ws.session() as s:
        conn = s.connection()
        members = frame["member_id"].astype(str).str.strip()
        known = {row[0] for row in conn.execute(
            sa.select(table.c.member_id).where(table.c.member_id.in_(
                sorted(set(members[members.ne("")])))))} if members.ne("").any() else set()
        new = frame[members.ne("") & ~members.isin(known)]
        if new.empty:
            return frame, 0
        keys = {key: _blank_to_none(new[key]) for key in order}
        if "phone" in keys:
            keys["phone"] = normalize_phone_series(keys["phone"].fillna(""))[0]
        found = {key: core_identity.match_rows(conn, {key: keys[key]}, [key])
                 for key in order}
        ids = sorted({int(v) for series in found.values() for v in series.dropna()})
        holders = dict(conn.execute(sa.select(table.c.id, table.c.member_id)
                                    .where(table.c.id.in_(ids))).all()) if ids else {}
        undone = _undone_pairs(conn, source, new["member_id"].tolist())
        claimed: dict[int, str] = {}
        for line in new.index:
            member = str(new.at[line, "member_id"]).strip()
            hits = {key: int(found[key][line]) for key in order
                    if not _missing(found[key][line])}
            contacts = sorted(set(hits.values()))
            if not contacts:
                continue  # a new customer: the import adds the contact
            reason = None
            if len(contacts) > 1:
                reason = _("its {keys} point at different contacts ({ids})",
                           keys=", ".join(hits), ids=", ".join(map(str, contacts)))
            elif holders.get(contacts[0]):
                reason = _("contact {id} is already member {member}", id=contacts[0],
                           member=holders[contacts[0]])
            elif contacts[0] in claimed:
                reason = _("member {member} of the same page also matches contact {id}",
                           member=claimed[contacts[0]], id=contacts[0])
            elif (member, contacts[0]) in undone:
                reason = _("a person undid this match before")
            if reason is not None:
                _queue(conn, source, "members", f"member:{member}", "conflict",
                       member_id=member, phone=_text(keys.get("phone", {}).get(line)),
                       unionid=_text(keys.get("unionid", {}).get(line)),
                       external_userid=_text(keys.get("external_userid", {}).get(line)),
                       name=_text(new.at[line, "name"]) if "name" in new else None,
                       candidates=contacts, record={k: str(v) for k, v in
                                                    new.loc[line].items()},
                       detail=reason)
                queued.append(line)
                continue
            contact = contacts[0]
            claimed[contact] = member
            conn.execute(sa.update(table).where(table.c.id == contact,
                                                table.c.member_id.is_(None))
                         .values(member_id=member))
            conn.execute(sa.insert(IdentityLink.__table__).values(
                contact_id=contact, source=source, how="auto",
                matched_by=next(key for key in order if key in hits), member_id=member,
                previous_member_id=None, orders=[], created_at=utcnow(),
                created_by=ws.principal.name, undone_by=""))
    return frame.drop(index=queued), len(queued)


def _blank_to_none(values: pd.Series) -> pd.Series:
    text = values.fillna("").astype(str).str.strip()
    return text.mask(text.eq(""))


def _missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return value is None


def _undone_pairs(conn: sa.Connection, source: str, members: Sequence[str]
                  ) -> set[tuple[str, int]]:
    t = IdentityLink.__table__
    rows = conn.execute(sa.select(t.c.member_id, t.c.contact_id).where(
        t.c.source == source, t.c.undone_at.is_not(None),
        t.c.member_id.in_(sorted({str(m).strip() for m in members}))))
    return {(member, contact) for member, contact in rows}


def _queue(conn: sa.Connection, source: str, entity: str, key: str, reason: str, *,
           record: Any, candidates: list[int] | None = None, detail: str = "",
           **who: Any) -> None:
    """Add a customer to the open queue, or count it again on its open item."""
    t = IdentityQueueItem.__table__
    open_item = conn.execute(sa.select(t.c.id, t.c.record, t.c.seen).where(
        t.c.source == source, t.c.key == key[:200], t.c.status == "open")).first()
    if open_item is not None:
        merged = record
        if entity == "orders":
            known = list((open_item.record or {}).get("orders", []))
            merged = {"orders": (known + [o for o in record["orders"] if o not in known])
                      [:MAX_QUEUED_ORDERS]}
        conn.execute(sa.update(t).where(t.c.id == open_item.id).values(
            seen=open_item.seen + 1, record=merged, candidates=candidates,
            detail=detail[:500]))
        return
    conn.execute(sa.insert(t).values(
        source=source, entity=entity, key=key[:200], reason=reason, status="open",
        member_id=who.get("member_id"), phone=who.get("phone"), unionid=who.get("unionid"),
        external_userid=who.get("external_userid"), name=(who.get("name") or "")[:200],
        candidates=candidates or [], record=record, detail=detail[:500], seen=1,
        created_at=utcnow(), resolved_by=""))


# -- orders, in the transaction that stored a page ----------------------------------------


def queue_unmatched_buyers(conn: sa.Connection, source: str, frame: pd.DataFrame,
                           unmatched: Sequence[str] | None = None) -> int:
    """Queue the buyers of the page's orders that are stored without a contact (and have
    something to match them by); call it in the transaction that stored the page.

    :param unmatched: the order numbers the import matched to no contact (only those are
        looked at; ``None``: every order of the page).
    :return: how many buyers were queued or counted again.
    """
    if frame.empty or "external_id" not in frame or unmatched == []:
        return 0  # the usual page: every buyer found
    import pandas as pd

    # Only a buyer with something to match by is queued: look at those orders alone.
    has_key = pd.Series(False, index=frame.index)
    for k in ("member_id", "buyer_phone", "unionid", "contact"):
        if k in frame:
            has_key |= frame[k].map(_text).notna()
    keyed = frame.loc[has_key, "external_id"].astype(str)
    if unmatched is not None:
        keyed = keyed[keyed.isin({str(number) for number in unmatched})]
    if keyed.empty:
        return 0
    o = Order.__table__
    ids = keyed.tolist()
    orphans = {row[0] for part in fast.chunks(conn, ids) for row in conn.execute(
        sa.select(o.c.external_id).where(o.c.source == source, o.c.contact_id.is_(None),
                                         fast.one_of(conn, o.c.external_id, part)))}
    if not orphans:
        return 0
    buyers: dict[str, dict[str, Any]] = {}
    for line in frame.index[frame["external_id"].astype(str).isin(orphans)]:
        row = {k: _text(frame.at[line, k]) for k in ("member_id", "buyer_phone", "unionid",
                                                     "contact", "name") if k in frame}
        for key, field in (("member", "member_id"), ("unionid", "unionid"),
                           ("phone", "buyer_phone"), ("external_userid", "contact")):
            if row.get(field):
                buyer = buyers.setdefault(f"buyer:{key}:{row[field]}", {"row": row,
                                                                        "orders": []})
                buyer["orders"].append(str(frame.at[line, "external_id"]))
                break
    for key, buyer in buyers.items():
        row = buyer["row"]
        _queue(conn, source, "orders", key, "unmatched",
               record={"orders": buyer["orders"][:MAX_QUEUED_ORDERS]},
               member_id=row.get("member_id"), phone=row.get("buyer_phone"),
               unionid=row.get("unionid"), external_userid=row.get("contact"),
               detail=_.ngettext("{n} order without a buyer", "{n} orders without a buyer",
                                 len(buyer["orders"])))
    return len(buyers)


# -- people: the queue, resolving, undoing -------------------------------------------------


def queue(ws: Workspace, *, status: str | None = "open", source: str | None = None,
          limit: int = 500) -> pd.DataFrame:
    """The identity queue as a table, newest first; phones masked unless the role may see
    personal data."""
    import pandas as pd

    ws.principal.require("data.read")
    t = IdentityQueueItem.__table__
    query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(t.c.status == status)
    if source is not None:
        query = query.where(t.c.source == source)
    with ws.engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    reveal = ws.principal.can("pii.view")
    for row in rows:
        row["orders"] = len((row.pop("record") or {}).get("orders", [])) \
            if row["entity"] == "orders" else 0
        if not reveal:
            row["phone"] = mask_phone(row["phone"])
    columns = ["id", "source", "entity", "reason", "status", "member_id", "name", "phone",
               "unionid", "external_userid", "candidates", "orders", "detail", "seen",
               "contact_id", "created_at", "resolved_at", "resolved_by"]
    return pd.DataFrame(rows, columns=columns)


def links(ws: Workspace, *, contact: int | None = None, limit: int = 500) -> pd.DataFrame:
    """The matches made (automatic and by hand), newest first."""
    import pandas as pd

    ws.principal.require("data.read")
    t = IdentityLink.__table__
    query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
    if contact is not None:
        query = query.where(t.c.contact_id == contact)
    with ws.engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        row["orders"] = len(row["orders"] or [])
    return pd.DataFrame(rows, columns=["id", "contact_id", "source", "how", "matched_by",
                                       "member_id", "previous_member_id", "orders",
                                       "queue_id", "created_at", "created_by", "undone_at",
                                       "undone_by"])


def _item(s, item_id: int) -> IdentityQueueItem:
    item = s.get(IdentityQueueItem, item_id)
    if item is None:
        raise NotFound(_("no identity queue item {id}", id=item_id))
    if item.status != "open":
        raise ValidationError(_("queue item {id} is resolved already", id=item_id)
                              if item.status == "resolved" else
                              _("queue item {id} is dismissed already", id=item_id))
    return item


def resolve(ws: Workspace, item_id: int, contact: int | str) -> int:
    """Say which contact a queued customer is: a member is linked to it and stored, and the
    orders of that member waiting without a buyer are given to it; a buyer's orders are
    given to it.

    :param contact: the contact's id or external_userid.
    :return: the id of the :class:`~.models.IdentityLink` made (for :func:`undo`).
    :raises NotFound: no such item or contact.
    :raises ValidationError: the item is not open, or the member number is another
        contact's.
    """
    ws.principal.require("data.write")
    with ws.session() as s:
        item = _item(s, item_id)
        target = ws.contacts._find(s, contact)
        conn = s.connection()
        c = Contact.__table__
        previous = target.member_id
        member = item.member_id
        if member and previous != member:
            holder = conn.execute(sa.select(c.c.id).where(c.c.member_id == member,
                                                          c.c.id != target.id)).scalar()
            if holder is not None:
                raise ValidationError(_("member {member} is contact {id} already; undo that "
                                        "match first", member=member, id=holder))
        give_member = bool(member) and (item.entity == "members" or previous is None)
        if give_member:
            conn.execute(sa.update(c).where(c.c.id == target.id).values(member_id=member))
        moved: list[int] = []
        if item.entity == "orders":
            moved = _move_orders(ws, s, item.source, (item.record or {}).get("orders", []),
                                 None, target.id)
        elif member:
            # the member's orders that came without a buyer are the contact's now too
            for buyer in _open_buyers(s, item.source, member):
                moved += _move_orders(ws, s, item.source,
                                      (buyer.record or {}).get("orders", []), None, target.id)
                buyer.status, buyer.contact_id = "resolved", target.id
                buyer.resolved_at, buyer.resolved_by = utcnow(), ws.principal.name
                s.add(buyer)
        link = IdentityLink(contact_id=target.id, source=item.source, how="manual",
                            matched_by="hand", member_id=member if give_member else None,
                            previous_member_id=previous if give_member else None,
                            orders=moved, queue_id=item.id, created_by=ws.principal.name)
        s.add(link)
        item.status, item.contact_id = "resolved", target.id
        item.resolved_at, item.resolved_by = utcnow(), ws.principal.name
        s.add(item)
        s.flush()
        link_id = link.id
        record = dict(item.record or {}) if item.entity == "members" else None
        ws.audit("identity.resolve", str(item.id), {"contact": target.id,
                                                    "orders": len(moved)}, session=s)
    if record:
        _store_member(ws, item.source, record)
    return link_id


def _open_buyers(s, source: str, member: str) -> list[IdentityQueueItem]:
    """The open queue items of ``source``'s buyers known by member number ``member``."""
    return list(s.exec(select(IdentityQueueItem).where(
        IdentityQueueItem.source == source, IdentityQueueItem.entity == "orders",
        IdentityQueueItem.member_id == member, IdentityQueueItem.status == "open")).all())


def _store_member(ws: Workspace, source: str, record: dict[str, Any]) -> None:
    """Store a resolved member's fields on its (now linked) contact."""
    import pandas as pd

    from siyu.core.importing.contacts import import_contact_frame
    from siyu.core.importing.table import ImportReport

    frame = pd.DataFrame([record], index=pd.RangeIndex(1, 2), dtype=object)
    import_contact_frame(ws, frame, ImportReport("members", source, rows=1), key="member_id",
                         skip_bad_rows=True, progress=False, via="connector", record=False)


def _move_orders(ws: Workspace, s, source: str, numbers: Sequence[str], from_contact,
                 to_contact) -> list[int]:
    """Give ``source``'s orders ``numbers`` that belong to ``from_contact`` (``None``: no
    buyer) to ``to_contact``; notify ``on_order_changed`` and recompute the order stats."""
    o = Order.__table__
    conn = s.connection()
    owner = o.c.contact_id.is_(None) if from_contact is None else o.c.contact_id == from_contact
    ids = [row[0] for row in conn.execute(sa.select(o.c.id).where(
        o.c.source == source, o.c.external_id.in_(list(numbers)), owner))] if numbers else []
    return _repoint(ws, s, ids, from_contact, to_contact)


def _repoint(ws: Workspace, s, ids: list[int], from_contact, to_contact) -> list[int]:
    if not ids:
        return []
    o = Order.__table__
    conn = s.connection()
    conn.execute(sa.update(o).where(o.c.id.in_(ids)).values(contact_id=to_contact))
    stats.refresh_orders(conn, [from_contact, to_contact])
    if ws.has_hook("on_order_changed"):
        ws.notify_each("on_order_changed", session=s, refs={"order": (Order, ids)},
                       each={"changes": [{"contact_id": [from_contact, to_contact]}
                                         for _id in ids]})
    return ids


def undo(ws: Workspace, link_id: int) -> None:
    """Undo a match: the contact gets back the member number it had, the orders the match
    gave it go back to having no buyer, and a queue item it resolved opens again. A member
    matched automatically is queued, not matched again, on the next run.

    :raises NotFound: no such link.
    :raises ValidationError: undone already.
    """
    ws.principal.require("data.write")
    with ws.session() as s:
        link = s.get(IdentityLink, link_id)
        if link is None:
            raise NotFound(_("no identity match {id}", id=link_id))
        if link.undone_at is not None:
            raise ValidationError(_("match {id} was undone already", id=link_id))
        conn = s.connection()
        c = Contact.__table__
        if link.member_id:
            conn.execute(sa.update(c).where(c.c.id == link.contact_id,
                                            c.c.member_id == link.member_id)
                         .values(member_id=link.previous_member_id))
        o = Order.__table__
        still = [row[0] for row in conn.execute(sa.select(o.c.id).where(
            o.c.id.in_(list(link.orders or [])), o.c.contact_id == link.contact_id))] \
            if link.orders else []
        _repoint(ws, s, still, link.contact_id, None)
        reopened = [s.get(IdentityQueueItem, link.queue_id)] if link.queue_id else []
        if link.member_id and link.how == "manual":  # the member's buyers it resolved
            reopened += s.exec(select(IdentityQueueItem).where(
                IdentityQueueItem.source == link.source, IdentityQueueItem.entity == "orders",
                IdentityQueueItem.member_id == link.member_id,
                IdentityQueueItem.status == "resolved",
                IdentityQueueItem.contact_id == link.contact_id)).all()
        for item in reopened:
            if item is not None:
                item.status, item.contact_id, item.resolved_at = "open", None, None
                item.resolved_by = ""
                s.add(item)
        link.undone_at, link.undone_by = utcnow(), ws.principal.name
        s.add(link)
        ws.audit("identity.undo", str(link_id), {"contact": link.contact_id,
                                                 "orders": len(still)}, session=s)


def dismiss(ws: Workspace, item_id: int) -> None:
    """Close a queue item without matching it (a test account, a customer to ignore)."""
    ws.principal.require("data.write")
    with ws.session() as s:
        item = _item(s, item_id)
        item.status, item.resolved_at, item.resolved_by = ("dismissed", utcnow(),
                                                           ws.principal.name)
        s.add(item)
        ws.audit("identity.dismiss", str(item_id), session=s)
