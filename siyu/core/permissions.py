"""Roles and what they may do.

``admin`` sees everything and manages users and settings; ``operator`` runs campaigns and
rewards but sees masked phone numbers; ``analyst`` reads data and builds segments but cannot
send or pay out; ``guide`` is a WeCom member signed in by the chat sidebar (their own
customers only, phones masked, no console).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from siyu.core.errors import PermissionDenied, listing
from siyu.core.i18n import core as _

PERMISSIONS: dict[str, Any] = {
    "console.view": _.lazy("open the console"),
    "data.read": _.lazy("read contacts, orders and events"),
    "data.write": _.lazy("create and edit contacts, tags, orders; import files"),
    "segments.write": _.lazy("build and save segments"),
    "campaigns.draft": _.lazy("draft and preview campaigns"),
    "campaigns.send": _.lazy("launch and send campaigns"),
    "rewards.pay": _.lazy("pay out red packets and coupons"),
    "pii.view": _.lazy("see phone numbers and other personal data in full"),
    "settings.write": _.lazy("change workspace and channel settings"),
    "users.manage": _.lazy("add users and change roles"),
    "audit.read": _.lazy("read the audit log"),
    "plugins.read": _.lazy("see loaded plugins"),
    "jobs.manage": _.lazy("run and pause scheduled jobs"),
}

#: What each role is called in the console.
ROLE_LABELS: dict[str, Any] = {"admin": _.lazy("Administrator"),
                               "operator": _.lazy("Operator"),
                               "analyst": _.lazy("Analyst"),
                               "guide": _.lazy("Shopping guide")}

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "operator": frozenset({"console.view", "data.read", "data.write", "segments.write",
                           "campaigns.draft", "campaigns.send", "rewards.pay", "plugins.read",
                           "jobs.manage"}),
    "analyst": frozenset({"console.view", "data.read", "segments.write", "campaigns.draft",
                          "plugins.read"}),
    # A WeCom member in the chat sidebar: reads and tags their own customers there (the
    # sidebar checks the customer is theirs), sees phones masked, never opens the console.
    "guide": frozenset({"data.read", "data.write"}),
}

#: Roles a console user may have (``guide`` is only ever signed in by the chat sidebar).
CONSOLE_ROLES: tuple[str, ...] = ("admin", "operator", "analyst")


@dataclass(frozen=True)
class Principal:
    """Who is acting: a console user, or ``local`` for the CLI and notebooks on this machine."""

    name: str
    role: str
    #: The language the user chose for the console; ``None``: the workspace's.
    language: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise PermissionDenied(_("unknown role {role!r}; choose one of {roles}",
                                     role=self.role, roles=listing(ROLES)))

    def can(self, permission: str) -> bool:
        """Whether this principal's role grants ``permission``."""
        return permission in ROLES[self.role]

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDenied` unless the role grants ``permission``."""
        if not self.can(permission):
            raise PermissionDenied(
                _("{user} ({role}) may not {action}", user=self.name,
                  role=role_label(self.role), action=PERMISSIONS.get(permission, permission)))


LOCAL = Principal("local", "admin")


def role_label(role: str) -> Any:
    """What ``role`` is called in the console (the role's name if it has no label)."""
    return ROLE_LABELS.get(role, role)


def roles_with(permission: str) -> list[str]:
    """The console roles that grant ``permission``, in :data:`ROLES` order."""
    return [role for role in CONSOLE_ROLES if permission in ROLES[role]]
