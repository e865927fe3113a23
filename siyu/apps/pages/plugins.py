"""Plugins: every plugin the workspace knows, where it came from and the hooks it implements.

Blocked plugins (``SIYU_DISABLE_PLUGINS``) and plugins that failed to load are listed too,
with the reason, so a missing feature can be traced to its plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, page_header
from siyu.apps.safe import md
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["name", "source", "version", "status", "hooks"]
COLS = (
    Col("name", _.lazy("Plugin")),
    Col("status", _.lazy("Status")),
    Col("source", _.lazy("Source")),
    Col("version", _.lazy("Version")),
    Col("hooks", _.lazy("Hooks implemented")),
)


def source_text(source: str) -> str:
    """Where a plugin came from, in words: ``built-in``, ``entry point (pkg)``…"""
    if source == "built-in":
        return _("built-in")
    if source == "registered":
        return _("registered in code")
    if source == "entry point":
        return _("installed package")
    if source.startswith("entry point (") and source.endswith(")"):
        return _("installed package ({package})", package=source[len("entry point ("):-1])
    return source


def plugins_frame(ws: Workspace) -> pd.DataFrame:
    """``ws.pm.describe()`` as a table: one row per plugin, hooks comma-separated, the
    status in words (``loaded``, ``disabled: <reason>``, ``failed to load: <error>``)."""
    rows = []
    for info in ws.pm.describe():
        if info.error:
            status = _("failed to load: {error}", error=info.error)
        elif info.blocked:
            status = (_("disabled: {reason}", reason=info.reason) if info.reason
                      else _("disabled"))
        else:
            status = _("loaded")
        rows.append({"name": info.name, "source": info.source, "version": info.version,
                     "status": status, "hooks": ", ".join(info.hooks)})
    return pd.DataFrame(rows, columns=COLUMNS)


class PluginsPage(pn.viewable.Viewer):
    """The Plugins page (permission ``plugins.read``). ``rows`` holds :func:`plugins_frame`."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("plugins.read")
        self.ws = ws
        frame = plugins_frame(ws)
        self.rows = frame
        loaded = _("loaded")
        problems = int((frame["status"] != loaded).sum())
        shown = frame.assign(source=[source_text(s) for s in frame["source"]])
        self.table = data_table(COLS, css_class="siyu-plugins-table")
        self.table.value = display_frame(shown, COLS, ws.timezone)
        count = _.ngettext("{n} plugin", "{n} plugins", len(frame))
        self.summary = pn.pane.Markdown(
            md(_("{plugins}; {n} disabled or broken."), plugins=count, n=problems),
            css_classes=["siyu-plugins-summary"])

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("Plugins"), _("Every plugin this workspace knows: where it comes "
                                        "from, whether it loaded, and the hooks it "
                                        "implements.")),
            self.summary, self.table, css_classes=["siyu-plugins-page"],
            sizing_mode="stretch_width")
