"""Applying routing plans to WeCom, and what happens when a customer arrives through a code.

Rotation is driven by events only: an arrival re-plans its own code, and a code whose plan
changes on its own (a shift boundary, local midnight while a daily cap holds) stores that
moment in ``next_change_at``; the shift job re-plans just the codes whose moment has passed,
found by index. ``update_contact_way`` is called only when the member list changes.

An arrival is counted in one transaction that first locks the code's row, so counters and
round state stay right with several processes applying callbacks. No transaction is open while
WeCom is called: a new member list is recorded as the code's pending change and committed,
then sent, then stored (see :class:`Changes`); a change whose answer was lost is settled by
asking WeCom, never by sending it again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.core.i18n import LazyText, translator, use_language
from siyu.core.records import StatePrefix
from siyu.plugins.livecodes import welcome as welcomes
from siyu.plugins.livecodes.changes import Changes, Intent
from siyu.plugins.livecodes.models import LiveCode, LiveCodeAdd, LiveCodeDay, LiveCodeMember
from siyu.plugins.livecodes.routing import (
    CodeRules,
    Counts,
    Member,
    Plan,
    join_clauses,
    plan_members,
)
from siyu.plugins.wecom.errors import WeComError, explain
from siyu.plugins.wecom.service import wecom
from siyu.storage.dialect import insert_for
from siyu.storage.models import Staff, Store, Tag, TagGroup
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.storage.models import Contact as ContactRow

log = logging.getLogger("siyu.livecodes")
_ = translator("siyu.plugins.livecodes")

PREFIX = "lc:"
#: The claim on ``lc:`` states that the plugin registers; arrivals are checked against it.
STATES = StatePrefix(PREFIX, description="staff live codes: lc:<code id>")
#: errcodes that name a member who cannot be on a code, and the ones meaning "too many"
MEMBER_ERRCODES = (41054, 60011, 60111, 40098)
#: What an arrival's note says, by key (see :func:`note_text`). ``{explained}`` is WeCom's
#: explanation of the stored ``errcode``, looked up when the note is shown.
ARRIVAL_NOTES: dict[str, LazyText] = {
    "unknown_state": _.lazy("unknown live-code state {state!r}: no code has it (deleted, or "
                            "made elsewhere); contact kept with {userid}"),
    "no_welcome": _.lazy("this code has no welcome message; the workspace default welcome "
                         "applies"),
    "already_chatting": _.lazy("{errcode}: the customer and the member already chat, so "
                               "WeCom no longer accepts a welcome message (nothing to "
                               "resend)"),
    "welcomed_elsewhere": _.lazy("{errcode}: another app is already sending this customer's "
                                 "welcome message (not sent twice)"),
    "welcome_refused": _.lazy("{errcode}: WeCom refused the welcome message ({errcode}): "
                              "{explained}"),
    "no_welcome_code": _.lazy("WeCom gave no welcome code (the member set a welcome message "
                              "in the WeCom admin console, the customer had already chatted, "
                              "or the 20 s passed)"),
    "fallback_sent": _.lazy("fallback sent as message task {msgid} for {userid} to confirm"),
    "fallback_refused": _.lazy("fallback refused ({errcode}): {explained}"),
}
#: Welcome refusals that are not worth a retry, and the note each gets.
WELCOME_NOT_RETRIED = {41051: "already_chatting", 41096: "welcomed_elsewhere"}
#: Longest arrival note the table keeps (``live_code_add.reason``).
MAX_NOTE = 500

#: Re-plans in a row for one code: after WeCom took a new list the code is planned once more,
#: since arrivals counted meanwhile could not re-list it themselves.
MAX_ROUNDS = 3
#: errcode of a ``config_id`` WeCom does not know (any more).
UNKNOWN_CONFIG_ID = 41044

CODES = LiveCode.__table__
MEMBERS = LiveCodeMember.__table__
DAYS = LiveCodeDay.__table__
ADDS = LiveCodeAdd.__table__


def local_now(ws: Workspace) -> datetime:
    """Now, in the workspace timezone."""
    return datetime.now(ws.timezone)


def member_error(exc: WeComError, userids: list[str]) -> SiyuError:
    """A WeCom refusal about a code's members, naming the member and the fix."""
    if exc.errcode == 41041:
        return SiyuError(_("WeCom refused {count} members on one code (41041): {reason}",
                           count=len(userids), reason=explain(41041)))
    named = [u for u in userids if u and u in (exc.errmsg or "")]
    who = (_("member {userid!r}", userid=named[0]) if named
           else _("one of the members {userids}",
                  userids=", ".join(repr(u) for u in userids)))
    return SiyuError(_("WeCom cannot route customers to {who} ({errcode}): {reason}",
                       who=who, errcode=exc.errcode, reason=explain(exc.errcode)))


