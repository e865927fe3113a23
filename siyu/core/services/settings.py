"""Workspace settings: a small key → JSON store."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from siyu.core.services.base import Service
from siyu.storage.models import Setting


class SettingsService(Service):
    """``ws.settings.get("name")``, ``ws.settings.set("timezone", "Asia/Shanghai")``."""

    def get(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""
        with self.ws.session() as s:
            row = s.get(Setting, key)
            return default if row is None else row.value

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (anything JSON can hold) under ``key``."""
        self.ws.principal.require("settings.write")
        with self.ws.session() as s:
            row = s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value
                s.add(row)
        self.ws.forget_cached_settings()
        self.ws.audit("setting.set", key)

    def all(self) -> dict[str, Any]:
        """Every setting."""
        with self.ws.session() as s:
            return {row.key: row.value for row in s.exec(select(Setting))}
