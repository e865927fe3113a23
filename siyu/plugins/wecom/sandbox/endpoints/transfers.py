"""Handing customers over: on-job (在职继承) and resigned (离职继承) transfers (reference §2.6),
and the list of resigned members' customers waiting for one (获取待分配的离职成员列表, doc 92124).

A transfer only *starts* here (per-customer errcode 0 = "待24小时后自动接替"); the takeover
itself happens when the sandbox clock passes 24 hours (:meth:`People.tick`), or fails when the
customer refuses or the takeover member is full.
"""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, endpoint, paginate
from siyu.plugins.wecom.sandbox.errors import ApiError
from siyu.plugins.wecom.sandbox.model import Transfer

#: Per-customer errcode when a customer was already handed over twice within 90 days. The
#: reference states the limit but no code; 40058 (不合法的参数) is the closest documented one.
TRANSFER_LIMIT_ERRCODE = 40058


def _start(call: Call, kind: str) -> dict:
    world = call.world
    handover = world.staff_or_error(call.text("handover_userid", required=True, missing=40003))
    if kind == "resigned" and not handover.resigned:
        raise ApiError(40097, f"{handover.userid} has not left the corp")
    if kind == "onjob" and handover.resigned:
        raise ApiError(40058, f"{handover.userid} has left: use resigned/transfer_customer")
    takeover = world.serving_staff(call.text("takeover_userid", required=True, missing=40003))
    if takeover.userid == handover.userid:
        raise ApiError(40058, "handover_userid and takeover_userid are the same member")
    external_userids = call.items("external_userid", limit=100)
    if not external_userids:
        raise ApiError(41035, "external_userid is empty")
    message = call.text("transfer_success_msg", limit=200) if kind == "onjob" else ""
    now = call.now
    limits = world.limits
    answers = []
    for external_userid in external_userids:
        customer = world.customers.get(external_userid)
        if customer is None or handover.userid not in customer.follows:
            code = 40096
        elif any(t.external_userid == external_userid and t.status == 2
                 for t in world.transfers):
            code = 40100
        elif kind == "onjob" and len([t for t in customer.transfer_times
                                      if now - t < limits.transfer_window]
                                     ) >= limits.transfer_limit:
            code = TRANSFER_LIMIT_ERRCODE
        else:
            code = 0
            if kind == "onjob":
                customer.transfer_times.append(now)
            world.transfers.append(Transfer(external_userid, handover.userid, takeover.userid,
                                            kind, now, int(now + limits.transfer_delay),
                                            message=message))
        answers.append({"external_userid": external_userid, "errcode": code})
    return {"customer": answers}


def _result(call: Call, kind: str) -> dict:
    handover = call.text("handover_userid", required=True, missing=40003)
    takeover = call.text("takeover_userid", required=True, missing=40003)
    rows = [t for t in call.world.transfers
            if t.kind == kind and t.handover == handover and t.takeover == takeover]
    page, next_cursor = call.page(rows, default=1000, most=1000)
    return {"customer": [{"external_userid": t.external_userid, "status": t.status,
                          "takeover_time": t.takeover_time} for t in page],
            "next_cursor": next_cursor}


@endpoint("externalcontact/transfer_customer")
def transfer_customer(call: Call) -> dict:
    """Start on-job transfers (at most 100 customers; twice per customer per 90 days)."""
    return _start(call, "onjob")


@endpoint("externalcontact/transfer_result")
def transfer_result(call: Call) -> dict:
    """Status 1-4 and takeover_time of on-job transfers between two members."""
    return _result(call, "onjob")


@endpoint("externalcontact/resigned/transfer_customer")
def resigned_transfer_customer(call: Call) -> dict:
    """Start transfers of a resigned member's customers (40097 if they have not left)."""
    return _start(call, "resigned")


@endpoint("externalcontact/resigned/transfer_result")
def resigned_transfer_result(call: Call) -> dict:
    """Status 1-4 and takeover_time of resigned transfers between two members."""
    return _result(call, "resigned")


#: Most rows one page of get_unassigned_list holds, and its default page size.
UNASSIGNED_PAGE = 1000


def _unassigned(call: Call) -> list[tuple[str, str, int]]:
    """``(handover_userid, external_userid, dimission_time)`` of every customer of a resigned
    member not assigned yet: neither waiting for a resigned transfer nor handed over (a
    refused or failed assignment puts the customer back on the list)."""
    world = call.world
    assigned = {(t.handover, t.external_userid) for t in world.transfers
                if t.kind == "resigned" and t.status in (1, 2)}
    rows = []
    for userid, staff in sorted(world.staff.items()):
        if not staff.resigned:
            continue
        for external_userid in sorted(world.customers):
            customer = world.customers[external_userid]
            if userid in customer.follows and (userid, external_userid) not in assigned:
                rows.append((userid, external_userid, int(staff.resigned_at)))
    return rows


@endpoint("externalcontact/get_unassigned_list")
def get_unassigned_list(call: Call) -> dict:
    """Resigned members' customers waiting to be assigned, a page at a time.

    ``page_size`` 1..1000 (default 1000). ``cursor`` pages on (``next_cursor`` is empty on
    the last page); the deprecated ``page_id`` (from 0) still works when no cursor is given,
    and its answers carry no ``next_cursor``, as the doc says. ``is_last`` tells whether the
    page holds the last record.
    """
    size = call.integer("page_size", default=UNASSIGNED_PAGE, low=1, high=UNASSIGNED_PAGE)
    rows = _unassigned(call)
    cursor = call.text("cursor")
    if not cursor and call.has("page_id"):
        page_id = call.integer("page_id", default=0, low=0)
        chunk = rows[page_id * size:(page_id + 1) * size]
        return {"info": _info(chunk), "is_last": (page_id + 1) * size >= len(rows)}
    chunk, next_cursor = paginate(rows, cursor, size)
    return {"info": _info(chunk), "is_last": not next_cursor, "next_cursor": next_cursor}


def _info(rows: list[tuple[str, str, int]]) -> list[dict]:
    return [{"handover_userid": handover, "external_userid": external_userid,
             "dimission_time": dimission_time}
            for handover, external_userid, dimission_time in rows]
