"""The notebook door to group live codes (群活码): create, change, pause, delete, read.

Every function takes the Workspace first and acts as its principal (``data.write`` to
change codes, ``data.read`` to read them). Input is checked before a join way is created or
changed: more than five groups in use (checked before WeCom is called at all; WeCom's
41091), a group chat WeCom does not know (asked with groupchat/get), a group already past
``rotate_at``. WeCom refusals come back as :class:`~siyu.core.errors.SiyuError` with the
fix. See :mod:`siyu.plugins.livecodes.groups` for how rotation works.

Pausing: WeCom cannot switch a join way off, and deleting it would kill the QR code already
printed. A paused group code therefore stops *growing*: WeCom's automatic new rooms are
switched off and no group is rotated in; customers who still scan join the current groups
while they have room and are recorded. :func:`resume_group_code` restores both (and rotates
at once if a group passed ``rotate_at`` meanwhile).

As for staff codes, WeCom is called between transactions: the change is recorded on the code
and committed first (see :mod:`siyu.plugins.livecodes.changes`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes import api as staff_api
from siyu.plugins.livecodes import groups
from siyu.plugins.livecodes.groups import CHATS, GROUPS, INVITES, JOINS, PREFIX, WECOM_CHATS
from siyu.plugins.livecodes.models import LiveCode
from siyu.plugins.wecom.client import MAX_ATTACHMENTS, MAX_JOIN_WAY_CHATS
from siyu.plugins.wecom.errors import WeComError
from siyu.plugins.wecom.service import wecom
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.plugins.livecodes.changes import Intent

_ = translator("siyu.plugins.livecodes")

__all__ = ["create_group_code", "delete_group_code", "get_group_code", "group_members_df",
           "invite_to_group", "joins_df", "known_groups", "list_group_codes",
           "pause_group_code", "reload_groups", "resume_group_code", "staff_codes",
           "update_group_code"]

#: groupchat/get errcodes meaning "no such group": 40050 chatid 不存在, 40058 bad parameter.
UNKNOWN_CHAT_ERRCODES = (40050, 40058)
MAX_ROOM_BASE_NAME = 40
SETTINGS = ("name", "auto_create_room", "room_base_name", "room_base_id", "warn_at",
            "rotate_at", "tags")


def _settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the code settings present in ``given``; returns column values."""
    values: dict[str, Any] = {}
    if "name" in given:
        name = str(given["name"] or "").strip()
        if not name:
            raise ValidationError(_("a group code needs a name"))
        values["name"] = name[:200]
    if "auto_create_room" in given:
        values["auto_create_room"] = bool(given["auto_create_room"])
    if "room_base_name" in given:
        base = str(given["room_base_name"] or "").strip()
        if len(base) > MAX_ROOM_BASE_NAME:
            raise ValidationError(_("room name prefix {base!r} is {length} characters; "
                                    "WeCom keeps at most {limit}", base=base,
                                    length=len(base), limit=MAX_ROOM_BASE_NAME))
        values["room_base_name"] = base
    if "room_base_id" in given:
        start = given["room_base_id"]
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValidationError(_("room sequence start {start!r} must be a whole number "
                                    ">= 0 (WeCom names new rooms prefix + number)",
                                    start=start))
        values["room_base_id"] = start
    for key in ("warn_at", "rotate_at"):
        if key in given:
            value = given[key]
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    2 <= value <= groups.WECOM_GROUP_LIMIT):
                raise ValidationError(_("{key} {value!r} must be a member count from 2 to "
                                        "{limit} (a group takes at most {limit} through a "
                                        "join way)", key=key, value=value,
                                        limit=groups.WECOM_GROUP_LIMIT))
            values[key] = value
    if "tags" in given:
        values["tags"] = staff_api._tags(given["tags"] or [])
    return values


def _check_thresholds(warn_at: int, rotate_at: int) -> None:
    if warn_at > rotate_at:
        raise ValidationError(_("warn_at {warn_at} is above rotate_at {rotate_at}: the "
                                "warning must come before the rotation", warn_at=warn_at,
                                rotate_at=rotate_at))


