"""The small default world every sandbox starts with, the same for the same seed.

A chain's address book (the corp is the brand; below it two regions, below them three
stores), six members (one not activated, one without 客户联系 permission, one who has left
with customers still waiting for inheritance), eight customers with tags and follow
relations, two tag groups, two customer groups, one 「联系我」 code and one 「加入群聊」 way.
"""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.model import ContactWay, Department, JoinWay, Member, Staff
from siyu.plugins.wecom.sandbox.world import World

DAY = 24 * 3600

#: id, name, name_en, parentid, order, leaders: brand (the root, 1) → regions → stores, named
#: like the sample business's regions and stores (``siyu demo`` puts its guides there)
DEPARTMENTS = (
    (2, "华东", "East", 1, 200, ("zhangsan",)),
    (3, "华南", "South", 1, 100, ()),
    (4, "上海南京西路店", "SH Nanjing Rd W", 2, 200, ("zhangsan",)),
    (5, "杭州湖滨银泰店", "HZ Hubin", 2, 100, ("wangwu",)),
    (6, "深圳万象城店", "SZ MixC", 3, 100, ()),
)

#: userid, name, department, activated, 客户联系 permission, resigned
STAFF = (
    ("zhangsan", "张三", 4, True, True, False),
    ("lisi", "李四", 4, True, True, False),
    ("wangwu", "王五", 5, True, True, False),
    ("zhaoliu", "赵六", 4, False, True, False),
    ("sunqi", "孙七", 6, True, False, False),
    ("zhouba", "周八", 4, True, True, True),
)

TAG_GROUPS = (
    ("客户等级", ("普通", "重要", "核心")),
    ("来源渠道", ("门店", "线上", "活动")),
)

#: name, gender, members following the customer, tag names (from the groups above)
CUSTOMERS = (
    ("陈静", 2, ("zhangsan",), ("重要", "门店")),
    ("刘强", 1, ("zhangsan", "lisi"), ("核心", "线上")),
    ("杨芳", 2, ("zhangsan",), ("普通", "活动")),
    ("黄磊", 1, ("lisi",), ("普通", "门店")),
    ("吴娜", 2, ("lisi",), ("重要", "线上")),
    ("徐明", 1, ("wangwu",), ("普通",)),
    ("孙丽", 2, ("zhouba",), ("重要",)),
    ("马超", 1, ("zhouba",), ()),
)


def populate(world: World) -> World:
    """Fill an empty ``world`` with the default corp; return it.

    Creation times lie in the past of the world's clock, so the data looks lived-in.
    """
    with world.lock:
        now = world.now()
        for dept_id, name, name_en, parentid, order, leaders in DEPARTMENTS:
            world.departments[dept_id] = Department(dept_id, name, parentid, order, name_en,
                                                    list(leaders))
        for userid, name, dept, activated, permission, resigned in STAFF:
            world.staff[userid] = Staff(userid, name, [dept], activated=activated,
                                        contact_permission=permission, resigned=resigned,
                                        resigned_at=now - 10 * DAY if resigned else 0.0)
        by_name = {}
        for order, (group_name, tag_names) in enumerate(TAG_GROUPS):
            group = world.create_tag_group(group_name, order=len(TAG_GROUPS) - order)
            group.create_time = int(now - 200 * DAY)
            for position, tag_name in enumerate(tag_names):
                tag = world.create_tag(group, tag_name, order=len(tag_names) - position)
                tag.create_time = group.create_time
                by_name[tag_name] = tag.id
        customers = []
        for index, (name, gender, userids, tag_names) in enumerate(CUSTOMERS):
            customer = world.new_customer(name, gender)
            customers.append(customer)
            for offset, userid in enumerate(userids):
                follow = world.add_follow(customer, userid, add_way=1 + offset * 2)
                follow.createtime = int(now - (120 - index * 9 - offset) * DAY)
                follow.tag_ids = [by_name[t] for t in tag_names]
                follow.last_chat = follow.createtime
        vip = world.create_chat("VIP 客户群", "zhangsan")
        trial = world.create_chat("新品体验群", "lisi")
        for chat, members in ((vip, customers[:3]), (trial, customers[3:5])):
            chat.create_time = int(now - 60 * DAY)
            chat.notice = "文明沟通，拒绝广告"
            for customer in members:
                member = world.add_member(chat, customer, join_scene=1, invitor=chat.owner)
                member.join_time = chat.create_time + 3600
            world.bump_version(chat)
        vip.admin_list = ["lisi"]
        vip.members["lisi"] = Member("lisi", 1, vip.create_time, 1, invitor="zhangsan",
                                     name="李四")
        world.bump_version(vip)
        way = ContactWay(world.new_hex(), type=2, scene=2, create_time=now - 30 * DAY,
                         remark="门店海报", state="lc:store01", user=["zhangsan", "lisi"])
        world.contact_ways[way.config_id] = way
        join = JoinWay(world.new_hex(), scene=2, chat_id_list=[trial.chat_id],
                       create_time=now - 30 * DAY, remark="新品体验", room_base_name="新品体验群",
                       room_base_id=2, state="gl:trial")
        world.join_ways[join.config_id] = join
    return world
