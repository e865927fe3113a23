"""「联系我」 live codes: add, get, update, delete, list (reference §2.1)."""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, endpoint
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.model import ContactWay

DAY = 24 * 3600
#: control styles allowed in mini-programs, by way type (appendix of path/92228)
STYLES = {1: (1, 2, 3), 2: (1, 2)}


def _users(call: Call, way: ContactWay, creating: bool) -> None:
    """Overwrite the way's users/departments from the call, enforcing the 100-member limit."""
    world = call.world
    users = call.items("user") if creating or call.has("user") else way.user
    party = call.items("party", int) if creating or call.has("party") else way.party
    if way.type == 1:
        party = []  # departments only count for multi-person codes
    for dept in party:
        if dept not in world.departments:
            raise ApiError(60011, f"department {dept} is outside the app's visible range")
    everyone = list(dict.fromkeys([*users, *world.expand_party(party)]))
    if way.type == 1 and len(users) > 1:
        raise ApiError(41041, "a single-person code (type 1) takes exactly one user")
    if len(everyone) > world.limits.contact_way_users:
        raise ApiError(41041, f"{len(everyone)} members (departments expanded), "
                              f"at most {world.limits.contact_way_users}")
    if not everyone:
        raise ApiError(40063, "user is empty" if way.type == 1 else "user and party are empty")
    for userid in users:  # departments bring whoever of their members can serve
        world.serving_staff(userid)
    way.user, way.party = users, party


def _conclusions(call: Call) -> dict:
    value = call.mapping("conclusions") or {}
    limits = {("text", "content"): 4000, ("link", "title"): 128, ("link", "desc"): 512,
              ("miniprogram", "title"): 64}
    for (kind, key), most in limits.items():
        text = (value.get(kind) or {}).get(key, "")
        if isinstance(text, str) and len(text.encode("utf-8")) > most:
            raise ApiError(40058, f"conclusions.{kind}.{key} longer than {most} bytes")
    return value


def _apply(call: Call, way: ContactWay, creating: bool) -> None:
    """Set every field the call carries (all of them, with defaults, when creating)."""
    if way.scene == 1 and call.has("style"):
        way.style = call.integer("style", invalid=41042, choices=STYLES[way.type])
    for name, limit in (("remark", 30), ("state", 30)):
        if creating or call.has(name):
            setattr(way, name, call.text(name, limit=limit))
    if creating or call.has("skip_verify"):
        way.skip_verify = call.flag("skip_verify", True)
    if creating:
        way.is_temp = call.flag("is_temp", False)
        way.is_exclusive = call.flag("is_exclusive", False)
    if creating or call.has("mark_source"):
        way.mark_source = call.flag("mark_source", True)
    if way.is_temp:
        if way.type != 1:
            raise ApiError(40058, "temporary chat codes (is_temp) are single-person only")
        for name, default in (("expires_in", 7 * DAY), ("chat_expires_in", DAY)):
            if creating or call.has(name):
                setattr(way, name, call.integer(name, default=default, low=1, high=14 * DAY))
        if creating or call.has("unionid"):
            way.unionid = call.text("unionid")
        if creating or call.has("conclusions"):
            way.conclusions = _conclusions(call)
    _users(call, way, creating)


def way_or_error(call: Call) -> ContactWay:
    """The contact way named by ``config_id``: 41043 when missing, 41044 when unknown."""
    config_id = call.text("config_id", required=True, missing=41043)
    way = call.world.contact_ways.get(config_id)
    if way is None:
        raise ApiError(41044, f"config_id {config_id!r}")
    return way


def expired(call: Call, way: ContactWay) -> bool:
    """Whether a temporary code has outlived its QR validity."""
    return way.is_temp and (call.now > way.create_time + way.expires_in or way.used)


@endpoint("externalcontact/add_contact_way")
def add_contact_way(call: Call) -> dict:
    """Create a 「联系我」 code; ``qr_code`` is answered for scene 2 only.

    :raises ApiError: 41037/41038 missing type/scene, 41039/41040 invalid, 41042 bad style,
        40058 remark/state over 30 characters, 41041 over 100 members, 41054 member not
        activated, 60011 member without 客户联系 or department out of range, 60111 unknown
        member, 41045 quota used up.
    """
    world = call.world
    way_type = call.integer("type", required=True, missing=41037, invalid=41039, choices=(1, 2))
    scene = call.integer("scene", required=True, missing=41038, invalid=41040, choices=(1, 2))
    if sum(not w.is_temp for w in world.contact_ways.values()) >= world.limits.contact_way_quota:
        raise ApiError(41045, f"at most {world.limits.contact_way_quota} codes per corp")
    way = ContactWay(world.new_hex(), way_type, scene, call.now)  # type: ignore[arg-type]
    _apply(call, way, creating=True)
    world.contact_ways[way.config_id] = way
    answer = {"config_id": way.config_id}
    if scene == 2:
        answer["qr_code"] = world.qr_url(way.config_id)
    return answer


@endpoint("externalcontact/get_contact_way")
def get_contact_way(call: Call) -> dict:
    """One code: ``style`` only for scene 1, ``qr_code`` only for scene 2."""
    way = way_or_error(call)
    data = {"config_id": way.config_id, "type": way.type, "scene": way.scene,
            "remark": way.remark, "skip_verify": way.skip_verify, "state": way.state,
            "user": list(way.user), "party": list(way.party), "is_temp": way.is_temp,
            "mark_source": way.mark_source}
    if way.scene == 1:
        data["style"] = way.style if way.style is not None else 1
    else:
        data["qr_code"] = call.world.qr_url(way.config_id)
    if way.is_temp:
        data.update(expires_in=way.expires_in, chat_expires_in=way.chat_expires_in,
                    unionid=way.unionid, conclusions=way.conclusions)
    return {"contact_way": data}


@endpoint("externalcontact/update_contact_way")
def update_contact_way(call: Call) -> dict:
    """Overwrite the fields the call carries, validated as on add; nothing changes on error."""
    way = way_or_error(call)
    if expired(call, way):
        raise ApiError(40058, "an expired temporary chat code cannot be edited")
    changed = ContactWay(**vars(way))
    _apply(call, changed, creating=False)  # validate everything before changing anything
    vars(way).update(vars(changed))
    return {}


@endpoint("externalcontact/del_contact_way")
def del_contact_way(call: Call) -> dict:
    """Delete a code; it can no longer be scanned."""
    way = way_or_error(call)
    del call.world.contact_ways[way.config_id]
    return {}


@endpoint("externalcontact/list_contact_way")
def list_contact_way(call: Call) -> dict:
    """Non-temporary codes created between start_time (default 90 days ago) and end_time."""
    now = int(call.now)
    start = call.integer("start_time", default=now - 90 * DAY)
    end = call.integer("end_time", default=now)
    if start > end:  # type: ignore[operator]
        raise ApiError(40058, "start_time is after end_time")
    # Whole seconds, as WeCom's API sees them: a code made this second is "now".
    ways = sorted((w for w in call.world.contact_ways.values()
                   if not w.is_temp and start <= int(w.create_time) <= end),  # type: ignore
                  key=lambda w: w.create_time)
    page, next_cursor = call.page(ways, default=100, most=1000)
    return {"contact_way": [{"config_id": w.config_id} for w in page],
            "next_cursor": next_cursor}
