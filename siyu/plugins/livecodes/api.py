"""The notebook door to live codes: create, change, pause, delete, list, preview, arrivals.

Every function takes the Workspace first and acts as its principal (``data.write`` to
change codes, ``data.read`` to read them). WeCom refusals come back as
:class:`~siyu.core.errors.SiyuError` naming the member and the fix.

Pausing: WeCom cannot hold a code with no members, and deleting the 「联系我」 would kill the
QR code already printed on posters. A paused code therefore lists only its backup staff:
customers who still scan are served by them and recorded, and rotation stops until
:func:`resume_code`. A code without backup staff cannot be paused (delete it instead).

Changes reach WeCom between transactions, never inside one: the change is recorded on the
code and committed, WeCom is called, then its answer is stored. A second change of the same
code waits for the first; a change whose answer was lost is settled by asking WeCom before
the code changes again (see :mod:`siyu.plugins.livecodes.changes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes import engine
from siyu.plugins.livecodes.checks import check_codes, problems, unknown_states  # noqa: F401
from siyu.plugins.livecodes.engine import ADDS, CHANGES, CODES, DAYS, MEMBERS, PREFIX
from siyu.plugins.livecodes.models import STRATEGIES
from siyu.plugins.livecodes.routing import Member, check_slots, plan_members
from siyu.plugins.livecodes.welcome import check_welcome
from siyu.plugins.wecom.client import MAX_CONTACT_WAY_USERS, MAX_STATE
from siyu.plugins.wecom.errors import WeComError, explain
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import Store
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.plugins.livecodes.changes import Intent

_ = translator("siyu.plugins.livecodes")

__all__ = ["adds_df", "create_code", "delete_code", "get_code", "list_codes", "merge_members",
           "pause_code", "preview", "resume_code", "update_code"]

MAX_TAG_PART = 30
#: A code's status as messages name it (the stored values are these English words).
STATUS_WORDS = {"active": _.lazy("active"), "paused": _.lazy("paused"),
                "deleted": _.lazy("deleted")}


def status_word(status: str) -> str:
    """A code's stored ``status`` as a word of the reader's language (``"paused"`` →
    ``"已暂停"``); an unknown value as it is."""
    return str(STATUS_WORDS.get(status, status))


def _members(members: Iterable[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for position, item in enumerate(members):
        spec = {"userid": item} if isinstance(item, str) else dict(item)
        userid = str(spec.get("userid", "")).strip()
        if not userid:
            raise ValidationError(_("member {item!r} has no userid", item=item))
        weight, cap = int(spec.get("weight", 1)), spec.get("daily_cap")
        if weight < 0 or (cap is not None and int(cap) < 0):
            raise ValidationError(_("member {userid!r}: weight and daily_cap must be >= 0",
                                    userid=userid))
        rows.append({"userid": userid, "position": position, "weight": weight,
                     "daily_cap": None if cap is None else int(cap),
                     "slots": check_slots(spec.get("slots") or []), "round_adds": 0})
    seen = [r["userid"] for r in rows]
    dupes = sorted({u for u in seen if seen.count(u) > 1})
    if dupes:
        raise ValidationError(_("member(s) {members} listed twice", members=", ".join(dupes)))
    if not rows:
        raise ValidationError(_("a live code needs at least one member"))
    if len(rows) > MAX_CONTACT_WAY_USERS:
        raise ValidationError(_("{count} members on one code: WeCom refuses more than "
                                "{limit} (41041: {reason})", count=len(rows),
                                limit=MAX_CONTACT_WAY_USERS, reason=explain(41041)))
    return rows


def _tags(tags: Iterable[str]) -> list[str]:
    out = []
    for full in tags:
        group, _slash, name = str(full).partition("/")
        if not name:
            group, name = "渠道", group
        group, name = group.strip(), name.strip()
        if not group or not name or max(len(group), len(name)) > MAX_TAG_PART:
            raise ValidationError(_("tag {tag!r} must be 'group/name', each part 1-{limit} "
                                    "characters (WeCom's limit)", tag=full,
                                    limit=MAX_TAG_PART))
        out.append(f"{group}/{name}")
    return list(dict.fromkeys(out))


def _settings(ws: Workspace, given: dict[str, Any]) -> dict[str, Any]:
    """Validate the code settings present in ``given``; returns column values."""
    values: dict[str, Any] = {}
    if "name" in given:
        if not str(given["name"]).strip():
            raise ValidationError(_("a live code needs a name"))
        values["name"] = str(given["name"]).strip()[:200]
    if "strategy" in given:
        if given["strategy"] not in STRATEGIES:
            raise ValidationError(_("unknown strategy {strategy!r}; use {strategies}",
                                    strategy=given["strategy"],
                                    strategies=", ".join(STRATEGIES)))
        values["strategy"] = given["strategy"]
    for key in ("daily_cap", "round_cap"):
        if key in given:
            if given[key] is not None and int(given[key]) < 1:
                raise ValidationError(_("{key} must be at least 1 (or None for no cap)",
                                        key=key))
            values[key] = None if given[key] is None else int(given[key])
    if "channel" in given:
        values["channel"] = str(given["channel"] or "")[:100]
    if "tags" in given:
        values["tags"] = _tags(given["tags"] or [])
    if "welcome" in given:
        values["welcome"] = check_welcome(given["welcome"])
    if "remark" in given:
        values["remark_template"] = str(given["remark"] or "")[:200]
    if "backup" in given:
        backup = [str(u) for u in dict.fromkeys(given["backup"] or [])]
        if len(backup) > MAX_CONTACT_WAY_USERS:
            raise ValidationError(_("{count} backup staff: at most {limit} (41041: "
                                    "{reason})", count=len(backup),
                                    limit=MAX_CONTACT_WAY_USERS, reason=explain(41041)))
        values["backup"] = backup
    if "store" in given:
        values["store_id"] = None
        if given["store"]:
            with ws.engine.connect() as conn:
                values["store_id"] = conn.execute(sa.select(Store.id).where(
                    Store.code == given["store"])).scalar()
            if values["store_id"] is None:
                raise NotFound(_("unknown store {store!r}; add it with ws.stores.upsert "
                                 "first", store=given["store"]))
    return values


def _check_state(state: str) -> str:
    if not state.startswith(PREFIX):
        raise ValidationError(_("state {state!r} must start with {prefix!r} (the live-code "
                                "namespace)", state=state, prefix=PREFIX))
    if len(state) > MAX_STATE:
        raise ValidationError(_("state {state!r} is {length} characters; WeCom keeps at "
                                "most {limit}. Use a shorter one", state=state,
                                length=len(state), limit=MAX_STATE))
    return state


def _code_id(ws: Workspace, code: int | str) -> int:
    column = CODES.c.id if isinstance(code, int) else CODES.c.state
    with ws.engine.connect() as conn:
        found = conn.execute(sa.select(CODES.c.id).where(column == code)).scalar()
    if found is None:
        raise NotFound(_("no live code {code!r}; see list_codes(ws)", code=code))
    return found


def _send_members(ws: Workspace, intent: Intent, userids: list[str]) -> None:
    """Send a recorded change of the code's member list to WeCom, then store the outcome
    (see :class:`~siyu.plugins.livecodes.changes.Changes`)."""
    CHANGES.send(ws, intent,
                 lambda: wecom(ws).client.update_contact_way(intent.config_id, user=userids),
                 refused=lambda exc: engine.member_problem(exc, userids))


def _target(conn: sa.Connection, row: Any, values: dict[str, Any],
            rows: list[dict[str, Any]] | None, now: datetime) -> list[str]:
    """Who WeCom should list once ``values`` and the member ``rows`` are stored: the plan
    of an active code, the backup staff of a paused one."""
    code = SimpleNamespace(**{**row._mapping, **values})
    if code.status != "active":
        return list(code.backup or [])
    members = (engine.members_of(conn, row.id) if rows is None else
               [Member(r["userid"], r["weight"], r["daily_cap"], tuple(r["slots"]))
                for r in rows])
    counts = engine.counters_of(conn, row.id, now.date().isoformat())
    return plan_members(engine.rules_of(code), members, counts, now).listed


def create_code(ws: Workspace, name: str, members: Iterable[str | Mapping[str, Any]], *,
                strategy: str = "round_robin", channel: str = "", tags: Iterable[str] = (),
                welcome: Mapping[str, Any] | None = None, backup: Iterable[str] = (),
                daily_cap: int | None = None, round_cap: int | None = None,
                remark: str = "", store: str | None = None,
                state: str | None = None) -> dict[str, Any]:
    """Create a staff live code in WeCom (a multi-person 「联系我」 QR code) and here.

    :param members: userids, or dicts ``{"userid", "weight", "daily_cap", "slots"}``.
    :param strategy: ``round_robin``, ``weighted``, ``least_loaded`` or ``schedule``.
    :param channel: the contacts' ``source_channel``.
    :param tags: ``"group/name"`` tags put on every arriving customer, here and in WeCom.
    :param welcome: see :mod:`siyu.plugins.livecodes.welcome`.
    :param backup: userids who take customers when every member is capped or off duty.
    :param daily_cap: default per-member adds per local day; ``round_cap`` adds per round.
    :param remark: remark template for the customer (placeholders as in the welcome).
    :param store: store code the code belongs to.
    :param state: a custom state in the ``lc:`` namespace (default ``lc:<id>``).
    :return: the code as :func:`get_code` shows it.
    :raises ValidationError: a bad setting, a state over 30 characters, over 100 members.
    :raises SiyuError: WeCom refused a member (41054 not activated, 60011 no permission).
    """
    ws.principal.require("data.write")
    values = _settings(ws, {"name": name, "strategy": strategy, "channel": channel,
                            "tags": tags, "welcome": welcome, "backup": backup,
                            "daily_cap": daily_cap, "round_cap": round_cap,
                            "remark": remark, "store": store})
    rows = _members(members)
    if state is not None:
        _check_state(state)
    now = engine.local_now(ws)
    with ws.engine.begin() as conn:
        if state is not None and conn.execute(sa.select(CODES.c.id).where(
                CODES.c.state == state, CODES.c.status != "deleted")).first():
            raise ValidationError(_("state {state!r} is already used by another live code",
                                    state=state))
        code_id = conn.execute(CODES.insert().values(
            state="", config_id="", qr_url="", status="active", last_error="",
            created_at=utcnow(), updated_at=utcnow(), **values)).inserted_primary_key[0]
        conn.execute(MEMBERS.insert(), [{**r, "code_id": code_id} for r in rows])
        state = state or _check_state(f"{PREFIX}{code_id}")
        conn.execute(CODES.update().where(CODES.c.id == code_id).values(state=state))
        code = conn.execute(sa.select(CODES).where(CODES.c.id == code_id)).first()
        plan = engine.plan_for(conn, code, now)
        conn.execute(CODES.update().where(CODES.c.id == code_id)
                     .values(next_change_at=plan.next_change_at))
        # the row reserves the state; WeCom is called after the commit
        intent = CHANGES.intend(conn, code, "create", ws.principal.name,
                                {"values": {"listed": plan.listed}, "users": plan.listed})
    CHANGES.send(ws, intent,
                 lambda: wecom(ws).client.add_contact_way(
                     type=2, scene=2, state=state, user=plan.listed,
                     remark=values["name"][:30], skip_verify=True),
                 refused=lambda exc: engine.member_problem(exc, plan.listed),
                 outcome=lambda answer: {"config_id": answer["config_id"],
                                         "qr_url": answer.get("qr_code", "")})
    ws.audit("livecode.create", state, {"name": values["name"], "members": len(rows)})
    return get_code(ws, code_id)


def merge_members(current: list[dict[str, Any]], chosen: list[str | dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """The new member list: a member already on the code keeps its weight, cap and shifts
    unless ``chosen`` gives them; new members come as given."""
    kept = {m["userid"]: m for m in current}
    merged = []
    for item in chosen:
        spec = {"userid": item} if isinstance(item, str) else dict(item)
        merged.append({**kept.get(spec["userid"], {}), **spec})
    return merged


def update_code(ws: Workspace, code: int | str, *,
                members: Iterable[str | Mapping[str, Any]] | None = None,
                **changes: Any) -> dict[str, Any]:
    """Change a code's settings (same keywords as :func:`create_code`, except ``state``)
    and re-list its members in WeCom when that changes who is listed.

    :raises NotFound: no such code. :raises ValidationError: a bad setting.
    :raises SiyuError: WeCom refused the new member list (nothing is changed).
    """
    ws.principal.require("data.write")
    unknown = set(changes) - {"name", "strategy", "channel", "tags", "welcome", "backup",
                              "daily_cap", "round_cap", "remark", "store"}
    if unknown:
        raise ValidationError(_("cannot update {fields} of a live code",
                                fields=sorted(unknown)))
    code_id = _code_id(ws, code)
    values = _settings(ws, changes)
    rows = _members(members) if members is not None else None
    now = engine.local_now(ws)

    def prepare(conn: sa.Connection, row: Any) -> Intent | None:
        if row.status == "deleted":
            raise ValidationError(_("live code {state} is deleted; create a new one",
                                    state=row.state))
        target = _target(conn, row, values, rows, now)
        if not target:
            raise ValidationError(_("a paused code needs backup staff"))
        if target == list(row.listed or []):  # WeCom keeps its list: store the change now
            CHANGES.apply(conn, row, {"values": values, "members": rows})
            return None
        return CHANGES.intend(conn, row, "update", ws.principal.name, {
            "values": {**values, "listed": target}, "members": rows, "users": target})

    intent = CHANGES.begin(ws, code_id, prepare)
    if intent is not None:
        _send_members(ws, intent, intent.change["users"])
    saved = get_code(ws, code_id)
    if saved["status"] == "active":
        engine.replan(ws, code_id)
    ws.audit("livecode.update", saved["state"], {"fields": sorted([*values, *(
        ["members"] if rows is not None else [])])})
    return get_code(ws, code_id)


def pause_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """Stop routing to members: only the backup staff stay listed (see the module notes).

    :raises ValidationError: the code has no backup staff.
    """
    ws.principal.require("data.write")
    code_id = _code_id(ws, code)

    def prepare(conn: sa.Connection, row: Any) -> Intent:
        if row.status != "active":
            raise ValidationError(_("live code {state} is {status}, not active",
                                    state=row.state, status=status_word(row.status)))
        backup = list(row.backup or [])
        if not backup:
            raise ValidationError(_("live code {state} has no backup staff: WeCom cannot "
                                    "hold a code without members. Give backup staff "
                                    "(update_code(..., backup=[...])) or delete the code",
                                    state=row.state))
        return CHANGES.intend(conn, row, "pause", ws.principal.name, {
            "values": {"status": "paused", "listed": backup, "next_change_at": None},
            "users": backup})

    intent = CHANGES.begin(ws, code_id, prepare)
    _send_members(ws, intent, intent.change["users"])
    ws.audit("livecode.pause", intent.state)
    return get_code(ws, code_id)


def resume_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """Route to the members again after :func:`pause_code`."""
    ws.principal.require("data.write")
    code_id = _code_id(ws, code)

    def prepare(conn: sa.Connection, row: Any) -> None:
        if row.status != "paused":
            raise ValidationError(_("live code {state} is {status}, not paused",
                                    state=row.state, status=status_word(row.status)))
        conn.execute(CODES.update().where(CODES.c.id == code_id).values(status="active"))

    CHANGES.begin(ws, code_id, prepare)
    engine.replan(ws, code_id)  # lists the members again, after the commit
    resumed = get_code(ws, code_id)
    ws.audit("livecode.resume", resumed["state"])
    return resumed


def delete_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """Delete the 「联系我」 in WeCom (its QR code stops working) and mark the code deleted.
    Arrivals already recorded keep pointing at it."""
    ws.principal.require("data.write")
    code_id = _code_id(ws, code)

    def prepare(conn: sa.Connection, row: Any) -> Intent | None:
        if row.status == "deleted":
            return None
        return CHANGES.intend(conn, row, "delete", ws.principal.name, {
            "values": {"status": "deleted", "listed": [], "next_change_at": None}})

    intent = CHANGES.begin(ws, code_id, prepare)
    if intent is None:
        return get_code(ws, code_id)

    def delete() -> None:
        try:
            wecom(ws).client.del_contact_way(intent.config_id)
        except WeComError as exc:
            if exc.errcode != engine.UNKNOWN_CONFIG_ID:  # already gone in WeCom
                raise

    CHANGES.send(ws, intent, delete)
    ws.audit("livecode.delete", intent.state)
    return get_code(ws, code_id)


def get_code(ws: Workspace, code: int | str) -> dict[str, Any]:
    """One code's settings, members and current WeCom list."""
    ws.principal.require("data.read")
    code_id = _code_id(ws, code)
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(CODES).where(CODES.c.id == code_id)).first()
        members = conn.execute(sa.select(MEMBERS).where(MEMBERS.c.code_id == code_id)
                               .order_by(MEMBERS.c.position)).all()
    data = {k: v for k, v in row._mapping.items() if k not in ("remark_template",)}
    data["remark"] = row.remark_template
    data["members"] = [{"userid": m.userid, "weight": m.weight, "daily_cap": m.daily_cap,
                        "slots": m.slots or []} for m in members]
    return data


