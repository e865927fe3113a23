"""Group live codes (群活码): WeCom 「加入群聊」 join ways that move on to fresh groups before
the groups fill.

A join way lists at most five customer groups and sends each scanning customer into the
first one with room; a group takes QR joins up to 200 members, after which WeCom opens a new
room itself (``room_base_name`` + ``room_base_id``) when ``auto_create_room`` is on. A group
code watches its groups through WeCom's ``change_external_chat`` join/quit events (the
``on_group_member_changed`` hook), never through page views or timers:

- every customer who joins through the code's state (``gl:<id>``) is a ``live_group_join``
  row, closed when they leave; they get the code's tags when they are already a contact;
- a group in use reaching ``warn_at`` members sets the code's ``warning`` (and records a
  ``groupcode.warning`` event); reaching ``rotate_at`` takes it off the join way with
  ``update_join_way`` and puts the next fresh group of the pool in its place;
- a room WeCom opened by itself is adopted when its first customer arrives;
- a join through a ``gl:`` state that no code has is still recorded, unattributed.

Each change runs in one short transaction that first locks the code's row, so several
processes applying callbacks rotate a code once. A rotation is recorded as the code's pending
change and committed before WeCom is called, and stored after WeCom answered (see
:mod:`siyu.plugins.livecodes.changes`): no transaction waits on WeCom.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.core.i18n import LazyText, translator, use_language
from siyu.core.records import StatePrefix
from siyu.plugins.livecodes.changes import Changes, Intent
from siyu.plugins.livecodes.engine import (
    MAX_ROUNDS,
    UNKNOWN_CONFIG_ID,
    Note,
    corp_tag_ids,
    store_notes,
    stored_text,
)
from siyu.plugins.livecodes.models import (
    GROUP_CHAT_ROLES,
    LiveCodeInvite,
    LiveGroupChat,
    LiveGroupCode,
    LiveGroupJoin,
)
from siyu.plugins.wecom.client import MAX_ATTACHMENTS
from siyu.plugins.wecom.errors import WeComError, explain
from siyu.plugins.wecom.models import WeComGroupChat
from siyu.plugins.wecom.service import wecom
from siyu.storage.dialect import insert_for
from siyu.storage.models import Contact, Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.livecodes")
_ = translator("siyu.plugins.livecodes")

PREFIX = "gl:"
#: The claim on ``gl:`` states that the plugin registers; joins are checked against it.
STATES = StatePrefix(PREFIX, description="group live codes: gl:<code id>")
#: Members a customer group takes through a join way's QR code; past it WeCom moves on.
WECOM_GROUP_LIMIT = 200
DEFAULT_WARN_AT = 180
DEFAULT_ROTATE_AT = 190
#: The join way's scene: 2 = the QR-code plugin (1 would be the mini-program plugin).
SCENE_QR = 2

GROUPS = LiveGroupCode.__table__
CHATS = LiveGroupChat.__table__
JOINS = LiveGroupJoin.__table__
INVITES = LiveCodeInvite.__table__
WECOM_CHATS = WeComGroupChat.__table__

#: What a group code's warning says, by key: stored as keys and values (see
#: :func:`~siyu.plugins.livecodes.engine.store_notes`) since a callback writes it, and put
#: into words in the reader's language when shown (:func:`warning_text`).
WARNING_NOTES: dict[str, LazyText] = {
    "stuck_new_room": _.lazy("group {group} has {members} members, over rotate_at {rotate_at}, "
                             "and no fresh group is left in the pool: WeCom opens a new room "
                             "'{room}' when it is full ({limit}); add fresh groups to the "
                             "pool"),
    "stuck_turned_away": _.lazy("group {group} has {members} members, over rotate_at "
                                "{rotate_at}, and no fresh group is left in the pool: "
                                "customers are turned away once it is full ({limit}); add "
                                "fresh groups to the pool"),
    "warn": _.lazy("group {group} has {members} members (warn at {warn_at}); it rotates out "
                   "at {rotate_at}"),
    "warn_pool_empty_new_rooms": _.lazy(
        "group {group} has {members} members (warn at {warn_at}); it rotates out at "
        "{rotate_at}; the pool has no fresh group left: add some, or WeCom opens new rooms by "
        "itself when every group is full"),
    "warn_pool_empty_turned_away": _.lazy(
        "group {group} has {members} members (warn at {warn_at}); it rotates out at "
        "{rotate_at}; the pool has no fresh group left: add some, or new customers will be "
        "turned away"),
    "paused": _.lazy("the code is paused: no group rotates until it is resumed"),
}
#: Longest warning the table keeps (``live_group_code.warning``).
MAX_WARNING = 1000


@dataclass(frozen=True)
class Rotation:
    """What a code's join way should list now.

    :ivar in_use: the chat ids for the join way, in order.
    :ivar out: groups taken off (they reached ``rotate_at``).
    :ivar into: fresh groups taken from the pool.
    :ivar stuck: groups at ``rotate_at`` that stay because nothing can replace them.
    """

    in_use: list[str]
    out: list[str]
    into: list[str]
    stuck: list[str]


def plan_rotation(in_use: list[str], pool: list[str], counts: dict[str, int], warn_at: int,
                  rotate_at: int) -> Rotation:
    """Take the groups that reached ``rotate_at`` off the join way, each replaced by the
    next fresh pool group (fewer than ``warn_at`` members). A join way needs one group at
    least, so when every group is full and no fresh group is left, the list stays."""
    full = [c for c in in_use if counts.get(c, 0) >= rotate_at]
    keep = [c for c in in_use if c not in full]
    fresh = [c for c in pool if counts.get(c, 0) < warn_at]
    into = fresh[:len(full)]
    if not keep and not into:
        return Rotation(list(in_use), [], [], full)
    return Rotation(keep + into, full, into, [])


def lock(conn: sa.Connection, code_id: int) -> Any:
    """Take the code's row lock (an UPDATE locks on every engine) and read the row."""
    conn.execute(GROUPS.update().where(GROUPS.c.id == code_id).values(updated_at=utcnow()))
    return conn.execute(sa.select(GROUPS).where(GROUPS.c.id == code_id)).first()


