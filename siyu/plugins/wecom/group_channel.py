"""The ``wecom_group`` delivery channel: mass messages to customer groups (客户群群发).

A campaign on this channel addresses staff members, not contacts: each target is a userid and
stands for every customer group that member owns. :func:`send` creates one add_msg_template
task per target (``chat_type="group"``, ``sender`` = the userid, no ``chat_id_list``, so WeCom
takes all of the member's groups) and answers ``pending`` with the task's msgid: nothing goes
out until the member confirms it in the client. :func:`poll_results` (run by the
``wecom.mass_results`` job, through :func:`siyu.plugins.wecom.channel.poll_results`) then
settles each confirmed task: ``sent`` when at least one group received it, ``skipped``
"receive quota" when every group had reached its cap, ``failed`` otherwise. :func:`reconcile`
tells the outbox, after a crash, which tasks WeCom already has.

Tasks are kept like the customer tasks of the ``wecom`` channel (``wecom_mass_send``), with one
``wecom_mass_result`` row tying the task to its delivery: keyed by the target userid, without
a contact. That row without a contact is what marks a task as a group task
(:func:`group_task`). Groups have their own receive cap, which WeCom enforces; the channel
does not count against the customers' cap (``wecom_quota`` is off).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.core.i18n import translator
from siyu.core.messaging.launch import QUOTA
from siyu.core.records import OutgoingMessage, SendResult
from siyu.plugins.wecom.channel import POLL_WINDOW, RECONCILE_WINDOW, store_task
from siyu.plugins.wecom.errors import WeComError, WeComTransportError
from siyu.plugins.wecom.models import WeComGroupChat, WeComMassResult, WeComMassSend
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")
_ = translator("siyu.plugins.wecom")

CHANNEL = "wecom_group"
#: errcode of add_msg_template when nobody can be reached (here: the member owns no group).
NO_RECIPIENT = 41048
#: send_result status of a group → what it means for the task.
SENT, GONE, CAPPED, UNSENT = 1, 2, 3, 0

S = WeComMassSend.__table__
R = WeComMassResult.__table__


def group_task(msgid: Any) -> sa.ColumnElement[bool]:
    """SQL: the task ``msgid`` (a column or value) is a group task of this channel."""
    return sa.exists().where(R.c.msgid == msgid, R.c.contact_id.is_(None))


# -- targets ---------------------------------------------------------------------------------


def targets(ws: Workspace) -> dict[str, str]:
    """The channel's targets: every active staff member, userid → title
    (``"张三 (zhangsan), 2 customer groups"``, the groups as last synced)."""
    G = WeComGroupChat.__table__
    owned = (sa.select(G.c.owner, sa.func.count().label("n"))
             .where(G.c.status == "active").group_by(G.c.owner).subquery())
    with ws.engine.connect() as conn:
        rows = conn.execute(
            sa.select(Staff.userid, Staff.name, sa.func.coalesce(owned.c.n, 0))
            .outerjoin(owned, owned.c.owner == Staff.userid)
            .where(Staff.status == "active").order_by(Staff.userid)).all()
    out = {}
    for userid, name, groups in rows:
        who = userid if not name or name == userid else f"{name} ({userid})"
        out[userid] = _.ngettext("{who}, {n} customer group", "{who}, {n} customer groups",
                                 int(groups), who=who)
    return out


def _active(ws: Workspace, userids: set[str]) -> set[str]:
    """Those of ``userids`` who are active staff members."""
    with ws.engine.connect() as conn:
        return set(conn.execute(sa.select(Staff.userid).where(
            Staff.userid.in_(sorted(userids)), Staff.status == "active")).scalars())


# -- send ------------------------------------------------------------------------------------


def send(ws: Workspace, batch: list[OutgoingMessage]) -> list[SendResult]:
    """Create one group mass-message task per message (its recipient is the sending
    member's userid). One result per message, in order: ``pending`` with the task's msgid,
    ``failed`` with a reason (not an active staff member, no customer group, refused), or
    ``unknown`` when WeCom may have created the task but no answer came (the outbox then
    asks :func:`reconcile`, never sends again blindly).
    """
    active = _active(ws, {m.recipient for m in batch})
    client = wecom(ws).client
    results = []
    for message in batch:
        userid = message.recipient
        if userid not in active:
            results.append(SendResult("failed", reason=str(_(
                "{userid} is not an active staff member (unknown, inactive or resigned)",
                userid=userid))))
            continue
        try:
            answer = client.add_msg_template(
                chat_type="group", sender=userid, text=message.text or None,
                attachments=list(message.attachments) or None)
        except WeComTransportError as exc:  # it may have reached WeCom
            results.append(SendResult("unknown", reason=str(exc)))
            continue
        except WeComError as exc:
            reason = (_("{userid} owns no customer group to send to", userid=userid)
                      if exc.errcode == NO_RECIPIENT else exc)
            results.append(SendResult("failed", reason=str(reason)))
            continue
        except SiyuError as exc:
            results.append(SendResult("failed", reason=str(exc)))
            continue
        store_task(ws, answer["msgid"], userid, message.text, [(userid, message)], set())
        results.append(SendResult("pending", provider_id=answer["msgid"]))
    return results


# -- reconcile -------------------------------------------------------------------------------


def reconcile(ws: Workspace, batch: list[OutgoingMessage]) -> dict[int, SendResult]:
    """What WeCom already has of ``batch``, a batch whose outcome was never recorded.

    First the tasks this workspace stored right after a call, then WeCom itself: group mass
    messages the app created in the last :data:`~siyu.plugins.wecom.channel.RECONCILE_WINDOW`
    that this workspace does not know, whose text and sender (get_groupmsg_task) match a
    message of the batch. API-created tasks carry no ``creator``, so they are found by time
    window and text, then by sender. Messages neither knows of were not sent.

    :return: delivery id → ``pending`` result with the task's msgid.
    """
    found: dict[int, SendResult] = {}
    ids = [str(m.delivery_id) for m in batch]
    with ws.engine.connect() as conn:
        for delivery_id, msgid in conn.execute(sa.select(R.c.delivery_id, R.c.msgid).where(
                R.c.delivery_id.in_(ids), R.c.contact_id.is_(None))):
            found[int(delivery_id)] = SendResult("pending", provider_id=msgid)
        known = set(conn.execute(sa.select(S.c.msgid).where(
            S.c.created_at >= utcnow() - RECONCILE_WINDOW)).scalars())
    wanted = {(m.recipient, m.text or ""): m for m in batch if m.delivery_id not in found}
    if not wanted:
        return found
    texts = {text for _userid, text in wanted}
    client = wecom(ws).client
    end = int(utcnow().timestamp()) + 60
    start = end - int(RECONCILE_WINDOW.total_seconds())
    cursor, seen = None, set()
    while wanted:
        page = client.get_groupmsg_list_v2("group", start, end, filter_type=0, limit=100,
                                           cursor=cursor)
        for task in page.get("group_msg_list") or []:
            text = (task.get("text") or {}).get("content") or ""
            if task["msgid"] in known or text not in texts:
                continue
            for sender in client.get_groupmsg_task(task["msgid"]).get("task_list") or []:
                message = wanted.pop((sender.get("userid"), text), None)
                if message is None:
                    continue
                store_task(ws, task["msgid"], message.recipient, text, [(message.recipient,
                                                                        message)], set())
                found[message.delivery_id] = SendResult("pending", provider_id=task["msgid"])
                log.info("reconciled WeCom group task %s of %s", task["msgid"],
                         message.recipient)
        cursor = page.get("next_cursor") or None
        if not cursor or cursor in seen:
            break
        seen.add(cursor)
    return found


# -- results ---------------------------------------------------------------------------------


def _confirmed_at(client: Any, msgid: str, sender: str) -> int | None:
    """When ``sender`` confirmed the task (a timestamp, 0 when WeCom gives none), or
    ``None`` while they have not."""
    for row in client.get_groupmsg_task(msgid).get("task_list") or []:
        if row.get("userid") == sender and row.get("status") == 2:
            return int(row.get("send_time") or 0)
    return None


def _chat_statuses(client: Any, msgid: str, sender: str) -> list[tuple[int, int]]:
    """``(status, send_time)`` of every group of the sender's task."""
    cursor, seen, out = None, set(), []
    while True:
        page = client.get_groupmsg_send_result(msgid, sender, limit=1000, cursor=cursor)
        out += [(int(item.get("status", 0)), int(item.get("send_time") or 0))
                for item in page.get("send_list") or []]
        cursor = page.get("next_cursor") or None
        if not cursor or cursor in seen:
            return out
        seen.add(cursor)


def outcome(chats: list[tuple[int, int]], confirmed_at: int
            ) -> tuple[str, str, str, datetime | None]:
    """What a confirmed task's groups mean for its delivery:
    ``(delivery status, reason, result row status, sent_at)``."""
    counts = Counter(status for status, _time in chats)
    times = [t for status, t in chats if status == SENT and t] or [confirmed_at]
    sent_at = datetime.fromtimestamp(max(times), UTC) if max(times) else None
    total = len(chats)
    if counts[SENT]:
        reason = "" if counts[SENT] == total else str(_(
            "{sent} of {total} customer groups received it ({capped} at their receive cap, "
            "{gone} no longer there)", sent=counts[SENT], total=total,
            capped=counts[CAPPED], gone=counts[GONE]))
        return "sent", reason, "sent", sent_at
    if total and counts[CAPPED] == total:
        return "skipped", QUOTA, "already_received", None
    return "failed", str(_("no customer group received it ({capped} at their receive cap, "
                           "{gone} no longer there)", capped=counts[CAPPED],
                           gone=counts[GONE])), "failed", None


def poll_results(ws: Workspace) -> int:
    """Settle the group tasks whose sender confirmed; returns how many deliveries changed.

    WeCom is read task by task (outside any transaction); what it said is written at the
    end in one transaction, with executemany statements and the deliveries' ``on_delivery``
    notices. A task whose groups are still being sent (status 0) waits for the next poll.
    """
    from siyu.core.messaging.outbox import record_feedback

    since = utcnow() - POLL_WINDOW
    with ws.engine.connect() as conn:
        open_tasks = conn.execute(
            sa.select(S.c.msgid, S.c.sender, R.c.external_userid, R.c.delivery_id)
            .join(R, R.c.msgid == S.c.msgid)
            .where(S.c.status == "waiting", S.c.created_at >= since,
                   R.c.contact_id.is_(None), R.c.status == "pending")).all()
    if not open_tasks:
        return 0
    client = wecom(ws).client
    rows, tasks, feedback = [], [], []
    for msgid, sender, key, delivery_id in open_tasks:
        confirmed_at = _confirmed_at(client, msgid, sender)
        if confirmed_at is None:
            continue  # the member has not confirmed yet
        chats = _chat_statuses(client, msgid, sender)
        if any(status == UNSENT for status, _time in chats):
            continue  # still going out
        status, reason, row_status, sent_at = outcome(chats, confirmed_at)
        rows.append({"m": msgid, "k": key, "st": row_status, "at": sent_at})
        tasks.append({"m": msgid, "n": len(chats)})
        if delivery_id.isdigit():
            feedback.append((int(delivery_id), status, reason, sent_at))
    if not rows:
        return 0
    now = utcnow()
    with ws.session() as s:  # the status changes and their notices commit together
        conn = s.connection()
        conn.execute(R.update().where(R.c.msgid == sa.bindparam("m"),
                                      R.c.external_userid == sa.bindparam("k"))
                     .values(status=sa.bindparam("st"), sent_at=sa.bindparam("at")), rows)
        conn.execute(S.update().where(S.c.msgid == sa.bindparam("m"))
                     .values(status="done", checked_at=now, recipients=sa.bindparam("n")),
                     tasks)
        return record_feedback(ws, s, feedback)