def _chat_ids(value: Iterable[str] | str | None, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    out = [str(c).strip() for c in value]
    if any(not c for c in out):
        raise ValidationError(_("{what} has an empty chat id", what=what))
    dupes = sorted({c for c in out if out.count(c) > 1})
    if dupes:
        raise ValidationError(_("group chat(s) {chats} listed twice in {what}",
                                chats=", ".join(dupes), what=what))
    return out


def _lists(chats: Iterable[str] | str, pool: Iterable[str] | str | None
           ) -> tuple[list[str], list[str]]:
    """The groups in use (1-5) and the pool, validated without calling WeCom."""
    in_use, spare = _chat_ids(chats, "chats"), _chat_ids(pool, "pool")
    if not in_use:
        raise ValidationError(_("a group code needs at least one group chat in use"))
    if len(in_use) > MAX_JOIN_WAY_CHATS:
        raise ValidationError(_(
            "{count} groups in use on one join way: WeCom links at most {limit} (41091). "
            "Keep {limit} in use and give the others as pool=[...]: they rotate in as groups "
            "fill (the {next}th is {chat!r})", count=len(in_use), limit=MAX_JOIN_WAY_CHATS,
            next=MAX_JOIN_WAY_CHATS + 1, chat=in_use[MAX_JOIN_WAY_CHATS]))
    both = sorted(set(in_use) & set(spare))
    if both:
        raise ValidationError(_("group chat(s) {chats} are both in use and in the pool; "
                                "give each group once", chats=", ".join(both)))
    return in_use, spare


def _check_groups(ws: Workspace, chat_ids: list[str], rotate_at: int) -> None:
    """Ask WeCom about every group (and mirror it): it must exist and have room.

    :raises NotFound: a chat id WeCom does not know.
    :raises ValidationError: a group already at ``rotate_at`` members.
    """
    from siyu.plugins.wecom.apply import refresh_group

    for chat_id in chat_ids:
        try:
            data = refresh_group(ws, chat_id)
        except WeComError as exc:
            if exc.errcode not in UNKNOWN_CHAT_ERRCODES:
                raise
            raise NotFound(_("group chat {chat!r} is unknown to WeCom (groupchat/get "
                             "answered {errcode} {errmsg}): give the chat_id of one of the "
                             "corp's customer groups (客户群); known_groups(ws) and the Group "
                             "codes page list them after reload_groups(ws)", chat=chat_id,
                             errcode=exc.errcode, errmsg=exc.errmsg)) from exc
        members = len(data.get("member_list", []))
        if members >= rotate_at:
            raise ValidationError(_("group {group} ({chat}) already has {members} members, "
                                    "at or over rotate_at {rotate_at}: choose a fresher "
                                    "group or raise rotate_at (at most {limit})",
                                    group=data.get("name") or chat_id, chat=chat_id,
                                    members=members, rotate_at=rotate_at,
                                    limit=groups.WECOM_GROUP_LIMIT))


def _code_id(ws: Workspace, code: int | str) -> int:
    column = GROUPS.c.id if isinstance(code, int) else GROUPS.c.state
    with ws.engine.connect() as conn:
        found = conn.execute(sa.select(GROUPS.c.id).where(column == code)).scalar()
    if found is None:
        raise NotFound(_("no group code {code!r}; see list_group_codes(ws)", code=code))
    return found


def create_group_code(ws: Workspace, name: str, chats: Iterable[str], *,
                      pool: Iterable[str] = (), auto_create_room: bool = True,
                      room_base_name: str = "", room_base_id: int = 1,
                      warn_at: int = groups.DEFAULT_WARN_AT,
                      rotate_at: int = groups.DEFAULT_ROTATE_AT,
                      tags: Iterable[str] = ()) -> dict[str, Any]:
    """Create a group live code: a WeCom 「加入群聊」 QR code over up to five groups.

    :param chats: chat ids of the customer groups in use (1 to 5), filled in order.
    :param pool: more groups that rotate in as groups in use reach ``rotate_at``.
    :param auto_create_room: let WeCom open a new room when every group is full.
    :param room_base_name: name prefix of those rooms (≤ 40 characters; WeCom uses the
        first group's name when empty); ``room_base_id`` the first sequence number.
    :param warn_at: members (staff included) at which a group raises a warning.
    :param rotate_at: members at which a group leaves the join way (≤ 200).
    :param tags: ``"group/name"`` tags put on joiners who are already contacts.
    :return: the code as :func:`get_group_code` shows it (``qr_url`` is the QR to print).
    :raises ValidationError: a bad setting, more than five groups in use, a group already
        at ``rotate_at``. :raises NotFound: a chat id WeCom does not know.
    :raises SiyuError: WeCom refused the join way (41091 and others, explained).
    """
    ws.principal.require("data.write")
    values = _settings({"name": name, "auto_create_room": auto_create_room,
                        "room_base_name": room_base_name, "room_base_id": room_base_id,
                        "warn_at": warn_at, "rotate_at": rotate_at, "tags": tags})
    _check_thresholds(values["warn_at"], values["rotate_at"])
    in_use, spare = _lists(chats, pool)
    _check_groups(ws, in_use + spare, values["rotate_at"])
    client = wecom(ws).client
    with ws.engine.begin() as conn:
        code_id = conn.execute(GROUPS.insert().values(
            state="", config_id="", qr_url="", status="active", warning="", last_error="",
            created_at=utcnow(), updated_at=utcnow(), **values)).inserted_primary_key[0]
        state = f"{PREFIX}{code_id}"
        conn.execute(GROUPS.update().where(GROUPS.c.id == code_id).values(state=state))
        groups.set_chats(conn, code_id, in_use, spare, [])
        row = conn.execute(sa.select(GROUPS).where(GROUPS.c.id == code_id)).first()
        # the row is the intent; WeCom is called after the commit
        intent = groups.CHANGES.intend(conn, row, "create", ws.principal.name,
                                       {"way": groups.way_of(row, in_use)})

    def create() -> dict[str, str]:
        config_id = client.add_join_way(
            groups.SCENE_QR, in_use, remark=values["name"][:30],
            auto_create_room=1 if values["auto_create_room"] else 0,
            room_base_name=values["room_base_name"] or None,
            room_base_id=values["room_base_id"], state=state)["config_id"]
        try:
            qr_url = client.get_join_way(config_id)["join_way"].get("qr_code", "")
        except WeComError:
            with contextlib.suppress(WeComError):  # keep nothing when the QR is unreadable
                client.del_join_way(config_id)
            raise
        return {"config_id": config_id, "qr_url": qr_url}

    groups.CHANGES.send(ws, intent, create,
                        refused=lambda exc: groups.join_way_error(exc, values["name"]),
                        outcome=lambda answer: answer)
    ws.audit("groupcode.create", state, {"name": values["name"], "chats": in_use,
                                         "pool": spare})
    groups.check(ws, code_id)
    return get_group_code(ws, code_id)


def update_group_code(ws: Workspace, code: int | str, *, chats: Iterable[str] | None = None,
                      pool: Iterable[str] | None = None, **changes: Any) -> dict[str, Any]:
    """Change a code's settings (keywords as in :func:`create_group_code`) and tell WeCom
    when the join way changes. New ``chats`` replace the groups in use (groups dropped are
    retired); a new ``pool`` replaces the pool.

    :raises NotFound: no such code (or an unknown chat id). :raises ValidationError: a bad
        setting, more than five groups in use. :raises SiyuError: WeCom refused.
    """
    ws.principal.require("data.write")
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise ValidationError(_("cannot update {fields} of a group code; use {known}",
                                fields=sorted(unknown),
                                known=", ".join(("chats", "pool", *SETTINGS))))
    code_id = _code_id(ws, code)
    values = _settings(changes)
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(GROUPS).where(GROUPS.c.id == code_id)).first()
        current = groups.chats_of(conn, code_id)
    if row.status == "deleted":
        raise ValidationError(_("group code {state} is deleted; create a new one",
                                state=row.state))
    rotate_at = values.get("rotate_at", row.rotate_at)
    _check_thresholds(values.get("warn_at", row.warn_at), rotate_at)
    in_use, spare = _lists(current["in_use"] if chats is None else chats,
                           current["pool"] if pool is None else pool)
    fresh = [c for c in in_use + spare if c not in current["in_use"] + current["pool"]]
    _check_groups(ws, fresh, rotate_at)

    def prepare(conn: sa.Connection, locked: Any) -> Intent | None:
        if locked.status == "deleted":
            raise ValidationError(_("group code {state} is deleted; create a new one",
                                    state=locked.state))
        # a rotation may have run since the groups were read: keep what was not given
        current = groups.chats_of(conn, code_id)
        use = in_use if chats is not None else current["in_use"]
        kept = spare if pool is not None else [c for c in current["pool"] if c not in use]
        # groups taken off the join way are retired; pool groups dropped are forgotten
        retired = [c for c in current["retired"] + current["in_use"] if c not in use + kept]
        change = {"values": values, "chats": {"in_use": use, "pool": kept, "retired": retired}}
        code = SimpleNamespace(**{**locked._mapping, **values})
        way_fields = ("name", "auto_create_room", "room_base_name", "room_base_id")
        if use == current["in_use"] and all(
                getattr(code, f) == getattr(locked, f) for f in way_fields):
            groups.CHANGES.apply(conn, locked, change)  # the join way stays: store it now
            return None
        way = groups.way_of(code, use,
                            auto_create_room=None if code.status == "active" else False)
        return groups.CHANGES.intend(conn, locked, "update", ws.principal.name,
                                     {**change, "way": way, "name": code.name})

    intent = groups.CHANGES.begin(ws, code_id, prepare)
    if intent is not None:
        groups.send_change(ws, intent)
    ws.audit("groupcode.update", row.state, {"fields": sorted([*values, *(
        ["chats"] if chats is not None else []), *(["pool"] if pool is not None else [])])})
    groups.check(ws, code_id)
    return get_group_code(ws, code_id)


