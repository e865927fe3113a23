"""Built-in console pages: Overview, Contacts, Tags, Segments, Jobs, Hooks, Plugins and the
Audit log.

The page modules import Panel, so each page is named by its import path and imported only
when it is first built, not when the plugin loads: notebooks and the CLI do not pay for the
console.
"""

from __future__ import annotations

from siyu.core.i18n import core as _
from siyu.core.plugins import hookimpl
from siyu.core.records import PageSpec

#: name, title (translated when shown), page class, icon, permission, order.
PAGES = (
    ("overview", _.lazy("Overview"), "siyu.apps.pages.overview:OverviewPage", "dashboard",
     "console.view", 10),
    ("contacts", _.lazy("Contacts"), "siyu.apps.pages.contacts:ContactsPage", "users",
     "data.read", 20),
    ("tags", _.lazy("Tags"), "siyu.apps.pages.tags:TagsPage", "tags", "data.read", 30),
    ("segments", _.lazy("Segments"), "siyu.apps.pages.segments:SegmentsPage", "filter",
     "data.read", 35),
    ("jobs", _.lazy("Jobs"), "siyu.apps.pages.jobs:JobsPage", "clock", "jobs.manage", 80),
    ("hooks", _.lazy("Hooks"), "siyu.apps.pages.hooks:HooksPage", "webhook", "jobs.manage",
     85),
    ("plugins", _.lazy("Plugins"), "siyu.apps.pages.plugins:PluginsPage", "plug",
     "plugins.read", 90),
    ("audit", _.lazy("Audit log"), "siyu.apps.pages.audit:AuditPage", "history",
     "audit.read", 95),
)


@hookimpl
def register_pages(ws):
    """The built-in pages, each guarded by the permission it needs."""
    return [PageSpec(name, title, page, icon=icon, permission=permission, order=order)
            for name, title, page, icon, permission, order in PAGES]
