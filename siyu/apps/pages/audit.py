"""Audit log: who changed what and when, newest first, filtered by actor and action.

The log can be long, so it is read one page at a time (``ws.audit_log.df(limit=, offset=)``);
one extra row is asked for to know whether a next page exists. Times are in the workspace
timezone; an entry's details are shown as labelled fields, not JSON. The downloads hold up
to :data:`EXPORT_LIMIT` entries matching the filters (every page, not only this one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    downloads,
    empty_state,
    export_frame,
    page_header,
)
from siyu.apps.pages.common import Pager, labelled, notify_errors, toggle_empty
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    from zoneinfo import ZoneInfo

    from siyu.core.workspace import Workspace

COLUMNS = ["at", "actor", "action", "target", "detail"]
COLS = (
    Col("at", _.lazy("Time"), "time"),
    Col("actor", _.lazy("User")),
    Col("action", _.lazy("Action")),
    Col("target", _.lazy("Target")),
    Col("details", _.lazy("Details")),
)
#: A download holds at most this many entries.
EXPORT_LIMIT = 10_000
#: The labels of the detail fields siyu's own actions record.
DETAIL_LABELS: dict[str, Any] = {
    "role": _.lazy("Role"), "status": _.lazy("Status"), "ran": _.lazy("Deliveries run"),
    "sessions": _.lazy("Sessions ended"), "language": _.lazy("Language"),
    "term": _.lazy("Search term"), "denied": _.lazy("Refused"), "by": _.lazy("By"),
    "owner": _.lazy("Owner"), "was": _.lazy("Was"), "kind": _.lazy("Kind"),
    "summary": _.lazy("Summary"), "changes": _.lazy("Changes"), "name": _.lazy("Name"),
    "members": _.lazy("Members"), "fields": _.lazy("Fields"), "chats": _.lazy("Group chats"),
    "groups": _.lazy("Groups"), "failures": _.lazy("Failed sign-ins"),
    "password": _.lazy("Password"), "disabled": _.lazy("Disabled"), "rows": _.lazy("Rows"),
    "search": _.lazy("Searched"), "tag": _.lazy("Tag"), "channel": _.lazy("Channel"),
    "group_code": _.lazy("Group live code"), "change": _.lazy("Change"),
}


def details_text(detail: Any, tz: ZoneInfo) -> str:
    """An entry's ``detail`` as ``Label: value; Label: value`` (times in ``tz``)."""
    if not isinstance(detail, dict):
        return "" if detail is None or (isinstance(detail, float) and pd.isna(detail)) \
            else str(detail)
    return "; ".join(_("{label}: {value}", label=label, value=value)
                     for label, value in labelled(detail, DETAIL_LABELS, tz))


class AuditPage(pn.viewable.Viewer):
    """The Audit log page (permission ``audit.read``). ``rows`` holds the current page as
    read.

    :param page_size: entries per page.
    """

    def __init__(self, ws: Workspace, *, page_size: int = 50, **params: Any):
        super().__init__(**params)
        ws.principal.require("audit.read")
        self.ws = ws
        self.rows = pd.DataFrame(columns=COLUMNS)
        self.actor = pn.widgets.TextInput(label=_("User"), placeholder=_("user name"),
                                          css_classes=["siyu-audit-actor"], width=200)
        self.action = pn.widgets.TextInput(label=_("Action"),
                                           placeholder=_("e.g. tag.* or user.add"),
                                           css_classes=["siyu-audit-action"], width=200)
        self.pager = Pager(page_size=page_size, noun="entry", nouns="entries",
                           css_class="siyu-audit-pager")
        self.table = data_table(COLS, css_class="siyu-audit-table", sortable=False)
        self.empty = empty_state(_("No entry matches these filters."),
                                 _("Clear the user or action filter."),
                                 css_class="siyu-audit-empty")
        self.downloads = downloads(self.export_frame, "audit-log",
                                   css_class="siyu-audit-download")
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

    def _readable(self, frame: pd.DataFrame) -> pd.DataFrame:
        tz = self.ws.timezone
        return frame.reindex(columns=COLUMNS).assign(
            details=[details_text(d, tz) for d in frame["detail"]] if not frame.empty else [])

    @notify_errors
    def refresh(self) -> None:
        """Show the current page of matching entries."""
        size = self.pager.page_size
        frame = self.ws.audit_log.df(limit=size + 1, offset=self.pager.offset,
                                     **self.filters())
        self.pager.has_more = len(frame) > size
        self.rows = frame.iloc[:size].reset_index(drop=True)
        self.table.value = display_frame(self._readable(self.rows), COLS, self.ws.timezone)
        toggle_empty(self.table, self.empty, not self.rows.empty)

    def export_frame(self) -> pd.DataFrame:
        """What the downloads hold: up to :data:`EXPORT_LIMIT` entries matching the
        filters, newest first, with the table's columns."""
        frame = self.ws.audit_log.df(limit=EXPORT_LIMIT, **self.filters())
        return export_frame(self._readable(frame), COLS, self.ws.timezone)

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("Audit log"), _("Who changed what and when, newest first. Filter "
                                          "by user or action; * matches anything.")),
            pn.FlexBox(self.actor, self.action, flex_wrap="wrap",
                       css_classes=["siyu-audit-filters"]),
            self.pager, self.table, self.empty, self.downloads,
            css_classes=["siyu-audit-page"], sizing_mode="stretch_width")
