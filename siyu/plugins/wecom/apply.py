"""What each stored callback changes in the workspace.

Every function is safe to run twice and against events that arrive out of order: a
removal older than the current friendship, or an add older than a later removal, changes
nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from siyu.core.errors import NotFound, SiyuError
from siyu.core.permissions import Principal
from siyu.plugins.wecom.models import WeComGroupChat, WeComGroupMember
from siyu.plugins.wecom.service import wecom
from siyu.storage.dialect import insert_for
from siyu.storage.models import Contact, Staff

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


def contact_details(ws: Workspace, external_userid: str, userid: str) -> dict[str, Any]:
    """Name, gender, unionid and the follow relation's remark/state from WeCom, or ``{}``
    when WeCom cannot answer now (the contact is still stored from the event)."""
    try:
        data = wecom(ws).client.get_external_contact(external_userid)
    except (SiyuError, httpx.HTTPError) as exc:
        log.warning("could not fetch %s from WeCom: %s", external_userid, exc)
        return {}
    contact = data.get("external_contact", {})
    details: dict[str, Any] = {"name": contact.get("name", ""),
                               "gender": contact.get("gender", 0)}
    if contact.get("unionid"):
        details["unionid"] = contact["unionid"]
    for follow in data.get("follow_user", []):
        if follow.get("userid") == userid:
            details["remark"] = follow.get("remark", "")[:200]
    return details


def _contact_event(ws: Workspace, row: Any, f: dict[str, Any]) -> str:
    change = f.get("ChangeType", "")
    external_userid, userid = f.get("ExternalUserID", ""), f.get("UserID", "")
    at: datetime = row.created_at
    if not external_userid:
        return "ignored"
    if change in ("add_external_contact", "add_half_external_contact"):
        return _added(ws, row, f, external_userid, userid, at)
    try:
        contact = ws.contacts.get(external_userid)
    except NotFound:
        return "ignored"
    payload = {"userid": userid, "change_type": change}
    if change == "edit_external_contact":
        details = contact_details(ws, external_userid, userid)
        if details:
            ws.contacts.upsert(external_userid, notify=False, **details)
        kind = "contact.edited"
    elif change in ("del_follow_user", "del_external_contact"):
        if contact.added_at and contact.added_at > at:
            return "ignored"  # older than the current friendship: out of order
        if f.get("Source") == "DELETE_BY_TRANSFER":
            kind = "contact.transferred_away"
        else:
            by = "customer" if change == "del_follow_user" else "staff"
            ws.contacts.remove(contact.id, by=by, at=at)
            kind = "contact.removed"
            payload["by"] = by
    elif change == "transfer_fail":
        kind = "contact.transfer_failed"
        payload["reason"] = f.get("FailReason", "")
    else:
        return "ignored"
    ws.events.record(kind, dedupe_key=row.dedupe_key, contact_id=contact.id, occurred_at=at,
                     source="wecom", payload=payload)
    return "done"


def _added(ws: Workspace, row: Any, f: dict[str, Any], external_userid: str, userid: str,
           at: datetime) -> str:
    service = wecom(ws)
    if f.get("WelcomeCode"):
        service.remember_welcome_code(external_userid, userid, f["WelcomeCode"])
    with ws.engine.connect() as conn:
        before = conn.execute(sa.select(Contact.added_at, Contact.removed_at)
                              .where(Contact.external_userid == external_userid)).first()
    if before is not None and before.removed_at is not None and before.removed_at > at:
        return "ignored"  # a later removal is already applied: out of order
    rejoined = before is not None and before.removed_at is not None
    if before is not None and not rejoined and before.added_at and before.added_at >= at:
        return "ignored"  # this friendship is already recorded
    ensure_staff(ws, userid)
    details = contact_details(ws, external_userid, userid)
    contact, created = ws.contacts.upsert(external_userid, notify=False, owner=userid,
                                          added_at=at, **details)
    state = f.get("State", "")
    ws.events.record("contact.added", dedupe_key=row.dedupe_key, contact_id=contact.id,
                     occurred_at=at, source="wecom",
                     payload={"userid": userid, "state": state,
                              "change_type": f.get("ChangeType")})
    if created or rejoined:
        ws.notify("on_contact_added", contact=contact, via=state or "staff")
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
    chat = refresh_group(ws, chat_id)
    detail = f.get("UpdateDetail", "")
    if detail in ("add_member", "del_member"):
        kind = "group.member_joined" if detail == "add_member" else "group.member_left"
        contacts = _contacts_by_external_id(ws, f.get("MemChangeList", []))
        for member in f.get("MemChangeList", []):
            ws.events.record(kind, dedupe_key=f"{row.dedupe_key}:{member}",
                             contact_id=contacts.get(member), occurred_at=at, source="wecom",
                             payload={"chat_id": chat_id, "member": member,
                                      "scene": f.get("JoinScene") or f.get("QuitScene")})
        _notify_members(ws, chat_id, chat, f, at)
    else:
        ws.events.record(f"group.{change or 'changed'}", dedupe_key=row.dedupe_key,
                         occurred_at=at, source="wecom",
                         payload={"chat_id": chat_id, "detail": detail})
    return "done"


def _notify_members(ws: Workspace, chat_id: str, chat: dict[str, Any], f: dict[str, Any],
                    at: datetime) -> None:
    """Fire ``on_group_member_changed``; joiners as groupchat/get describes them now."""
    changed = [m for m in f.get("MemChangeList", []) if m]
    if not changed:
        return
    if f.get("UpdateDetail") == "del_member":
        ws.notify("on_group_member_changed", chat_id=chat_id, joined=[], left=changed, at=at)
        return
    current = {m["userid"]: {**m, "state": m.get("state", ""),
                             "join_scene": m.get("join_scene", 0)}
               for m in chat.get("member_list", [])}
    gone = [m for m in changed if m not in current]
    with ws.engine.connect() as conn:
        staff = set(conn.execute(sa.select(Staff.userid).where(Staff.userid.in_(gone)))
                    .scalars()) if gone else set()
    scene = int(f.get("JoinScene") or 0)
    joined = [current.get(m) or {"userid": m, "type": 1 if m in staff else 2,
                                 "join_time": int(at.timestamp()), "join_scene": scene,
                                 "state": ""}
              for m in changed]
    ws.notify("on_group_member_changed", chat_id=chat_id, joined=joined, left=[], at=at)


def _contacts_by_external_id(ws: Workspace, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    with ws.engine.connect() as conn:
        return dict(conn.execute(sa.select(Contact.external_userid, Contact.id)
                                 .where(Contact.external_userid.in_(ids))).all())


def refresh_group(ws: Workspace, chat_id: str) -> dict[str, Any]:
    """Store a group chat and its current members as WeCom describes them now; returns
    WeCom's ``group_chat`` answer."""
    data = wecom(ws).client.groupchat_get(chat_id=chat_id, need_name=1)["group_chat"]
    members = data.get("member_list", [])
    contacts = _contacts_by_external_id(ws, [m["userid"] for m in members if m.get("type") == 2])
    chat_row = {"chat_id": chat_id, "name": data.get("name", ""), "owner": data.get("owner", ""),
                "notice": data.get("notice", "")[:2000],
                "member_version": data.get("member_version", ""), "members": len(members),
                "status": "active",
                "created_at": datetime.fromtimestamp(int(data.get("create_time", 0)), UTC)}
    chat = WeComGroupChat.__table__
    member_table = WeComGroupMember.__table__
    with ws.engine.begin() as conn:
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
    return data
