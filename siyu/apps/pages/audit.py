"""Audit log: who changed what and when, newest first, filtered by actor and action.

The log can be long, so it is read one page at a time (``ws.audit_log.df(limit=, offset=)``);
one extra row is asked for to know whether a next page exists.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import panel as pn

from siyu.apps.pages.common import Pager, notify_errors, show_times, table

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["at", "actor", "action", "target", "detail"]


class AuditPage(pn.viewable.Viewer):
    """The Audit log page (permission ``audit.read``).

    :param page_size: entries per page.
    """

    def __init__(self, ws: Workspace, *, page_size: int = 50, **params: Any):
        super().__init__(**params)
        ws.principal.require("audit.read")
        self.ws = ws
        self.actor = pn.widgets.TextInput(label="Actor", placeholder="user name",
                                          css_classes=["siyu-audit-actor"], width=200)
        self.action = pn.widgets.TextInput(label="Action", placeholder="e.g. tag.* or user.add",
                                           css_classes=["siyu-audit-action"], width=200)
        self.pager = Pager(page_size=page_size, noun="entry", nouns="entries",
                           css_class="siyu-audit-pager")
        self.table = table(css_class="siyu-audit-table", sortable=False)
        for widget in (self.actor, self.action):
            widget.param.watch(self._filters_changed, "value")
        self.pager.param.watch(lambda _event: self.refresh(), "page")
        self.refresh()

    def filters(self) -> dict[str, Any]:
        """The current filters as ``ws.audit_log.df()`` keyword arguments."""
        return {"actor": self.actor.value.strip() or None,
                "action": self.action.value.strip() or None}

    def _filters_changed(self, *_events: Any) -> None:
        if self.pager.page != 1:
            self.pager.page = 1  # the page watcher refreshes
        else:
            self.refresh()

    @notify_errors
    def refresh(self) -> None:
        """Show the current page of matching entries."""
        size = self.pager.page_size
        frame = self.ws.audit_log.df(limit=size + 1, offset=self.pager.offset,
                                     **self.filters())
        self.pager.has_more = len(frame) > size
        frame = frame.iloc[:size]
        if not frame.empty:
            frame = frame.assign(detail=frame["detail"].map(
                lambda d: json.dumps(d, ensure_ascii=False) if d else ""))
        self.table.value = show_times(frame.reindex(columns=COLUMNS), ["at"],
                                      self.ws.timezone)

    def __panel__(self) -> pn.Column:
        return pn.Column(pn.pane.Markdown("## Audit log"),
                         pn.Row(self.actor, self.action, css_classes=["siyu-audit-filters"]),
                         self.pager, self.table, css_classes=["siyu-audit-page"],
                         sizing_mode="stretch_width")