def member_problem(exc: Exception, userids: list[str]) -> Exception:
    """:func:`member_error` for a refusal about members; other errors unchanged."""
    if getattr(exc, "errcode", None) in (41041, *MEMBER_ERRCODES):
        return member_error(exc, userids)  # type: ignore[arg-type]
    return exc


# -- notes written now, read later ---------------------------------------------------------
#
# A note written by a callback or a job is read later by someone whose language is not known
# when it is written (an arrival's note, a group code's warning). It is therefore stored as
# message keys with their values, as JSON (``[["no_welcome_code", {}], ["fallback_sent",
# {"msgid": "…", "userid": "…"}]]``), and put into words when shown, in the reader's
# language. A stored text that is no such list (written by an older siyu) shows as it is.

Note = tuple[str, Mapping[str, Any]]


def _words(key: str, values: Mapping[str, Any], templates: Mapping[str, LazyText]) -> str:
    """One note in the current language (the English template when a translation does not
    fit its values)."""
    template = templates[key]
    values = dict(values)
    if "errcode" in values:
        values["explained"] = explain(values["errcode"])
    try:
        return str(template).format(**values)
    except (KeyError, IndexError, ValueError):
        return template.source.format(**values)


def notes_text(notes: Sequence[Note], templates: Mapping[str, LazyText]) -> str:
    """``notes`` (message keys and values) in words of the current language."""
    return join_clauses(_words(key, values, templates) for key, values in notes)


def store_notes(notes: Sequence[Note], templates: Mapping[str, LazyText], limit: int) -> str:
    """``notes`` as stored for :func:`stored_text` (``""`` for none); when that is longer
    than the column's ``limit``, their English words, cut to fit."""
    if not notes:
        return ""
    for key, _values in notes:
        if key not in templates:
            raise ValueError(f"no note {key!r}")
    stored = json.dumps([[key, dict(values)] for key, values in notes], ensure_ascii=False,
                        separators=(",", ":"), sort_keys=True)
    if len(stored) <= limit:
        return stored
    with use_language("en"):
        return notes_text(notes, templates)[:limit]


def stored_text(stored: Any, templates: Mapping[str, LazyText]) -> Any:
    """A note stored with :func:`store_notes`, in words of the reader's language; any other
    value (plain text written before, ``None``) as it is."""
    if not isinstance(stored, str) or not stored.startswith("[["):
        return stored
    try:
        notes = json.loads(stored)
        parsed = [(str(key), dict(values)) for key, values in notes]
    except (ValueError, TypeError):
        return stored
    if any(key not in templates for key, _values in parsed):
        return stored
    try:
        return notes_text(parsed, templates)
    except (KeyError, IndexError, ValueError):  # values that do not fit the message
        return stored


def note_text(stored: Any) -> Any:
    """An arrival's stored note (``live_code_add.reason``) in the reader's language: what
    the Live codes page and :func:`~siyu.plugins.livecodes.api.adds_df` show."""
    return stored_text(stored, ARRIVAL_NOTES)


def rules_of(code: Any) -> CodeRules:
    """The routing settings of a ``live_code`` row."""
    return CodeRules(code.strategy, code.daily_cap, code.round_cap, tuple(code.backup or ()))


