"""The ``wecom`` delivery channel: mass messages through add_msg_template.

WeCom does not send a mass message itself: it creates a task per sender (the customer's
owner) that the member confirms in the client. So :func:`send` groups a batch by owner and
message, creates one task per group of at most 10,000 customers, and marks the recipients
``pending``; :func:`poll_results` later reads get_groupmsg_task / get_groupmsg_send_result and
turns WeCom's statuses into the deliveries' ``sent``, ``skipped`` "not a friend any more"
(2) and ``skipped`` "receive quota" (3, the customer's receive cap), each change notified as
``on_delivery`` by the outbox. :func:`reconcile` tells the outbox, after a crash, which
messages WeCom already has.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.core.i18n import translator
from siyu.core.records import OutgoingMessage, SendResult
from siyu.plugins.wecom.errors import WeComTransportError
from siyu.plugins.wecom.models import WeComMassResult, WeComMassSend
from siyu.plugins.wecom.service import wecom
from siyu.storage.bulk import insert_rows
from siyu.storage.models import Contact, Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")
_ = translator("siyu.plugins.wecom")

CHANNEL = "wecom"
MAX_PER_TASK = 10_000
#: WeCom's send_result status → our delivery status.
STATUSES = {0: "pending", 1: "sent", 2: "not_friend", 3: "already_received"}
#: How long after creation a task's results are still polled.
POLL_WINDOW = timedelta(days=30)
#: How far back :func:`reconcile` looks for tasks a crashed sender may have created.
RECONCILE_WINDOW = timedelta(days=2)
#: WeCom's send_result status → the outbox's (status, reason).
OUTBOX_STATUSES = {1: ("sent", ""), 2: ("skipped", "not a friend any more"),
                   3: ("skipped", "receive quota")}


def _recipients(ws: Workspace, ids: list[int]) -> dict[int, tuple[str, str]]:
    """contact id → (external_userid, owner userid) for ``ids``."""
    found: dict[int, tuple[str, str]] = {}
    ids = sorted(set(ids))
    with ws.engine.connect() as conn:
        for i in range(0, len(ids), 5000):
            rows = conn.execute(
                sa.select(Contact.id, Contact.external_userid, Staff.userid)
                .outerjoin(Staff, Contact.owner_id == Staff.id)
                .where(Contact.id.in_(ids[i:i + 5000]))).all()
            found.update({cid: (ext, userid) for cid, ext, userid in rows})
    return found


def _addresses(ws: Workspace, batch: list[OutgoingMessage]) -> dict[int, tuple[str, str]]:
    """contact id → (external_userid, sender) for the batch: what the outbox carried in each
    message (``address``, ``sender``), looked up only for messages that lack it."""
    found: dict[int, tuple[str, str]] = {}
    missing = []
    for message in batch:
        if message.contact_id is None:
            continue
        if message.address and message.sender:
            found[message.contact_id] = (message.address, message.sender)
        else:
            missing.append(message.contact_id)
    if missing:
        found.update(_recipients(ws, missing))
    return found


def _group_key(message: OutgoingMessage, owner: str) -> tuple:
    return (owner, message.text, repr(list(message.attachments)))


def send(ws: Workspace, batch: list[OutgoingMessage]) -> list[SendResult]:
    """Create mass-message tasks for ``batch``: one task per sender and content, at most
    10,000 customers each. One result per message, in order: ``pending`` (the member must
    confirm it; :func:`poll_results` reports what happened), ``failed`` with a reason, or
    ``unknown`` when WeCom may have created the task but no answer came (the outbox then
    reconciles with :func:`reconcile`, never sends again blindly).
    """
    contacts = _addresses(ws, batch)
    results: list[SendResult | None] = [None] * len(batch)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, message in enumerate(batch):
        ext, owner = contacts.get(message.contact_id, (None, None))
        owner = message.sender or owner
        if not ext:
            results[index] = SendResult("failed", reason=str(_("not a WeCom customer")))
        elif not owner:
            results[index] = SendResult("failed", reason=str(_("the customer has no owner "
                                                               "to send it")))
        else:
            groups[_group_key(message, owner)].append(index)
    client = wecom(ws).client
    for (owner, text, _attachments), indexes in groups.items():
        for start in range(0, len(indexes), MAX_PER_TASK):
            part = indexes[start:start + MAX_PER_TASK]
            externals = [contacts[batch[i].contact_id][0] for i in part]
            try:
                answer = client.add_msg_template(
                    external_userid=externals, sender=owner, text=text or None,
                    attachments=list(batch[part[0]].attachments) or None)
            except WeComTransportError as exc:  # it may have reached WeCom
                for i in part:
                    results[i] = SendResult("unknown", reason=str(exc))
                continue
            except SiyuError as exc:
                for i in part:
                    results[i] = SendResult("failed", reason=str(exc))
                continue
            msgid, failed = answer["msgid"], set(answer.get("fail_list") or [])
            store_task(ws, msgid, owner, text, [(externals[k], batch[i]) for k, i in
                                                enumerate(part)], failed)
            for k, i in enumerate(part):
                results[i] = (SendResult("failed", provider_id=msgid,
                                         reason=str(_("WeCom refused this customer (not "
                                                      "the sender's customer any more)")))
                              if externals[k] in failed else SendResult("pending",
                                                                        provider_id=msgid))
    return [r for r in results if r is not None]


def store_task(ws: Workspace, msgid: str, owner: str, text: str,
               recipients: list[tuple[str, OutgoingMessage]], failed: set[str]) -> None:
    """Keep a task WeCom created (``wecom_mass_send``) and one ``wecom_mass_result`` row per
    recipient key with its delivery, in one transaction; recipients keyed in ``failed``
    (WeCom's fail_list) are stored ``failed``, the others ``pending``."""
    with ws.engine.begin() as conn:
        conn.execute(sa.insert(WeComMassSend).values(
            msgid=msgid, sender=owner, text=text[:4000], recipients=len(recipients),
            status="waiting", created_at=utcnow()))
        rows = [(msgid, ext, message.contact_id, str(message.delivery_id),
                 "failed" if ext in failed else "pending") for ext, message in recipients]
        insert_rows(conn, WeComMassResult.__table__,
                    ["msgid", "external_userid", "contact_id", "delivery_id", "status"], rows,
                    ignore_conflicts=True)


def reconcile(ws: Workspace, batch: list[OutgoingMessage]) -> dict[int, SendResult]:
    """What WeCom already has of ``batch``, a batch whose outcome was never recorded.

    First what this workspace stored right after a call (the task and its recipients), then
    WeCom itself: mass messages created by the app in the last :data:`RECONCILE_WINDOW`
    whose text matches and which this workspace does not know, read recipient by recipient
    (get_groupmsg_task, get_groupmsg_send_result). Messages neither knows of were not sent.

    :return: delivery id → ``pending`` result with the task's msgid.
    """
    found: dict[int, SendResult] = {}
    by_id = {m.delivery_id: m for m in batch}
    results = WeComMassResult.__table__
    with ws.engine.connect() as conn:
        for row in conn.execute(sa.select(results.c.delivery_id, results.c.msgid,
                                          results.c.status)
                                .where(results.c.delivery_id.in_([str(i) for i in by_id]))):
            delivery_id = int(row.delivery_id)
            found[delivery_id] = (SendResult("failed", provider_id=row.msgid,
                                             reason=str(_("WeCom refused this customer")))
                                  if row.status == "failed"
                                  else SendResult("pending", provider_id=row.msgid))
        known = set(conn.execute(sa.select(WeComMassSend.msgid).where(
            WeComMassSend.created_at >= utcnow() - RECONCILE_WINDOW)).scalars())
    rest = [m for m in batch if m.delivery_id not in found and m.contact_id is not None]
    if not rest:
        return found
    contacts = _recipients(ws, [m.contact_id for m in rest])
    wanted: dict[tuple[str, str], OutgoingMessage] = {}
    for message in rest:
        ext, owner = contacts.get(message.contact_id, (None, None))
        owner = message.sender or owner
        if ext and owner:
            wanted[(owner, ext)] = message
    texts = {m.text for m in rest}
    client = wecom(ws).client
    end = int(utcnow().timestamp()) + 60
    start = end - int(RECONCILE_WINDOW.total_seconds())
    cursor, seen = None, set()
    while True:
        page = client.get_groupmsg_list_v2("single", start, end, filter_type=0, limit=100,
                                           cursor=cursor)
        for task in page.get("group_msg_list") or []:
            text = (task.get("text") or {}).get("content") or ""
            if task["msgid"] in known or text not in texts:
                continue
            _adopt(ws, client, task["msgid"], text, wanted, found)
        cursor = page.get("next_cursor") or None
        if not cursor or cursor in seen:
            break
        seen.add(cursor)
    return found


def _adopt(ws: Workspace, client: Any, msgid: str, text: str,
           wanted: dict[tuple[str, str], OutgoingMessage], found: dict[int, SendResult]) -> None:
    """Record a task WeCom has and this workspace did not, for the messages it carried."""
    senders = [t["userid"] for t in client.get_groupmsg_task(msgid).get("task_list") or []]
    for sender in senders:
        cursor, seen, mine = None, set(), []
        while True:
            page = client.get_groupmsg_send_result(msgid, sender, limit=1000, cursor=cursor)
            for item in page.get("send_list") or []:
                message = wanted.get((sender, item.get("external_userid")))
                if message is not None and message.text == text:
                    mine.append((item["external_userid"], message))
            cursor = page.get("next_cursor") or None
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        if not mine:
            continue
        store_task(ws, msgid, sender, text, mine, set())
        for _ext, message in mine:
            found[message.delivery_id] = SendResult("pending", provider_id=msgid)
        log.info("reconciled WeCom task %s: %d recipients were already sent it", msgid,
                 len(mine))


def poll_results(ws: Workspace) -> int:
    """Read the results of unfinished tasks; returns how many recipients changed status.

    Tasks to customer groups (the ``wecom_group`` channel) are settled by
    :func:`siyu.plugins.wecom.group_channel.poll_results`, called from here, so the one
    ``wecom.mass_results`` job reads both kinds.
    """
    from siyu.plugins.wecom import group_channel

    client = wecom(ws).client
    table = WeComMassSend.__table__
    since = utcnow() - POLL_WINDOW
    with ws.engine.connect() as conn:
        open_tasks = conn.execute(sa.select(table.c.msgid, table.c.sender).where(
            table.c.status == "waiting", table.c.created_at >= since,
            ~group_channel.group_task(table.c.msgid))).all()
    changed = 0
    for msgid, sender in open_tasks:
        tasks = client.get_groupmsg_task(msgid).get("task_list", [])
        mine = [t for t in tasks if t.get("userid") == sender]
        if not mine or mine[0].get("status") != 2:
            continue  # the member has not confirmed yet
        cursor, seen, outcome = None, set(), []
        while True:
            page = client.get_groupmsg_send_result(msgid, sender, limit=1000, cursor=cursor)
            outcome += page.get("send_list", [])
            cursor = page.get("next_cursor") or None
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        changed += _apply_results(ws, msgid, outcome)
        with ws.engine.begin() as conn:
            conn.execute(table.update().where(table.c.msgid == msgid)
                         .values(status="done", checked_at=utcnow()))
    return changed + group_channel.poll_results(ws)


def _apply_results(ws: Workspace, msgid: str, outcome: list[dict[str, Any]]) -> int:
    """Store the recipients' new statuses and pass them to the outbox's deliveries (with
    their ``on_delivery`` notices), in one transaction."""
    from siyu.core.messaging.outbox import record_feedback

    results = WeComMassResult.__table__
    feedback = []
    updates = []
    with ws.session() as s:  # the status changes and their notices commit together
        conn = s.connection()
        current = {row.external_userid: row for row in conn.execute(
            sa.select(results.c.external_userid, results.c.status, results.c.delivery_id)
            .where(results.c.msgid == msgid))}
        for item in outcome:
            row = current.get(item.get("external_userid"))
            code = int(item.get("status", 0))
            status = STATUSES.get(code, "pending")
            if row is None or row.status == status or row.status == "failed":
                continue
            sent_at = (datetime.fromtimestamp(int(item["send_time"]), UTC)
                       if item.get("send_time") else None)
            updates.append((status, sent_at, msgid, row.external_userid))
            if code in OUTBOX_STATUSES and row.delivery_id.isdigit():
                new_status, reason = OUTBOX_STATUSES[code]
                feedback.append((int(row.delivery_id), new_status, reason, sent_at))
        if updates:
            conn.execute(results.update().where(
                results.c.msgid == sa.bindparam("m"),
                results.c.external_userid == sa.bindparam("e"))
                .values(status=sa.bindparam("st"), sent_at=sa.bindparam("at")),
                [{"st": st, "at": at, "m": m, "e": e} for st, at, m, e in updates])
        if feedback:
            record_feedback(ws, s, feedback)
    return len(updates)
