"""Customer groups and 「加入群聊」 join ways (reference §2.7, §2.8)."""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, endpoint
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.model import GroupChat, JoinWay, Member
from siyu.plugins.wecom.sandbox.world import World


def chat_status(world: World, chat: GroupChat) -> int:
    """0 owner active, 1 owner resigned (waiting), 2 inheritance running, 3 inherited."""
    owner = world.staff.get(chat.owner)
    if chat.status == 0 and owner is not None and owner.resigned:
        return 1
    return chat.status


@endpoint("externalcontact/groupchat/list")
def groupchat_list(call: Call) -> dict:
    """Customer groups, filtered by status and owner; ``limit`` (1-1000) is required."""
    world = call.world
    limit = call.integer("limit", required=True, low=1, high=1000)
    status_filter = call.integer("status_filter", default=0, choices=(0, 1, 2, 3))
    owner_filter = call.mapping("owner_filter")
    owners: list[str] = []
    if owner_filter is not None:
        owners = owner_filter.get("userid_list") or []
        if not isinstance(owners, list) or len(owners) > 100:
            raise ApiError(40058, "owner_filter.userid_list takes at most 100 userids")
    elif len(world.staff) > 1000:
        raise ApiError(81017, "more than 1000 members visible: give owner_filter")
    chats = [c for c in world.group_chats.values()
             if (status_filter == 0 or chat_status(world, c) == status_filter)
             and (not owners or c.owner in owners)]
    page, next_cursor = call.page(chats, default=limit, most=1000)  # type: ignore[arg-type]
    return {"group_chat_list": [{"chat_id": c.chat_id, "status": chat_status(world, c)}
                                for c in page],
            "next_cursor": next_cursor}


def member_json(member: Member, need_name: bool) -> dict:
    """A ``member_list`` entry of groupchat/get."""
    data: dict = {"userid": member.userid, "type": member.type, "join_time": member.join_time,
                  "join_scene": member.join_scene, "group_nickname": member.group_nickname}
    if member.invitor:
        data["invitor"] = {"userid": member.invitor}
    if member.type == 2 and member.unionid:
        data["unionid"] = member.unionid
    if member.state:
        data["state"] = member.state
    if need_name:
        data["name"] = member.name
    return data


def chat_or_error(world: World, chat_id: str) -> GroupChat:
    """The group ``chat_id``; 40058 when there is none."""
    chat = world.group_chats.get(chat_id)
    if chat is None:
        raise ApiError(40058, f"chat_id {chat_id!r}")
    return chat


@endpoint("externalcontact/groupchat/get")
def groupchat_get(call: Call) -> dict:
    """A group with its members (names with ``need_name=1``) and ``member_version``."""
    chat = chat_or_error(call.world, call.text("chat_id", required=True))
    need_name = call.integer("need_name", default=0, choices=(0, 1)) == 1
    return {"group_chat": {
        "chat_id": chat.chat_id, "name": chat.name, "owner": chat.owner,
        "create_time": chat.create_time, "notice": chat.notice,
        "member_list": [member_json(m, need_name) for m in chat.members.values()],
        "admin_list": [{"userid": u} for u in chat.admin_list],
        "member_version": chat.member_version}}


def _apply(call: Call, way: JoinWay) -> None:
    """Set every field of ``way`` from the call (add and update both overwrite fully)."""
    world = call.world
    way.scene = call.integer("scene", required=True, choices=(1, 2))  # type: ignore[assignment]
    way.remark = call.text("remark")[:30]  # longer remarks are cut, not refused
    way.auto_create_room = call.integer("auto_create_room", default=1,
                                        choices=(0, 1))  # type: ignore[assignment]
    way.room_base_name = call.text("room_base_name", limit=40)
    way.room_base_id = call.integer("room_base_id", default=0, low=0)  # type: ignore[assignment]
    chat_ids = call.items("chat_id_list", limit=world.limits.join_way_chats, over=41091)
    if not chat_ids:
        raise ApiError(40063, "chat_id_list is empty")
    for chat_id in chat_ids:
        chat_or_error(world, chat_id)
    way.chat_id_list = list(dict.fromkeys(chat_ids))
    way.state = call.text("state", limit=30)
    way.mark_source = call.flag("mark_source", True)


def join_way_or_error(call: Call) -> JoinWay:
    """The join way named by ``config_id``: 41043 when missing, 41044 when unknown."""
    config_id = call.text("config_id", required=True, missing=41043)
    way = call.world.join_ways.get(config_id)
    if way is None:
        raise ApiError(41044, f"config_id {config_id!r}")
    return way


@endpoint("externalcontact/groupchat/add_join_way")
def add_join_way(call: Call) -> dict:
    """Create a 「加入群聊」 way.

    :raises ApiError: 41091 more than five groups, 40063 no group, 40058 bad scene, unknown
        group, state over 30 or room_base_name over 40 characters.
    """
    world = call.world
    if len(world.contact_ways) + len(world.join_ways) >= world.limits.contact_way_quota:
        raise ApiError(41045, "contact ways and join ways share one quota")
    way = JoinWay(world.new_hex(), 0, [], call.now)
    _apply(call, way)
    world.join_ways[way.config_id] = way
    return {"config_id": way.config_id}


@endpoint("externalcontact/groupchat/get_join_way")
def get_join_way(call: Call) -> dict:
    """One join way; ``qr_code`` for scene 2."""
    way = join_way_or_error(call)
    data = {"config_id": way.config_id, "scene": way.scene, "remark": way.remark,
            "auto_create_room": way.auto_create_room, "room_base_name": way.room_base_name,
            "room_base_id": way.room_base_id, "chat_id_list": list(way.chat_id_list),
            "state": way.state, "mark_source": way.mark_source}
    if way.scene == 2:
        data["qr_code"] = call.world.qr_url(way.config_id)
    return {"join_way": data}


@endpoint("externalcontact/groupchat/update_join_way")
def update_join_way(call: Call) -> dict:
    """Overwrite a join way completely (chat_id_list required, at most five)."""
    way = join_way_or_error(call)
    changed = JoinWay(**vars(way))
    _apply(call, changed)
    vars(way).update(vars(changed))
    return {}


@endpoint("externalcontact/groupchat/del_join_way")
def del_join_way(call: Call) -> dict:
    """Delete a join way."""
    del call.world.join_ways[join_way_or_error(call).config_id]
    return {}