def chats_of(conn: sa.Connection, code_id: int) -> dict[str, list[str]]:
    """The code's chat ids by role (``in_use``, ``pool``, ``retired``), in order."""
    rows = conn.execute(sa.select(CHATS.c.chat_id, CHATS.c.role).where(
        CHATS.c.code_id == code_id).order_by(CHATS.c.position, CHATS.c.chat_id)).all()
    out: dict[str, list[str]] = {role: [] for role in GROUP_CHAT_ROLES}
    for chat_id, role in rows:
        out[role].append(chat_id)
    return out


def group_info(conn: sa.Connection, chat_ids: list[str]) -> dict[str, tuple[str, int]]:
    """``chat_id → (name, members)`` as WeCom last described the groups."""
    if not chat_ids:
        return {}
    rows = conn.execute(sa.select(WECOM_CHATS.c.chat_id, WECOM_CHATS.c.name,
                                  WECOM_CHATS.c.members)
                        .where(WECOM_CHATS.c.chat_id.in_(chat_ids))).all()
    return {r.chat_id: (r.name, r.members) for r in rows}


def set_chats(conn: sa.Connection, code_id: int, in_use: list[str], pool: list[str],
              retired: list[str]) -> None:
    """Store the code's groups by role, replacing what was stored; a group that keeps its
    role keeps the time it got it. A chat id given twice keeps its first role."""
    now = utcnow()
    before = {r.chat_id: (r.role, r.changed_at) for r in conn.execute(
        sa.select(CHATS.c.chat_id, CHATS.c.role, CHATS.c.changed_at)
        .where(CHATS.c.code_id == code_id))}
    conn.execute(CHATS.delete().where(CHATS.c.code_id == code_id))
    rows: dict[str, dict[str, Any]] = {}
    for role, chats in (("in_use", in_use), ("pool", pool), ("retired", retired)):
        for position, chat_id in enumerate(chats):
            if chat_id in rows:
                continue
            old_role, since = before.get(chat_id, (None, None))
            rows[chat_id] = {"code_id": code_id, "chat_id": chat_id, "role": role,
                             "position": position,
                             "changed_at": since if old_role == role else now}
    if rows:
        conn.execute(CHATS.insert(), list(rows.values()))


