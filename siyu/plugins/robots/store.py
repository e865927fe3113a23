"""The notebook door to group robots: add, list, remove and test them.

Every function takes the Workspace first and acts as its principal: changing robots and
sending a test message need ``settings.write`` (admins), listing them needs ``data.read``.
Adding, removing and testing are written to the audit log (``robot.add``, ``robot.remove``,
``robot.test``). A robot's URL holds the provider's key: listings and the audit log show it
cut short (:func:`~siyu.plugins.robots.transport.mask_url`), never in full.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError, listing
from siyu.core.i18n import translator
from siyu.core.records import SendResult
from siyu.plugins.robots import channel
from siyu.plugins.robots.kinds import KINDS, get_kind
from siyu.plugins.robots.models import MAX_NAME, Robot, RobotSend
from siyu.plugins.robots.transport import check_url, client, mask_url
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.robots")

__all__ = ["add_robot", "remove_robot", "robot_rows", "robots", "targets", "test_robot"]

ROBOT = Robot.__table__
SEND = RobotSend.__table__
#: The columns of :func:`robots` and :func:`robot_rows`, in order.
COLUMNS = ("name", "kind", "url", "signed", "created_at", "created_by", "last_sent_at",
           "last_error", "last_error_at")
#: The longest signing secret.
MAX_SECRET = 200


def check_name(name: Any) -> str:
    """``name`` stripped, when it can name a robot: 1 to 50 characters, no control
    characters.

    :raises ValidationError: saying what is wrong.
    """
    name = str(name or "").strip()
    if not name:
        raise ValidationError(_("give the robot a name"))
    if len(name) > MAX_NAME:
        raise ValidationError(_("robot name {name!r} is longer than {limit} characters",
                                name=name, limit=MAX_NAME))
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValidationError(_("robot name {name!r} holds a control character", name=name))
    return name


def _known(ws: Workspace) -> list[str]:
    with ws.engine.connect() as conn:
        return list(conn.execute(sa.select(ROBOT.c.name).order_by(ROBOT.c.name)).scalars())


def _not_found(ws: Workspace, name: str) -> NotFound:
    known = _known(ws)
    if not known:
        return NotFound(_("no robot named {name!r}; no robot is set up yet (siyu robot add "
                          "NAME URL)", name=name))
    return NotFound(_("no robot named {name!r}; the robots are {names}", name=name,
                      names=listing(known)))


def add_robot(ws: Workspace, name: str, url: str, kind: str = "wecom", *,
              secret: str | None = None) -> dict[str, Any]:
    """Store a group robot messages can be sent to.

    :param name: what campaigns call it (unique, at most 50 characters).
    :param url: its webhook URL, as the provider shows it: ``https://``, or ``http://`` to
        127.0.0.1 / localhost (a test receiver).
    :param kind: ``wecom`` (企业微信), ``feishu`` (飞书), ``dingtalk`` (钉钉), or a kind
        another plugin registered.
    :param secret: the signing secret of a Feishu or DingTalk robot with signing (加签) on.
    :returns: the robot as :func:`robot_rows` shows it.
    :raises PermissionDenied: the principal may not change settings.
    :raises ValidationError: a bad name, kind, URL or secret, or the name is taken.
    """
    ws.principal.require("settings.write")
    name = check_name(name)
    robot_kind = get_kind(kind)
    url = check_url(url)
    secret = str(secret or "").strip() or None
    if secret and not robot_kind.signs:
        raise ValidationError(_("{kind} robots are not signed (the key in the URL is their "
                                "credential); leave the secret out", kind=robot_kind.title))
    if secret and len(secret) > MAX_SECRET:
        raise ValidationError(_("the secret is longer than {limit} characters",
                                limit=MAX_SECRET))
    taken = _("a robot named {name!r} exists already; remove it first or choose another "
              "name", name=name)
    if name in _known(ws):
        raise ValidationError(taken)
    try:
        with ws.session() as s:
            s.connection().execute(ROBOT.insert().values(
                name=name, kind=robot_kind.name, url=url, secret=secret, created_at=utcnow(),
                created_by=ws.principal.name))
            ws.audit("robot.add", name, {"kind": robot_kind.name, "url": mask_url(url),
                                         "signed": bool(secret)}, session=s)
    except sa.exc.IntegrityError:  # added by someone else meanwhile
        raise ValidationError(taken) from None
    return next(row for row in robot_rows(ws) if row["name"] == name)


def remove_robot(ws: Workspace, name: str) -> None:
    """Remove robot ``name`` (and its send log).

    :raises PermissionDenied: the principal may not change settings.
    :raises NotFound: no such robot (naming the stored ones).
    """
    ws.principal.require("settings.write")
    name = str(name).strip()
    with ws.session() as s:
        conn = s.connection()
        row = conn.execute(sa.select(ROBOT.c.kind, ROBOT.c.url)
                           .where(ROBOT.c.name == name)).first()
        if row is not None:
            conn.execute(ROBOT.delete().where(ROBOT.c.name == name))
            conn.execute(SEND.delete().where(SEND.c.robot == name))
            ws.audit("robot.remove", name, {"kind": row.kind, "url": mask_url(row.url)},
                     session=s)
    if row is None:
        raise _not_found(ws, name)


def robot_rows(ws: Workspace) -> list[dict[str, Any]]:
    """The stored robots as dicts (keys :data:`COLUMNS`), by name; ``url`` cut short,
    ``signed`` whether a secret is stored, times aware UTC.

    :raises PermissionDenied: the principal may not read data.
    """
    ws.principal.require("data.read")
    query = sa.select(ROBOT).order_by(ROBOT.c.name)
    with ws.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [{"name": row.name, "kind": row.kind, "url": mask_url(row.url),
             "signed": bool(row.secret), "created_at": row.created_at,
             "created_by": row.created_by, "last_sent_at": row.last_sent_at,
             "last_error": row.last_error, "last_error_at": row.last_error_at}
            for row in rows]


def robots(ws: Workspace) -> pd.DataFrame:
    """The stored robots as a DataFrame (columns :data:`COLUMNS`, times in the workspace
    timezone), by name.

    :raises PermissionDenied: the principal may not read data.
    """
    import pandas as pd

    frame = pd.DataFrame(robot_rows(ws), columns=list(COLUMNS))
    for column in ("created_at", "last_sent_at", "last_error_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(ws.timezone)
    return frame


def targets(ws: Workspace) -> dict[str, str]:
    """The ``robot`` channel's targets: robot name → title (``"ops (WeCom)"``)."""
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(ROBOT.c.name, ROBOT.c.kind)
                            .order_by(ROBOT.c.name)).all()
    return {row.name: f"{row.name} ({KINDS[row.kind].title if row.kind in KINDS else row.kind})"
            for row in rows}


def test_robot(ws: Workspace, name: str, text: str | None = None, *,
               markdown: bool = False) -> SendResult:
    """Send one message to robot ``name`` now (it counts against the robot's rate limit).

    :param text: the message; default a short note naming the workspace.
    :param markdown: send ``text`` as Markdown.
    :returns: the :class:`~siyu.core.records.SendResult`: ``status == "sent"`` when the
        provider accepted it, else ``"failed"`` with the reason.
    :raises PermissionDenied: the principal may not change settings.
    :raises NotFound: no such robot.
    """
    ws.principal.require("settings.write")
    name = str(name).strip()
    target = channel.load(ws, [name]).get(name)
    if target is None:
        raise _not_found(ws, name)
    if text is None:
        text = _("Test message from siyu ({workspace}): this robot is set up.",
                 workspace=ws.name)
    with client(channel.TIMEOUT_S) as http:
        result, called = channel.deliver(ws, http, target, text=text, markdown=markdown)
    if called:
        channel.note(ws, {name: None if result.status == "sent" else result.reason})
    ws.audit("robot.test", name, {"status": result.status, "reason": result.reason[:300]})
    return result


test_robot.__test__ = False  # a notebook function, not a pytest test
