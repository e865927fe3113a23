"""Org sync: WeCom's departments and members become siyu's regions, stores and staff.

A chain sets up its WeCom address book (通讯录) as a tree: the corp (the root, level 1) is
the brand, the departments below it the regions (level 2), below them the stores (level 3),
maybe with teams below a store. :class:`OrgSyncSettings` says which level is a store and
which a region; :func:`sync_org` then reads the tree (``department/list``) and the members of
each department (``user/list``) and makes

- every department at the store level a store (a new one gets the code ``wecom-<id>``,
  unless a store with the same name exists: that one is taken over), named like the
  department, in the region named like its ancestor at the region level;
- every member a staff member, in the store their main department belongs to (the
  department itself or the store above it; no store for members above store level), active,
  or inactive while disabled or not activated in WeCom;
- members WeCom listed before and lists no more: ``resigned`` (when
  :attr:`OrgSyncSettings.mark_departed`); staff are never deleted.

Departments in :attr:`OrgSyncSettings.skip` (and everything below them) are left out: no
store, and their members are neither added nor marked as departed.

All WeCom calls come first; the changes are then written in one transaction, so a run
either applies completely or not at all, and running it again with nothing changed in WeCom
changes nothing. From a notebook::

    from siyu.plugins.wecom.org_sync import OrgSyncSettings, sync_org
    report = sync_org(ws, OrgSyncSettings(store_level=3, region_level=2))
    report.stores.created, report.staff.departed, report.problems
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.wecom.errors import WeComError
from siyu.plugins.wecom.models import WeComDepartment, WeComMember
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import Setting, Store

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.wecom")

PREFIX = "wecom.org."
#: Where the last run's figures are kept (for the console and ``siyu wecom status``).
LAST_SETTING = "wecom.org.last"
#: The deepest level anyone sets (WeCom allows 15 levels of departments).
MAX_LEVEL = 15
ROOT = 1
#: WeCom member ``status`` (user/list, path/90201) → staff status.
STATUS = {1: "active", 2: "inactive", 4: "inactive", 5: "resigned"}
STORE_CODE = "wecom-{id}"

Progress = Callable[[str, int, int], None]


class OrgSyncError(ValidationError):
    """The settings do not fit the tree WeCom lists (e.g. no department at the store
    level); nothing was written."""


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgSyncSettings:
    """How the address book maps to regions, stores and staff.

    :ivar store_level: the level whose departments are stores (the root is level 1).
    :ivar region_level: the level whose department names are the stores' regions; 0 for
        none. Must be above the store level.
    :ivar skip: ids of departments left out, with everything below them.
    :ivar mark_departed: mark staff WeCom no longer lists as resigned.
    """

    store_level: int = 3
    region_level: int = 2
    skip: tuple[int, ...] = ()
    mark_departed: bool = True

    def checked(self) -> OrgSyncSettings:
        """These settings, once they are sensible on their own.

        :raises ValidationError: naming the bad value and the values allowed.
        """
        for name in ("store_level", "region_level"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(_("{name} {value!r} must be a whole number",
                                        name=name, value=value))
        if not 1 <= self.store_level <= MAX_LEVEL:
            raise ValidationError(_(
                "store level {level} is not a level of the address book; give 1-{most} (the "
                "root, your corp, is level 1)", level=self.store_level, most=MAX_LEVEL))
        if not 0 <= self.region_level < self.store_level:
            raise ValidationError(_(
                "region level {region} must be above the store level {store}: give 1-{most}, "
                "or 0 for no regions", region=self.region_level, store=self.store_level,
                most=self.store_level - 1))
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                   for d in self.skip):
            raise ValidationError(_("departments to skip must be department ids (whole "
                                    "numbers above 0), not {skip!r}", skip=list(self.skip)))
        return self


def parse_skip(text: str | Iterable[int] | None) -> tuple[int, ...]:
    """Department ids from ``"12, 15 18"`` (or a list of ids), in order, without repeats.

    :raises ValidationError: something that is not a department id, named.
    """
    if text is None:
        return ()
    if isinstance(text, str):
        parts = [p for p in re.split(r"[\s,，;；]+", text.strip()) if p]
        ids = []
        for part in parts:
            if not part.isdigit() or int(part) < 1:
                raise ValidationError(_("{part!r} is not a department id; give WeCom "
                                        "department ids separated by commas, e.g. 12, 15",
                                        part=part))
            ids.append(int(part))
    else:
        ids = list(text)
    return tuple(dict.fromkeys(ids))


def load_org_settings(ws: Workspace) -> OrgSyncSettings:
    """The workspace's org-sync settings (the defaults where unset)."""
    values: dict[str, Any] = {}
    for f in fields(OrgSyncSettings):
        stored = ws.settings.get(PREFIX + f.name)
        if stored is not None:
            values[f.name] = tuple(stored) if f.name == "skip" else stored
    return OrgSyncSettings(**values)