def join_way_error(exc: Exception, name: str) -> Exception:
    """A WeCom refusal of a join way, explained with the fix."""
    if getattr(exc, "errcode", None) == 41091:
        return SiyuError(_("WeCom refused the groups of group code {name!r} (41091): "
                           "{explained}. Keep at most 5 groups in use and give the others "
                           "as the pool: they rotate in as groups fill", name=name,
                           explained=explain(41091)))
    return exc


def way_of(code: Any, chat_ids: list[str], *, auto_create_room: bool | None = None
           ) -> dict[str, Any]:
    """The join way WeCom should hold for ``code`` over ``chat_ids``: every field, since
    ``update_join_way`` overwrites them all."""
    auto = code.auto_create_room if auto_create_room is None else auto_create_room
    return {"chat_id_list": list(chat_ids), "remark": code.name[:30],
            "auto_create_room": 1 if auto else 0, "room_base_name": code.room_base_name or "",
            "room_base_id": code.room_base_id, "state": code.state}


def same_way(expected: dict[str, Any], way: dict[str, Any]) -> bool:
    """Whether WeCom's join way ``way`` is ``expected`` (:func:`way_of`). ``room_base_id`` is
    left out: WeCom moves it on by itself as it opens rooms."""
    return (list(way.get("chat_id_list") or []) == expected.get("chat_id_list")
            and int(way.get("auto_create_room") or 0) == expected.get("auto_create_room")
            and (way.get("remark") or "") == expected.get("remark", "")
            and (way.get("room_base_name") or "") == expected.get("room_base_name", "")
            and (way.get("state") or "") == expected.get("state", ""))


def send_change(ws: Workspace, intent: Intent, *, note: bool = False) -> Any:
    """Overwrite the join way in WeCom with a recorded change (``intent.change["way"]``),
    after its commit, then store the outcome.

    :raises SiyuError: WeCom refused (41091 explained); nothing changed.
    """
    way = intent.change["way"]

    def update() -> Any:
        return wecom(ws).client.update_join_way(
            intent.config_id, SCENE_QR, way["chat_id_list"], remark=way["remark"],
            auto_create_room=way["auto_create_room"],
            room_base_name=way["room_base_name"] or None, room_base_id=way["room_base_id"],
            state=way["state"])

    name = intent.change.get("name") or intent.state
    return CHANGES.send(ws, intent, update, refused=lambda exc: join_way_error(exc, name),
                        note=note)


class GroupChanges(Changes):
    """:class:`~siyu.plugins.livecodes.changes.Changes` of group codes (join ways)."""

    table = GROUPS
    noun = "group code"
    audit = "groupcode"

    def lock(self, conn: sa.Connection, code_id: int) -> Any:
        return lock(conn, code_id)

    def apply(self, conn: sa.Connection, row: Any, change: dict[str, Any]) -> None:
        super().apply(conn, row, change)
        chats = change.get("chats")
        if chats is not None:
            set_chats(conn, row.id, chats["in_use"], chats["pool"], chats["retired"])
        if change.get("forget_invites"):
            conn.execute(INVITES.delete().where(INVITES.c.group_code_id == row.id))

    def discard(self, conn: sa.Connection, row: Any) -> None:
        conn.execute(CHATS.delete().where(CHATS.c.code_id == row.id))
        super().discard(conn, row)

    def ask(self, ws: Workspace, row: Any) -> tuple[bool, dict[str, Any]]:
        if row.pending == "create":
            # WeCom cannot list join ways: a join way made without its answer reaching us
            # stays unused (nobody has its QR code)
            log.warning("group code %s: WeCom's answer to creating its join way was lost; "
                        "forgetting the code (a join way with state %s, if WeCom made one, "
                        "is unused)", row.id, row.state)
            return False, {}
        try:
            way = wecom(ws).client.get_join_way(row.config_id)["join_way"]
        except WeComError as exc:
            if exc.errcode != UNKNOWN_CONFIG_ID:
                raise
            return row.pending == "delete", {}
        if row.pending == "delete":
            return False, {}
        return same_way((row.pending_change or {}).get("way") or {}, way), {}


CHANGES = GroupChanges()


def warning_text(stored: Any) -> Any:
    """A group code's stored warning in the reader's language (what the Group codes page,
    ``siyu groupcode`` and :mod:`~siyu.plugins.livecodes.group_api` show); a warning stored
    as plain text by an older siyu as it is."""
    return stored_text(stored, WARNING_NOTES)


