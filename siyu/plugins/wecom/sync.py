"""``siyu wecom sync``: staff, corp tags, customers (with follow data and tags) and groups.

Customers come with every member following them: each (customer, member) relation WeCom
lists is a follow (``ws.follows``), relations no longer listed are marked ended, and each
contact's owner is chosen among its live follows by the owner rule (``contacts.owner_rule``).
A contact no member follows any more after a full pass is marked removed.

Resumable: progress is kept in the setting ``wecom.sync.state`` after every committed batch
of 100 staff, so an interrupted sync continues where it stopped. Incremental: contacts are
written through the import path, which leaves unchanged rows untouched. Rate-aware: calls
are paced below WeCom's per-API limit (10,000 a minute per corp per API) and the client
backs off on 45009/45033.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from siyu.core.importing.table import ImportReport
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import Contact, Staff, Tag, TagGroup

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

STATE_SETTING = "wecom.sync.state"
STAGES = ("staff", "tags", "customers", "groups")
BATCH = 100
TAG_GROUP_KIND = "plugin"

Progress = Callable[[str, int, int], None]


class Pacer:
    """Spaces calls so at most ``per_minute`` start in any minute (thread-safe)."""

    def __init__(self, per_minute: int):
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Sleep until the next call may start."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass
class SyncReport:
    """What a sync did, per stage."""

    staff: int = 0
    tags: int = 0
    customers: int = 0
    created: int = 0
    updated: int = 0
    groups: int = 0
    follows: int = 0
    follows_started: int = 0
    follows_ended: int = 0
    removed: int = 0
    resumed_from: str = ""
    stages: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """The figures as numbers (what the audit log keeps; the console labels them in the
        reader's language): the non-zero counts, and where a resumed sync began."""
        figures = {key: value for key, value in asdict(self).items()
                   if key not in ("stages", "resumed_from") and value}
        if self.resumed_from:
            figures["resumed_from"] = self.resumed_from
        return figures

    def summary(self) -> str:
        """One line for people."""
        resumed = f" (resumed at {self.resumed_from})" if self.resumed_from else ""
        return (f"WeCom sync{resumed}: {self.staff} staff, {self.tags} tags, "
                f"{self.customers} customers ({self.created} new, {self.updated} updated, "
                f"{self.removed} removed), {self.follows} follows ({self.follows_started} "
                f"started, {self.follows_ended} ended), {self.groups} groups")


def _noop(stage: str, done: int, total: int) -> None:
    """No progress display."""


def sync(ws: Workspace, *, progress: Progress | None = None, per_minute: int = 5000,
         restart: bool = False) -> SyncReport:
    """Pull staff, corp tags, customers and groups from WeCom into the workspace.

    :param progress: ``progress(stage, done, total)`` after each step.
    :param per_minute: most calls a minute to any one API (half WeCom's documented limit).
    :param restart: ignore a previous interrupted run and start from the beginning.
    :raises ConfigError: WeCom is not configured.
    :raises WeComError: WeCom refused a call (e.g. 48002 no permission), after retries.
    """
    progress = progress or _noop
    pacer = Pacer(per_minute)
    state = {} if restart else dict(ws.settings.get(STATE_SETTING) or {})
    report = SyncReport(resumed_from=state.get("stage", ""))
    start = STAGES.index(state["stage"]) if state.get("stage") in STAGES else 0
    for stage in STAGES[start:]:
        ws.settings.set(STATE_SETTING, {**state, "stage": stage})
        if stage == "staff":
            report.staff = sync_staff(ws, pacer)
        elif stage == "tags":
            report.tags = sync_corp_tags(ws, pacer)
        elif stage == "customers":
            _sync_customers(ws, pacer, state, report, progress)
        else:
            report.groups = sync_groups(ws, pacer, progress)
        report.stages.append(stage)
        progress(stage, 1, 1)
        state = {}
    ws.settings.set(STATE_SETTING, {})
    ws.settings.set("wecom.sync.last", {"at": datetime.now(UTC).isoformat(),
                                        "summary": report.summary()})
    ws.audit("wecom.sync", "", report.counts())
    return report


def sync_staff(ws: Workspace, pacer: Pacer | None = None) -> int:
    """Make every member with customer contact enabled a staff member; returns the count."""
    if pacer:
        pacer.wait()
    userids = wecom(ws).client.get_follow_user_list()
    with ws.engine.connect() as conn:
        known = set(conn.execute(sa.select(Staff.userid)).scalars())
    for userid in userids:
        if userid not in known:
            ws.staff.upsert(userid, userid)
    return len(userids)


def sync_corp_tags(ws: Workspace, pacer: Pacer | None = None) -> int:
    """Mirror the corp's tag groups and tags (with their WeCom ids); returns the tag count."""
    if pacer:
        pacer.wait()
    groups = wecom(ws).client.get_corp_tag_list()
    count = 0
    for group in groups:
        local = ws.tags.create_group(group["group_name"], kind=TAG_GROUP_KIND, source="wecom")
        with ws.engine.begin() as conn:
            conn.execute(sa.update(TagGroup).where(TagGroup.id == local.id)
                         .values(wecom_group_id=group["group_id"]))
        for tag in group.get("tag", []):
            if tag.get("deleted"):
                continue
            created = ws.tags.create(f"{group['group_name']}/{tag['name']}")
            with ws.engine.begin() as conn:
                conn.execute(sa.update(Tag).where(Tag.id == created.id)
                             .values(wecom_tag_id=tag["id"]))
            count += 1
    return count


def _tag_names_by_wecom_id(ws: Workspace) -> dict[str, str]:
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(Tag.wecom_tag_id, TagGroup.name, Tag.name)
                            .join(TagGroup, Tag.group_id == TagGroup.id)
                            .where(Tag.wecom_tag_id.is_not(None))).all()
    return {tag_id: f"{group}/{name}" for tag_id, group, name in rows}


