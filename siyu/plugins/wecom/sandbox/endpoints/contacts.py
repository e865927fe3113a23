"""Customers: who follows whom, customer details, remarks, openids and welcome messages."""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, check_content, endpoint, paginate
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.model import Customer, Follow, WelcomeSent
from siyu.plugins.wecom.sandbox.world import World


def customer_json(customer: Customer) -> dict:
    """The ``external_contact`` object of get and batch/get_by_user."""
    return {"external_userid": customer.external_userid, "name": customer.name,
            "avatar": customer.avatar, "type": customer.type, "gender": customer.gender,
            "unionid": customer.unionid}


def _follow_common(follow: Follow) -> dict:
    data = {"userid": follow.userid, "remark": follow.remark,
            "description": follow.description, "createtime": follow.createtime,
            "remark_corp_name": follow.remark_corp_name,
            "remark_mobiles": list(follow.remark_mobiles), "oper_userid": follow.oper_userid,
            "add_way": follow.add_way}
    if follow.state:
        data["state"] = follow.state
    return data


def follow_json(world: World, follow: Follow) -> dict:
    """A ``follow_user`` entry of get, with its corp tags."""
    data = _follow_common(follow)
    tags = []
    for tag_id in follow.tag_ids:
        tag = world.tags[tag_id]
        tags.append({"group_name": world.tag_groups[tag.group_id].name, "tag_name": tag.name,
                     "tag_id": tag.id, "type": 1})
    data["tags"] = tags
    return data


@endpoint("externalcontact/get_follow_user_list")
def get_follow_user_list(call: Call) -> dict:
    """Members with customer-contact permission."""
    return {"follow_user": [s.userid for s in call.world.staff.values()
                            if s.contact_permission and s.activated and not s.resigned]}


@endpoint("externalcontact/list")
def list_customers(call: Call) -> dict:
    """The external_userids a member follows (60111 for an unknown member)."""
    staff = call.world.staff_or_error(call.text("userid", required=True, missing=40003))
    return {"external_userid": call.world.customers_of(staff.userid)}


@endpoint("externalcontact/get")
def get_customer(call: Call) -> dict:
    """A customer and the members following them, 500 (``follow_page_size``) per page."""
    world = call.world
    customer = world.customer_or_error(call.text("external_userid", required=True,
                                                 missing=41035))
    if not customer.follows:
        raise ApiError(84061, f"{customer.external_userid} follows nobody in the corp")
    size = world.limits.follow_page_size
    page, next_cursor = paginate(list(customer.follows.values()), call.text("cursor"), size)
    answer = {"external_contact": customer_json(customer),
              "follow_user": [follow_json(world, f) for f in page]}
    if next_cursor:
        answer["next_cursor"] = next_cursor
    return answer


@endpoint("externalcontact/batch/get_by_user")
def batch_get_by_user(call: Call) -> dict:
    """Customers of up to 100 members, one row per (customer, member) relation."""
    world = call.world
    userids = call.items("userid_list", limit=100)
    if not userids:
        raise ApiError(40003, "userid_list is empty")
    staff = [world.staff_or_error(u) for u in userids]
    unlicensed = [s.userid for s in staff if not s.licensed]
    if len(unlicensed) == len(staff):
        raise ApiError(701008, ", ".join(unlicensed))
    rows = []
    for member in staff:
        if not member.licensed:
            continue
        for customer in world.customers.values():
            follow = customer.follows.get(member.userid)
            if follow is not None:
                info = _follow_common(follow)
                info["tag_id"] = list(follow.tag_ids)
                rows.append({"external_contact": customer_json(customer), "follow_info": info})
    page, next_cursor = call.page(rows, default=50, most=100)
    return {"external_contact_list": page, "next_cursor": next_cursor,
            "fail_info": {"unlicensed_userid_list": unlicensed}}


@endpoint("externalcontact/remark")
def remark(call: Call) -> dict:
    """Change a member's remark, description, company and phone numbers for a customer."""
    follow = call.world.follow_or_error(call.text("userid", required=True, missing=40003),
                                        call.text("external_userid", required=True,
                                                  missing=41035))
    if call.has("remark"):
        follow.remark = call.text("remark", limit=20)
    if call.has("description"):
        follow.description = call.text("description", limit=150)
    if call.has("remark_company"):
        follow.remark_corp_name = call.text("remark_company", limit=20)
    if call.has("remark_mobiles"):
        follow.remark_mobiles = call.items("remark_mobiles", limit=5)
    return {}


@endpoint("externalcontact/convert_to_openid")
def convert_to_openid(call: Call) -> dict:
    """The customer's openid (WeChat customers only; ``wo…`` ids are refused with 41056)."""
    external_userid = call.text("external_userid", required=True, missing=41035)
    if external_userid.startswith("wo"):
        raise ApiError(41056, "WeCom users (wo…) have no openid")
    return {"openid": call.world.customer_or_error(external_userid).openid}


@endpoint("externalcontact/send_welcome_msg")
def send_welcome_msg(call: Call) -> dict:
    """Send the welcome message of a fresh friendship: within 20 s, once (reference §2.4).

    :raises ApiError: 41049 no code, 41050 unknown or expired code, 41051 code already used
        or the member and the customer already chatted.
    """
    world = call.world
    code = call.text("welcome_code", required=True, missing=41049)
    entry = world.welcome_codes.get(code)
    if entry is None:
        raise ApiError(41050, "unknown welcome_code")
    if entry.used:
        raise ApiError(41051, "a welcome message was already sent with this code")
    follow = world.customers[entry.external_userid].follows.get(entry.userid)
    if follow is not None and follow.chat_started:
        raise ApiError(41051, "the member and the customer already chatted")
    if call.now - entry.issued > world.limits.welcome_ttl:
        raise ApiError(41050, f"welcome_code is valid for {world.limits.welcome_ttl} s only")
    text, attachments = check_content(call)
    entry.used = True
    world.welcomes.append(WelcomeSent(entry.userid, entry.external_userid, int(call.now),
                                      (text or {}).get("content", ""), len(attachments)))
    return {}