def pause_group_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """Stop the code growing: no new rooms from WeCom, no rotation (see the module notes).

    :raises ValidationError: the code is not active.
    """
    ws.principal.require("data.write")
    code_id = _code_id(ws, code)

    def prepare(conn: sa.Connection, row: Any) -> Intent:
        if row.status != "active":
            raise ValidationError(_("group code {state} is {status}, not active",
                                    state=row.state, status=staff_api.status_word(row.status)))
        way = groups.way_of(row, groups.chats_of(conn, code_id)["in_use"],
                            auto_create_room=False)
        return groups.CHANGES.intend(conn, row, "pause", ws.principal.name, {
            "values": {"status": "paused"}, "way": way, "name": row.name})

    intent = groups.CHANGES.begin(ws, code_id, prepare)
    groups.send_change(ws, intent)
    ws.audit("groupcode.pause", intent.state)
    groups.check(ws, code_id)
    return get_group_code(ws, code_id)


def resume_group_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """Let the code grow again after :func:`pause_group_code`; rotates at once when a group
    passed ``rotate_at`` meanwhile.

    :raises ValidationError: the code is not paused.
    """
    ws.principal.require("data.write")
    code_id = _code_id(ws, code)

    def prepare(conn: sa.Connection, row: Any) -> Intent:
        if row.status != "paused":
            raise ValidationError(_("group code {state} is {status}, not paused",
                                    state=row.state, status=staff_api.status_word(row.status)))
        way = groups.way_of(row, groups.chats_of(conn, code_id)["in_use"])
        return groups.CHANGES.intend(conn, row, "resume", ws.principal.name, {
            "values": {"status": "active"}, "way": way, "name": row.name})

    intent = groups.CHANGES.begin(ws, code_id, prepare)
    groups.send_change(ws, intent)
    ws.audit("groupcode.resume", intent.state)
    groups.check(ws, code_id)
    return get_group_code(ws, code_id)


