"""The ``wecom`` delivery channel: mass messages through add_msg_template.

WeCom does not send a mass message itself: it creates a task per sender (the customer's
owner) that the member confirms in the client. So :func:`send` groups a batch by owner and
message, creates one task per group of at most 10,000 customers, and marks the recipients
``pending``; :func:`poll_results` later reads get_groupmsg_task / get_groupmsg_send_result and
turns WeCom's statuses into ``sent``, ``not_friend`` (2) and ``already_received`` (3, the
customer's receive cap), firing ``on_delivery`` for each change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import SiyuError
from siyu.plugins.wecom.models import WeComMassResult, WeComMassSend
from siyu.plugins.wecom.service import wecom
from siyu.storage.bulk import insert_rows
from siyu.storage.models import Contact, Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")

CHANNEL = "wecom"
MAX_PER_TASK = 10_000
#: WeCom's send_result status → our delivery status.
STATUSES = {0: "pending", 1: "sent", 2: "not_friend", 3: "already_received"}
#: How long after creation a task's results are still polled.
POLL_WINDOW = timedelta(days=30)


def _recipients(ws: Workspace, batch: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """contact id → (external_userid, owner userid) for the batch's contacts."""
    ids = sorted({item["contact_id"] for item in batch if item.get("contact_id") is not None})
    found: dict[int, tuple[str, str]] = {}
    with ws.engine.connect() as conn:
        for i in range(0, len(ids), 5000):
            rows = conn.execute(
                sa.select(Contact.id, Contact.external_userid, Staff.userid)
                .outerjoin(Staff, Contact.owner_id == Staff.id)
                .where(Contact.id.in_(ids[i:i + 5000]))).all()
            found.update({cid: (ext, userid) for cid, ext, userid in rows})
    return found


def send(ws: Workspace, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Create mass-message tasks for ``batch``; one result per item, in order.

    :param batch: items with ``contact_id``, ``text``, optional ``attachments`` and
        ``delivery_id`` (the caller's id, echoed in ``on_delivery``).
    :return: ``{"status": "pending" | "failed", "provider_id": msgid, "reason": ...}``.
    """
    contacts = _recipients(ws, batch)
    results: list[dict[str, Any]] = [{}] * len(batch)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, item in enumerate(batch):
        ext, owner = contacts.get(item.get("contact_id"), (None, None))
        if not ext:
            results[index] = {"status": "failed", "reason": "not a WeCom contact"}
        elif not owner:
            results[index] = {"status": "failed", "reason": "contact has no owner to send"}
        else:
            key = (owner, item.get("text", ""), repr(item.get("attachments") or []))
            groups[key].append(index)
    client = wecom(ws).client
    for (owner, text, _), indexes in groups.items():
        for start in range(0, len(indexes), MAX_PER_TASK):
            part = indexes[start:start + MAX_PER_TASK]
            externals = [contacts[batch[i]["contact_id"]][0] for i in part]
            try:
                answer = client.add_msg_template(
                    external_userid=externals, sender=owner, text=text or None,
                    attachments=batch[part[0]].get("attachments") or None)
            except SiyuError as exc:
                for i in part:
                    results[i] = {"status": "failed", "reason": str(exc)}
                continue
            msgid, failed = answer["msgid"], set(answer.get("fail_list") or [])
            _store(ws, msgid, owner, text, batch, part, contacts, failed)
            for i in part:
                ext = contacts[batch[i]["contact_id"]][0]
                results[i] = ({"status": "failed", "provider_id": msgid,
                               "reason": "WeCom refused this customer (fail_list)"}
                              if ext in failed else {"status": "pending", "provider_id": msgid})
    return results


def _store(ws: Workspace, msgid: str, owner: str, text: str, batch: list[dict[str, Any]],
           part: list[int], contacts: dict, failed: set[str]) -> None:
    with ws.engine.begin() as conn:
        conn.execute(sa.insert(WeComMassSend).values(
            msgid=msgid, sender=owner, text=text[:4000], recipients=len(part),
            status="waiting", created_at=utcnow()))
        rows = []
        for i in part:
            ext = contacts[batch[i]["contact_id"]][0]
            rows.append((msgid, ext, batch[i]["contact_id"],
                         str(batch[i].get("delivery_id", "")),
                         "failed" if ext in failed else "pending"))
        insert_rows(conn, WeComMassResult.__table__,
                    ["msgid", "external_userid", "contact_id", "delivery_id", "status"], rows,
                    ignore_conflicts=True)


def poll_results(ws: Workspace) -> int:
    """Read the results of unfinished tasks; returns how many recipients changed status."""
    client = wecom(ws).client
    table = WeComMassSend.__table__
    since = utcnow() - POLL_WINDOW
    with ws.engine.connect() as conn:
        open_tasks = conn.execute(sa.select(table.c.msgid, table.c.sender).where(
            table.c.status == "waiting", table.c.created_at >= since)).all()
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
    return changed


def _apply_results(ws: Workspace, msgid: str, outcome: list[dict[str, Any]]) -> int:
    results = WeComMassResult.__table__
    changes = []
    with ws.session() as s:  # the status changes and their notices commit together
        conn = s.connection()
        current = {row.external_userid: row for row in conn.execute(
            sa.select(results).where(results.c.msgid == msgid))}
        for item in outcome:
            row = current.get(item.get("external_userid"))
            status = STATUSES.get(int(item.get("status", 0)), "pending")
            if row is None or row.status == status or row.status == "failed":
                continue
            sent_at = (datetime.fromtimestamp(int(item["send_time"]), UTC)
                       if item.get("send_time") else None)
            conn.execute(results.update().where(results.c.msgid == msgid,
                                                results.c.external_userid == row.external_userid)
                         .values(status=status, sent_at=sent_at))
            changes.append({"channel": CHANNEL, "provider_id": msgid,
                            "delivery_id": row.delivery_id, "contact_id": row.contact_id,
                            "external_userid": row.external_userid, "status": status,
                            "sent_at": sent_at})
        for delivery in changes:
            ws.notify("on_delivery", session=s, delivery=delivery,
                      subject=f"contact:{delivery['contact_id']}"
                      if delivery["contact_id"] else None)
    return len(changes)