def members_of(conn: sa.Connection, code_id: int) -> list[Member]:
    """The code's members in order."""
    rows = conn.execute(sa.select(MEMBERS).where(MEMBERS.c.code_id == code_id)
                        .order_by(MEMBERS.c.position, MEMBERS.c.userid)).all()
    return [Member(r.userid, r.weight, r.daily_cap, tuple(r.slots or ())) for r in rows]


def counters_of(conn: sa.Connection, code_id: int, day: str) -> dict[str, Counts]:
    """Adds today and in the current round, per member."""
    today = dict(conn.execute(sa.select(DAYS.c.userid, DAYS.c.adds).where(
        DAYS.c.code_id == code_id, DAYS.c.day == day)).all())
    rounds = dict(conn.execute(sa.select(MEMBERS.c.userid, MEMBERS.c.round_adds)
                               .where(MEMBERS.c.code_id == code_id)).all())
    return {u: Counts(today.get(u, 0), rounds.get(u, 0)) for u in {*today, *rounds}}


def plan_for(conn: sa.Connection, code: Any, now: datetime) -> Plan:
    """The plan of ``code`` at local time ``now`` from the stored counters."""
    return plan_members(rules_of(code), members_of(conn, code.id),
                        counters_of(conn, code.id, now.date().isoformat()), now)


def _lock(conn: sa.Connection, code_id: int) -> Any:
    """Take the code's row lock (an UPDATE locks on every engine) and read the row."""
    conn.execute(CODES.update().where(CODES.c.id == code_id).values(updated_at=utcnow()))
    return conn.execute(sa.select(CODES).where(CODES.c.id == code_id)).first()


def _intend_relist(conn: sa.Connection, code: Any, now: datetime, by: str
                   ) -> tuple[Plan | None, Intent | None]:
    """Re-plan a locked code: store the round and the next change, and record a relist when
    WeCom's list must change. Nothing for a code that is not active or has a change pending
    (whoever settles that change re-plans the code afterwards)."""
    if code.status != "active" or not code.config_id or code.pending:
        return None, None
    plan = plan_for(conn, code, now)
    if plan.new_round:
        conn.execute(MEMBERS.update().where(MEMBERS.c.code_id == code.id).values(round_adds=0))
    conn.execute(CODES.update().where(CODES.c.id == code.id)
                 .values(next_change_at=plan.next_change_at))
    if not plan.listed or plan.listed == list(code.listed or []):
        return plan, None
    return plan, CHANGES.intend(conn, code, "relist", by, {
        "values": {"listed": plan.listed, "last_error": ""}, "users": plan.listed})


def _relist(ws: Workspace, intent: Intent) -> bool:
    """Send a recorded relist; whether WeCom took it (a refusal lands in ``last_error``)."""
    users = intent.change["users"]
    try:
        CHANGES.send(ws, intent,
                     lambda: wecom(ws).client.update_contact_way(intent.config_id, user=users),
                     refused=lambda exc: member_problem(exc, users), note=True)
    except SiyuError as exc:
        log.error("live code %s: could not re-list members: %s", intent.code_id, exc)
        return False
    return True


def replan(ws: Workspace, code_id: int, now: datetime | None = None) -> Plan | None:
    """Re-plan one code now (after an arrival or a settings change, at a shift boundary) and
    give WeCom the new member list when it changed — after the commit, never during it.

    :return: the plan, or ``None`` for a code that is not active or has a change pending.
    """
    now = now or local_now(ws)
    plan = None
    for _ in range(MAX_ROUNDS):
        CHANGES.reconcile(ws, code_id)
        with ws.engine.begin() as conn:
            code = _lock(conn, code_id)
            if code is None:
                return None
            plan, intent = _intend_relist(conn, code, now, ws.principal.name)
        if intent is None or not _relist(ws, intent):
            break
    return plan