def delete_group_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """Delete the join way in WeCom (its QR code stops working), mark the code deleted and
    stop staff codes inviting into it. Recorded joins keep pointing at it."""
    ws.principal.require("data.write")
    code_id = _code_id(ws, code)

    def prepare(conn: sa.Connection, row: Any) -> Intent | None:
        if row.status == "deleted":
            return None
        return groups.CHANGES.intend(conn, row, "delete", ws.principal.name, {
            "values": {"status": "deleted", "warning": ""}, "forget_invites": True})

    intent = groups.CHANGES.begin(ws, code_id, prepare)
    if intent is None:
        return get_group_code(ws, code_id)

    def delete() -> None:
        try:
            wecom(ws).client.del_join_way(intent.config_id)
        except WeComError as exc:
            if exc.errcode != groups.UNKNOWN_CONFIG_ID:  # already gone in WeCom
                raise

    groups.CHANGES.send(ws, intent, delete)
    ws.audit("groupcode.delete", intent.state)
    return get_group_code(ws, code_id)


def invite_to_group(ws: Workspace, live_code: int | str, group_code: int | str | None
                    ) -> dict[str, Any]:
    """New customers of staff live code ``live_code`` get group code ``group_code``'s QR
    image after the welcome text, to join the group; ``None`` stops it.

    :return: ``{"live_code", "group_code"}`` ids (``group_code`` ``None`` when stopped).
    :raises NotFound: an unknown code. :raises ValidationError: the group code is deleted,
        or the staff code has no welcome message or no room for one more attachment
        (WeCom sends at most 9).
    """
    ws.principal.require("data.write")
    staff = staff_api.get_code(ws, live_code)
    if group_code is None:
        with ws.engine.begin() as conn:
            conn.execute(INVITES.delete().where(INVITES.c.code_id == staff["id"]))
        ws.audit("groupcode.invite", staff["state"], {"group_code": None})
        return {"live_code": staff["id"], "group_code": None}
    target = get_group_code(ws, group_code)
    if target["status"] == "deleted":
        raise ValidationError(_("group code {state} is deleted; its QR no longer works",
                                state=target["state"]))
    welcome = staff["welcome"] or {}
    messages = [welcome, *welcome.get("variants", [])]
    if not any(m.get("text") or m.get("attachments") for m in messages):
        raise ValidationError(_("staff code {state} has no welcome message: the group QR "
                                "goes out with it; give it one first (update_code(ws, code, "
                                "welcome={example}))", state=staff["state"],
                                example="{'text': ...}"))
    crowded = max(len(m.get("attachments", [])) for m in messages)
    if crowded >= MAX_ATTACHMENTS:
        raise ValidationError(_("the welcome of staff code {state} has {count} "
                                "attachments; WeCom sends at most {limit} and the group QR "
                                "needs one: drop an attachment first", state=staff["state"],
                                count=crowded, limit=MAX_ATTACHMENTS))
    with ws.engine.begin() as conn:
        conn.execute(INVITES.delete().where(INVITES.c.code_id == staff["id"]))
        conn.execute(INVITES.insert().values(code_id=staff["id"],
                                             group_code_id=target["id"]))
    ws.audit("groupcode.invite", staff["state"], {"group_code": target["state"]})
    return {"live_code": staff["id"], "group_code": target["id"]}