def preview(ws: Workspace, code: int | str) -> pd.DataFrame:
    """Who gets the next customer, and why: one row per member and backup staff member,
    listed ones first, with today's adds and the round count."""
    ws.principal.require("data.read")
    code_id = _code_id(ws, code)
    now = engine.local_now(ws)
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(CODES).where(CODES.c.id == code_id)).first()
        counts = engine.counters_of(conn, code_id, now.date().isoformat())
        plan = engine.plan_for(conn, row, now)
    if row.status != "active":
        note = (_("code is paused; backup staff serve") if row.status == "paused" else
                _("code is {status}", status=status_word(row.status)))
        rows = [(u, u in (row.listed or []), note) for u in plan.reasons]
    else:
        rows = plan.explain()
    return pd.DataFrame(
        [{"userid": u, "listed": listed, "reason": reason,
          "adds_today": counts[u].today if u in counts else 0,
          "round_adds": counts[u].round if u in counts else 0} for u, listed, reason in rows],
        columns=["userid", "listed", "reason", "adds_today", "round_adds"])


def adds_df(ws: Workspace, code: int | str | None = None) -> pd.DataFrame:
    """Arrivals through live codes (all, or one code's): code, state, contact, staff, time,
    welcome status, reason and latency. ``reason`` is in the reader's language (it is
    stored as message keys and values, see :func:`~siyu.plugins.livecodes.engine.note_text`)."""
    ws.principal.require("data.read")
    query = (sa.select(ADDS.c.id, ADDS.c.code_id, CODES.c.name.label("code"), ADDS.c.state,
                       ADDS.c.contact_id, ADDS.c.userid, ADDS.c.at, ADDS.c.welcome,
                       ADDS.c.reason, ADDS.c.latency_ms)
             .select_from(ADDS.outerjoin(CODES, ADDS.c.code_id == CODES.c.id))
             .order_by(ADDS.c.id))
    if code is not None:
        query = query.where(ADDS.c.code_id == _code_id(ws, code))
    with ws.engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    frame["reason"] = frame["reason"].map(engine.note_text).astype(object)
    return frame


