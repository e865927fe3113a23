"""Follow relations: which staff members each contact is the friend of, and its owner.

WeCom lets one customer be the friend of several staff members (``follow_user``). Each
relation is a :class:`~siyu.storage.models.ContactFollow` row: added, with the ``state`` of
the add, that member's own remark and tags, and — once it ends — when and by whom
(``"customer"``, ``"staff"`` or ``"transfer"``). A relation that ends is kept; when the same
member adds the customer again the row is revived.

**The owner.** ``contact.owner_id`` is one of the contact's live follows, chosen by the
workspace setting ``contacts.owner_rule``:

- ``"first"`` (default): the member who has been the customer's friend the longest;
- ``"last"``: the member who added the customer most recently;
- ``"livecode"``: the member a code assigned — the most recent live follow whose ``state``
  a plugin claims (a live code's ``lc:…``; see ``ws.state_owner``); when no live follow came
  through a code, as ``"first"``.

A user may choose the owner explicitly (``ws.contacts.set_owner(contact, staff)``): the
choice holds, whatever the rule, until that follow is deleted. The owner is chosen again
whenever the contact's follows change; a contact with no live follow keeps its last owner.
Contacts that never had a follow (imported ones) keep the owner they were given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ConfigError, NotFound, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.services.base import Service
from siyu.storage.dialect import insert_for
from siyu.storage.models import FOLLOW_DELETED_BY, Contact, ContactFollow, Setting, Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sqlmodel import Session

log = logging.getLogger("siyu")

#: The workspace setting that names the owner rule.
OWNER_RULE_SETTING = "contacts.owner_rule"
#: The owner rules, the default first.
OWNER_RULES = ("first", "last", "livecode")
DEFAULT_OWNER_RULE = "first"

#: Columns of ``ws.follows.df()``, in order.
COLUMNS = ("contact_id", "external_userid", "contact", "staff", "staff_name", "owner",
           "added_at", "state", "remark", "tags", "deleted_at", "deleted_by", "pinned")

#: Contacts whose owner is chosen again per statement (keeps ``IN`` lists short).
CHUNK = 500

F = ContactFollow.__table__
C = Contact.__table__
S = Staff.__table__


@dataclass(frozen=True)
class Candidate:
    """A live follow as the owner rule sees it (``staff_id`` may be any key naming the
    member, e.g. a userid)."""

    id: int
    staff_id: Any
    added_at: datetime | None
    state: str = ""
    pinned_at: datetime | None = None


def choose_owner(candidates: Iterable[Candidate], rule: str,
                 coded: Callable[[str], bool]) -> Any:
    """The ``staff_id`` the ``rule`` makes owner among live follows ``candidates``.

    :param coded: whether a follow's ``state`` came from a code (a claimed state prefix).
    :return: ``None`` when there is no candidate.
    """
    live = list(candidates)
    if not live:
        return None
    pinned = [c for c in live if c.pinned_at is not None]
    if pinned:
        return max(pinned, key=lambda c: (c.pinned_at, c.id)).staff_id
    if rule == "livecode":
        codes = [c for c in live if c.state and coded(c.state)]
        if codes:
            return max(codes, key=_latest).staff_id
    if rule == "last":
        return max(live, key=_latest).staff_id
    return min(live, key=lambda c: (c.added_at is None, c.added_at or datetime.min, c.id)
               ).staff_id


def _latest(c: Candidate) -> tuple:
    """Sort key: later adds last; an unknown add time counts as the earliest."""
    return (c.added_at is not None, c.added_at or datetime.min, c.id)


@dataclass(frozen=True)
class Follow:
    """One follow of a contact, as :meth:`FollowsService.of` returns it."""

    contact_id: int
    staff: str
    staff_name: str
    added_at: datetime | None
    state: str
    remark: str
    tags: list[dict[str, Any]]
    deleted_at: datetime | None
    deleted_by: str | None
    owner: bool
    pinned: bool

    @property
    def live(self) -> bool:
        """Whether the member and the customer are still friends."""
        return self.deleted_at is None


@dataclass
class FollowChanges:
    """What :meth:`FollowsService.reconcile` changed."""

    added: int = 0
    revived: int = 0
    updated: int = 0
    deleted: int = 0
    owners: int = 0
    rejoined: list[int] = field(default_factory=list)


class FollowsService(Service):
    """``ws.follows``: the staff members each contact follows, and the owner rule."""

    # -- the rule -------------------------------------------------------------------------

    @property
    def owner_rule(self) -> str:
        """The workspace's owner rule (setting ``contacts.owner_rule``, default ``first``).

        :raises ConfigError: the setting holds something else than one of :data:`OWNER_RULES`.
        """
        with self.ws.engine.connect() as conn:
            return self._rule(conn)

    def rule_in_use(self) -> str:
        """The rule owners are chosen by now: :attr:`owner_rule`, or the default while the
        setting holds an unknown value (logged)."""
        with self.ws.engine.connect() as conn:
            return self._rule(conn, strict=False)

    def _rule(self, conn: sa.Connection, *, strict: bool = True) -> str:
        """The rule; with ``strict=False`` (while writing follows: a callback must not fail
        over a typo) an unknown value is logged and the default rule used."""
        value = conn.execute(sa.select(Setting.__table__.c.value)
                             .where(Setting.__table__.c.key == OWNER_RULE_SETTING)).scalar()
        rule = DEFAULT_OWNER_RULE if value in (None, "") else value
        if rule not in OWNER_RULES:
            if strict:
                raise ConfigError(_("setting {key} is {value!r}; use one of {rules}",
                                    key=OWNER_RULE_SETTING, value=value,
                                    rules=listing(OWNER_RULES)))
            log.warning("setting %s is %r; use one of %s (owners chosen by %r meanwhile)",
                        OWNER_RULE_SETTING, value, ", ".join(OWNER_RULES), DEFAULT_OWNER_RULE)
            return DEFAULT_OWNER_RULE
        return rule

    def set_owner_rule(self, rule: str, *, apply: bool = True) -> int:
        """Store the owner rule and (``apply``) choose every contact's owner again by it.

        :return: how many contacts got another owner.
        :raises ValidationError: an unknown rule.
        """
        if rule not in OWNER_RULES:
            raise ValidationError(_("owner rule {rule!r} is not one of {rules}", rule=rule,
                                    rules=listing(OWNER_RULES)))
        self.ws.settings.set(OWNER_RULE_SETTING, rule)
        return self.recompute_owners() if apply else 0

    def _coded(self, state: str) -> bool:
        return self.ws.state_owner(state) is not None

    # -- reading --------------------------------------------------------------------------

    def _query(self, *, contact: int | str | None = None, staff: str | None = None,
               include_deleted: bool = False) -> sa.Select:
        owner = sa.and_(C.c.owner_id == F.c.staff_id)
        query = (sa.select(F.c.contact_id, C.c.external_userid, C.c.name.label("contact"),
                           S.c.userid.label("staff"), S.c.name.label("staff_name"),
                           sa.case((owner, True), else_=False).label("owner"),
                           F.c.added_at, F.c.state, F.c.remark, F.c.tags, F.c.deleted_at,
                           F.c.deleted_by,
                           F.c.owner_pinned_at.is_not(None).label("pinned"))
                 .select_from(F.join(C, C.c.id == F.c.contact_id)
                              .join(S, S.c.id == F.c.staff_id))
                 .order_by(F.c.contact_id, F.c.added_at.is_(None), F.c.added_at, F.c.id))
        if contact is not None:
            query = query.where(F.c.contact_id == self.ws.contacts.get(contact).id)
        if staff is not None:
            query = query.where(S.c.userid == staff)
        if not include_deleted:
            query = query.where(F.c.deleted_at.is_(None))
        return query

    def df(self, contact: int | str | None = None, staff: str | None = None,
           include_deleted: bool = False) -> pd.DataFrame:
        """Follows as a DataFrame (:data:`COLUMNS`), times in the workspace timezone.

        :param contact: only this contact's (id or external_userid).
        :param staff: only this staff member's (userid).
        :param include_deleted: also the relations that ended.
        :raises NotFound: an unknown contact.
        """
        frame = self._read_df(self._query(contact=contact, staff=staff,
                                          include_deleted=include_deleted),
                              ("added_at", "deleted_at"))
        if not frame.empty:
            frame["owner"] = frame["owner"].astype(bool)
            frame["pinned"] = frame["pinned"].astype(bool)
            frame["tags"] = frame["tags"].map(lambda tags: list(tags or []))
        return frame.reindex(columns=list(COLUMNS))

    def of(self, contact: int | str, *, include_deleted: bool = False) -> list[Follow]:
        """The follows of one contact, the earliest added first.

        :param include_deleted: also the relations that ended.
        :raises NotFound: an unknown contact.
        """
        with self.ws.engine.connect() as conn:
            rows = conn.execute(self._query(contact=contact,
                                            include_deleted=include_deleted)).all()
        return [Follow(r.contact_id, r.staff, r.staff_name, r.added_at, r.state or "",
                       r.remark or "", list(r.tags or []), r.deleted_at, r.deleted_by,
                       bool(r.owner), bool(r.pinned)) for r in rows]

    def count(self, contact: int | str) -> int:
        """How many staff members the contact still follows."""
        contact_id = self.ws.contacts.get(contact).id
        with self.ws.engine.connect() as conn:
            return self._live(conn, contact_id)

    @staticmethod
    def _live(conn: sa.Connection, contact_id: int) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(F).where(
            F.c.contact_id == contact_id, F.c.deleted_at.is_(None))).scalar_one()

    # -- writing one follow (callbacks) ---------------------------------------------------

    def _staff_id(self, conn: sa.Connection, staff: int | str) -> int:
        if isinstance(staff, int):
            return staff
        staff_id = conn.execute(sa.select(S.c.id).where(S.c.userid == staff)).scalar()
        if staff_id is None:
            raise NotFound(_("unknown staff member {staff!r}; add them first "
                             "(ws.staff.upsert)", staff=staff))
        return staff_id

    @staticmethod
    def _row(conn: sa.Connection, contact_id: int, staff_id: int) -> Any:
        return conn.execute(sa.select(F).where(F.c.contact_id == contact_id,
                                               F.c.staff_id == staff_id)).first()

    def added(self, contact_id: int, staff: int | str, *, at: datetime, state: str = "",
              remark: str | None = None, tags: list[dict[str, Any]] | None = None,
              session: Session | None = None) -> str:
        """Record that staff member ``staff`` added the contact at ``at``, then choose the
        owner again.

        :param staff: the staff member's userid (or id).
        :param remark: the member's remark, when known (``None`` keeps the stored one).
        :param tags: the member's tags, when known (``None`` keeps the stored ones).
        :param session: write in the caller's transaction.
        :return: ``"new"``, ``"revived"`` (the relation had ended), ``"live"`` (already
            friends: details updated), or ``"stale"`` (older than the relation's recorded
            end: nothing changed).
        """
        self.ws.principal.require("data.write")
        with self._tx(session) as s:
            conn = s.connection()
            staff_id = self._staff_id(conn, staff)
            values = {"added_at": at, "state": (state or "")[:64], "remark": (remark or "")[:200],
                      "tags": tags, "deleted_at": None, "deleted_by": None,
                      "owner_pinned_at": None}
            inserted = conn.execute(
                insert_for(conn, F).values(contact_id=contact_id, staff_id=staff_id, **values)
                .on_conflict_do_nothing(index_elements=["contact_id", "staff_id"])
                .returning(F.c.id)).first()
            if inserted is not None:
                outcome = "new"
            else:
                row = self._row(conn, contact_id, staff_id)
                if row.deleted_at is not None:
                    if row.deleted_at > at:
                        return "stale"
                    outcome = "revived"
                    if remark is None:
                        values.pop("remark")
                    if tags is None:
                        values.pop("tags")
                else:
                    outcome = "live"
                    values = {"state": values["state"] or row.state}
                    if row.added_at is None or at < row.added_at:
                        values["added_at"] = at
                    if remark is not None:
                        values["remark"] = remark[:200]
                    if tags is not None:
                        values["tags"] = tags
                conn.execute(F.update().where(F.c.id == row.id).values(**values))
            self._choose_owners(s, [contact_id])
        return outcome

    def deleted(self, contact_id: int, staff: int | str, *, at: datetime, by: str,
                session: Session | None = None) -> str:
        """Record that the relation between the contact and ``staff`` ended at ``at``, then
        choose the owner again (an explicit choice of this member ends with it).

        Does not mark the contact removed: the caller does that when no live follow remains
        (see :meth:`live`).

        :param by: ``"customer"``, ``"staff"`` or ``"transfer"``.
        :return: ``"deleted"``; ``"unknown"`` when no add was known (the end is kept, so a
            late add older than it changes nothing); ``"already"`` when it had ended; or
            ``"stale"`` when ``at`` is older than the current relation.
        :raises ValidationError: an unknown ``by``.
        """
        self.ws.principal.require("data.write")
        if by not in FOLLOW_DELETED_BY:
            raise ValidationError(_("follow deleted by {by!r}: use one of {choices}", by=by,
                                    choices=listing(FOLLOW_DELETED_BY)))
        with self._tx(session) as s:
            conn = s.connection()
            staff_id = self._staff_id(conn, staff)
            inserted = conn.execute(
                insert_for(conn, F).values(contact_id=contact_id, staff_id=staff_id,
                                           added_at=None, state="", remark="", tags=None,
                                           deleted_at=at, deleted_by=by)
                .on_conflict_do_nothing(index_elements=["contact_id", "staff_id"])
                .returning(F.c.id)).first()
            if inserted is not None:
                return "unknown"
            row = self._row(conn, contact_id, staff_id)
            if row.deleted_at is not None:
                return "already"
            if row.added_at is not None and row.added_at > at:
                return "stale"
            conn.execute(F.update().where(F.c.id == row.id).values(
                deleted_at=at, deleted_by=by, owner_pinned_at=None))
            self._choose_owners(s, [contact_id])
        return "deleted"

    def edited(self, contact_id: int, staff: int | str, *, remark: str | None = None,
               tags: list[dict[str, Any]] | None = None,
               session: Session | None = None) -> bool:
        """Store the member's new remark and/or tags for the contact.

        :return: whether such a follow exists (nothing is created otherwise).
        """
        self.ws.principal.require("data.write")
        values: dict[str, Any] = {}
        if remark is not None:
            values["remark"] = remark[:200]
        if tags is not None:
            values["tags"] = tags
        with self._tx(session) as s:
            conn = s.connection()
            staff_id = self._staff_id(conn, staff)
            row = self._row(conn, contact_id, staff_id)
            if row is None:
                return False
            if values:
                conn.execute(F.update().where(F.c.id == row.id).values(**values))
        return True

    def live(self, contact_id: int, *, session: Session | None = None) -> int:
        """How many live follows the contact has (in the caller's transaction)."""
        with self._tx(session) as s:
            return self._live(s.connection(), contact_id)

    # -- the owner ------------------------------------------------------------------------

    def set_owner(self, contact: int | str, staff: str, *,
                  session: Session | None = None) -> Contact:
        """Make ``staff`` the contact's owner explicitly; see ``ws.contacts.set_owner``."""
        self.ws.principal.require("data.write")
        with self._tx(session) as s:
            row = self.ws.contacts._find(s, contact)
            conn = s.connection()
            follows = dict(conn.execute(
                sa.select(S.c.userid, F.c.id).join(S, S.c.id == F.c.staff_id)
                .where(F.c.contact_id == row.id, F.c.deleted_at.is_(None))).all())
            name = row.external_userid or row.id
            if staff not in follows:
                raise ValidationError(
                    _("staff member {staff!r} is not a friend of contact {contact!r}, so "
                      "cannot own it; contact {contact!r} follows: {following}", staff=staff,
                      contact=name, following=listing(sorted(follows)) or _("nobody")))
            was = conn.execute(sa.select(S.c.userid).where(S.c.id == row.owner_id)).scalar()
            conn.execute(F.update().where(F.c.contact_id == row.id, F.c.id != follows[staff])
                         .values(owner_pinned_at=None))
            conn.execute(F.update().where(F.c.id == follows[staff])
                         .values(owner_pinned_at=utcnow()))
            self._choose_owners(s, [row.id])
            s.refresh(row)
            self.ws.audit("contact.owner", name, {"owner": staff, "was": was}, session=s)
        return row

    def recompute_owners(self, contacts: Iterable[int] | None = None, *,
                         session: Session | None = None) -> int:
        """Choose the owner of ``contacts`` (ids; default every contact with follows) again by
        the current rule, e.g. after changing ``contacts.owner_rule``.

        :return: how many contacts got another owner.
        """
        self.ws.principal.require("data.write")
        if contacts is None:
            with self.ws.engine.connect() as conn:
                contacts = conn.execute(sa.select(F.c.contact_id).distinct()
                                        .where(F.c.deleted_at.is_(None))).scalars().all()
        ids = sorted(set(contacts))
        changed = 0
        for start in range(0, len(ids), CHUNK * 20):
            with self._tx(session) as s:
                changed += self._choose_owners(s, ids[start:start + CHUNK * 20])
        return changed

    def _choose_owners(self, s: Session, contact_ids: list[int]) -> int:
        """Set the owner of each contact with live follows by the rule, in ``s``'s
        transaction; returns how many changed."""
        conn = s.connection()
        rule = self._rule(conn, strict=False)
        changed: list[tuple[int, int]] = []
        for start in range(0, len(contact_ids), CHUNK):
            chunk = contact_ids[start:start + CHUNK]
            candidates: dict[int, list[Candidate]] = {}
            for r in conn.execute(sa.select(F.c.id, F.c.contact_id, F.c.staff_id, F.c.added_at,
                                            F.c.state, F.c.owner_pinned_at)
                                  .where(F.c.contact_id.in_(chunk), F.c.deleted_at.is_(None))):
                candidates.setdefault(r.contact_id, []).append(
                    Candidate(r.id, r.staff_id, r.added_at, r.state or "", r.owner_pinned_at))
            if not candidates:
                continue
            owners = dict(conn.execute(sa.select(C.c.id, C.c.owner_id)
                                       .where(C.c.id.in_(list(candidates)))).all())
            for contact_id, live in candidates.items():
                owner = choose_owner(live, rule, self._coded)
                if owner is not None and owner != owners.get(contact_id):
                    changed.append((contact_id, owner))
        if changed:
            now = utcnow()
            conn.execute(C.update().where(C.c.id == sa.bindparam("cid"))
                         .values(owner_id=sa.bindparam("owner"), updated_at=now),
                         [{"cid": cid, "owner": owner} for cid, owner in changed])
            _expire(s, {cid for cid, _owner in changed})
        return len(changed)

    # -- a snapshot of whole lists (sync) -------------------------------------------------

    def reconcile(self, staff: list[str], follows: dict[tuple[str, str], dict[str, Any]], *,
                  at: datetime, session: Session | None = None) -> FollowChanges:
        """Make the follows of the staff members ``staff`` what WeCom lists now.

        :param staff: userids whose customer lists ``follows`` holds in full.
        :param follows: ``(external_userid, userid)`` → ``{"added_at", "state", "remark",
            "tags"}`` for every relation WeCom lists for those members (contacts must exist).
        :param at: when the lists were read: the end time of relations that are gone. A
            relation WeCom no longer lists was ended on the member's side (``"staff"``): when
            the customer deletes the member, WeCom keeps listing the relation.
        :return: the counts, and the contacts that had been removed and follow someone again
            (``rejoined``: marked added again, ``on_contact_added`` notified via ``wecom``).
        """
        self.ws.principal.require("data.write")
        changes = FollowChanges()
        with self._tx(session) as s:
            conn = s.connection()
            staff_ids = dict(conn.execute(sa.select(S.c.userid, S.c.id)
                                          .where(S.c.userid.in_(staff))).all()) if staff else {}
            wanted = {(ext, uid): info for (ext, uid), info in follows.items()
                      if uid in staff_ids}
            externals = sorted({ext for ext, _uid in wanted})
            contact_ids: dict[str, int] = {}
            for start in range(0, len(externals), CHUNK):
                contact_ids.update(conn.execute(
                    sa.select(C.c.external_userid, C.c.id)
                    .where(C.c.external_userid.in_(externals[start:start + CHUNK]))).all())
            existing = {(r.contact_id, r.staff_id): r for r in conn.execute(
                sa.select(F).where(F.c.staff_id.in_(list(staff_ids.values()))))
                } if staff_ids else {}
            touched: set[int] = set()
            fresh: set[int] = set()  # contacts with a relation that started
            inserts, updates = [], []
            seen: set[tuple[int, int]] = set()
            for (ext, uid), info in wanted.items():
                if ext not in contact_ids:
                    continue
                key = (contact_ids[ext], staff_ids[uid])
                seen.add(key)
                values = {"added_at": info.get("added_at"),
                          "state": (info.get("state") or "")[:64],
                          "remark": (info.get("remark") or "")[:200]}
                row = existing.get(key)
                if row is None:
                    inserts.append({"contact_id": key[0], "staff_id": key[1],
                                    "tags": info.get("tags"), **values})
                    changes.added += 1
                    fresh.add(key[0])
                    continue
                tags = _merge_tags(row.tags, info.get("tags"))
                added = values["added_at"]
                if row.deleted_at is not None:
                    if added is None or added <= row.deleted_at:
                        continue  # the same relation, ended (a customer's deletion)
                    updates.append({"fid": row.id, **values, "tags": tags})
                    changes.revived += 1
                    fresh.add(key[0])
                    continue
                current = {"added_at": row.added_at or added, "state": values["state"],
                           "remark": values["remark"], "tags": tags}
                before = {"added_at": row.added_at, "state": row.state, "remark": row.remark,
                          "tags": row.tags}
                if current != before:
                    updates.append({"fid": row.id, **current})
                    changes.updated += 1
                    if current["state"] != row.state:
                        touched.add(key[0])
            gone = [row for key, row in existing.items()
                    if row.deleted_at is None and key not in seen]
            if inserts:  # a callback may add one of them meanwhile: it stands
                conn.execute(insert_for(conn, F).on_conflict_do_nothing(
                    index_elements=["contact_id", "staff_id"]), inserts)
            if updates:
                # A revived relation and a live one are written alike: live, with what
                # WeCom lists (bind names differ from the columns', as SQLAlchemy wants).
                conn.execute(F.update().where(F.c.id == sa.bindparam("fid")).values(
                    added_at=sa.bindparam("b_added"), state=sa.bindparam("b_state"),
                    remark=sa.bindparam("b_remark"), tags=sa.bindparam("b_tags"),
                    deleted_at=None, deleted_by=None),
                    [{"fid": u["fid"], "b_added": u["added_at"], "b_state": u["state"],
                      "b_remark": u["remark"], "b_tags": u["tags"]} for u in updates])
            if gone:
                conn.execute(F.update().where(F.c.id.in_([r.id for r in gone]))
                             .values(deleted_at=at, deleted_by="staff", owner_pinned_at=None))
                changes.deleted = len(gone)
                touched.update(r.contact_id for r in gone)
            changes.owners = self._choose_owners(s, sorted(touched | fresh))
            changes.rejoined = self._rejoin(s, sorted(fresh))
        return changes

    def _rejoin(self, s: Session, contact_ids: list[int]) -> list[int]:
        """Contacts among ``contact_ids`` marked removed that have a live follow again: added
        again (at their earliest live follow), ``on_contact_added`` notified via ``wecom``."""
        conn = s.connection()
        rejoined: list[tuple[int, datetime | None]] = []
        for start in range(0, len(contact_ids), CHUNK):
            chunk = contact_ids[start:start + CHUNK]
            rejoined += conn.execute(
                sa.select(C.c.id, sa.func.min(F.c.added_at))
                .join(F, F.c.contact_id == C.c.id)
                .where(C.c.id.in_(chunk), C.c.removed_at.is_not(None),
                       F.c.deleted_at.is_(None))
                .group_by(C.c.id)).all()
        if not rejoined:
            return []
        now = utcnow()
        conn.execute(C.update().where(C.c.id == sa.bindparam("cid")).values(
            removed_at=None, added_at=sa.bindparam("added"), updated_at=now),
            [{"cid": cid, "added": added or now} for cid, added in rejoined])
        ids = [cid for cid, _added in rejoined]
        _expire(s, set(ids))
        self.ws.notify_each("on_contact_added", session=s, refs={"contact": (Contact, ids)},
                            via="wecom")
        return ids

    def unfollowed(self) -> list[int]:
        """Contacts not marked removed that have follows but none live any more (every
        relation ended), e.g. after a sync found them gone from every member's list."""
        live = sa.select(F.c.id).where(F.c.contact_id == C.c.id, F.c.deleted_at.is_(None))
        anything = sa.select(F.c.id).where(F.c.contact_id == C.c.id)
        with self.ws.engine.connect() as conn:
            return conn.execute(sa.select(C.c.id).where(
                C.c.removed_at.is_(None), anything.exists(), ~live.exists())
                .order_by(C.c.id)).scalars().all()


def _merge_tags(stored: Any, listed: Any) -> list[dict[str, Any]] | None:
    """``listed`` (what a sync read) plus the stored personal tags (type 2) a sync cannot
    see: batch/get_by_user lists only corp and rule-group tag ids."""
    if listed is None:
        return stored
    personal = [t for t in (stored or []) if isinstance(t, dict) and t.get("type") == 2]
    return [*listed, *personal]


def _expire(s: Session, contact_ids: set[int]) -> None:
    """Make loaded :class:`Contact` objects in ``s`` read the columns written with SQL."""
    for obj in list(s.identity_map.values()):
        if isinstance(obj, Contact) and obj.id in contact_ids:
            s.expire(obj, ["owner_id", "removed_at", "added_at", "updated_at"])
