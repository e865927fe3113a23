"""Console users and the audit log."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from siyu.core.errors import NotFound, RateLimited, ValidationError, listing
from siyu.core.i18n import core as _
from siyu.core.passwords import DUMMY_HASH, hash_password, verify_password
from siyu.core.permissions import CONSOLE_ROLES, Principal
from siyu.core.services.base import Service, as_utc, checked_language
from siyu.storage.like import glob
from siyu.storage.models import AuditLog, ConsoleSession, User
from siyu.storage.types import utcnow

MIN_PASSWORD = 8
#: Names a console user may not have: Panel calls anonymous visitors "guest", and siyu's
#: command line and notebooks act as "local".
RESERVED_NAMES = frozenset({"guest", "local"})
#: Failed sign-ins within FAILURE_WINDOW that lock a user for LOCK_FOR.
LOCK_AFTER = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _locked(remaining: timedelta) -> RateLimited:
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    return RateLimited(_("too many failed sign-ins; this account is locked for {minutes} more "
                         "minute(s)", minutes=minutes), retry_after=remaining.total_seconds())


class UsersService(Service):
    """``ws.users``: add users, change roles and passwords, check logins."""

    def add(self, name: str, role: str, password: str) -> User:
        """Create a console user.

        :raises ValidationError: empty or taken name, unknown role, short password.
        """
        self.ws.principal.require("users.manage")
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise ValidationError(_("a user name must be 1 to 100 characters"))
        if name.lower() in RESERVED_NAMES:
            raise ValidationError(_("the user name {name!r} is reserved (the console and the "
                                    "command line use it); choose another", name=name))
        self._check(role, password)
        with self.ws.session() as s:
            if s.exec(select(User).where(User.name == name)).first() is not None:
                raise ValidationError(_("user {name!r} exists already; use `siyu user "
                                        "passwd` or `siyu user role` to change it", name=name))
            user = User(name=name, role=role, password_hash=hash_password(password))
            s.add(user)
            s.flush()
            s.refresh(user)
        self.ws.audit("user.add", name, {"role": role})
        return user

    @staticmethod
    def _check(role: str | None, password: str | None) -> None:
        if role is not None and role not in CONSOLE_ROLES:
            raise ValidationError(_("unknown role {role!r}; choose one of {roles}", role=role,
                                    roles=listing(CONSOLE_ROLES)))
        if password is not None and len(password) < MIN_PASSWORD:
            raise ValidationError(_("a password needs at least {n} characters",
                                    n=MIN_PASSWORD))

    def get(self, name: str) -> User:
        """The user called ``name``.

        :raises NotFound: no such user.
        """
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
        if user is None:
            raise NotFound(_("unknown user {name!r}", name=name))
        return user

    def update(self, name: str, *, role: str | None = None, password: str | None = None,
               disabled: bool | None = None) -> User:
        """Change a user's role, password or disabled flag."""
        self.ws.principal.require("users.manage")
        self._check(role, password)
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
            if user is None:
                raise NotFound(_("unknown user {name!r}", name=name))
            changed: dict[str, Any] = {}
            if role is not None:
                user.role = changed["role"] = role
            if password is not None:
                user.password_hash = hash_password(password)
                changed["password"] = "changed"
                # A new password ends the sessions the old one opened.
                s.execute(sa.update(ConsoleSession)
                          .where(ConsoleSession.user_name == name,
                                 ConsoleSession.ended_at.is_(None))
                          .values(ended_at=utcnow()))
            if disabled is not None:
                user.disabled = changed["disabled"] = disabled
            s.add(user)
            s.flush()
            s.refresh(user)
        self.ws.audit("user.update", name, changed)
        return user

    def list(self) -> list[User]:
        """All users by name."""
        with self.ws.session() as s:
            return list(s.exec(select(User).order_by(User.name)))

    def df(self) -> pd.DataFrame:
        """Users without their password hashes."""
        u = User.__table__
        query = sa.select(u.c.name, u.c.role, u.c.disabled, u.c.last_login_at,
                          u.c.created_at).order_by(u.c.name)
        return self._read_df(query, ("last_login_at", "created_at"))

    def authenticate(self, name: str, password: str) -> Principal | None:
        """Check a login. Unknown users and wrong passwords cost the same time.

        After :data:`LOCK_AFTER` failures within :data:`FAILURE_WINDOW` the user is locked
        for :data:`LOCK_FOR`; a locked user is refused without the password being checked.
        This runs scrypt: call it off any event loop.

        :return: the user's :class:`Principal`, or ``None`` for a wrong name or password or
            a disabled user.
        :raises RateLimited: the user is locked; ``retry_after`` says for how long.
        """
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
            now = utcnow()
            if user is not None and user.locked_until and user.locked_until > now:
                raise _locked(user.locked_until - now)
            ok = verify_password(password, user.password_hash if user else DUMMY_HASH)
            if user is None or name in RESERVED_NAMES:
                return None
            accepted = ok and not user.disabled
            if not accepted:
                recent = user.last_failed_at and now - user.last_failed_at < FAILURE_WINDOW
                user.failed_logins = (user.failed_logins if recent else 0) + 1
                user.last_failed_at = now
                if user.failed_logins >= LOCK_AFTER:
                    user.locked_until = now + LOCK_FOR
                s.add(user)
                locked = user.failed_logins >= LOCK_AFTER
            else:
                user.failed_logins = 0
                user.locked_until = None
                user.last_login_at = now
                s.add(user)
                principal = Principal(user.name, user.role)
                locked = False
        if not accepted:
            if locked:
                self.ws.audit("user.locked", name, {"failures": LOCK_AFTER}, actor=name)
            return None
        self.ws.audit("user.login", name, actor=name)
        return principal

    def unlock(self, name: str) -> None:
        """Lift a lockout after failed sign-ins (``siyu user unlock``)."""
        self.ws.principal.require("users.manage")
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
            if user is None:
                raise NotFound(_("unknown user {name!r}", name=name))
            user.locked_until, user.failed_logins = None, 0
            s.add(user)
        self.ws.audit("user.unlock", name)

    # -- console sessions ------------------------------------------------------------------

    def start_session(self, name: str, *, hours: float, address: str = "") -> str:
        """Open a console session for ``name`` lasting ``hours``.

        :return: the session token for the browser's cookie (the database keeps its hash).
        """
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.ws.session() as s:
            # Sessions long over are of no use to anyone: prune them as new ones start.
            s.execute(sa.delete(ConsoleSession).where(
                ConsoleSession.expires_at < now - timedelta(days=1)))
            s.add(ConsoleSession(token_hash=_token_hash(token), user_name=name,
                                 address=address[:64], created_at=now,
                                 expires_at=now + timedelta(hours=hours)))
        return token

    def session_principal(self, token: str | None) -> Principal | None:
        """The principal signed in with session ``token``; ``None`` when the token is
        unknown, expired or ended, or names a user who is gone or disabled."""
        if not token:
            return None
        cs, u = ConsoleSession.__table__.c, User.__table__.c
        query = (sa.select(u.name, u.role, u.language)
                 .select_from(ConsoleSession.__table__.join(
                     User.__table__, u.name == cs.user_name))
                 .where(cs.token_hash == _token_hash(token), cs.ended_at.is_(None),
                        cs.expires_at > utcnow(), u.disabled.is_(False)))
        with self.ws.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.name in RESERVED_NAMES or row.role not in CONSOLE_ROLES:
            return None
        return Principal(row.name, row.role, row.language)

    def end_sessions(self, name: str) -> int:
        """Sign ``name`` out everywhere: every open session of the user ends now.

        :return: how many sessions ended.
        """
        with self.ws.session() as s:
            ended = s.execute(sa.update(ConsoleSession)
                              .where(ConsoleSession.user_name == name,
                                     ConsoleSession.ended_at.is_(None))
                              .values(ended_at=utcnow())).rowcount
        self.ws.audit("user.logout", name, {"sessions": ended}, actor=name)
        return ended

    def principal(self, name: str) -> Principal | None:
        """The principal for a signed-in ``name``, or ``None`` when the user is gone or
        disabled (so deleting a user ends their sessions)."""
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
        if user is None or user.disabled or user.name in RESERVED_NAMES:
            return None
        return Principal(user.name, user.role, user.language)

    def set_language(self, name: str, language: str | None) -> str | None:
        """Set the console language of user ``name`` (``None``: follow the workspace's).

        Every user may set their own; setting another's needs ``users.manage``.

        :raises ValidationError: for a language siyu does not ship.
        :raises NotFound: no such user.
        """
        if self.ws.principal.name != name:
            self.ws.principal.require("users.manage")
        code = checked_language(language) if language else None
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
            if user is None:
                raise NotFound(_("unknown user {name!r}", name=name))
            user.language = code
            s.add(user)
        self.ws.audit("user.language", name, {"language": code})
        return code


