"""Tag groups and tags, and tags on contacts."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.services.base import Service
from siyu.core.services.contacts import split_tag_name
from siyu.storage.dialect import insert_for
from siyu.storage.models import Contact, ContactTag, Tag, TagGroup
from siyu.storage.types import utcnow

#: More contacts than this changed at once are notified in bulk notices.
BULK_FROM = 100

TAG_KINDS = ("manual", "auto", "plugin")


class TagsService(Service):
    """``ws.tags``: groups and tags (``"渠道/抖音"``), tagging contacts in bulk."""

    def create_group(self, name: str, *, kind: str = "manual", source: str = "") -> TagGroup:
        """Create the tag group ``name`` (or return it when it exists).

        :param kind: ``manual`` (set by people), ``auto`` (set by rules) or ``plugin``.
        :param source: the plugin that owns a ``plugin`` group.
        """
        self.ws.principal.require("data.write")
        name = (name or "").strip()
        if not name or "/" in name:
            raise ValidationError(_("tag group name {name!r} must be non-empty without '/'",
                                    name=name))
        if kind not in TAG_KINDS:
            raise ValidationError(_("tag kind {kind!r} is not one of {kinds}", kind=kind,
                                    kinds=listing(TAG_KINDS)))
        query = select(TagGroup).where(TagGroup.name == name)
        try:
            with self.ws.session() as s:
                group = s.exec(query).first()
                created = group is None
                if created:
                    group = TagGroup(name=name, kind=kind, source=source)
                    s.add(group)
                    s.flush()
                    s.refresh(group)
        except IntegrityError:  # another writer created it a moment ago: use theirs
            with self.ws.session() as s:
                group, created = s.exec(query).one(), False
        if created:
            self.ws.audit("tag_group.create", name, {"kind": kind})
        return group

    def create(self, full_name: str, *, kind: str = "manual", source: str = "") -> Tag:
        """Create tag ``"group/name"`` (and its group when needed); returns the tag."""
        group_name, name = split_tag_name(full_name)
        if not name:
            raise ValidationError(_("tag {tag!r} has no name after the group", tag=full_name))
        group = self.create_group(group_name, kind=kind, source=source)
        query = select(Tag).where(Tag.group_id == group.id, Tag.name == name)
        try:
            with self.ws.session() as s:
                tag = s.exec(query).first()
                created = tag is None
                if created:
                    tag = Tag(group_id=group.id, name=name)
                    s.add(tag)
                    s.flush()
                    s.refresh(tag)
        except IntegrityError:  # another writer created it a moment ago: use theirs
            with self.ws.session() as s:
                tag, created = s.exec(query).one(), False
        if created:
            self.ws.audit("tag.create", f"{group_name}/{name}")
        return tag

    def delete(self, full_name: str) -> None:
        """Delete a tag; it disappears from every contact."""
        self.ws.principal.require("data.write")
        tag_id = self._resolve([full_name], create=False)[full_name]
        with self.ws.session() as s:
            s.delete(s.get(Tag, tag_id))
        self.ws.audit("tag.delete", full_name)

    def df(self) -> pd.DataFrame:
        """Every tag with its group, kind and how many contacts carry it."""
        counts = (sa.select(ContactTag.tag_id, sa.func.count().label("contacts"))
                  .group_by(ContactTag.tag_id).subquery())
        query = (sa.select(Tag.id, TagGroup.name.label("group"), Tag.name, TagGroup.kind,
                           TagGroup.source,
                           sa.func.coalesce(counts.c.contacts, 0).label("contacts"))
                 .join(TagGroup, Tag.group_id == TagGroup.id)
                 .outerjoin(counts, counts.c.tag_id == Tag.id)
                 .order_by(TagGroup.name, Tag.name))
        return self._read_df(query)

    def names(self) -> list[str]:
        """Every tag as ``"group/name"``."""
        frame = self.df()
        return [f"{g}/{n}" for g, n in zip(frame["group"], frame["name"], strict=True)]

    def of(self, contact: int | str) -> list[str]:
        """The tags on one contact, as ``"group/name"``."""
        contact_id = self.ws.contacts.get(contact).id
        query = (sa.select(TagGroup.name, Tag.name).select_from(ContactTag)
                 .join(Tag, ContactTag.tag_id == Tag.id)
                 .join(TagGroup, Tag.group_id == TagGroup.id)
                 .where(ContactTag.contact_id == contact_id)
                 .order_by(TagGroup.name, Tag.name))
        with self.ws.engine.connect() as conn:
            return [f"{g}/{n}" for g, n in conn.execute(query)]

    def _resolve(self, names: Iterable[str], *, create: bool) -> dict[str, int]:
        ids: dict[str, int] = {}
        with self.ws.engine.connect() as conn:
            for full in names:
                group, name = split_tag_name(full)
                tag_id = conn.execute(
                    sa.select(Tag.id).join(TagGroup, Tag.group_id == TagGroup.id)
                    .where(TagGroup.name == group, Tag.name == name)).scalar()
                if tag_id is None and not create:
                    raise NotFound(_("unknown tag {tag!r}; create it first "
                                     "(ws.tags.create({tag!r}) or the Tags page)", tag=full))
                ids[full] = tag_id
        for full, tag_id in ids.items():
            if tag_id is None:
                ids[full] = self.create(full).id
        return ids

    def _contact_ids(self, contacts: Iterable[int | str]) -> list[int]:
        wanted = list(contacts)
        ints = [c for c in wanted if isinstance(c, int)]
        strs = [c for c in wanted if not isinstance(c, int)]
        found: set[int] = set()
        with self.ws.engine.connect() as conn:
            for i in range(0, len(ints), 5000):
                chunk = ints[i:i + 5000]
                found |= set(conn.execute(sa.select(Contact.id)
                                          .where(Contact.id.in_(chunk))).scalars())
            missing = sorted(set(ints) - found)
            by_ext: dict[str, int] = {}
            for i in range(0, len(strs), 5000):
                chunk = strs[i:i + 5000]
                by_ext.update(conn.execute(
                    sa.select(Contact.external_userid, Contact.id)
                    .where(Contact.external_userid.in_(chunk))).all())
        missing += [c for c in strs if c not in by_ext]
        if missing:
            shown = listing(map(repr, missing[:5]))
            if len(missing) > 5:
                raise NotFound(_("unknown contact(s) {shown} and {more} more; nothing was "
                                 "tagged", shown=shown, more=len(missing) - 5))
            raise NotFound(_("unknown contact(s) {shown}; nothing was tagged", shown=shown))
        return sorted(found | set(by_ext.values()))

    def tag(self, contacts: Iterable[int | str], tags: Iterable[str], *,
            source: str = "manual", create: bool = False,
            session: Session | None = None) -> int:
        """Put ``tags`` on ``contacts``; tags already there are left as they are.

        All or nothing: an unknown contact or tag raises before anything is written.

        :param contacts: contact ids or external_userids.
        :param tags: ``"group/name"`` strings.
        :param source: who tags (``manual``, ``import``, a plugin name…).
        :param create: create unknown tags instead of raising.
        :param session: write in the caller's transaction (``ws.session()``).
        :return: how many (contact, tag) pairs were added.
        :raises NotFound: an unknown tag (without ``create``) or contact.
        """
        self.ws.principal.require("data.write")
        tags = list(dict.fromkeys(tags))
        tag_ids = self._resolve(tags, create=create)
        contact_ids = self._contact_ids(contacts)
        now = utcnow()
        added: dict[int, list[str]] = {}
        with self._tx(session) as s:
            conn = s.connection()
            for full, tag_id in tag_ids.items():
                for i in range(0, len(contact_ids), 5000):
                    chunk = contact_ids[i:i + 5000]
                    have = set(conn.execute(sa.select(ContactTag.contact_id).where(
                        ContactTag.tag_id == tag_id,
                        ContactTag.contact_id.in_(chunk))).scalars())
                    rows = [{"contact_id": cid, "tag_id": tag_id, "source": source,
                             "created_at": now} for cid in chunk if cid not in have]
                    if rows:
                        conn.execute(insert_for(conn, ContactTag.__table__)
                                     .on_conflict_do_nothing(), rows)
                    for row in rows:
                        added.setdefault(row["contact_id"], []).append(full)
            self._notify(s, added, {}, source)
        if added:
            self.ws.audit("contact.tag", ", ".join(tags),
                          {"contacts": len(added), "source": source})
        return sum(len(v) for v in added.values())

    def untag(self, contacts: Iterable[int | str], tags: Iterable[str], *,
              source: str = "manual", session: Session | None = None) -> int:
        """Take ``tags`` off ``contacts``; returns how many pairs were removed."""
        self.ws.principal.require("data.write")
        tag_ids = self._resolve(list(dict.fromkeys(tags)), create=False)
        contact_ids = self._contact_ids(contacts)
        removed: dict[int, list[str]] = {}
        with self._tx(session) as s:
            conn = s.connection()
            for full, tag_id in tag_ids.items():
                for i in range(0, len(contact_ids), 5000):
                    chunk = contact_ids[i:i + 5000]
                    gone = conn.execute(
                        sa.delete(ContactTag).where(ContactTag.tag_id == tag_id,
                                                    ContactTag.contact_id.in_(chunk))
                        .returning(ContactTag.contact_id)).scalars().all()
                    for cid in gone:
                        removed.setdefault(cid, []).append(full)
            self._notify(s, {}, removed, source)
        if removed:
            self.ws.audit("contact.untag", ", ".join(tag_ids),
                          {"contacts": len(removed), "source": source})
        return sum(len(v) for v in removed.values())

    def _notify(self, s: Session, added: dict[int, list[str]],
                removed: dict[int, list[str]], source: str) -> None:
        """Notify ``on_contact_tagged`` in ``s``'s transaction: one notice per contact, or
        bulk notices when many contacts changed."""
        if not self.ws.has_hook("on_contact_tagged"):
            return
        ids = sorted(set(added) | set(removed))
        if len(ids) > BULK_FROM:
            self.ws.notify_each("on_contact_tagged", session=s, refs={"contact": (Contact, ids)},
                                each={"added": [added.get(i, []) for i in ids],
                                      "removed": [removed.get(i, []) for i in ids]},
                                source=source)
            return
        for contact_id in ids:
            self.ws.notify("on_contact_tagged", session=s, subject=f"contact:{contact_id}",
                           contact=s.get(Contact, contact_id),
                           added=added.get(contact_id, []),
                           removed=removed.get(contact_id, []), source=source)