def _warning(code: Any, plan: Rotation, pool: list[str], info: dict[str, tuple[str, int]]
             ) -> tuple[list[Note], str]:
    """What an operator should know about the code's groups now (no notes when all is
    well; see :data:`WARNING_NOTES`), and a key naming the situation (which groups warn or
    are stuck, whether the pool is empty) so one situation is one ``groupcode.warning``
    event, not one per join."""
    fresh = [c for c in pool if info.get(c, ("", 0))[1] < code.warn_at]
    notes: list[Note] = []
    situation: list[str] = []
    for chat_id in plan.in_use:
        name, members = info.get(chat_id, (chat_id, 0))
        label = {"group": name or chat_id, "members": members, "rotate_at": code.rotate_at}
        if chat_id in plan.stuck:
            if code.auto_create_room:
                notes.append(("stuck_new_room", {
                    **label, "room": f"{code.room_base_name or name}{code.room_base_id}",
                    "limit": WECOM_GROUP_LIMIT}))
            else:
                notes.append(("stuck_turned_away", {**label, "limit": WECOM_GROUP_LIMIT}))
            situation.append(f"stuck:{chat_id}")
        elif members >= code.warn_at:
            key = ("warn" if fresh else "warn_pool_empty_new_rooms" if code.auto_create_room
                   else "warn_pool_empty_turned_away")
            notes.append((key, {**label, "warn_at": code.warn_at}))
            situation.append(f"warn:{chat_id}:{bool(fresh)}")
    if notes and code.status == "paused":
        notes.append(("paused", {}))
        situation.append("paused")
    return notes, ",".join(situation)