def replan_due(ws: Workspace, now: datetime | None = None) -> int:
    """Re-plan the active codes whose ``next_change_at`` has passed; returns how many."""
    now = now or local_now(ws)
    with ws.engine.connect() as conn:
        due = conn.execute(sa.select(CODES.c.id).where(
            CODES.c.status == "active", CODES.c.next_change_at <= now)).scalars().all()
    for code_id in due:
        replan(ws, code_id, now)
    return len(due)


class CodeChanges(Changes):
    """:class:`Changes` of staff live codes (「联系我」 codes)."""

    table = CODES
    noun = "live code"
    audit = "livecode"

    def lock(self, conn: sa.Connection, code_id: int) -> Any:
        return _lock(conn, code_id)

    def apply(self, conn: sa.Connection, row: Any, change: dict[str, Any]) -> None:
        super().apply(conn, row, change)
        if change.get("members") is not None:
            store_members(conn, row.id, change["members"])

    def discard(self, conn: sa.Connection, row: Any) -> None:
        conn.execute(MEMBERS.delete().where(MEMBERS.c.code_id == row.id))
        super().discard(conn, row)

    def ask(self, ws: Workspace, row: Any) -> tuple[bool, dict[str, Any]]:
        client = wecom(ws).client
        if row.pending == "create":
            way = find_contact_way(client, row.state, row.pending_at)
            return (way is not None, {} if way is None else {
                "config_id": way["config_id"], "qr_url": way.get("qr_code", "")})
        try:
            way = client.get_contact_way(row.config_id)["contact_way"]
        except WeComError as exc:
            if exc.errcode != UNKNOWN_CONFIG_ID:
                raise
            return row.pending == "delete", {}
        users = list(way.get("user") or [])
        taken = (row.pending != "delete"
                 and sorted(users) == sorted((row.pending_change or {}).get("users") or []))
        return taken, ({} if taken else {"listed": users})


CHANGES = CodeChanges()


def find_contact_way(client: Any, state: str, since: datetime | None) -> dict[str, Any] | None:
    """The 「联系我」 code with ``state`` created since ``since`` (an hour of clock skew
    allowed), or ``None``: how a create whose answer was lost is found."""
    start = int((since or utcnow()).timestamp()) - 3600
    cursor = None
    while True:
        page = client.list_contact_way(start_time=start, cursor=cursor, limit=1000)
        for item in page.get("contact_way") or []:
            way = client.get_contact_way(item["config_id"])["contact_way"]
            if way.get("state") == state:
                return way
        cursor = page.get("next_cursor")
        if not cursor:
            return None


def store_members(conn: sa.Connection, code_id: int, rows: list[dict[str, Any]]) -> None:
    """Replace the code's members; a member who stays keeps its count in the current round."""
    kept = dict(conn.execute(sa.select(MEMBERS.c.userid, MEMBERS.c.round_adds)
                             .where(MEMBERS.c.code_id == code_id)).all())
    conn.execute(MEMBERS.delete().where(MEMBERS.c.code_id == code_id))
    conn.execute(MEMBERS.insert(), [{**r, "code_id": code_id,
                                     "round_adds": kept.get(r["userid"], 0)} for r in rows])


# -- arrivals -----------------------------------------------------------------------------

def _record(ws: Workspace, contact: ContactRow, state: str, userid: str,
            now: datetime) -> tuple[Any, int | None]:
    """Store the arrival and count it; returns ``(code row, add id)``."""
    at = contact.added_at or utcnow()
    with ws.engine.begin() as conn:
        code_id = conn.execute(sa.select(CODES.c.id).where(CODES.c.state == state)
                               .order_by(CODES.c.id.desc())).scalar()
        code = _lock(conn, code_id) if code_id is not None else None
        added = conn.execute(insert_for(conn, ADDS).values(
            code_id=code_id, state=state, contact_id=contact.id, userid=userid, at=at,
            welcome="pending", reason="").on_conflict_do_nothing().returning(ADDS.c.id)).scalar()
        if code is None or added is None:
            return code, added
        day = now.date().isoformat()
        conn.execute(insert_for(conn, DAYS).values(code_id=code.id, userid=userid, day=day,
                                                   adds=1).on_conflict_do_update(
            index_elements=["code_id", "userid", "day"], set_={"adds": DAYS.c.adds + 1}))
        conn.execute(MEMBERS.update().where(MEMBERS.c.code_id == code.id,
                                            MEMBERS.c.userid == userid)
                     .values(round_adds=MEMBERS.c.round_adds + 1))
    return code, added


