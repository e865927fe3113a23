"""The segments page's library: the saved segments (name, version, last count and when) and
the versions of the one being edited.

Both are page-kit tables filled from ``ws.segments``; selecting a segment in the list calls
``on_open(name)``. Nothing here changes a segment: the page does, then calls
:meth:`Library.refresh` / :meth:`Versions.show`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, empty_state
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: The saved segments list.
LIST_COLS = (
    Col("name", _.lazy("Segment"), width=120),
    Col("version", _.lazy("Version"), "int"),
    Col("last_count", _.lazy("Last count"), "int"),
    Col("counted_at", _.lazy("Counted at"), "time"),
)
#: The versions of one segment.
VERSION_COLS = (
    Col("version", _.lazy("Version"), "int"),
    Col("saved_at", _.lazy("Saved at"), "time"),
    Col("saved_by", _.lazy("Saved by")),
    Col("note", _.lazy("Note"), width=220),
)


def show_rows(box: pn.Column, table: pn.widgets.Tabulator, empty: pn.viewable.Viewable | None,
              has_rows: bool) -> None:
    """Put ``table`` in ``box`` when it has rows, else its ``empty`` state (nothing when
    ``None``).

    The table is swapped in rather than made visible: a Tabulator made visible while the
    page around it changes size (a saved segment's rules being drawn) can stay drawn with no
    rows until the window is resized; one put into the page is drawn with its rows.
    """
    wanted = [table] if has_rows else [empty] if empty is not None else []
    if list(box.objects) != wanted:
        box.objects = wanted


class Library(pn.viewable.Viewer):
    """The saved segments, one row each; a row clicked opens that segment.

    :param on_open: ``on_open(name)`` when the user selects a segment.
    """

    def __init__(self, ws: Workspace, on_open: Callable[[str], None], **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.on_open = on_open
        self.rows = pd.DataFrame(columns=[c.key for c in LIST_COLS])
        self.table = data_table(LIST_COLS, css_class="siyu-segments-list", selectable=1,
                                sortable=False)
        self.empty = empty_state(_("No saved segments yet."),
                                 _("Build one with the rules on this page and save it."),
                                 css_class="siyu-segments-list-empty")
        self.box = pn.Column(sizing_mode="stretch_width")
        self._syncing = False
        self.table.param.watch(self._selected, "selection")
        self.refresh()

    def names(self) -> list[str]:
        """The saved segments' names, as listed."""
        return [str(n) for n in self.rows["name"]]

    def refresh(self, current: str | None = None) -> None:
        """Read the list again and highlight ``current`` (nothing when ``None``)."""
        self.rows = self.ws.segments.list().reset_index(drop=True)
        self.table.value = display_frame(self.rows, LIST_COLS, self.ws.timezone)
        show_rows(self.box, self.table, self.empty, not self.rows.empty)
        self.highlight(current)

    def highlight(self, name: str | None) -> None:
        """Mark the row of ``name`` (none when it is not listed), without opening it."""
        names = self.names()
        wanted = [names.index(name)] if name in names else []
        if list(self.table.selection) != wanted:
            self._syncing = True
            try:
                self.table.selection = wanted
            finally:
                self._syncing = False

    def _selected(self, event: Any) -> None:
        if self._syncing or not event.new:
            return
        index = event.new[0]
        if 0 <= index < len(self.rows):
            self.on_open(str(self.rows["name"].iloc[index]))

    def __panel__(self) -> pn.Column:
        return self.box


class Versions(pn.viewable.Viewer):
    """Every saved version of one segment, newest first, and the choice of one to restore.

    :param on_restore: ``on_restore(version)`` when *Restore* is clicked.
    """

    def __init__(self, ws: Workspace, on_restore: Callable[[int], None], *,
                 can_write: bool, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.table = data_table(VERSION_COLS, css_class="siyu-segment-versions", sortable=False)
        self.empty = empty_state(_("Save the segment to keep its versions."),
                                 css_class="siyu-segment-versions-empty")
        self.choice = pn.widgets.Select(label=_("Version"), width=120,
                                        css_classes=["siyu-segment-version-choice"])
        self.restore = pn.widgets.Button(label=_("Restore this version"), width=160,
                                         disabled=not can_write, margin=(24, 10, 10, 10),
                                         css_classes=["siyu-segment-restore"])
        self.on_restore = on_restore
        self.restore.on_click(lambda _e: self._restore())
        self.controls = pn.FlexBox(self.choice, self.restore, flex_wrap="wrap")
        self.box = pn.Column(sizing_mode="stretch_width")
        self.show(None)

    def _restore(self) -> None:
        if self.choice.value:
            self.on_restore(int(self.choice.value))

    def show(self, name: str | None) -> None:
        """Show the versions of ``name`` (``None``: an unsaved segment has none)."""
        frame = (self.ws.segments.versions(name) if name
                 else pd.DataFrame(columns=[c.key for c in VERSION_COLS]))
        self.table.value = display_frame(frame, VERSION_COLS, self.ws.timezone)
        versions = [int(v) for v in frame["version"]]
        self.choice.options = {str(v): str(v) for v in versions[1:]}
        self.choice.value = str(versions[1]) if len(versions) > 1 else None
        self.controls.visible = len(versions) > 1
        show_rows(self.box, self.table, self.empty, not frame.empty)

    def __panel__(self) -> pn.Column:
        return pn.Column(self.box, self.controls, sizing_mode="stretch_width")