# -- reading ---------------------------------------------------------------------------

def get_group_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """One code's settings, its groups by role (``chats``, ``pool``, ``retired``), the
    warning (in the reader's language), the last WeCom error and the staff codes inviting
    into it (``invited_by``)."""
    ws.principal.require("data.read")
    code_id = _code_id(ws, code)
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(GROUPS).where(GROUPS.c.id == code_id)).first()
        chats = groups.chats_of(conn, code_id)
        invited_by = list(conn.execute(sa.select(INVITES.c.code_id).where(
            INVITES.c.group_code_id == code_id).order_by(INVITES.c.code_id)).scalars())
    data = dict(row._mapping)
    data.update(chats=chats["in_use"], pool=chats["pool"], retired=chats["retired"],
                invited_by=invited_by, warning=groups.warning_text(row.warning))
    return data


def group_members_df(ws: Workspace, code: int | str) -> pd.DataFrame:
    """The code's groups, in use first, then the pool, then retired: name, role, members as
    WeCom counts them (staff included), customers in the group through this code now
    (``joined``), ever (``joins``) and who left (``left``), and ``warn`` once a group in use
    reached ``warn_at``."""
    ws.principal.require("data.read")
    code_id = _code_id(ws, code)
    with ws.engine.connect() as conn:
        warn_at = conn.execute(sa.select(GROUPS.c.warn_at).where(GROUPS.c.id == code_id)).scalar()
        rows = conn.execute(
            sa.select(CHATS.c.chat_id, CHATS.c.role, CHATS.c.position,
                      WECOM_CHATS.c.name, WECOM_CHATS.c.owner, WECOM_CHATS.c.members)
            .select_from(CHATS.outerjoin(WECOM_CHATS, WECOM_CHATS.c.chat_id == CHATS.c.chat_id))
            .where(CHATS.c.code_id == code_id)).all()
        counts = conn.execute(
            sa.select(JOINS.c.chat_id, sa.func.count().label("joins"),
                      sa.func.count(JOINS.c.left_at).label("left"))
            .where(JOINS.c.code_id == code_id).group_by(JOINS.c.chat_id)).all()
    joins = {r.chat_id: (r.joins, r.left) for r in counts}
    order = {"in_use": 0, "pool": 1, "retired": 2}
    records = [{"chat_id": r.chat_id, "name": r.name or "", "owner": r.owner or "",
                "role": r.role, "members": int(r.members or 0),
                "joined": joins.get(r.chat_id, (0, 0))[0] - joins.get(r.chat_id, (0, 0))[1],
                "joins": joins.get(r.chat_id, (0, 0))[0],
                "left": joins.get(r.chat_id, (0, 0))[1],
                "warn": r.role == "in_use" and int(r.members or 0) >= warn_at,
                "_order": (order[r.role], r.position)} for r in rows]
    frame = pd.DataFrame(sorted(records, key=lambda rec: rec["_order"]),
                         columns=["chat_id", "name", "owner", "role", "members", "joined",
                                  "joins", "left", "warn", "_order"])
    return frame.drop(columns="_order")