def list_codes(ws: Workspace) -> pd.DataFrame:
    """Every code with its status, who WeCom lists now, adds today and in total, and the
    p50/p99 welcome latency in milliseconds."""
    ws.principal.require("data.read")
    today = engine.local_now(ws).date().isoformat()
    with ws.engine.connect() as conn:
        codes = pd.read_sql(sa.select(CODES.c.id, CODES.c.name, CODES.c.state,
                                      CODES.c.strategy, CODES.c.channel, CODES.c.status,
                                      CODES.c.listed, CODES.c.qr_url, CODES.c.last_error)
                            .order_by(CODES.c.id), conn)
        members = dict(conn.execute(sa.select(MEMBERS.c.code_id, sa.func.count())
                                    .group_by(MEMBERS.c.code_id)).all())
        day = dict(conn.execute(sa.select(DAYS.c.code_id, sa.func.sum(DAYS.c.adds))
                                .where(DAYS.c.day == today).group_by(DAYS.c.code_id)).all())
        adds = pd.read_sql(sa.select(ADDS.c.code_id, ADDS.c.latency_ms)
                           .where(ADDS.c.code_id.is_not(None)), conn)
    codes["members"] = codes["id"].map(members).fillna(0).astype(int)
    codes["adds_today"] = codes["id"].map(day).fillna(0).astype(int)
    codes["adds_total"] = codes["id"].map(adds.groupby("code_id").size()).fillna(0).astype(int)
    adds["latency_ms"] = pd.to_numeric(adds["latency_ms"], errors="coerce")
    latency = adds.dropna().groupby("code_id")["latency_ms"]
    codes["welcome_p50_ms"] = codes["id"].map(latency.quantile(0.5))
    codes["welcome_p99_ms"] = codes["id"].map(latency.quantile(0.99))
    return codes


# Reports per code, per channel and per staff member (see siyu.plugins.livecodes.reports).
from siyu.plugins.livecodes.reports import channel_report, code_report, staff_load  # noqa: E402

__all__ += ["channel_report", "code_report", "staff_load"]
