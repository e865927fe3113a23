"""Mass messages (企业群发): create, list, tasks, results, remind, cancel (reference §2.5).

Creating a task sends nothing: each sender must confirm it in the client
(:meth:`People.staff_confirms_mass_send`), and only then are receive caps applied and
deliveries recorded.
"""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, check_content, endpoint
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.model import Customer, MassTask, SenderTask, SendResult
from siyu.plugins.wecom.sandbox.world import World

DAY = 24 * 3600


def _tag_groups(call: Call) -> list[set[str]]:
    """tag_filter.group_list as sets: OR inside a set, AND across sets."""
    value = call.mapping("tag_filter") or {}
    groups = []
    for entry in value.get("group_list") or []:
        tag_list = entry.get("tag_list") if isinstance(entry, dict) else None
        if not isinstance(tag_list, list) or len(tag_list) > 100:
            raise ApiError(40058, "tag_filter.group_list[].tag_list must list at most 100 tags")
        if tag_list:
            groups.append(set(tag_list))
    return groups


def pick_sender(world: World, customer: Customer, sender: str = "",
                groups: list[set[str]] | None = None) -> str | None:
    """The member who would send to ``customer``: the one who chatted with them last.

    Only members who may still serve customers count; with ``groups``, only relations whose
    tags match the filter.
    """
    best = None
    for follow in customer.follows.values():
        staff = world.staff.get(follow.userid)
        if (sender and follow.userid != sender) or staff is None or staff.resigned \
                or not staff.contact_permission or not staff.activated:
            continue
        if groups and not all(group & set(follow.tag_ids) for group in groups):
            continue
        key = (follow.last_chat, follow.createtime)
        if best is None or key > best[0]:
            best = (key, follow.userid)
    return best[1] if best else None


@endpoint("externalcontact/add_msg_template")
def add_msg_template(call: Call) -> dict:
    """Create a mass message for members to confirm; answer its msgid and the fail_list.

    ``chat_type="group"`` sends to customer groups: ``sender`` is required and
    ``chat_id_list`` (at most 2,000) picks some of the sender's groups; groups the sender
    does not own are answered in ``fail_list``; without it, every group the sender owns.

    :raises ApiError: 40058 more than 10,000 customers or 2,000 groups, 40063 no recipient
        selector or no content, 41064/41065 attachments, 41048 nobody reachable, and the
        member errors of a bad ``sender``.
    """
    world = call.world
    chat_type = call.text("chat_type", default="single")
    if chat_type not in ("single", "group"):
        raise ApiError(40058, f"chat_type {chat_type!r}")
    sender = call.text("sender")
    if sender:
        world.serving_staff(sender)
    pairs: list[tuple[str, str]] = []  # (recipient, sender)
    fail_list: list[str] = []
    if chat_type == "single":
        # An overlong list is refused whole; the reference gives no dedicated errcode.
        wanted = call.items("external_userid", limit=world.limits.mass_send_customers)
        groups = _tag_groups(call)
        if not (sender or wanted or call.mapping("tag_filter")):
            raise ApiError(40063, "sender, external_userid and tag_filter are all empty")
        text, attachments = check_content(call)
        if wanted:  # external_userid wins over tag_filter
            for external_userid in dict.fromkeys(wanted):
                customer = world.customers.get(external_userid)
                userid = pick_sender(world, customer, sender) if customer else None
                if userid is None:
                    fail_list.append(external_userid)
                else:
                    pairs.append((external_userid, userid))
        else:
            for customer in world.customers.values():
                userid = pick_sender(world, customer, sender, groups)
                if userid is not None:
                    pairs.append((customer.external_userid, userid))
    else:
        if not sender:
            raise ApiError(40063, "sender is required when chat_type is group")
        chat_ids = call.items("chat_id_list", limit=world.limits.mass_send_chats)
        text, attachments = check_content(call)
        # No chat_id_list: every group the sender owns. allow_select is for single only.
        owned = [c.chat_id for c in world.group_chats.values() if c.owner == sender]
        for chat_id in dict.fromkeys(chat_ids) or owned:
            chat = world.group_chats.get(chat_id)
            if chat is None or chat.owner != sender:
                fail_list.append(chat_id)
            else:
                pairs.append((chat_id, sender))
    if not pairs:
        raise ApiError(41048, "none of the requested recipients can be reached")
    task = MassTask(world.new_id("msg", 25), chat_type, int(call.now), text, attachments,
                    allow_select=chat_type == "single" and call.flag("allow_select", False))
    kind = "external_userid" if chat_type == "single" else "chat_id"
    for recipient, userid in pairs:
        task.senders.setdefault(userid, SenderTask(userid))
        task.results.append(SendResult(userid, **{kind: recipient}))
    world.tasks[task.msgid] = task
    return {"fail_list": fail_list, "msgid": task.msgid}


