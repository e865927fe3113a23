"""The ``robot`` channel: each message goes to one group robot, named by its recipient.

For every message, in this order:

1. the body is built and checked by the robot's kind (:mod:`~siyu.plugins.robots.kinds`);
2. a slot is **reserved** in one short transaction: the robot's row is locked (an ``UPDATE``
   of itself: a row lock on PostgreSQL, the write lock on SQLite), the calls of the last
   :data:`WINDOW` are counted in ``robot_send``, and when there is room a row for this call is
   written and committed. Another process reserving for the same robot waits for that lock
   and then counts this call, so together they never pass the robot's per-minute limit. When
   the window is full the message is handed back (``failed``, ``retry=True``) uncalled;
3. the provider is called, outside any transaction, with one HTTP client per batch.

A rate-limit answer (WeCom 45009), HTTP 429 or 5xx, a timeout or a connection error is
transient (``retry=True``); other refusals fail with the provider's message. After such a
transient failure the robot's other messages in the batch are not tried. The robots' last
success or error is written once, after the batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import translator
from siyu.core.records import OutgoingMessage, SendResult
from siyu.plugins.robots.kinds import KINDS, RobotKind
from siyu.plugins.robots.models import MAX_ERROR, Robot, RobotSend
from siyu.plugins.robots.transport import (
    Deadline,
    client,
    excerpt,
    json_of,
    not_tried,
    transport_failure,
)
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.robots")

CHANNEL = "robot"
ROBOT = Robot.__table__
SEND = RobotSend.__table__
#: The window the per-minute limit counts calls in.
WINDOW = timedelta(seconds=60)
#: Send-log rows older than this are deleted (by the next reservation for the robot).
KEEP = timedelta(minutes=10)
#: Seconds to connect, and again to wait for the answer.
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Target:
    """A stored robot, as sending needs it."""

    name: str
    kind: str
    url: str
    secret: str | None = None


def load(ws: Workspace, names: Iterable[str]) -> dict[str, Target]:
    """The stored robots among ``names``, by name."""
    wanted = sorted({str(name) for name in names})
    found: dict[str, Target] = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(sa.select(ROBOT.c.name, ROBOT.c.kind, ROBOT.c.url,
                                          ROBOT.c.secret)
                                .where(ROBOT.c.name.in_(wanted[start:start + 500])))
            found.update({row.name: Target(row.name, row.kind, row.url, row.secret)
                          for row in rows})
    return found


def unknown(name: str) -> NotFound:
    return NotFound(_("no robot named {name!r}; add it with `siyu robot add`", name=name))


def reserve(ws: Workspace, name: str, per_minute: int, now: datetime | None = None) -> float:
    """Reserve one call to robot ``name``: ``0.0`` when reserved (its send-log row is
    committed), else the seconds until the window has room again.

    :raises NotFound: the robot is not stored (any more).
    """
    now = now or utcnow()
    with ws.engine.begin() as conn:
        # Lock the robot first: reservations for it take turns, each counting the last one.
        locked = conn.execute(ROBOT.update().where(ROBOT.c.name == name)
                              .values(name=ROBOT.c.name)).rowcount
        if not locked:
            raise unknown(name)
        recent = list(conn.execute(sa.select(SEND.c.sent_at)
                                   .where(SEND.c.robot == name, SEND.c.sent_at > now - WINDOW)
                                   .order_by(SEND.c.sent_at)).scalars())
        if len(recent) >= per_minute:
            frees = recent[len(recent) - per_minute] + WINDOW
            return max((frees - now).total_seconds(), 0.001)
        conn.execute(SEND.insert().values(robot=name, sent_at=now))
        conn.execute(SEND.delete().where(SEND.c.robot == name, SEND.c.sent_at < now - KEEP))
    return 0.0


def read_answer(kind: RobotKind, name: str, response: httpx.Response) -> SendResult:
    """What the provider's answer to one message means."""
    where = _("robot {name}", name=name)
    data = json_of(response)
    code, message = kind.answer(data) if isinstance(data, dict) else (None, "")
    status = response.status_code
    detail = message or excerpt(response) or response.reason_phrase
    if code is not None and code in kind.rate_limited:
        return SendResult("failed", retry=True, reason=_(
            "{where}: over the provider's rate limit (code {code}: {message}); tried again "
            "later", where=where, code=code, message=detail))
    if status == 429 or status >= 500:
        return SendResult("failed", retry=True, reason=_(
            "{where}: HTTP {status} ({detail}); tried again later", where=where,
            status=status, detail=detail))
    if status >= 300:
        return SendResult("failed", reason=_("{where}: HTTP {status}: {detail}", where=where,
                                             status=status, detail=detail))
    if code is None:
        return SendResult("failed", reason=_("{where}: not an answer this kind of robot "
                                             "gives: {detail}", where=where,
                                             detail=excerpt(response) or "-"))
    if code != 0:
        return SendResult("failed", reason=_("{where}: refused (code {code}): {message}",
                                             where=where, code=code, message=detail))
    return SendResult("sent")


