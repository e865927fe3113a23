"""Corp customer tags: list, add, edit, delete, and marking customers (reference §2.3)."""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, check_agentid, endpoint, wrong_type
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.model import Tag, TagGroup
from siyu.plugins.wecom.sandbox.world import World

NAME_LIMIT = 30


def _tag_json(tag: Tag, with_deleted: bool) -> dict:
    data = {"id": tag.id, "name": tag.name, "create_time": tag.create_time, "order": tag.order}
    if with_deleted:
        data["deleted"] = tag.deleted
    return data


def _group_json(world: World, group: TagGroup, tags: list[Tag], with_deleted: bool) -> dict:
    data = {"group_id": group.id, "group_name": group.name, "create_time": group.create_time,
            "order": group.order}
    if with_deleted:
        data["deleted"] = group.deleted
    data["tag"] = [_tag_json(t, with_deleted)
                   for t in sorted(tags, key=lambda t: -t.order)]
    return data


@endpoint("externalcontact/get_corp_tag_list")
def get_corp_tag_list(call: Call) -> dict:
    """All live tags, or the asked ones (deleted ones included, flagged) by group or tag id."""
    world = call.world
    tag_ids = call.items("tag_id")
    group_ids = call.items("group_id")
    chosen: dict[str, list[Tag]] = {}
    if group_ids:
        for group_id in group_ids:
            if group_id in world.tag_groups:
                chosen[group_id] = [world.tags[t] for t in world.tag_groups[group_id].tag_ids]
    elif tag_ids:
        for tag_id in tag_ids:
            tag = world.tags.get(tag_id)
            if tag is not None:
                chosen.setdefault(tag.group_id, []).append(tag)
    else:
        for group in world.tag_groups.values():
            if not group.deleted:
                chosen[group.id] = [world.tags[t] for t in group.tag_ids
                                    if not world.tags[t].deleted]
    by_id = bool(group_ids or tag_ids)
    groups = sorted((world.tag_groups[g] for g in chosen), key=lambda g: -g.order)
    return {"tag_group": [_group_json(world, g, chosen[g.id], by_id) for g in groups]}


def _name(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise wrong_type(field, "a string")
    if not value:
        raise ApiError(40063, f"{field} is empty")
    if len(value) > NAME_LIMIT:
        raise ApiError(40058, f"{field} {value!r} longer than {NAME_LIMIT} characters")
    return value


@endpoint("externalcontact/add_corp_tag")
def add_corp_tag(call: Call) -> dict:
    """Add tags to a group (by id or name), creating the group when its name is new."""
    world = call.world
    check_agentid(call)
    wanted: dict[str, int] = {}
    for item in call.items("tag", dict):
        name = _name(item.get("name"), "tag.name")
        order = item.get("order", 0)
        if not isinstance(order, int) or isinstance(order, bool):
            raise wrong_type("tag.order", "an integer")
        wanted.setdefault(name, order)  # duplicate names in one call collapse to one
    if not wanted:
        raise ApiError(40063, "tag is empty: groups cannot be empty")
    group_id = call.text("group_id")
    group: TagGroup | None
    if group_id:
        group = world.tag_groups.get(group_id)
        if group is None or group.deleted:
            raise ApiError(40068, f"group_id {group_id!r}")
    else:
        group_name = _name(call.text("group_name", required=True, missing=40063), "group_name")
        group = next((g for g in world.tag_groups.values()
                      if g.name == group_name and not g.deleted), None)
    if group is not None:
        taken = {world.tags[t].name for t in group.tag_ids if not world.tags[t].deleted}
        clash = sorted(taken & set(wanted))
        if clash:
            raise ApiError(40071, f"tag {clash[0]!r} already exists in group {group.name!r}")
    if world.live_tags() + len(wanted) > world.limits.corp_tag_limit:
        raise ApiError(40058, f"a corp has at most {world.limits.corp_tag_limit} tags")
    if group is None:
        group = world.create_tag_group(group_name, call.integer("order", default=0))
    created = [world.create_tag(group, name, order) for name, order in wanted.items()]
    return {"tag_group": _group_json(world, group, created, False)}


@endpoint("externalcontact/edit_corp_tag")
def edit_corp_tag(call: Call) -> dict:
    """Rename or reorder a tag or a tag group."""
    world = call.world
    check_agentid(call)
    item_id = call.text("id", required=True, missing=40068)
    name = _name(call.arg("name"), "name") if call.has("name") else None
    order = call.integer("order")
    if item_id in world.tags and not world.tags[item_id].deleted:
        tag = world.tags[item_id]
        siblings = [world.tags[t] for t in world.tag_groups[tag.group_id].tag_ids]
        target: Tag | TagGroup = tag
    elif item_id in world.tag_groups and not world.tag_groups[item_id].deleted:
        target = world.tag_groups[item_id]
        siblings = list(world.tag_groups.values())
    else:
        raise ApiError(40068, f"id {item_id!r}")
    if name is not None and any(s.name == name and s.id != item_id and not s.deleted
                                for s in siblings):
        raise ApiError(40071, f"name {name!r} is taken")
    if name is not None:
        target.name = name
    if order is not None:
        target.order = order
    return {}


@endpoint("externalcontact/del_corp_tag")
def del_corp_tag(call: Call) -> dict:
    """Delete tags and whole groups; a group goes with its last tag."""
    world = call.world
    check_agentid(call)
    tag_ids = call.items("tag_id")
    group_ids = call.items("group_id")
    if not tag_ids and not group_ids:
        raise ApiError(40063, "tag_id and group_id are both empty")
    for tag_id in tag_ids:
        if tag_id not in world.tags or world.tags[tag_id].deleted:
            raise ApiError(40068, f"tag_id {tag_id!r}")
    for group_id in group_ids:
        if group_id not in world.tag_groups or world.tag_groups[group_id].deleted:
            raise ApiError(40068, f"group_id {group_id!r}")
    doomed = list(tag_ids)
    for group_id in group_ids:
        doomed += world.tag_groups[group_id].tag_ids
    for tag_id in dict.fromkeys(doomed):
        if not world.tags[tag_id].deleted:
            world.delete_tag(world.tags[tag_id])
    return {}


@endpoint("externalcontact/mark_tag")
def mark_tag(call: Call) -> dict:
    """Add and remove corp tags on one member's customer (no callback: it is an API change)."""
    world = call.world
    follow = world.follow_or_error(call.text("userid", required=True, missing=40003),
                                   call.text("external_userid", required=True, missing=41035))
    add = call.items("add_tag")
    remove = call.items("remove_tag")
    if not add and not remove:
        raise ApiError(40063, "add_tag and remove_tag are both empty")
    for tag_id in (*add, *remove):
        if tag_id not in world.tags or world.tags[tag_id].deleted:
            raise ApiError(40068, f"tag_id {tag_id!r}")
    tags = [t for t in follow.tag_ids if t not in remove]
    tags += [t for t in dict.fromkeys(add) if t not in tags]
    if len(tags) > world.limits.tags_per_customer:
        raise ApiError(40058, f"at most {world.limits.tags_per_customer} tags per customer")
    follow.tag_ids = tags
    return {}