def joins_df(ws: Workspace, code: int | str | None = None) -> pd.DataFrame:
    """Customers who joined groups through group codes (all, or one code's), oldest first:
    code, state, group, member, contact, join scene, joined and left times. Joins through an
    unknown ``gl:`` state have no code."""
    ws.principal.require("data.read")
    query = (sa.select(JOINS.c.id, JOINS.c.code_id, GROUPS.c.name.label("code"),
                       JOINS.c.state, JOINS.c.chat_id, WECOM_CHATS.c.name.label("group"),
                       JOINS.c.member_id, JOINS.c.contact_id, JOINS.c.join_scene,
                       JOINS.c.joined_at, JOINS.c.left_at)
             .select_from(JOINS.outerjoin(GROUPS, JOINS.c.code_id == GROUPS.c.id)
                          .outerjoin(WECOM_CHATS, WECOM_CHATS.c.chat_id == JOINS.c.chat_id))
             .order_by(JOINS.c.id))
    if code is not None:
        query = query.where(JOINS.c.code_id == _code_id(ws, code))
    with ws.engine.connect() as conn:
        return pd.read_sql(query, conn)


def list_group_codes(ws: Workspace) -> pd.DataFrame:
    """Every group code with its status, its groups in use with their member counts
    (``groups``, e.g. ``"VIP群 12 · 新品群 3"``), the fullest group, fresh groups left in the
    pool, customers in its groups through it now and ever, the warning (in the reader's
    language) and the last error."""
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        codes = pd.read_sql(sa.select(GROUPS.c.id, GROUPS.c.name, GROUPS.c.state,
                                      GROUPS.c.status, GROUPS.c.warn_at, GROUPS.c.rotate_at,
                                      GROUPS.c.warning, GROUPS.c.last_error, GROUPS.c.qr_url)
                            .order_by(GROUPS.c.id), conn)
        chats = conn.execute(
            sa.select(CHATS.c.code_id, CHATS.c.chat_id, CHATS.c.role, WECOM_CHATS.c.name,
                      WECOM_CHATS.c.members)
            .select_from(CHATS.outerjoin(WECOM_CHATS, WECOM_CHATS.c.chat_id == CHATS.c.chat_id))
            .where(CHATS.c.role != "retired").order_by(CHATS.c.code_id, CHATS.c.position)).all()
        joins = conn.execute(sa.select(JOINS.c.code_id, sa.func.count(),
                                       sa.func.count(JOINS.c.left_at))
                             .where(JOINS.c.code_id.is_not(None))
                             .group_by(JOINS.c.code_id)).all()
    warn_at = dict(zip(codes["id"], codes["warn_at"], strict=True))
    summary: dict[int, list[str]] = {}
    fullest: dict[int, int] = {}
    fresh: dict[int, int] = {}
    for r in chats:
        members = int(r.members or 0)
        if r.role == "in_use":
            summary.setdefault(r.code_id, []).append(f"{r.name or r.chat_id} {members}")
            fullest[r.code_id] = max(fullest.get(r.code_id, 0), members)
        elif members < warn_at.get(r.code_id, groups.WECOM_GROUP_LIMIT):
            fresh[r.code_id] = fresh.get(r.code_id, 0) + 1
    totals = {code_id: (total, left) for code_id, total, left in joins}
    codes["groups"] = codes["id"].map(lambda i: " · ".join(summary.get(i, [])))
    codes["fullest"] = codes["id"].map(lambda i: fullest.get(i, 0)).astype(int)
    codes["pool"] = codes["id"].map(lambda i: fresh.get(i, 0)).astype(int)
    codes["joined"] = codes["id"].map(lambda i: totals.get(i, (0, 0))[0]
                                      - totals.get(i, (0, 0))[1]).astype(int)
    codes["joins_total"] = codes["id"].map(lambda i: totals.get(i, (0, 0))[0]).astype(int)
    codes["warning"] = codes["warning"].map(groups.warning_text).astype(object)
    return codes