class AuditService(Service):
    """``ws.audit_log``: read the audit trail (admins only)."""

    def record(self, action: str, target: str = "", detail: dict | None = None,
               actor: str | None = None, session: Session | None = None) -> None:
        """Append one entry; ``actor`` defaults to the acting principal; in ``session``'s
        transaction when given."""
        with self._tx(session) as s:
            s.add(AuditLog(at=utcnow(), actor=actor or self.ws.principal.name,
                           action=action, target=str(target)[:300], detail=detail))

    def df(self, *, actor: str | None = None, action: str | Sequence[str] | None = None,
           since: Any = None, limit: int | None = 500, offset: int = 0) -> pd.DataFrame:
        """Entries newest first; needs ``audit.read``.

        :param action: an action code or pattern (``*`` is the only wildcard, e.g.
            ``"tag.*"``), or several: entries matching any of them.
        """
        self.ws.principal.require("audit.read")
        a = AuditLog.__table__
        query = sa.select(a).order_by(a.c.at.desc(), a.c.id.desc())
        if actor:
            query = query.where(a.c.actor == actor)
        patterns = [action] if isinstance(action, str) else list(action or ())
        if patterns:  # only * is a wildcard
            query = query.where(sa.or_(*(glob(a.c.action, p) for p in patterns)))
        if since is not None:
            query = query.where(a.c.at >= as_utc(since, self.ws.timezone))
        if limit:
            query = query.limit(limit).offset(offset)
        return self._read_df(query, ("at",))
