"""The address book (通讯录管理): departments and their members, as a self-built app sees them.

Official docs: 获取部门列表 ``department/list`` (path/90208), 获取子部门ID列表
``department/simplelist`` (path/95350), 获取部门成员详情 ``user/list`` (path/90201) and
获取部门成员 ``user/simplelist`` (path/90200). What those pages state and the sandbox keeps:

- An app sees only its visible range (可见范围): a department outside it, asked for by id, is
  refused with 60011 (指定的成员/部门/标签参数无权限); unlisted departments never appear, and a
  member's ``department`` lists only departments the app may see.
- ``department/list`` with ``id`` answers that department and everything below it
  (recursively); without ``id`` the whole visible tree. The root is id 1 with parentid 0;
  ``order`` ranks siblings, larger first.
- ``user/list`` answers the members directly in ``department_id``; to cover a subtree a caller
  reads each department in turn ("逐层递归获取"). ``fetch_child`` is no longer documented but
  still accepted: 1 also lists the members of every department below. Neither member API is
  paged: one call answers the whole department (only ``user/list_id`` pages, by cursor).
- Since 2022-06-20 new self-built apps no longer receive avatar, gender, mobile, email,
  biz_mail, qr_code or address from ``user/list``; the sandbox leaves them out.
- Members who left the corp are no longer in the address book, so they are not listed;
  ``status`` is 1 (已激活) or 4 (未激活) for the rest (2 已禁用, 5 退出企业 are WeCom's
  other values).
- An unknown department id is refused with 60003 (部门不存在).
"""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, endpoint
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.model import Department, Staff
from siyu.plugins.wecom.sandbox.world import World

#: ``status`` values of user/list (path/90201).
ACTIVATED, NOT_ACTIVATED = 1, 4


def _visible_tree(world: World, dept_id: int | None) -> list[Department]:
    """The departments ``department/list`` answers for ``id`` (``None``: the whole visible
    tree), parents before children.

    :raises ApiError: 60003 unknown department, 60011 outside the visible range.
    """
    if dept_id is None:
        # the visible departments no other visible department contains
        roots = sorted(d for d in world.visible_departments if d in world.departments
                       and not world.is_visible(world.departments[d].parentid))
        ids: list[int] = []
        for root in roots:
            ids += [d for d in world.subtree(root) if d not in ids]
        return [world.departments[d] for d in ids]
    _checked_department(world, dept_id)
    return [world.departments[d] for d in world.subtree(dept_id)]


def _checked_department(world: World, dept_id: int) -> Department:
    if dept_id not in world.departments:
        raise ApiError(60003, f"department {dept_id}")
    if not world.is_visible(dept_id):
        raise ApiError(60011, f"department {dept_id} is outside the app's visible range")
    return world.departments[dept_id]


def department_json(dept: Department) -> dict:
    """One entry of department/list."""
    return {"id": dept.id, "name": dept.name, "name_en": dept.name_en,
            "department_leader": list(dept.leaders), "parentid": dept.parentid,
            "order": dept.order}


@endpoint("department/list")
def department_list(call: Call) -> dict:
    """A department and everything below it, or the whole visible tree (path/90208)."""
    dept_id = call.integer("id")
    return {"department": [department_json(d) for d in _visible_tree(call.world, dept_id)]}


@endpoint("department/simplelist")
def department_simplelist(call: Call) -> dict:
    """Like department/list with ids, parentids and orders only (path/95350)."""
    dept_id = call.integer("id")
    return {"department_id": [{"id": d.id, "parentid": d.parentid, "order": d.order}
                              for d in _visible_tree(call.world, dept_id)]}


def _members(call: Call) -> list[Staff]:
    """The members user/list and user/simplelist answer: those directly in
    ``department_id`` (with ``fetch_child=1`` also those below), in userid order."""
    world = call.world
    dept_id = call.integer("department_id", required=True, missing=40058)
    _checked_department(world, dept_id)
    recursive = call.integer("fetch_child", choices=(0, 1), default=0)
    wanted = set(world.subtree(dept_id)) if recursive else {dept_id}
    return sorted((s for s in world.staff.values()
                   if not s.resigned and wanted & set(s.department)),
                  key=lambda s: s.userid)


def _seen_departments(world: World, staff: Staff) -> list[int]:
    return [d for d in staff.department if world.is_visible(d)]


@endpoint("user/list")
def user_list(call: Call) -> dict:
    """Members of a department with their details, not paged (path/90201)."""
    world = call.world
    rows = []
    for staff in _members(call):
        depts = _seen_departments(world, staff)
        main = staff.department[0] if staff.department else 1
        rows.append({
            "userid": staff.userid, "name": staff.name, "department": depts,
            "order": [0] * len(depts), "position": staff.position,
            "is_leader_in_dept": [int(staff.userid in world.departments[d].leaders)
                                  for d in depts],
            "direct_leader": [], "telephone": "", "alias": "",
            "status": ACTIVATED if staff.activated else NOT_ACTIVATED,
            "english_name": "", "main_department": main if main in depts else
            (depts[0] if depts else 0)})
    return {"userlist": rows}


@endpoint("user/simplelist")
def user_simplelist(call: Call) -> dict:
    """Members of a department: userid, name and departments only (path/90200)."""
    world = call.world
    return {"userlist": [{"userid": s.userid, "name": s.name,
                          "department": _seen_departments(world, s)}
                         for s in _members(call)]}