def save_org_settings(ws: Workspace, **values: Any) -> OrgSyncSettings:
    """Change org-sync settings (administrators: permission ``settings.write``).

    :param values: any of ``store_level``, ``region_level``, ``skip`` (ids, or text like
        ``"12, 15"``) and ``mark_departed``.
    :raises ValidationError: an unknown name or a bad value; nothing is stored then.
    """
    ws.principal.require("settings.write")
    known = {f.name for f in fields(OrgSyncSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValidationError(_("unknown org sync setting(s) {unknown}; known: {known}",
                                unknown=", ".join(unknown), known=", ".join(sorted(known))))
    if "skip" in values:
        values["skip"] = parse_skip(values["skip"])
    settings = replace(load_org_settings(ws), **values).checked()
    for name in values:
        value = getattr(settings, name)
        ws.settings.set(PREFIX + name, list(value) if name == "skip" else value)
    return settings


# -- the report ------------------------------------------------------------------------------


@dataclass
class Counts:
    """What a run did to one kind of record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    departed: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class Problem:
    """Something a run could not map, about one department or member."""

    kind: str  # "department" or "member"
    id: str
    message: str

    def __str__(self) -> str:
        if self.kind == "department":
            return _("department {id}: {message}", id=self.id, message=self.message)
        return _("member {id}: {message}", id=self.id, message=self.message)


@dataclass
class OrgSyncReport:
    """What :func:`sync_org` did: departments read, regions, stores and staff, problems."""

    departments: int = 0
    members: int = 0
    regions: list[str] = field(default_factory=list)
    stores: Counts = field(default_factory=Counts)
    staff: Counts = field(default_factory=Counts)
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """The figures as numbers (what the audit log and the last-run setting keep)."""
        return {"departments": self.departments, "members": self.members,
                "regions": len(self.regions), "stores": asdict(self.stores),
                "staff": asdict(self.staff), "problems": len(self.problems)}

    def summary(self) -> str:
        """One line for people, in the current language."""
        return summary_line(self.counts())


def summary_line(counts: dict[str, Any]) -> str:
    """One line for the figures of :meth:`OrgSyncReport.counts` (also of a past run)."""
    stores, staff = counts.get("stores", {}), counts.get("staff", {})
    return _("WeCom org sync: {departments} departments, {regions} regions; stores "
             "{s_created} new, {s_updated} updated, {s_unchanged} unchanged; staff "
             "{created} new, {updated} updated, {unchanged} unchanged, {departed} departed; "
             "{problems} problems",
             departments=counts.get("departments", 0), regions=counts.get("regions", 0),
             s_created=stores.get("created", 0), s_updated=stores.get("updated", 0),
             s_unchanged=stores.get("unchanged", 0), created=staff.get("created", 0),
             updated=staff.get("updated", 0), unchanged=staff.get("unchanged", 0),
             departed=staff.get("departed", 0), problems=counts.get("problems", 0))


def last_org_sync(ws: Workspace) -> tuple[datetime | None, dict[str, Any]]:
    """When the last org sync ran (aware UTC, or ``None``) and its figures."""
    last = ws.settings.get(LAST_SETTING) or {}
    at = last.get("at")
    return (datetime.fromisoformat(at) if at else None), last.get("counts") or {}


# -- reading WeCom ---------------------------------------------------------------------------


@dataclass
class _Dept:
    id: int
    name: str
    parentid: int
    level: int | None = None
    store: int | None = None  # id of the store-level department it belongs to
    region: str = ""


def _levels(rows: list[dict[str, Any]], report: OrgSyncReport) -> dict[int, _Dept]:
    """The departments WeCom listed, each with its level (root = 1), where it can be known:
    a department whose parent is neither listed nor the root (the app sees only part of
    the tree) has no level, and is reported."""
    depts = {int(r["id"]): _Dept(int(r["id"]), str(r.get("name") or r["id"]),
                                 int(r.get("parentid") or 0)) for r in rows}

    def level(dept: _Dept, trail: set[int]) -> int | None:
        if dept.level is not None or dept.id in trail:
            return dept.level
        if dept.id == ROOT or dept.parentid == 0:
            dept.level = 1
        elif dept.parentid in depts:
            above = level(depts[dept.parentid], trail | {dept.id})
            dept.level = above + 1 if above is not None else None
        elif dept.parentid == ROOT:
            dept.level = 2
        return dept.level

    for dept in depts.values():
        if level(dept, set()) is None and (dept.parentid not in depts):
            report.problems.append(Problem("department", str(dept.id), _(
                "its parent department {parent} is outside the app's visible range, so its "
                "level is unknown; it and the departments below it were left out",
                parent=dept.parentid)))
    return {d.id: d for d in depts.values() if d.level is not None}


def _skipped(depts: dict[int, _Dept], skip: Iterable[int]) -> set[int]:
    """The skipped departments and everything below them."""
    out = set(skip)
    changed = True
    while changed:
        changed = False
        for dept in depts.values():
            if dept.id not in out and dept.parentid in out:
                out.add(dept.id)
                changed = True
    return out


def _ancestor_at(depts: dict[int, _Dept], dept: _Dept, level: int) -> _Dept | None:
    current: _Dept | None = dept
    while current is not None and current.level is not None and current.level > level:
        current = depts.get(current.parentid)
    return current if current is not None and current.level == level else None


@dataclass
class _Read:
    """Everything read from WeCom for one run."""

    depts: dict[int, _Dept]
    members: dict[str, dict[str, Any]]
    complete: bool
    skipped: set[int]


def _read(ws: Workspace, settings: OrgSyncSettings, report: OrgSyncReport,
          progress: Progress) -> _Read:
    """Read the tree and the members of every department that counts (network only)."""
    client = wecom(ws).client
    rows = client.list_departments()
    depts = _levels(rows, report)
    skipped = _skipped(depts, settings.skip)
    for dept_id in sorted(set(settings.skip) - set(depts)):
        report.problems.append(Problem("department", str(dept_id), _(
            "set to be skipped, but WeCom does not list it")))
    kept = {i: d for i, d in depts.items() if i not in skipped}
    depth = max((d.level or 0 for d in kept.values()), default=0)
    if not depth:
        raise OrgSyncError(_(
            "WeCom lists no department siyu can place in the tree: add the top departments "
            "(or the whole corp) to the app's visible range (可见范围), or skip fewer"))
    if not any(d.level == settings.store_level for d in kept.values()):
        raise OrgSyncError(_(
            "no department is at store level {level}: the departments WeCom lists go "
            "{depth} levels deep (your corp is level 1); choose a store level from 1 to "
            "{depth}", level=settings.store_level, depth=depth))
    for dept in kept.values():
        store = _ancestor_at(kept, dept, settings.store_level)
        dept.store = store.id if store is not None else None
        if settings.region_level:
            region = _ancestor_at(kept, dept, settings.region_level)
            dept.region = region.name if region is not None else ""
    members: dict[str, dict[str, Any]] = {}
    complete = True
    order = sorted(kept.values(), key=lambda d: (d.level or 0, d.id))
    for index, dept in enumerate(order, 1):
        try:
            for member in client.list_department_users(dept.id):
                if member.get("userid"):
                    members.setdefault(member["userid"], member)
        except WeComError as exc:
            complete = False
            report.problems.append(Problem("department", str(dept.id), _(
                "its members could not be read ({error}); nobody was marked as departed",
                error=str(exc))))
        progress("members", index, len(order))
    return _Read(kept, members, complete, skipped)


def _member_store(read: _Read, member: dict[str, Any], report: OrgSyncReport) -> int | None:
    """The store-level department a member belongs to: their main department's, else the
    first of their departments that belongs to one."""
    listed = [int(d) for d in member.get("department") or [] if int(d) in read.depts]
    main = member.get("main_department")
    if main is not None and int(main) in read.depts:
        listed.insert(0, int(main))
    stores = list(dict.fromkeys(read.depts[d].store for d in listed
                                if read.depts[d].store is not None))
    if len(stores) > 1:
        report.problems.append(Problem("member", member["userid"], _(
            "is in the departments of several stores; the store of the main department was "
            "chosen")))
    return stores[0] if stores else None


# -- writing ---------------------------------------------------------------------------------


def _store_codes(s: Session, read: _Read, settings: OrgSyncSettings) -> dict[int, str]:
    """The store code of every store-level department: the one it had, else the store of
    the same name nobody else claimed, else ``wecom-<id>``."""
    known = {row.id: row.store_code for row in s.exec(select(WeComDepartment))
             if row.store_code}
    claimed = set(known.values())
    by_name: dict[str, str] = {}
    for store in s.exec(select(Store).order_by(Store.code)):
        by_name.setdefault(store.name, store.code)
    codes = {}
    for dept in sorted(read.depts.values(), key=lambda d: d.id):
        if dept.level != settings.store_level:
            continue
        code = known.get(dept.id)
        if code is None:
            candidate = by_name.get(dept.name)
            code = candidate if candidate and candidate not in claimed else \
                STORE_CODE.format(id=dept.id)
            claimed.add(code)
        codes[dept.id] = code
    return codes


def _write(ws: Workspace, s: Session, read: _Read, settings: OrgSyncSettings,
           report: OrgSyncReport) -> None:
    now = datetime.now(UTC)
    codes = _store_codes(s, read, settings)
    for dept_id, code in codes.items():
        dept = read.depts[dept_id]
        _store, outcome = ws.stores.apply(code, dept.name, region=dept.region, session=s)
        report.stores.add(outcome)
    report.regions = sorted({d.region for d in read.depts.values() if d.region})
    rows = {row.id: row for row in s.exec(select(WeComDepartment))}
    for dept in read.depts.values():
        row = rows.pop(dept.id, None) or WeComDepartment(id=dept.id)
        row.name, row.parentid, row.level = dept.name, dept.parentid, dept.level or 0
        row.store_code = codes.get(dept.id, row.store_code)
        row.present, row.seen_at = True, now
        s.add(row)
    for row in rows.values():  # no longer listed (or now skipped)
        if row.present:
            row.present = False
            s.add(row)
            if row.store_code:
                report.problems.append(Problem("department", str(row.id), _(
                    "WeCom no longer lists it; its store {code} was kept",
                    code=row.store_code)))

    members = {row.userid: row for row in s.exec(select(WeComMember))}
    for userid, member in sorted(read.members.items()):
        store = _member_store(read, member, report)
        status = STATUS.get(int(member.get("status") or 1), "active")
        name = str(member.get("name") or userid)
        _staff, outcome = ws.staff.apply(userid, name, store=codes.get(store) if store else None,
                                         status=status, session=s)
        report.staff.add(outcome)
        row = members.pop(userid, None) or WeComMember(userid=userid)
        main = member.get("main_department")
        row.main_department = int(main) if main is not None else None
        row.status = int(member.get("status") or 1)
        row.present, row.seen_at = True, now
        s.add(row)
    report.members = len(read.members)
    departed = [row for row in members.values() if row.present]
    if not settings.mark_departed or not read.complete:
        return
    for row in departed:
        if row.main_department in read.skipped:  # left out now, not gone from WeCom
            continue
        row.present = False
        s.add(row)
        if ws.staff.set_status(row.userid, "resigned", session=s):
            report.staff.departed += 1


def _noop(stage: str, done: int, total: int) -> None:
    """No progress display."""


def sync_org(ws: Workspace, settings: OrgSyncSettings | None = None, *,
             progress: Progress | None = None) -> OrgSyncReport:
    """Read WeCom's departments and members and make them regions, stores and staff.

    Every WeCom call is made first; the changes are then written in one transaction (all or
    nothing), with one audit entry. Running it again with nothing changed in WeCom changes
    nothing.

    :param settings: how levels map (the workspace's saved settings when ``None``).
    :param progress: ``progress(stage, done, total)`` while members are read.
    :returns: counts of created/updated/unchanged/departed stores and staff, and the
        problems found per department or member.
    :raises ValidationError: bad settings; :class:`OrgSyncError` when no department is at
        the store level. Nothing is written then.
    :raises ConfigError: WeCom is not configured.
    :raises WeComError: WeCom refused the department list.
    """
    ws.principal.require("data.write")
    settings = (settings or load_org_settings(ws)).checked()
    report = OrgSyncReport()
    read = _read(ws, settings, report, progress or _noop)
    report.departments = len(read.depts)
    with ws.session() as s:
        _write(ws, s, read, settings, report)
        last = s.get(Setting, LAST_SETTING) or Setting(key=LAST_SETTING)
        last.value = {"at": datetime.now(UTC).isoformat(), "counts": report.counts()}
        s.add(last)
        ws.audit("wecom.org_sync", "", report.counts(), session=s)
    ws.forget_cached_settings()
    return report


__all__ = ["Counts", "OrgSyncError", "OrgSyncReport", "OrgSyncSettings", "Problem",
           "last_org_sync", "load_org_settings", "parse_skip", "save_org_settings",
           "sync_org"]
