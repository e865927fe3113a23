"""Who is signed in to the chat sidebar: WeCom members, after WeCom's OAuth said who they are.

A session is a random token in a cookie signed with the workspace secret; the database keeps
only its hash, the member's userid and until when it lasts. The principal a sidebar request
acts as comes from here and nowhere else: ``wecom:<userid>`` with the ``guide`` role, and only
while the member is an active staff member in siyu.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound, ValidationError
from siyu.core.i18n import translator
from siyu.core.permissions import Principal
from siyu.plugins.sidebar.models import SidebarSession
from siyu.storage.models import Staff
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.sidebar")

#: How long a sidebar sign-in lasts (a shift, then WeCom's OAuth signs the guide in again
#: without them noticing).
SESSION_HOURS = 8
#: The principal name of a guide: ``wecom:<userid>``.
PRINCIPAL_PREFIX = "wecom:"
#: How often ``last_seen_at`` is written (not on every request).
SEEN_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def guide_principal(userid: str) -> Principal:
    """The principal a guide acts as in the sidebar."""
    return Principal(f"{PRINCIPAL_PREFIX}{userid}", "guide")


def active_staff(ws: Workspace, userid: str) -> Any:
    """The active staff row of ``userid`` (``id, userid, name``), or ``None``."""
    s = Staff.__table__.c
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(s.id, s.userid, s.name).where(
            s.userid == userid, s.status == "active")).first()


def start(ws: Workspace, userid: str) -> str:
    """Sign ``userid`` in to the sidebar; return the session token for the cookie.

    :raises ValidationError: ``userid`` is not an active staff member in siyu.
    """
    if not userid or active_staff(ws, userid) is None:
        raise ValidationError(_("{userid} is not an active staff member in siyu; sync the "
                                "address book or add the member first", userid=userid or "—"))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with ws.session() as s:
        s.add(SidebarSession(token_hash=_hash(token), userid=userid, created_at=now,
                             last_seen_at=now,
                             expires_at=now + timedelta(hours=SESSION_HOURS)))
    ws.audit("sidebar.sign_in", userid, actor=f"{PRINCIPAL_PREFIX}{userid}")
    return token


def userid_of(ws: Workspace, token: str | None) -> str | None:
    """The userid signed in with ``token``; ``None`` when the token is unknown, ended or
    expired, or the member is no longer active staff."""
    if not token:
        return None
    c, s = SidebarSession.__table__.c, Staff.__table__.c
    now = utcnow()
    with ws.engine.connect() as conn:
        row = conn.execute(
            sa.select(c.userid, c.last_seen_at)
            .select_from(SidebarSession.__table__.join(Staff.__table__, s.userid == c.userid))
            .where(c.token_hash == _hash(token), c.ended_at.is_(None), c.expires_at > now,
                   s.status == "active")).first()
    if row is None:
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        with ws.session() as session:
            session.execute(sa.update(SidebarSession).where(
                SidebarSession.token_hash == _hash(token)).values(last_seen_at=now))
    return row.userid


def end(ws: Workspace, userid: str) -> int:
    """Sign ``userid`` out of the sidebar everywhere; return how many sessions ended.

    :raises NotFound: ``userid`` never signed in to the sidebar.
    """
    ws.principal.require("users.manage")
    c = SidebarSession.__table__.c
    with ws.session() as s:
        known = s.execute(sa.select(sa.func.count()).where(c.userid == userid)).scalar_one()
        if not known:
            raise NotFound(_("{userid} has never signed in to the chat sidebar",
                             userid=userid))
        ended = s.execute(sa.update(SidebarSession).where(
            SidebarSession.userid == userid, SidebarSession.ended_at.is_(None))
            .values(ended_at=utcnow())).rowcount
    ws.audit("sidebar.sign_out", userid, {"sessions": ended})
    return ended


def listing(ws: Workspace, *, open_only: bool = True) -> pd.DataFrame:
    """Sidebar sessions, the latest first: ``userid, name, store, signed_in_at,
    last_seen_at, expires_at, ended_at``."""
    import pandas as pd

    from siyu.storage.models import Store

    ws.principal.require("data.read")
    c, s, st = SidebarSession.__table__.c, Staff.__table__.c, Store.__table__.c
    query = (sa.select(c.userid, s.name, st.name.label("store"),
                       c.created_at.label("signed_in_at"), c.last_seen_at, c.expires_at,
                       c.ended_at)
             .select_from(SidebarSession.__table__
                          .outerjoin(Staff.__table__, s.userid == c.userid)
                          .outerjoin(Store.__table__, st.id == s.store_id))
             .order_by(c.created_at.desc()))
    if open_only:
        query = query.where(c.ended_at.is_(None), c.expires_at > utcnow())
    with ws.engine.connect() as conn:
        rows = conn.execute(query).all()
    columns = ["userid", "name", "store", "signed_in_at", "last_seen_at", "expires_at",
               "ended_at"]
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)
