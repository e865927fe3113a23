"""Segments: build an audience from rules picked from menus, watch its size and a sample
change while editing, save it with versions, duplicate, delete and download its members.

- The builder (:mod:`siyu.apps.pages.segment_tree`) is a tree of all / any groups, each with
  a "not" switch, holding rules whose fields come from the rules' typed parameters
  (:mod:`siyu.apps.pages.segment_fields`).
- Every edit updates the JSON of the spec at once; the count and the sample follow
  :data:`DEBOUNCE_MS` after the last edit, computed on a worker thread
  (:mod:`siyu.apps.pages.live`, :mod:`siyu.apps.pages.segment_outcome`) so the console
  stays responsive on a million contacts. While it runs the count card says so; a spec that
  does not check out shows its problems (``path: message``, and under the rule concerned)
  instead of a count.
- Saving needs ``segments.write`` (analysts have it). The downloads hold up to
  :data:`EXPORT_LIMIT` members; phones are masked unless the role has ``pii.view`` and the
  user ticks the box, which is only offered to such a role. Downloads are audited.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    MISSING,
    Col,
    data_table,
    display_frame,
    downloads,
    empty_state,
    export_frame,
    fmt_int,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import (
    notify_error,
    notify_errors,
    notify_success,
    readonly_note,
    section,
)
from siyu.apps.pages.live import Debounced
from siyu.apps.pages.segment_fields import Menus
from siyu.apps.pages.segment_library import Library, Versions, show_rows
from siyu.apps.pages.segment_outcome import SAMPLE_ROWS, Outcome, evaluate
from siyu.apps.pages.segment_tree import GroupEditor
from siyu.apps.safe import escape, html, join, md
from siyu.core.errors import SiyuError, ValidationError
from siyu.core.i18n import core as _

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: How long edits must pause before the segment is counted again.
DEBOUNCE_MS = 600
#: A download holds at most this many members.
EXPORT_LIMIT = 10_000

SAMPLE_COLS = (
    Col("id", _.lazy("ID"), "id"),
    Col("name", _.lazy("Customer name")),
    Col("phone", _.lazy("Phone"), "id"),
    Col("city", _.lazy("City")),
    Col("owner", _.lazy("Owner")),
    Col("store", _.lazy("Store")),
    Col("source_channel", _.lazy("Source channel")),
    Col("added_at", _.lazy("Added at"), "time"),
)
EXPORT_COLS = (
    SAMPLE_COLS[0], Col("external_userid", _.lazy("External user ID"), "id"),
    *SAMPLE_COLS[1:])

PAGE_CSS = """
.siyu-segment-json{white-space:pre-wrap;word-break:break-all;font-size:12px;margin:0;
background:#f6f8fa;border-radius:6px;padding:8px}
.siyu-segment-problems{color:#c62828;margin:4px 0;padding-left:20px;font-size:14px}
.siyu-segment-problems code{color:#7a1f1f;background:#fdecea;padding:0 3px;border-radius:3px}
"""
SIDE_STYLES = {"flex": "1 1 380px", "min-width": "0"}
MAIN_STYLES = {"flex": "3 1 600px", "min-width": "0"}


def problems_html(problems: list[tuple[str, str]]) -> str:
    """The problems of a spec as a list: the place in the spec, then the message."""
    items = [html("<li><code>{path}</code> {message}</li>", path=path, message=message)
             if path else html("<li>{message}</li>", message=message)
             for path, message in problems]
    return html('<ul class="siyu-segment-problems">{items}</ul>', items=join("", items))


def copy_name(name: str, taken: list[str]) -> str:
    """A free name for a copy of ``name``: "name (copy)", then "name (copy 2)"…"""
    candidate = _("{name} (copy)", name=name)
    number = 2
    while candidate in taken:
        candidate = _("{name} (copy {n})", name=name, n=number)
        number += 1
    return candidate


class SegmentsPage(pn.viewable.Viewer):
    """The Segments page (permission ``data.read``; saving needs ``segments.write``).

    :param ws: the workspace acting as the signed-in user.
    :param debounce_ms: how long edits must pause before counting (in a browser session;
        elsewhere every edit counts at once).
    """

    def __init__(self, ws: Workspace, *, debounce_ms: int = DEBOUNCE_MS, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("segments.write")
        self.can_reveal = ws.principal.can("pii.view")
        #: The saved segment being edited (``None``: a new one) and its saved spec.
        self.loaded: str | None = None
        self.saved_spec: dict[str, Any] | None = None
        self.version: int | None = None
        self.outcome: Outcome | None = None
        self.menus = Menus(ws)
        self.builder = GroupEditor(ws.segments.rules(), self.menus, on_change=self.edited)
        self.library = Library(ws, self.open)
        self.versions = Versions(ws, self.restore, can_write=self.can_write)
        self._build_result()
        self._build_actions()
        self.live = Debounced(self._prepare, self.show, delay_ms=debounce_ms)
        self.edited()

    # -- widgets --------------------------------------------------------------------------

    def _build_result(self) -> None:
        self.count_card = kpi_cards([], css_class="siyu-segment-count")
        self.problems = pn.pane.HTML("", visible=False, sizing_mode="stretch_width",
                                     stylesheets=[PAGE_CSS],
                                     css_classes=["siyu-segment-problem-list"])
        self.sample_note = pn.pane.Markdown(
            md(_("A sample: the first {n} members by ID."), n=SAMPLE_ROWS),
            css_classes=["siyu-segment-sample-note"], margin=(4, 10, 0, 10))
        self.sample = data_table(SAMPLE_COLS, css_class="siyu-segment-sample", sortable=False)
        self.sample_empty = empty_state(_("No contact matches these rules."),
                                        _("Loosen a rule or choose other values."),
                                        css_class="siyu-segment-sample-empty")
        self.sample_box = pn.Column(sizing_mode="stretch_width")
        self.json_view = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[PAGE_CSS],
                                      css_classes=["siyu-segment-json-view"])

    def _build_actions(self) -> None:
        readonly = not self.can_write
        self.name_input = pn.widgets.TextInput(
            label=_("Name"), placeholder=_("e.g. VIP who ordered twice"), width=220,
            disabled=readonly, css_classes=["siyu-segment-name"])
        self.description_input = pn.widgets.TextInput(
            label=_("Description"), placeholder=_("What the audience is for"), width=260,
            disabled=readonly, css_classes=["siyu-segment-description"])
        self.note_input = pn.widgets.TextInput(
            label=_("Version note"), placeholder=_("What changed (optional)"), width=220,
            disabled=readonly, css_classes=["siyu-segment-note"])
        self.save_button = pn.widgets.Button(
            label=_("Save as new segment"), color="primary", width=190,
            disabled=readonly, margin=(24, 10, 10, 10), css_classes=["siyu-segment-save"])
        self.new_button = pn.widgets.Button(label=_("New segment"), width=130,
                                            css_classes=["siyu-segment-new"])
        self.duplicate_button = pn.widgets.Button(label=_("Duplicate"), width=100,
                                                  disabled=True,
                                                  css_classes=["siyu-segment-duplicate"])
        self.delete_button = pn.widgets.Button(label=_("Delete"), color="danger",
                                               variant="outline", width=90,
                                               disabled=True,
                                               css_classes=["siyu-segment-delete"])
        self.confirm_text = pn.pane.Markdown("", margin=(4, 10))
        self.confirm_delete = pn.widgets.Button(label=_("Delete it"), color="danger",
                                                width=110,
                                                css_classes=["siyu-segment-delete-confirm"])
        self.cancel_delete = pn.widgets.Button(label=_("Keep it"), width=90,
                                               css_classes=["siyu-segment-delete-cancel"])
        self.confirm_row = pn.FlexBox(self.confirm_text, self.confirm_delete,
                                      self.cancel_delete, flex_wrap="wrap",
                                      align_items="center", visible=False,
                                      css_classes=["siyu-segment-delete-ask"])
        self.reveal = (pn.widgets.Checkbox(label=_("Phone numbers in full"), value=False,
                                           css_classes=["siyu-segment-reveal"])
                       if self.can_reveal else None)
        self.downloads = downloads(self.export_frame, "segment",
                                   css_class="siyu-segment-download")
        self.save_button.on_click(lambda _e: self.save())
        self.name_input.param.watch(lambda _e: self._update_buttons(), "value_input")
        self.name_input.param.watch(self._name_set, "value")
        self.new_button.on_click(lambda _e: self.new())
        self.duplicate_button.on_click(lambda _e: self.duplicate())
        self.delete_button.on_click(lambda _e: self.ask_delete())
        self.confirm_delete.on_click(lambda _e: self.delete())
        self.cancel_delete.on_click(lambda _e: setattr(self.confirm_row, "visible", False))

    # -- counting -------------------------------------------------------------------------

    def spec(self) -> dict[str, Any] | None:
        """The builder's spec, or ``None`` while it holds no rule."""
        spec = self.builder.spec()
        return None if self.builder.is_empty() else spec

    def edited(self) -> None:
        """After any edit: show the spec's JSON now, count it once the edits pause."""
        spec = self.spec()
        self.json_view.object = html('<pre class="siyu-segment-json"><code>{json}</code></pre>',
                                     json=json.dumps(spec or {}, ensure_ascii=False,
                                                     indent=2))
        if spec is not None:
            last = self.outcome.count if self.outcome is not None else None
            self._card(fmt_int(last), _("Counting…"))
        self.live.request()

    def _prepare(self):
        spec = self.spec()
        saved = self.loaded if spec is not None and spec == self.saved_spec else None
        return partial(evaluate, self.ws, spec, saved)

    def _card(self, value: str, note: str) -> None:
        self.count_card.object = kpi_cards([(_("Contacts in this segment"), value, note)],
                                           css_class="siyu-segment-count").object

    def show(self, outcome: Outcome) -> None:
        """Show what counting found: the count and sample, or the problems."""
        self.outcome = outcome
        self.builder.show_problems(outcome.problems)
        self.problems.object = problems_html(outcome.problems) if outcome.problems else ""
        self.problems.visible = bool(outcome.problems)
        if outcome.empty:
            self._card(MISSING, _("Add a rule to start."))
        elif outcome.problems:
            self._card(MISSING, _("Fix the problems below to see the count."))
        elif outcome.error:
            self._card(MISSING, outcome.error)
        else:
            self._card(fmt_int(outcome.count), "")
        counted = outcome.sample is not None
        frame = outcome.sample if counted else pd.DataFrame()
        self.sample.value = display_frame(self._readable(frame), SAMPLE_COLS, self.ws.timezone)
        self.sample_note.visible = counted and not frame.empty
        show_rows(self.sample_box, self.sample, self.sample_empty if counted else None,
                  not frame.empty)
        if outcome.named:
            self.library.refresh(self.loaded)

    def _readable(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with owners by name instead of WeCom user id."""
        if frame.empty or "owner" not in frame:
            return frame
        names = self.menus.staff_names()
        return frame.assign(owner=[names.get(o) or o if isinstance(o, str) else o
                                   for o in frame["owner"]])

    # -- saved segments -------------------------------------------------------------------

    @notify_errors
    def open(self, name: str) -> None:
        """Edit the saved segment ``name``."""
        segment = self.ws.segments.get(name)
        self.builder.load(segment.spec, notify=False)
        self._current(segment.name, segment.spec, segment.version)
        self.description_input.value = segment.description or ""
        self.note_input.value = ""
        self.edited()

    def _current(self, name: str | None, spec: dict[str, Any] | None,
                 version: int | None) -> None:
        """Remember the segment being edited and show it as such."""
        self.loaded, self.saved_spec, self.version = name, spec, version
        self.name_input.value = name or ""
        self.library.highlight(name)
        self.versions.show(name)
        self.confirm_row.visible = False
        self.downloads[0].filename = f"{name or 'segment'}.csv"
        self.downloads[1].filename = f"{name or 'segment'}.xlsx"
        self._update_buttons()

    def _name_set(self, event: Any) -> None:
        """Keep ``value_input`` (what is typed, updated on every key) equal to a value set
        from here: the name is read from it."""
        if self.name_input.value_input != event.new:
            self.name_input.value_input = event.new
        self._update_buttons()

    def typed_name(self) -> str:
        """The name in the name field, as typed so far."""
        return (self.name_input.value_input or "").strip()

    def _update_buttons(self) -> None:
        typed = self.typed_name()
        same = self.loaded is not None and typed == self.loaded
        self.save_button.label = _("Save new version") if same else _("Save as new segment")
        writable = self.can_write and self.loaded is not None
        self.duplicate_button.disabled = not writable
        self.delete_button.disabled = not writable

    def new(self) -> None:
        """Start a new segment from an empty builder."""
        self.builder.load(None, notify=False)
        self._current(None, None, None)
        self.description_input.value = self.note_input.value = ""
        self.edited()

    @notify_errors
    def save(self) -> None:
        """Save the builder's spec: a new version of the segment being edited when the name
        is its name, else a new segment under the name typed."""
        spec = self.spec()
        if spec is None:
            raise ValidationError(_("add at least one rule before saving"))
        name = self.typed_name()
        description = self.description_input.value or ""
        if self.loaded is not None and name == self.loaded:
            before = self.version
            segment = self.ws.segments.save(name, spec, description=description,
                                            note=self.note_input.value or "")
            message = (_("Nothing changed: {name} stays at version {version}.",
                         name=name, version=segment.version) if segment.version == before
                       else _("Saved {name} as version {version}.", name=name,
                              version=segment.version))
        else:
            segment = self.ws.segments.create(name, spec, description=description)
            message = _("Saved the new segment {name}.", name=segment.name)
        self.menus.reload("segments")
        self.library.refresh(segment.name)
        self._current(segment.name, segment.spec, segment.version)
        self.note_input.value = ""
        notify_success(message)
        self.live.request()  # counted by name now: the list records the count

    @notify_errors
    def duplicate(self) -> None:
        """Save a copy of the saved segment being edited under a free name, and edit it."""
        if self.loaded is None:
            raise ValidationError(_("open a saved segment to duplicate it"))
        name = copy_name(self.loaded, self.library.names())
        self.ws.segments.duplicate(self.loaded, name)
        self.menus.reload("segments")
        self.library.refresh(name)
        self.open(name)
        notify_success(_("Saved a copy as {name}.", name=name))

    def ask_delete(self) -> None:
        """Ask before deleting the segment being edited."""
        if self.loaded is None:
            return
        self.confirm_text.object = md(_("Delete **{name}** and all its versions?"),
                                      name=self.loaded)
        self.confirm_row.visible = True

    @notify_errors
    def delete(self) -> None:
        """Delete the segment being edited (refused while another segment uses it)."""
        self.confirm_row.visible = False
        if self.loaded is None:
            return
        name = self.loaded
        self.ws.segments.delete(name)
        self.menus.reload("segments")
        self.library.refresh(None)
        self.new()
        notify_success(_("Deleted {name}.", name=name))

    @notify_errors
    def restore(self, version: int) -> None:
        """Make ``version`` of the segment being edited current again (a new version)."""
        if self.loaded is None:
            return
        self.ws.segments.restore(self.loaded, version)
        self.library.refresh(self.loaded)
        self.open(self.loaded)
        notify_success(_("Restored version {version} of {name}.", version=version,
                         name=self.loaded))

    # -- downloads ------------------------------------------------------------------------

    def export_frame(self) -> pd.DataFrame:
        """What the downloads hold: up to :data:`EXPORT_LIMIT` members of the builder's
        spec; phones in full only when the role may and the box is ticked. Audited as
        ``segment.export``."""
        spec = self.spec()
        reveal = bool(self.reveal is not None and self.reveal.value)
        frame = pd.DataFrame(columns=[c.key for c in EXPORT_COLS])
        try:
            if spec is None:
                raise ValidationError(_("add at least one rule before downloading"))
            frame = self.ws.segments.df(spec, columns=[c.key for c in EXPORT_COLS],
                                        limit=EXPORT_LIMIT, reveal_pii=reveal)
        except SiyuError as exc:
            notify_error(str(exc))
        else:
            self.ws.audit("segment.export", self.loaded or "spec",
                          {"rows": len(frame), "pii": reveal})
        return export_frame(self._readable(frame), EXPORT_COLS, self.ws.timezone)

    # -- layout ---------------------------------------------------------------------------

    def __panel__(self) -> pn.Column:
        saved = section(_("Saved segments"), self.library,
                        pn.FlexBox(self.new_button, self.duplicate_button, self.delete_button,
                                   flex_wrap="wrap"),
                        self.confirm_row, css_class="siyu-segments-saved")
        saved.styles = SIDE_STYLES
        export = [self.reveal] if self.reveal is not None else []
        main = pn.Column(
            section(_("Rules"), self.builder, css_class="siyu-segment-builder"),
            section(_("Result"), self.count_card, self.problems, self.sample_note,
                    self.sample_box, css_class="siyu-segment-result"),
            section(_("Save"), pn.FlexBox(self.name_input, self.description_input,
                                          self.note_input, self.save_button,
                                          flex_wrap="wrap"),
                    css_class="siyu-segment-save-section"),
            pn.Card(self.versions, title=escape(_("Versions")), collapsed=False,
                    sizing_mode="stretch_width", css_classes=["siyu-segment-versions-card"]),
            pn.Card(pn.pane.Markdown(md(_("Downloads hold up to {limit} members."),
                                        limit=fmt_int(EXPORT_LIMIT)), margin=(0, 10)),
                    *export, self.downloads, title=escape(_("Download members")),
                    sizing_mode="stretch_width", css_classes=["siyu-segment-export-card"]),
            pn.Card(self.json_view, title=escape(_("Spec as JSON (for a notebook)")),
                    collapsed=True, sizing_mode="stretch_width",
                    css_classes=["siyu-segment-json-card"]),
            sizing_mode="stretch_width", styles=MAIN_STYLES)
        return pn.Column(
            page_header(_("Segments"), _("Build an audience from rules, watch its size "
                                         "change as you edit, then save it.")),
            *readonly_note(self.can_write, _("segments")),
            pn.FlexBox(saved, main, flex_wrap="wrap", sizing_mode="stretch_width"),
            css_classes=["siyu-segments-page"], sizing_mode="stretch_width")
