"""Roles and what they may do.

``admin`` sees everything and manages users and settings; ``operator`` runs campaigns and
rewards but sees masked phone numbers; ``analyst`` reads data and builds segments but cannot
send or pay out.
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.core.errors import PermissionDenied

PERMISSIONS: dict[str, str] = {
    "console.view": "open the console",
    "data.read": "read contacts, orders and events",
    "data.write": "create and edit contacts, tags, orders; import files",
    "segments.write": "build and save segments",
    "campaigns.send": "launch and send campaigns",
    "rewards.pay": "pay out red packets and coupons",
    "pii.view": "see phone numbers and other personal data in full",
    "settings.write": "change workspace and channel settings",
    "users.manage": "add users and change roles",
    "audit.read": "read the audit log",
    "plugins.read": "see loaded plugins",
    "jobs.manage": "run and pause scheduled jobs",
}

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "operator": frozenset({"console.view", "data.read", "data.write", "segments.write",
                           "campaigns.send", "rewards.pay", "plugins.read", "jobs.manage"}),
    "analyst": frozenset({"console.view", "data.read", "segments.write", "plugins.read"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is acting: a console user, or ``local`` for the CLI and notebooks on this machine."""

    name: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise PermissionDenied(f"unknown role {self.role!r}; choose one of "
                                   f"{', '.join(ROLES)}")

    def can(self, permission: str) -> bool:
        """Whether this principal's role grants ``permission``."""
        return permission in ROLES[self.role]

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDenied` unless the role grants ``permission``."""
        if not self.can(permission):
            raise PermissionDenied(
                f"{self.name} ({self.role}) may not {PERMISSIONS.get(permission, permission)}")


LOCAL = Principal("local", "admin")