def _finish(ws: Workspace, add_id: int, status: str, notes: Sequence[Note] = (),
            latency_ms: int | None = None) -> None:
    """Store how an arrival's welcome went, with its notes (see :data:`ARRIVAL_NOTES`)."""
    with ws.engine.begin() as conn:
        conn.execute(ADDS.update().where(ADDS.c.id == add_id).values(
            welcome=status, reason=store_notes(notes, ARRIVAL_NOTES, MAX_NOTE),
            latency_ms=latency_ms))


def _names(ws: Workspace, contact: ContactRow, code: Any) -> tuple[str, dict[str, str]]:
    """The owner's userid and the placeholder values for this arrival."""
    with ws.engine.connect() as conn:
        staff = conn.execute(sa.select(Staff.userid, Staff.name, Staff.store_id)
                             .where(Staff.id == contact.owner_id)).first()
        store_id = code.store_id if code is not None and code.store_id else (
            staff.store_id if staff else None)
        store = conn.execute(sa.select(Store.name).where(Store.id == store_id)).scalar() \
            if store_id else None
    return (staff.userid if staff else "",
            {"nickname": contact.name or "", "staff": staff.name if staff else "",
             "store": store or ""})


def handle_added(ws: Workspace, contact: ContactRow, via: str) -> None:
    """Everything a live-code arrival needs: record, count, re-list, greet, tag, remark.

    An unknown state is recorded as an unattributed arrival (the contact stays stored and
    assigned by the WeCom plugin); a replayed arrival changes nothing twice.
    """
    now = local_now(ws)
    userid, values = _names(ws, contact, None)
    code, add_id = _record(ws, contact, via, userid, now)
    if add_id is None:
        return
    if code is None:
        log.warning("customer %s arrived with unknown live-code state %r; recorded "
                    "unattributed, owner %s", contact.external_userid, via, userid)
        _finish(ws, add_id, "none", [("unknown_state", {"state": via, "userid": userid})])
        return
    replan(ws, code.id, now)
    userid, values = _names(ws, contact, code)
    _welcome(ws, code, contact, userid, values, add_id, now)
    _tag_and_remark(ws, code, contact, userid, values)


def _welcome(ws: Workspace, code: Any, contact: ContactRow, userid: str,
             values: dict[str, str], add_id: int, now: datetime) -> None:
    config = code.welcome or {}
    text, attachments = welcomes.choose(config, now)
    if not text and not attachments:
        _finish(ws, add_id, "none", [("no_welcome", {})])
        return
    from siyu.plugins.livecodes.groups import invite_attachments  # groups imports engine

    attachments = invite_attachments(ws, code.id, attachments)
    service = wecom(ws)
    welcome_code = service.take_welcome_code(contact.external_userid or "", userid)
    if welcome_code is None:
        _fallback(ws, config, contact, userid, values, add_id)
        return
    body: dict[str, Any] = {}
    if text:
        body["text"] = welcomes.fill(text, values)
    if attachments:
        body["attachments"] = attachments
    try:
        service.client.send_welcome_msg(welcome_code, **body)
    except WeComError as exc:
        key = WELCOME_NOT_RETRIED.get(exc.errcode or 0, "welcome_refused")
        _finish(ws, add_id, "failed", [(key, {"errcode": exc.errcode})])
        return
    added_at = contact.added_at or utcnow()
    latency = max(0, int((time.time() - added_at.timestamp()) * 1000))
    _finish(ws, add_id, "sent", (), latency)


