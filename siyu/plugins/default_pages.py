"""Built-in console pages: Overview, Contacts, Tags, Jobs, Plugins and the Audit log.

The page modules import Panel, so they are imported only when a page is built, not when
the plugin loads: notebooks and the CLI do not pay for the console.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from siyu.core.plugins import hookimpl
from siyu.core.records import PageSpec


def _lazy(module: str, cls: str) -> Callable[[Any], Any]:
    """A page factory that imports ``siyu.apps.pages.<module>`` when first called."""
    def factory(ws: Any) -> Any:
        page_class = getattr(importlib.import_module(f"siyu.apps.pages.{module}"), cls)
        return page_class(ws)
    factory.__name__ = factory.__qualname__ = f"{cls}"
    factory.__doc__ = f"Build :class:`siyu.apps.pages.{module}.{cls}` for ``ws``."
    return factory


PAGES = (
    ("overview", "Overview", "overview", "OverviewPage", "dashboard", "console.view", 10),
    ("contacts", "Contacts", "contacts", "ContactsPage", "users", "data.read", 20),
    ("tags", "Tags", "tags", "TagsPage", "tags", "data.read", 30),
    ("jobs", "Jobs", "jobs", "JobsPage", "clock", "jobs.manage", 80),
    ("plugins", "Plugins", "plugins", "PluginsPage", "plug", "plugins.read", 90),
    ("audit", "Audit log", "audit", "AuditPage", "history", "audit.read", 95),
)


@hookimpl
def register_pages(ws):
    """The built-in pages, each guarded by the permission it needs."""
    return [PageSpec(name, title, _lazy(module, cls), icon=icon, permission=permission,
                     order=order)
            for name, title, module, cls, icon, permission, order in PAGES]