def known_groups(ws: Workspace) -> pd.DataFrame:
    """The corp's customer groups as last mirrored from WeCom (not dismissed), to pick
    from: chat_id, name, owner, members. :func:`reload_groups` refreshes them."""
    ws.principal.require("data.read")
    with ws.engine.connect() as conn:
        return pd.read_sql(sa.select(WECOM_CHATS.c.chat_id, WECOM_CHATS.c.name,
                                     WECOM_CHATS.c.owner, WECOM_CHATS.c.members)
                           .where(WECOM_CHATS.c.status != "dismissed")
                           .order_by(WECOM_CHATS.c.name, WECOM_CHATS.c.chat_id), conn)


def reload_groups(ws: Workspace) -> int:
    """Mirror every customer group of the corp from WeCom (groupchat/list + get); returns
    how many there are."""
    from siyu.plugins.wecom.sync import sync_groups

    ws.principal.require("data.write")
    count = sync_groups(ws)
    ws.audit("groupcode.reload_groups", "", {"groups": count})
    return count


def staff_codes(ws: Workspace) -> pd.DataFrame:
    """Staff live codes that are not deleted, with the group code each invites into
    (``group_code``, empty when none)."""
    ws.principal.require("data.read")
    codes = LiveCode.__table__
    with ws.engine.connect() as conn:
        return pd.read_sql(sa.select(codes.c.id, codes.c.name, codes.c.state,
                                     INVITES.c.group_code_id.label("group_code"))
                           .select_from(codes.outerjoin(INVITES,
                                                        INVITES.c.code_id == codes.c.id))
                           .where(codes.c.status != "deleted").order_by(codes.c.id), conn)