def _adopt(conn: sa.Connection, code: Any, chats: dict[str, list[str]],
           way: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Take WeCom's view of the join way: groups it added (rooms it created) come in use,
    groups it dropped are retired. Returns the new roles and the adopted chat ids."""
    listed = list(way.get("chat_id_list") or [])
    adopted = [c for c in listed if c not in chats["in_use"]]
    dropped = [c for c in chats["in_use"] if c not in listed]
    roles = {"in_use": listed,
             "pool": [c for c in chats["pool"] if c not in listed],
             "retired": [c for c in chats["retired"] + dropped if c not in listed]}
    set_chats(conn, code.id, roles["in_use"], roles["pool"], roles["retired"])
    base = way.get("room_base_id")
    if base is not None and base != code.room_base_id:
        conn.execute(GROUPS.update().where(GROUPS.c.id == code.id).values(room_base_id=base))
    return roles, adopted


def _read_way(ws: Workspace, code_id: int) -> tuple[dict[str, Any] | None, SiyuError | None]:
    """The code's join way as WeCom has it (asked outside any transaction), or the error."""
    with ws.engine.connect() as conn:
        config_id = conn.execute(sa.select(GROUPS.c.config_id).where(
            GROUPS.c.id == code_id, GROUPS.c.status != "deleted")).scalar()
    if not config_id:
        return None, None
    try:
        return wecom(ws).client.get_join_way(config_id)["join_way"], None
    except SiyuError as exc:
        log.error("group code %s: could not read its join way: %s", code_id, exc)
        return None, exc


def _assess(ws: Workspace, conn: sa.Connection, code: Any, chats: dict[str, list[str]],
            rotate: bool, problem: SiyuError | None
            ) -> tuple[Rotation, Intent | None, str, str]:
    """Plan a locked code's groups: record a rotation (returned as an intent, sent after the
    commit) or store the warning. Returns ``(plan, intent, warning, situation)``: the
    warning as stored (:func:`warning_text` puts it into words)."""
    info = group_info(conn, chats["in_use"] + chats["pool"])
    counts = {c: members for c, (_name, members) in info.items()}
    plan = plan_rotation(chats["in_use"], chats["pool"], counts, code.warn_at, code.rotate_at)
    if code.status != "active" or code.pending or not rotate:
        plan = Rotation(chats["in_use"], [], [], [])
    if plan.out:
        pool = [c for c in chats["pool"] if c not in plan.into]
        return plan, CHANGES.intend(conn, code, "rotate", ws.principal.name, {
            "values": {"last_error": ""}, "name": code.name,
            "chats": {"in_use": plan.in_use, "pool": pool,
                      "retired": chats["retired"] + plan.out},
            "way": way_of(code, plan.in_use), "out": plan.out, "in": plan.into}), "", ""
    notes, situation = _warning(code, plan, chats["pool"], info)
    warning = store_notes(notes, WARNING_NOTES, MAX_WARNING)
    values: dict[str, Any] = {"warning": warning}
    if problem is not None:
        values["last_error"] = str(problem)[:1000]
    conn.execute(GROUPS.update().where(GROUPS.c.id == code.id).values(**values))
    return plan, None, warning, situation


def check(ws: Workspace, code_id: int, *, sync: bool = False) -> Rotation | None:
    """Re-assess one code from its groups' member counts: warn, and rotate full groups out
    of the join way. ``sync`` first reads the join way back from WeCom (after WeCom may have
    opened a room by itself). Refusals land in ``last_error``, not in an exception. WeCom is
    called between transactions, never inside one.

    :return: the rotation applied, else the code's plan (``None`` for a deleted or unknown
        code).
    """
    events: list[tuple[str, str, dict[str, Any]]] = []
    way, problem = _read_way(ws, code_id) if sync else (None, None)
    rotate, before, applied = problem is None, None, None
    for round_ in range(MAX_ROUNDS):
        rotate = rotate and round_ < MAX_ROUNDS - 1  # the last round stores the warning
        CHANGES.reconcile(ws, code_id)
        with ws.engine.begin() as conn:
            code = lock(conn, code_id)
            if code is None or code.status == "deleted":
                return None
            before = code.warning if before is None else before
            chats = chats_of(conn, code_id)
            if way is not None and not code.pending:
                chats, adopted = _adopt(conn, code, chats, way)
                code = conn.execute(sa.select(GROUPS).where(GROUPS.c.id == code_id)).first()
                events += [("groupcode.room_adopted", f"groupcode.room:{code_id}:{c}",
                            {"code_id": code_id, "chat_id": c}) for c in adopted]
                way = None
            plan, intent, warning, situation = _assess(ws, conn, code, chats, rotate, problem)
        if intent is None:
            break
        try:
            send_change(ws, intent, note=True)
        except SiyuError as exc:
            log.error("group code %s: could not rotate its groups: %s", code_id, exc)
            rotate = False  # assess once more without rotating: the warning says what is left
            continue
        applied = plan
        events.append(("groupcode.rotated",
                       f"groupcode.rotated:{code_id}:{utcnow().isoformat()}",
                       {"code_id": code_id, "out": plan.out, "in": plan.into}))
    if warning and warning != before:
        digest = hashlib.sha1(situation.encode()).hexdigest()[:16]
        with use_language("en"):  # event payloads are data: the English words, as before
            words = warning_text(warning)
        events.append(("groupcode.warning", f"groupcode.warning:{code_id}:{digest}",
                       {"code_id": code_id, "warning": words}))
    for kind, key, payload in events:
        ws.events.record(kind, dedupe_key=key, source="livecodes", payload=payload)
    return applied or plan


# -- joins and leaves --------------------------------------------------------------------

def codes_with_chat(conn: sa.Connection, chat_id: str) -> list[int]:
    """Codes (not deleted) that have ``chat_id`` in use or in their pool."""
    return list(conn.execute(
        sa.select(CHATS.c.code_id).join(GROUPS, GROUPS.c.id == CHATS.c.code_id)
        .where(CHATS.c.chat_id == chat_id, CHATS.c.role.in_(("in_use", "pool")),
               GROUPS.c.status != "deleted")).scalars())


def handle_member_change(ws: Workspace, chat_id: str, joined: list[dict[str, Any]],
                         left: list[str], at: datetime) -> None:
    """Record joins through group codes and leaves of those joiners, tag the joiners, and
    re-assess every code the group belongs to (rotating when it reached ``rotate_at``).

    Replays change nothing twice: a join is unique per group, member and time.
    """
    ours = [{**m, "state": str(m["state"])[:30]} for m in joined
            if m.get("type", 2) == 2 and STATES.claims(m.get("state"))]
    ids = [m["userid"] for m in ours]
    with ws.engine.begin() as conn:
        states = {m.get("state") for m in ours}
        codes = {s: conn.execute(sa.select(GROUPS).where(GROUPS.c.state == s)
                                 .order_by(GROUPS.c.id.desc())).first() for s in states}
        contacts = dict(conn.execute(sa.select(Contact.external_userid, Contact.id)
                                     .where(Contact.external_userid.in_(ids)))
                        .all()) if ids else {}
        new: list[tuple[dict[str, Any], Any]] = []
        for member in ours:
            code = codes[member["state"]]
            added = conn.execute(insert_for(conn, JOINS).values(
                code_id=code.id if code is not None else None, state=member["state"],
                chat_id=chat_id, member_id=member["userid"],
                contact_id=contacts.get(member["userid"]),
                join_scene=int(member.get("join_scene") or 0), joined_at=at, left_at=None)
                .on_conflict_do_nothing().returning(JOINS.c.id)).scalar()
            if added is not None:
                new.append((member, code))
        if left:
            conn.execute(JOINS.update().where(
                JOINS.c.chat_id == chat_id, JOINS.c.member_id.in_(left),
                JOINS.c.left_at.is_(None), JOINS.c.joined_at <= at).values(left_at=at))
        affected = set(codes_with_chat(conn, chat_id))
    stray: set[int] = set()
    for member, code in new:
        if code is None:
            log.warning("customer %s joined group %s with unknown group-code state %r; "
                        "recorded unattributed", member["userid"], chat_id, member["state"])
            ws.events.record("groupcode.unknown_state",
                             dedupe_key=f"groupcode.unknown:{chat_id}:{member['userid']}:"
                                        f"{at.isoformat()}",
                             contact_id=contacts.get(member["userid"]), occurred_at=at,
                             source="livecodes",
                             payload={"chat_id": chat_id, "member": member["userid"],
                                      "state": member["state"]})
            continue
        if code.id not in affected and code.status != "deleted":
            stray.add(code.id)  # a room WeCom opened by itself, or one rotated out
        if code.tags and member["userid"] in contacts:
            _tag(ws, code, contacts[member["userid"]], member["userid"])
    for code_id in sorted(affected | stray):
        check(ws, code_id, sync=code_id in stray)


def _tag(ws: Workspace, code: Any, contact_id: int, external_userid: str) -> None:
    """Put the code's tags on a joiner who is a contact, here and on their owner's
    relation in WeCom (WeCom tags a customer through one of the members they added)."""
    tags = list(code.tags or [])
    ws.tags.tag([contact_id], tags, source="livecodes", create=True)
    with ws.engine.connect() as conn:
        owner = conn.execute(sa.select(Staff.userid).join(Contact, Contact.owner_id == Staff.id)
                             .where(Contact.id == contact_id)).scalar()
    if not owner:
        return
    try:
        ids = corp_tag_ids(ws, tags)
        if ids:
            wecom(ws).client.mark_tag(owner, external_userid, add_tag=ids)
    except SiyuError as exc:
        log.error("group code %s: tags for %s not applied in WeCom: %s", code.id,
                  external_userid, exc)
        with ws.engine.begin() as conn:
            conn.execute(GROUPS.update().where(GROUPS.c.id == code.id)
                         .values(last_error=str(exc)[:1000]))


# -- new customers of a staff code → a group ---------------------------------------------

def invite_attachment(qr_url: str) -> dict[str, Any]:
    """The welcome attachment inviting into a group: the join way's QR as an image (the
    customer long-presses it to join)."""
    return {"msgtype": "image", "image": {"pic_url": qr_url}}


def invite_attachments(ws: Workspace, live_code_id: int, attachments: list[dict[str, Any]]
                       ) -> list[dict[str, Any]]:
    """``attachments`` plus the group QR of the group code the staff code invites into
    (when it has one that is not deleted, and WeCom's 9 attachments leave room)."""
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(GROUPS.c.id, GROUPS.c.qr_url)
                           .join(INVITES, INVITES.c.group_code_id == GROUPS.c.id)
                           .where(INVITES.c.code_id == live_code_id,
                                  GROUPS.c.status != "deleted")).first()
    if row is None or not row.qr_url:
        return list(attachments)
    if len(attachments) >= MAX_ATTACHMENTS:
        log.warning("live code %s: welcome already has %s attachments; group code %s's QR "
                    "left out", live_code_id, len(attachments), row.id)
        return list(attachments)
    return [*attachments, invite_attachment(row.qr_url)]
