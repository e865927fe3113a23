"""What each stored callback changes in the workspace.

Every function is safe to run twice and against events that arrive out of order: a
removal older than the current friendship, or an add older than a later removal, changes
nothing. Adds and removals are about one follow (a customer × staff member relation, see
:mod:`siyu.core.services.follows`): a customer may be the friend of several members, and the
contact counts as removed only when no live follow remains.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from siyu.core.errors import NotFound, SiyuError
from siyu.core.permissions import Principal
from siyu.plugins.wecom.models import WeComGroupChat, WeComGroupMember
from siyu.plugins.wecom.service import wecom
from siyu.storage.dialect import insert_for
from siyu.storage.models import Contact, ContactFollow, Staff

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")

ACTOR = Principal("wecom", "admin")


def apply_callback(ws: Workspace, row: Any) -> str:
    """Apply one stored callback row; returns the row's new status (``done``/``ignored``)."""
    ws = ws.as_user(ACTOR)
    fields = row.fields or {}
    event = fields.get("Event")
    if event == "change_external_contact":
        return _contact_event(ws, row, fields)
    if event == "change_external_chat":
        return _chat_event(ws, row, fields)
    if event == "change_external_tag":
        from siyu.plugins.wecom.sync import sync_corp_tags
        sync_corp_tags(ws)
        return "done"
    return "ignored"


def ensure_staff(ws: Workspace, userid: str) -> None:
    """Make sure staff member ``userid`` exists (named after the userid until a sync)."""
    with ws.engine.connect() as conn:
        known = conn.execute(sa.select(Staff.id).where(Staff.userid == userid)).first()
    if known is None:
        try:
            ws.staff.upsert(userid, userid)
        except IntegrityError:  # another worker added them a moment ago
            pass


def fetch_contact(ws: Workspace, external_userid: str) -> dict[str, Any]:
    """WeCom's ``externalcontact/get`` answer for a customer, or ``{}`` when WeCom cannot
    answer now (the event is applied with what it says)."""
    try:
        return wecom(ws).client.get_external_contact(external_userid)
    except (SiyuError, httpx.HTTPError) as exc:
        log.warning("could not fetch %s from WeCom: %s", external_userid, exc)
        return {}


