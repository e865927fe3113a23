"""Console users and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import select

from siyu.core.errors import NotFound, ValidationError
from siyu.core.passwords import DUMMY_HASH, hash_password, verify_password
from siyu.core.permissions import ROLES, Principal
from siyu.core.services.base import Service, as_utc
from siyu.storage.models import AuditLog, User
from siyu.storage.types import utcnow

MIN_PASSWORD = 8


class UsersService(Service):
    """``ws.users``: add users, change roles and passwords, check logins."""

    def add(self, name: str, role: str, password: str) -> User:
        """Create a console user.

        :raises ValidationError: empty or taken name, unknown role, short password.
        """
        self.ws.principal.require("users.manage")
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise ValidationError("a user name must be 1 to 100 characters")
        self._check(role, password)
        with self.ws.session() as s:
            if s.exec(select(User).where(User.name == name)).first() is not None:
                raise ValidationError(f"user {name!r} exists already; use `siyu user "
                                      f"passwd` or `siyu user role` to change it")
            user = User(name=name, role=role, password_hash=hash_password(password))
            s.add(user)
            s.flush()
            s.refresh(user)
        self.ws.audit("user.add", name, {"role": role})
        return user

    @staticmethod
    def _check(role: str | None, password: str | None) -> None:
        if role is not None and role not in ROLES:
            raise ValidationError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        if password is not None and len(password) < MIN_PASSWORD:
            raise ValidationError(f"a password needs at least {MIN_PASSWORD} characters")

    def get(self, name: str) -> User:
        """The user called ``name``.

        :raises NotFound: no such user.
        """
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
        if user is None:
            raise NotFound(f"unknown user {name!r}")
        return user

    def update(self, name: str, *, role: str | None = None, password: str | None = None,
               disabled: bool | None = None) -> User:
        """Change a user's role, password or disabled flag."""
        self.ws.principal.require("users.manage")
        self._check(role, password)
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
            if user is None:
                raise NotFound(f"unknown user {name!r}")
            changed: dict[str, Any] = {}
            if role is not None:
                user.role = changed["role"] = role
            if password is not None:
                user.password_hash = hash_password(password)
                changed["password"] = "changed"
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

        Failures are counted per user; the console slows down repeated failures with
        :meth:`failure_delay`.

        :return: the user's :class:`Principal`, or ``None``.
        """
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
            ok = verify_password(password, user.password_hash if user else DUMMY_HASH)
            if user is None:
                return None
            if not ok or user.disabled:
                user.failed_logins += 1
                user.last_failed_at = utcnow()
                s.add(user)
                return None
            user.failed_logins = 0
            user.last_login_at = utcnow()
            s.add(user)
            principal = Principal(user.name, user.role)
        self.ws.audit("user.login", name, actor=name)
        return principal

    def failure_delay(self, name: str) -> float:
        """Seconds to wait before answering a login for ``name``: grows with recent
        failures (0, 0.5, 1, 2 … up to 5 s)."""
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
        if user is None or not user.failed_logins:
            return 0.5
        if user.last_failed_at and utcnow() - user.last_failed_at > timedelta(minutes=15):
            return 0.0
        return min(5.0, 0.25 * 2 ** min(user.failed_logins, 5))

    def end_sessions(self, name: str) -> None:
        """Sign ``name`` out everywhere: session cookies issued until now stop working."""
        from siyu.storage.models import Setting

        key = f"console.sessions_ended.{name}"
        with self.ws.session() as s:
            row = s.get(Setting, key) or Setting(key=key)
            row.value = utcnow().timestamp()
            s.add(row)
        self.ws.audit("user.logout", name, actor=name)

    def sessions_ended_at(self, name: str) -> float:
        """When ``name`` last signed out (POSIX seconds; 0 when never)."""
        return float(self.ws.settings.get(f"console.sessions_ended.{name}", 0) or 0)

    def principal(self, name: str) -> Principal | None:
        """The principal for a signed-in ``name``, or ``None`` when the user is gone or
        disabled (so deleting a user ends their sessions)."""
        with self.ws.session() as s:
            user = s.exec(select(User).where(User.name == name)).first()
        if user is None or user.disabled:
            return None
        return Principal(user.name, user.role)


class AuditService(Service):
    """``ws.audit_log``: read the audit trail (admins only)."""

    def record(self, action: str, target: str = "", detail: dict | None = None,
               actor: str | None = None) -> None:
        """Append one entry; ``actor`` defaults to the acting principal."""
        with self.ws.session() as s:
            s.add(AuditLog(at=utcnow(), actor=actor or self.ws.principal.name,
                           action=action, target=str(target)[:300], detail=detail))

    def df(self, *, actor: str | None = None, action: str | None = None, since: Any = None,
           limit: int | None = 500, offset: int = 0) -> pd.DataFrame:
        """Entries newest first; needs ``audit.read``."""
        self.ws.principal.require("audit.read")
        a = AuditLog.__table__
        query = sa.select(a).order_by(a.c.at.desc(), a.c.id.desc())
        if actor:
            query = query.where(a.c.actor == actor)
        if action:
            query = query.where(a.c.action.like(action.replace("*", "%")))
        if since is not None:
            query = query.where(a.c.at >= as_utc(since, self.ws.timezone))
        if limit:
            query = query.limit(limit).offset(offset)
        return self._read_df(query, ("at",))
