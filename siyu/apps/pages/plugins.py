"""Plugins: every plugin the workspace knows, where it came from and the hooks it implements.

Blocked plugins (``SIYU_DISABLE_PLUGINS``) and plugins that failed to load are listed too,
with the reason, so a missing feature can be traced to its plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.pages.common import table
from siyu.apps.safe import md

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["name", "source", "version", "status", "hooks"]


def plugins_frame(ws: Workspace) -> pd.DataFrame:
    """``ws.pm.describe()`` as a table: one row per plugin, hooks comma-separated."""
    rows = []
    for info in ws.pm.describe():
        if info.error:
            status = f"failed to load: {info.error}"
        elif info.blocked:
            status = f"disabled: {info.reason}" if info.reason else "disabled"
        else:
            status = "loaded"
        rows.append({"name": info.name, "source": info.source, "version": info.version,
                     "status": status, "hooks": ", ".join(info.hooks)})
    return pd.DataFrame(rows, columns=COLUMNS)


class PluginsPage(pn.viewable.Viewer):
    """The Plugins page (permission ``plugins.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("plugins.read")
        self.ws = ws
        frame = plugins_frame(ws)
        self.table = table(frame, css_class="siyu-plugins-table")
        problems = frame[frame["status"] != "loaded"]
        self.summary = pn.pane.Markdown(
            md("{count} plugin(s); {problems} disabled or broken.", count=len(frame),
               problems=len(problems)),
            css_classes=["siyu-plugins-summary"])

    def __panel__(self) -> pn.Column:
        return pn.Column(pn.pane.Markdown("## Plugins"), self.summary, self.table,
                         css_classes=["siyu-plugins-page"], sizing_mode="stretch_width")