def deliver(ws: Workspace, http: httpx.Client, target: Target, *, text: str,
            markdown: bool = False, subject: str = "", attachments: Any = ()
            ) -> tuple[SendResult, bool]:
    """Build, reserve and send one message to ``target``: the result, and whether the
    provider was called."""
    where = _("robot {name}", name=target.name)
    kind = KINDS.get(target.kind)
    if kind is None:
        return SendResult("failed", reason=_(
            "{where}: unknown robot kind {kind!r} (is the plugin that adds it loaded?)",
            where=where, kind=target.kind)), False
    try:
        url, content = kind.request(text, markdown=markdown, subject=subject,
                                    attachments=attachments, url=target.url,
                                    secret=target.secret, now=time.time())
    except ValidationError as exc:
        return SendResult("failed", reason=f"{where}: {exc}"), False
    try:
        wait = reserve(ws, target.name, kind.per_minute)
    except NotFound as exc:
        return SendResult("failed", reason=str(exc)), False
    if wait:
        return SendResult("failed", retry=True, reason=_(
            "{where}: {limit} messages in the last minute, the most a {kind} robot takes; "
            "tried again later (room again in {wait} s)", where=where,
            limit=kind.per_minute, kind=kind.title, wait=max(1, round(wait)))), False
    try:
        response = http.post(url, content=content,
                             headers={"Content-Type": "application/json; charset=utf-8"})
    except httpx.HTTPError as exc:
        return transport_failure(exc, where), True
    return read_answer(kind, target.name, response), True


def note(ws: Workspace, outcomes: dict[str, str | None]) -> None:
    """Write each robot's last success (``None``) or error, in one short transaction."""
    if not outcomes:
        return
    now = utcnow()
    with ws.engine.begin() as conn:
        for name, error in sorted(outcomes.items()):
            values: dict[str, Any] = (
                {"last_sent_at": now, "last_error": None} if error is None
                else {"last_error": error[:MAX_ERROR], "last_error_at": now})
            conn.execute(ROBOT.update().where(ROBOT.c.name == name).values(**values))


def is_markdown(message: OutgoingMessage) -> bool:
    """Whether the campaign asks for Markdown (``extra={"format": "markdown"}``)."""
    return str((message.extra or {}).get("format", "")).lower() == "markdown"


def send(ws: Workspace, batch: list[OutgoingMessage]) -> list[SendResult]:
    """Send ``batch`` through the ``robot`` channel; one result per message, in order."""
    targets = load(ws, (message.recipient for message in batch))
    results: list[SendResult] = []
    held: dict[str, SendResult] = {}  # robots not called again in this batch, and why
    outcomes: dict[str, str | None] = {}
    deadline = Deadline()
    with client(TIMEOUT_S) as http:
        for message in batch:
            name = message.recipient
            target = targets.get(name)
            if target is None:
                results.append(SendResult("failed", reason=str(unknown(name))))
            elif name in held:
                results.append(held[name])
            elif deadline.spent:
                results.append(not_tried(_("robot {name}", name=name),
                                         _("the batch ran out of time")))
            else:
                result, called = deliver(ws, http, target, text=message.text,
                                         markdown=is_markdown(message),
                                         subject=message.subject,
                                         attachments=message.attachments)
                results.append(result)
                if called:
                    outcomes[name] = None if result.status == "sent" else result.reason
                if result.retry:
                    held[name] = result
    note(ws, outcomes)
    return results
