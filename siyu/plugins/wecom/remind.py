"""Remind staff to confirm a campaign's WeCom mass messages (remind_groupmsg_send).

A WeCom mass message only goes out once its sender confirms it in the client; until then the
campaign's deliveries wait as ``pending``. :func:`remind_unconfirmed` asks WeCom to nudge the
senders of a campaign's unconfirmed tasks, on the ``wecom`` (customers) and ``wecom_group``
(customer groups) channels alike::

    from siyu.plugins.wecom.remind import remind_unconfirmed
    remind_unconfirmed(ws, "双十二")
    # {"reminded": 3, "already_confirmed": 5, "limit_reached": 0, "failed": 0}

WeCom allows three reminders per task within 24 hours (errcode 41094 beyond). Each reminder
sent is written to the audit log (action ``wecom.remind``, target = the task's msgid), which
is also what the limit is counted from, so it holds across processes and restarts: a task
reminded three times in the last 24 hours is not asked about again until the oldest of them
is 24 hours old. From the command line: ``siyu campaign remind NAME``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.wecom.errors import WeComError
from siyu.plugins.wecom.models import WeComMassSend
from siyu.plugins.wecom.service import wecom
from siyu.storage.models import AuditLog, Campaign, Delivery
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

log = logging.getLogger("siyu.wecom")
_ = translator("siyu.plugins.wecom")

#: Channels whose messages wait for their sender's confirmation.
REMINDABLE = ("wecom", "wecom_group")
#: Reminders WeCom accepts per task within :data:`WINDOW`.
LIMIT = 3
WINDOW = timedelta(hours=24)
#: The audit-log action of one reminder sent.
ACTION = "wecom.remind"
#: WeCom's errcode for "too many reminders" (群发提醒超过频率限制).
TOO_MANY = 41094

D = Delivery.__table__
S = WeComMassSend.__table__
A = AuditLog.__table__


def remind_unconfirmed(ws: Workspace, campaign: str | int | Campaign, *,
                       now: datetime | None = None) -> dict[str, int]:
    """Remind the senders of the campaign's tasks they have not confirmed yet.

    Every task (msgid) of the campaign is looked at once: a task none of whose deliveries
    is still ``pending``, or whose sender has confirmed it by now (get_groupmsg_task), counts
    as ``already_confirmed``; one reminded :data:`LIMIT` times within the last 24 hours (this
    workspace's audit log, or WeCom answering 41094) as ``limit_reached``; the others are
    reminded (``reminded``) or, when WeCom refuses, ``failed`` (the reason is logged). WeCom
    is called outside any database transaction; each reminder sent is recorded right after.

    :param campaign: the campaign's name, id or record.
    :param now: when the 24-hour window ends (default: now).
    :return: ``{"reminded", "already_confirmed", "limit_reached", "failed"}`` task counts.
    :raises PermissionDenied: the principal may not send campaigns.
    :raises NotFound: no such campaign.
    :raises ValidationError: the campaign is not on a WeCom mass-message channel.
    """
    ws.principal.require("campaigns.send")
    row = ws.campaigns.get(campaign.id if isinstance(campaign, Campaign) else campaign)
    if row.channel not in REMINDABLE:
        raise ValidationError(_(
            "campaign {name!r} is sent through {channel}; only WeCom mass messages "
            "({channels}) wait for staff to confirm them", name=row.name,
            channel=row.channel, channels=", ".join(REMINDABLE)))
    now = now or utcnow()
    tasks = _tasks(ws, row.id)
    recent = _recent_reminders(ws, list(tasks), now)
    counts = {"reminded": 0, "already_confirmed": 0, "limit_reached": 0, "failed": 0}
    client = wecom(ws).client
    for msgid, (sender, waiting) in tasks.items():
        try:
            if not waiting or _confirmed(client, msgid, sender):
                counts["already_confirmed"] += 1
                continue
            if recent.get(msgid, 0) >= LIMIT:
                counts["limit_reached"] += 1
                continue
            client.remind_groupmsg_send(msgid)
        except WeComError as exc:
            key = "limit_reached" if exc.errcode == TOO_MANY else "failed"
            counts[key] += 1
            if key == "failed":
                log.warning("campaign %s: reminding the sender of WeCom task %s failed: %s",
                            row.name, msgid, exc)
            continue
        ws.audit(ACTION, msgid, {"campaign": row.name, "sender": sender})
        counts["reminded"] += 1
    return counts


def _tasks(ws: Workspace, campaign_id: int) -> dict[str, tuple[str, bool]]:
    """msgid → (sender userid or "", whether a delivery still waits for it) of the
    campaign's tasks, in one grouped query."""
    waiting = sa.func.max(sa.case((D.c.status == "pending", 1), else_=0))
    query = (sa.select(D.c.provider_id, sa.func.max(S.c.sender), waiting)
             .select_from(D.outerjoin(S, S.c.msgid == D.c.provider_id))
             .where(D.c.campaign_id == campaign_id, D.c.provider_id.is_not(None))
             .group_by(D.c.provider_id).order_by(D.c.provider_id))
    with ws.engine.connect() as conn:
        return {msgid: (sender or "", bool(pending))
                for msgid, sender, pending in conn.execute(query)}


def _recent_reminders(ws: Workspace, msgids: list[str], now: datetime) -> dict[str, int]:
    """msgid → reminders recorded in the 24 hours before ``now``."""
    found: dict[str, int] = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(msgids), 1000):
            found.update(conn.execute(
                sa.select(A.c.target, sa.func.count())
                .where(A.c.action == ACTION, A.c.target.in_(msgids[start:start + 1000]),
                       A.c.at > now - WINDOW, A.c.at <= now)
                .group_by(A.c.target)).all())
    return found


def _confirmed(client: Any, msgid: str, sender: str) -> bool:
    """Whether the task's sender (every sender, when not known) has sent it."""
    rows = client.get_groupmsg_task(msgid).get("task_list") or []
    mine = [r for r in rows if r.get("userid") == sender] or rows
    return bool(mine) and all(r.get("status") == 2 for r in mine)


def last_reminded(ws: Workspace, msgids: list[str]) -> dict[str, datetime]:
    """msgid → when it was last reminded (tasks never reminded are left out)."""
    found: dict[str, datetime] = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(msgids), 1000):
            found.update(conn.execute(
                sa.select(A.c.target, sa.func.max(A.c.at))
                .where(A.c.action == ACTION, A.c.target.in_(msgids[start:start + 1000]))
                .group_by(A.c.target)).all())
    return found