def _sync_customers(ws: Workspace, pacer: Pacer, state: dict[str, Any], report: SyncReport,
                    progress: Progress) -> None:
    client = wecom(ws).client
    # Only members WeCom has with customer contact enabled: staff imported from an ERP or
    # a sample file may not exist in WeCom (batch/get_by_user refuses them with 60111).
    pacer.wait()
    follow = set(client.get_follow_user_list())
    with ws.engine.connect() as conn:
        staff = sorted(u for u in conn.execute(sa.select(Staff.userid)
                                               .where(Staff.status == "active")).scalars()
                       if u in follow)
    tag_names = _tag_names_by_wecom_id(ws)
    batches = [staff[i:i + BATCH] for i in range(0, len(staff), BATCH)]
    done = int(state.get("batch", 0))
    for index in range(done, len(batches)):
        customers: dict[str, dict[str, Any]] = {}
        follows: dict[tuple[str, str], dict[str, Any]] = {}
        tags: dict[str, set[str]] = {}
        unlicensed: set[str] = set()
        cursor, seen = "", set()
        read_at = datetime.now(UTC)
        while True:
            pacer.wait()
            page = client.batch_get_by_user(batches[index], cursor=cursor, limit=100)
            for entry in page.get("external_contact_list", []):
                _merge(customers, follows, tags, entry, tag_names)
            unlicensed.update((page.get("fail_info") or {}).get("unlicensed_userid_list")
                              or [])
            cursor = page.get("next_cursor") or ""
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        _write_customers(ws, customers, follows, tags, report)
        # An unlicensed member's customers are not listed: their follows stay as they are.
        complete = [u for u in batches[index] if u not in unlicensed]
        changes = ws.follows.reconcile(complete, follows, at=read_at)
        report.follows += len(follows)
        report.follows_started += changes.added + changes.revived
        report.follows_ended += changes.deleted
        ws.settings.set(STATE_SETTING, {"stage": "customers", "batch": index + 1})
        progress("customers", index + 1, len(batches))
    report.removed += _remove_unfollowed(ws)


def _remove_unfollowed(ws: Workspace) -> int:
    """Mark removed the contacts whose every follow has ended (gone from every member's
    list); returns how many."""
    now = datetime.now(UTC)
    ids = ws.follows.unfollowed()
    for contact_id in ids:
        ws.contacts.remove(contact_id, by="staff", at=now)
    return len(ids)