def _fallback(ws: Workspace, config: dict, contact: ContactRow, userid: str,
              values: dict[str, str], add_id: int) -> None:
    notes: list[Note] = [("no_welcome_code", {})]
    text = config.get("fallback")
    if text and contact.external_userid:
        try:
            answer = wecom(ws).client.add_msg_template(
                chat_type="single", external_userid=[contact.external_userid], sender=userid,
                text=welcomes.fill(text, values))
            notes.append(("fallback_sent", {"msgid": str(answer.get("msgid", "")),
                                            "userid": userid}))
        except WeComError as exc:
            notes.append(("fallback_refused", {"errcode": exc.errcode}))
    _finish(ws, add_id, "none", notes)


def corp_tag_ids(ws: Workspace, names: list[str]) -> list[str]:
    """WeCom corp tag ids of local tags ``names`` ("group/name"), creating missing corp
    tags with add_corp_tag and caching the ids on the local tag and group."""
    client = wecom(ws).client
    ids = []
    for full in names:
        group_name, _, name = full.partition("/")
        with ws.engine.connect() as conn:
            row = conn.execute(sa.select(Tag.id, Tag.wecom_tag_id, TagGroup.id.label("gid"),
                                         TagGroup.wecom_group_id)
                               .join(TagGroup, Tag.group_id == TagGroup.id)
                               .where(TagGroup.name == group_name, Tag.name == name)).first()
        if row is None:
            continue
        tag_id, group_id = row.wecom_tag_id, row.wecom_group_id
        if not tag_id:
            tag_id, group_id = _create_corp_tag(client, group_name, name, group_id)
            with ws.engine.begin() as conn:
                conn.execute(sa.update(Tag).where(Tag.id == row.id)
                             .values(wecom_tag_id=tag_id))
                conn.execute(sa.update(TagGroup).where(TagGroup.id == row.gid)
                             .values(wecom_group_id=group_id))
        ids.append(tag_id)
    return ids


def _create_corp_tag(client: Any, group_name: str, name: str,
                     group_id: str | None) -> tuple[str, str]:
    try:
        kwargs = {"group_id": group_id} if group_id else {"group_name": group_name}
        group = client.add_corp_tag([{"name": name}], **kwargs)["tag_group"]
        tag = next(t for t in group["tag"] if t["name"] == name)
        return tag["id"], group["group_id"]
    except WeComError as exc:
        if exc.errcode != 40071:  # 40071: it exists already; find it
            raise
    for group in client.get_corp_tag_list():
        if group["group_name"] == group_name:
            for tag in group.get("tag", []):
                if tag["name"] == name:
                    return tag["id"], group["group_id"]
    raise SiyuError(_("WeCom says tag {group}/{name} exists but does not list it",
                      group=group_name, name=name))


def _tag_and_remark(ws: Workspace, code: Any, contact: ContactRow, userid: str,
                    values: dict[str, str]) -> None:
    tags = list(code.tags or [])
    fields: dict[str, Any] = {"source_channel": code.channel} if code.channel else {}
    remark = welcomes.fill(code.remark_template, values)[:30]
    if remark:
        fields["remark"] = remark
    if fields and contact.external_userid:
        ws.contacts.upsert(contact.external_userid, notify=False, **fields)
    if tags:
        ws.tags.tag([contact.id], tags, source="livecodes", create=True)
    if not contact.external_userid or not userid:
        return
    client = wecom(ws).client
    try:
        if tags:
            ids = corp_tag_ids(ws, tags)
            if ids:
                client.mark_tag(userid, contact.external_userid, add_tag=ids)
        if remark:
            client.remark(userid, contact.external_userid, remark=remark)
    except SiyuError as exc:
        log.error("live code %s: tags/remark for %s not applied in WeCom: %s", code.id,
                  contact.external_userid, exc)
        with ws.engine.begin() as conn:
            conn.execute(CODES.update().where(CODES.c.id == code.id)
                         .values(last_error=str(exc)[:1000]))