def task_or_error(call: Call) -> MassTask:
    """The task named by ``msgid``: 41046 when missing, 41047 when unknown."""
    msgid = call.text("msgid", required=True, missing=41046)
    task = call.world.tasks.get(msgid)
    if task is None:
        raise ApiError(41047, f"msgid {msgid!r}")
    return task


@endpoint("externalcontact/get_groupmsg_list_v2")
def get_groupmsg_list_v2(call: Call) -> dict:
    """Mass messages created within a window of at most one month."""
    chat_type = call.text("chat_type", required=True)
    if chat_type not in ("single", "group"):
        raise ApiError(40058, f"chat_type {chat_type!r}")
    start = call.integer("start_time", required=True)
    end = call.integer("end_time", required=True)
    if not 0 <= end - start <= 31 * DAY:  # type: ignore[operator]
        raise ApiError(40058, "end_time must follow start_time by at most one month")
    filter_type = call.integer("filter_type", default=2, choices=(0, 1, 2))
    creator = call.text("creator")
    tasks = [t for t in call.world.tasks.values()
             if t.chat_type == chat_type and start <= t.create_time <= end  # type: ignore
             and filter_type in (2, t.create_type) and (not creator or t.creator == creator)]
    page, next_cursor = call.page(tasks, default=50, most=100)
    rows = []
    for task in page:
        row = {"msgid": task.msgid, "create_time": task.create_time,
               "create_type": task.create_type, "attachments": task.attachments}
        if task.text:
            row["text"] = task.text
        if task.creator:
            row["creator"] = task.creator
        rows.append(row)
    return {"next_cursor": next_cursor, "group_msg_list": rows}


@endpoint("externalcontact/get_groupmsg_task")
def get_groupmsg_task(call: Call) -> dict:
    """Each sender of a task and whether they sent it (0 未发送, 2 已发送)."""
    task = task_or_error(call)
    page, next_cursor = call.page(list(task.senders.values()), default=500, most=1000)
    rows = []
    for sender in page:
        row = {"userid": sender.userid, "status": sender.status}
        if sender.send_time:
            row["send_time"] = sender.send_time
        rows.append(row)
    return {"next_cursor": next_cursor, "task_list": rows}


@endpoint("externalcontact/get_groupmsg_send_result")
def get_groupmsg_send_result(call: Call) -> dict:
    """Each recipient of one sender, with status 0/1/2/3."""
    task = task_or_error(call)
    userid = call.text("userid", required=True, missing=40003)
    results = [r for r in task.results if r.userid == userid]
    page, next_cursor = call.page(results, default=500, most=1000)
    rows = []
    for result in page:
        row = {"userid": result.userid, "status": result.status}
        if result.external_userid:
            row["external_userid"] = result.external_userid
        if result.chat_id:
            row["chat_id"] = result.chat_id
        if result.send_time:
            row["send_time"] = result.send_time
        rows.append(row)
    return {"next_cursor": next_cursor, "send_list": rows}


@endpoint("externalcontact/remind_groupmsg_send")
def remind_groupmsg_send(call: Call) -> dict:
    """Remind the senders; at most three reminders per task within 24 hours (41094).

    Every reminder is kept in :attr:`MassTask.reminders` (sandbox-clock times), also those
    older than the window, so tests and ``/sandbox/tasks`` see the whole history.
    """
    task = task_or_error(call)
    if task.canceled:
        raise ApiError(41093)
    recent = [t for t in task.reminders if call.now - t < DAY]
    if len(recent) >= call.world.limits.remind_limit:
        raise ApiError(41094, f"{len(recent)} reminders within 24 hours already")
    task.reminders.append(call.now)
    return {}


@endpoint("externalcontact/cancel_groupmsg_send")
def cancel_groupmsg_send(call: Call) -> dict:
    """Stop a task: senders who have not confirmed yet can no longer send it."""
    task_or_error(call).canceled = True
    return {}