def _merge(customers: dict, follows: dict, tags: dict, entry: dict[str, Any],
           tag_names: dict) -> None:
    contact, follow = entry.get("external_contact", {}), entry.get("follow_info", {})
    external_userid = contact.get("external_userid")
    if not external_userid:
        return
    added = datetime.fromtimestamp(int(follow.get("createtime", 0) or 0), UTC)
    if external_userid not in customers:
        customers[external_userid] = {
            "external_userid": external_userid, "name": contact.get("name", ""),
            "gender": str(contact.get("gender", 0)), "unionid": contact.get("unionid", "")}
    tag_ids = follow.get("tag_id", []) or []
    if follow.get("userid"):
        follows[(external_userid, follow["userid"])] = {
            "added_at": added, "state": follow.get("state") or "",
            "remark": (follow.get("remark") or "")[:200],
            "tags": [{"id": t, "name": tag_names.get(t, ""), "type": None} for t in tag_ids]}
    for tag_id in tag_ids:
        if tag_id in tag_names:
            tags.setdefault(tag_names[tag_id], set()).add(external_userid)


def _current(ws: Workspace, externals: list[str]) -> dict[str, tuple[str, str]]:
    """external_userid → (owner userid, remark) of the contacts that exist."""
    owner = Staff.__table__.alias("owner_staff")
    found: dict[str, tuple[str, str]] = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(externals), 1000):
            found.update((ext, (userid or "", remark or "")) for ext, userid, remark in
                         conn.execute(sa.select(Contact.external_userid, owner.c.userid,
                                                Contact.remark)
                                      .outerjoin(owner, owner.c.id == Contact.owner_id)
                                      .where(Contact.external_userid.in_(
                                          externals[start:start + 1000]))))
    return found


def _write_customers(ws: Workspace, customers: dict, follows: dict,
                     tags: dict[str, set[str]], report: SyncReport) -> None:
    """Write the batch's customers through the import path: a new contact is added at its
    earliest follow, owned by whom the owner rule picks among the listed follows, with that
    member's remark; an existing one keeps its owner here (the follows choose it again right
    after) and takes its owner's remark when WeCom listed it."""
    from siyu.core.importing.contacts import import_contact_frame
    from siyu.core.services.follows import Candidate, choose_owner

    if not customers:
        return
    by_customer: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (ext, userid), info in follows.items():
        by_customer.setdefault(ext, []).append((userid, info))
    current = _current(ws, sorted(customers))
    rule = ws.follows.rule_in_use()
    rows = []
    for ext, values in customers.items():
        listed = by_customer.get(ext, [])
        remarks = {userid: info["remark"] for userid, info in listed}
        if ext in current:
            owner, remark = current[ext]
            remark = remarks.get(owner, remark)
            added = ""
        else:
            owner = choose_owner(
                [Candidate(i, userid, info["added_at"], info["state"])
                 for i, (userid, info) in enumerate(listed)], rule,
                lambda state: ws.state_owner(state) is not None) or ""
            remark = remarks.get(owner, "")
            added = min(info["added_at"] for _userid, info in listed).isoformat() \
                if listed else ""
        rows.append({**values, "owner": owner, "remark": remark, "added_at": added})
    frame = pd.DataFrame(rows).astype(str)
    frame.index = range(1, len(frame) + 1)
    part = ImportReport("contacts", "wecom", rows=len(frame))
    import_contact_frame(ws, frame, part, skip_bad_rows=True, progress=False, via="wecom")
    report.customers += part.rows
    report.created += part.created
    report.updated += part.updated
    for tag, members in sorted(tags.items()):
        ws.tags.tag(sorted(members), [tag], source="wecom")


def sync_groups(ws: Workspace, pacer: Pacer | None = None,
                progress: Progress | None = None) -> int:
    """Mirror every customer group chat and its members; returns the group count."""
    from siyu.plugins.wecom.apply import refresh_group

    client = wecom(ws).client
    chat_ids: list[str] = []
    cursor = None
    while True:
        if pacer:
            pacer.wait()
        page = client.groupchat_list(1000, cursor=cursor)
        chat_ids += [g["chat_id"] for g in page.get("group_chat_list", [])]
        cursor = page.get("next_cursor") or None
        if not cursor:
            break
    for index, chat_id in enumerate(chat_ids, 1):
        if pacer:
            pacer.wait()
        refresh_group(ws, chat_id)
        if progress:
            progress("groups", index, len(chat_ids))
    return len(chat_ids)


def contact_count(ws: Workspace) -> int:
    """Contacts known by a WeCom external_userid."""
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Contact)
                            .where(Contact.external_userid.is_not(None))).scalar_one()