def follow_tags(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``follow_user`` entry's tags as a follow keeps them: ``{"id", "name", "type"}``
    (``id`` is ``None`` for a member's personal tag, type 2)."""
    return [{"id": tag.get("tag_id"), "name": f"{tag.get('group_name', '')}/"
             f"{tag.get('tag_name', '')}", "type": tag.get("type")}
            for tag in entry.get("tags") or []]


def split_details(data: dict[str, Any], userid: str) -> tuple[dict[str, Any],
                                                              dict[str, Any] | None]:
    """``(contact fields, follow)`` from an ``externalcontact/get`` answer: name, gender
    and unionid; and member ``userid``'s ``follow_user`` entry as ``{"remark", "tags",
    "state"}`` (``None`` when WeCom did not list it)."""
    contact = data.get("external_contact", {})
    details: dict[str, Any] = {}
    if contact:
        details = {"name": contact.get("name", ""), "gender": contact.get("gender", 0)}
        if contact.get("unionid"):
            details["unionid"] = contact["unionid"]
    for entry in data.get("follow_user", []):
        if entry.get("userid") == userid:
            return details, {"remark": (entry.get("remark") or "")[:200],
                             "tags": follow_tags(entry), "state": entry.get("state", "")}
    return details, None


def contact_details(ws: Workspace, external_userid: str, userid: str) -> dict[str, Any]:
    """Name, gender, unionid and member ``userid``'s remark from WeCom, or ``{}`` when
    WeCom cannot answer now (the contact is still stored from the event)."""
    details, follow = split_details(fetch_contact(ws, external_userid), userid)
    if follow is not None:
        details["remark"] = follow["remark"]
    return details


def _staff_id(s: Any, userid: str) -> int | None:
    return s.connection().execute(sa.select(Staff.id).where(Staff.userid == userid)).scalar()


def _contact_event(ws: Workspace, row: Any, f: dict[str, Any]) -> str:
    change = f.get("ChangeType", "")
    external_userid, userid = f.get("ExternalUserID", ""), f.get("UserID", "")
    at: datetime = row.created_at
    if not external_userid:
        return "ignored"
    if change in ("add_external_contact", "add_half_external_contact"):
        return _added(ws, row, f, external_userid, userid, at)
    if change in ("del_follow_user", "del_external_contact"):
        return _deleted(ws, row, f, external_userid, userid, at)
    if change not in ("edit_external_contact", "transfer_fail"):
        return "ignored"
    try:
        contact = ws.contacts.get(external_userid)
    except NotFound:
        return "ignored"
    payload = {"userid": userid, "change_type": change}
    details: dict[str, Any] = {}
    follow: dict[str, Any] | None = None
    if change == "edit_external_contact" and userid:
        # WeCom's answer first: no call in the transaction.
        details, follow = split_details(fetch_contact(ws, external_userid), userid)
        ensure_staff(ws, userid)
    # The change, its event row and the hook notices commit together.
    with ws.session() as s:
        if change == "edit_external_contact":
            if follow is not None:
                ws.follows.edited(contact.id, userid, remark=follow["remark"],
                                  tags=follow["tags"], session=s)
                if contact.owner_id is not None and contact.owner_id == _staff_id(s, userid):
                    details["remark"] = follow["remark"]  # the owner's remark is the contact's
            if details:
                ws.contacts.upsert(external_userid, notify=False, session=s, **details)
            kind = "contact.edited"
        else:
            kind = "contact.transfer_failed"
            payload["reason"] = f.get("FailReason", "")
        ws.events.record(kind, dedupe_key=row.dedupe_key, contact_id=contact.id,
                         occurred_at=at, source="wecom", payload=payload, session=s)
    return "done"


def _deleted(ws: Workspace, row: Any, f: dict[str, Any], external_userid: str, userid: str,
             at: datetime) -> str:
    """``del_follow_user`` (the customer deleted the member) or ``del_external_contact``
    (the member deleted the customer, or a transfer moved the customer away): that one
    follow ends; the contact is removed only when no live follow remains, and not for a
    transfer (the takeover member's add follows it). The event is ``contact.removed`` when
    the contact is removed, ``contact.follow_removed`` when other members still follow it,
    ``contact.transferred_away`` for a transfer.

    A deletion of a relation (or of a customer) not known yet is kept, so that its add,
    arriving late with an older time, changes nothing.
    """
    if not userid:
        return "ignored"
    change = f.get("ChangeType", "")
    if f.get("Source") == "DELETE_BY_TRANSFER":
        by = "transfer"
    else:
        by = "customer" if change == "del_follow_user" else "staff"
    ensure_staff(ws, userid)
    with ws.session() as s:
        contact = s.exec(select(Contact).where(Contact.external_userid == external_userid)
                         ).first()
        unknown = contact is None
        if unknown:  # its add has not arrived (yet): known only as removed
            contact, _ = ws.contacts.upsert(external_userid, via="wecom", notify=False,
                                            session=s)
            contact.added_at, contact.removed_at = None, at
            s.add(contact)
            s.flush()
        outcome = ws.follows.deleted(contact.id, userid, at=at, by=by, session=s)
        if outcome in ("stale", "already"):
            return "ignored"  # older than the current relation, or it had ended already
        payload = {"userid": userid, "change_type": change}
        kind = "contact.transferred_away"
        if by != "transfer":
            payload["by"] = by
            newer = contact.added_at is not None and contact.added_at > at
            removed = (contact.removed_at is None and not newer
                       and ws.follows.live(contact.id, session=s) == 0)
            if removed:
                ws.contacts.remove(contact.id, by=by, at=at, session=s)
            kind = "contact.removed" if removed or unknown else "contact.follow_removed"
        ws.events.record(kind, dedupe_key=row.dedupe_key, contact_id=contact.id,
                         occurred_at=at, source="wecom", payload=payload, session=s)
    return "done"


def _added(ws: Workspace, row: Any, f: dict[str, Any], external_userid: str, userid: str,
           at: datetime) -> str:
    """``add_external_contact`` / ``add_half_external_contact``: the follow of
    (ExternalUserID, UserID) is added or revived with its State; the contact is created, or
    added again when it had been removed (then ``on_contact_added`` is notified), and its
    owner chosen by the owner rule."""
    if not userid:
        return "ignored"
    service = wecom(ws)
    if f.get("WelcomeCode"):
        service.remember_welcome_code(external_userid, userid, f["WelcomeCode"])
    follow = ContactFollow.__table__
    with ws.engine.connect() as conn:
        known = conn.execute(
            sa.select(follow.c.added_at, follow.c.deleted_at)
            .join(Contact, Contact.id == follow.c.contact_id)
            .join(Staff, Staff.id == follow.c.staff_id)
            .where(Contact.external_userid == external_userid, Staff.userid == userid)
        ).first()
    if known is not None and known.deleted_at is not None and known.deleted_at > at:
        return "ignored"  # a later end of this relation is already applied: out of order
    if known is not None and known.deleted_at is None and known.added_at \
            and known.added_at >= at:
        return "ignored"  # this relation is already recorded
    ensure_staff(ws, userid)
    details, entry = split_details(fetch_contact(ws, external_userid), userid)  # before the tx
    state = f.get("State", "") or (entry or {}).get("state", "")
    # The contact, its follow, its event row and the on_contact_added notice commit
    # together; the notice is delivered (the welcome sent) right after the commit.
    with ws.session() as s:
        before = s.connection().execute(
            sa.select(Contact.id, Contact.added_at, Contact.removed_at)
            .where(Contact.external_userid == external_userid)).first()
        remark = entry["remark"] if entry is not None else None
        tags = entry["tags"] if entry is not None else None
        if before is not None:  # the follow first: an out-of-order add changes nothing
            outcome = ws.follows.added(before.id, userid, at=at, state=state, remark=remark,
                                       tags=tags, session=s)
            if outcome == "stale":
                return "ignored"
        rejoined = before is not None and before.removed_at is not None
        fields = dict(details)
        if before is None or rejoined or before.added_at is None or at < before.added_at:
            fields["added_at"] = at  # the friendship with the company starts (again) here
        contact, created = ws.contacts.upsert(external_userid, notify=False, session=s,
                                              **fields)
        if before is None:
            ws.follows.added(contact.id, userid, at=at, state=state, remark=remark, tags=tags,
                             session=s)
        if remark and contact.owner_id == _staff_id(s, userid):
            contact.remark = remark  # the owner's remark is the contact's
            s.add(contact)
        ws.events.record("contact.added", dedupe_key=row.dedupe_key, contact_id=contact.id,
                         occurred_at=at, source="wecom",
                         payload={"userid": userid, "state": state,
                                  "change_type": f.get("ChangeType")}, session=s)
        if created or rejoined:
            ws.notify("on_contact_added", session=s, contact=contact, via=state or "staff")
    return "done"


def _chat_event(ws: Workspace, row: Any, f: dict[str, Any]) -> str:
    chat_id = f.get("ChatId", "")
    if not chat_id:
        return "ignored"
    at: datetime = row.created_at
    change = f.get("ChangeType", "")
    if change == "dismiss":
        with ws.engine.begin() as conn:
            conn.execute(sa.update(WeComGroupChat).where(WeComGroupChat.chat_id == chat_id)
                         .values(status="dismissed", dismissed_at=at))
        ws.events.record("group.dismissed", dedupe_key=row.dedupe_key, occurred_at=at,
                         source="wecom", payload={"chat_id": chat_id})
        return "done"
    chat = fetch_group(ws, chat_id)  # WeCom first: no call inside the transaction
    detail = f.get("UpdateDetail", "")
    with ws.session() as s:
        store_group(s.connection(), chat_id, chat)
        if detail in ("add_member", "del_member"):
            kind = "group.member_joined" if detail == "add_member" else "group.member_left"
            contacts = _contacts_by_external_id(ws, f.get("MemChangeList", []))
            for member in f.get("MemChangeList", []):
                ws.events.record(kind, dedupe_key=f"{row.dedupe_key}:{member}",
                                 contact_id=contacts.get(member), occurred_at=at,
                                 source="wecom", session=s,
                                 payload={"chat_id": chat_id, "member": member,
                                          "scene": f.get("JoinScene") or f.get("QuitScene")})
            _notify_members(ws, s, chat_id, chat, f, at)
        else:
            ws.events.record(f"group.{change or 'changed'}", dedupe_key=row.dedupe_key,
                             occurred_at=at, source="wecom", session=s,
                             payload={"chat_id": chat_id, "detail": detail})
    return "done"


def _notify_members(ws: Workspace, s: Any, chat_id: str, chat: dict[str, Any],
                    f: dict[str, Any], at: datetime) -> None:
    """Notify ``on_group_member_changed`` in ``s``'s transaction; joiners as groupchat/get
    describes them now."""
    changed = [m for m in f.get("MemChangeList", []) if m]
    if not changed:
        return
    if f.get("UpdateDetail") == "del_member":
        ws.notify("on_group_member_changed", session=s, chat_id=chat_id, joined=[],
                  left=changed, at=at)
        return
    current = {m["userid"]: {**m, "state": m.get("state", ""),
                             "join_scene": m.get("join_scene", 0)}
               for m in chat.get("member_list", [])}
    gone = [m for m in changed if m not in current]
    staff = set(s.connection().execute(sa.select(Staff.userid).where(Staff.userid.in_(gone)))
                .scalars()) if gone else set()
    scene = int(f.get("JoinScene") or 0)
    joined = [current.get(m) or {"userid": m, "type": 1 if m in staff else 2,
                                 "join_time": int(at.timestamp()), "join_scene": scene,
                                 "state": ""}
              for m in changed]
    ws.notify("on_group_member_changed", session=s, chat_id=chat_id, joined=joined, left=[],
              at=at)


def _contacts_by_external_id(ws: Workspace, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    with ws.engine.connect() as conn:
        return dict(conn.execute(sa.select(Contact.external_userid, Contact.id)
                                 .where(Contact.external_userid.in_(ids))).all())


def refresh_group(ws: Workspace, chat_id: str) -> dict[str, Any]:
    """Store a group chat and its current members as WeCom describes them now; returns
    WeCom's ``group_chat`` answer."""
    data = fetch_group(ws, chat_id)
    with ws.engine.begin() as conn:
        store_group(conn, chat_id, data)
    return data


def fetch_group(ws: Workspace, chat_id: str) -> dict[str, Any]:
    """WeCom's ``groupchat/get`` answer for ``chat_id`` (``group_chat``)."""
    return wecom(ws).client.groupchat_get(chat_id=chat_id, need_name=1)["group_chat"]


def store_group(conn: sa.Connection, chat_id: str, data: dict[str, Any]) -> None:
    """Store a group chat and its members from WeCom's ``group_chat`` answer, in ``conn``'s
    transaction."""
    members = data.get("member_list", [])
    customer_ids = [m["userid"] for m in members if m.get("type") == 2]
    contacts = dict(conn.execute(sa.select(Contact.external_userid, Contact.id)
                                 .where(Contact.external_userid.in_(customer_ids))).all()
                    ) if customer_ids else {}
    chat_row = {"chat_id": chat_id, "name": data.get("name", ""), "owner": data.get("owner", ""),
                "notice": data.get("notice", "")[:2000],
                "member_version": data.get("member_version", ""), "members": len(members),
                "status": "active",
                "created_at": datetime.fromtimestamp(int(data.get("create_time", 0)), UTC)}
    chat = WeComGroupChat.__table__
    member_table = WeComGroupMember.__table__
    insert = insert_for(conn, chat).values(**chat_row)
    conn.execute(insert.on_conflict_do_update(
        index_elements=["chat_id"],
        set_={k: v for k, v in chat_row.items() if k != "chat_id"}))
    current = {m["userid"] for m in members}
    conn.execute(member_table.update().where(
        member_table.c.chat_id == chat_id, member_table.c.left_at.is_(None),
        member_table.c.member_id.not_in(current) if current else sa.true())
        .values(left_at=datetime.now(UTC)))
    for m in members:
        values = {"chat_id": chat_id, "member_id": m["userid"], "type": m.get("type", 2),
                  "contact_id": contacts.get(m["userid"]),
                  "join_scene": m.get("join_scene", 0), "state": m.get("state", ""),
                  "joined_at": datetime.fromtimestamp(int(m.get("join_time", 0)), UTC),
                  "left_at": None}
        conn.execute(insert_for(conn, member_table).values(**values).on_conflict_do_update(
            index_elements=["chat_id", "member_id"],
            set_={k: v for k, v in values.items() if k not in ("chat_id", "member_id")}))
