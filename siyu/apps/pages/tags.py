"""Tags: every tag with how many contacts carry it; create tags and tag contacts in bulk.

Reading needs ``data.read``; the write controls are disabled without ``data.write``. The
table is as tall as its rows (no inner scroll bar), so every tag group shows on the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, empty_state, page_header
from siyu.apps.pages.common import (
    contact_ref,
    notify_errors,
    notify_success,
    readonly_note,
    section,
    toggle_empty,
)
from siyu.core.errors import ValidationError
from siyu.core.i18n import core as _
from siyu.core.services.contacts import split_tag_name

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["group", "name", "kind", "source", "contacts"]
COLS = (
    Col("group", _.lazy("Tag group")),
    Col("name", _.lazy("Tag")),
    Col("contacts", _.lazy("Contacts"), "int"),
    Col("kind_label", _.lazy("Kind")),
    Col("source_label", _.lazy("Source")),
)
#: What a tag group's ``kind`` is called.
KINDS = {"manual": _.lazy("Manual"), "auto": _.lazy("Automatic"), "plugin": _.lazy("Plugin")}
#: Where a tag group comes from.
SOURCES = {"wecom": _.lazy("WeCom"), "manual": _.lazy("Manual"), "import": _.lazy("Import")}


def keep_typed(widget: pn.widgets.Widget) -> pn.widgets.Widget:
    """Make ``widget.value_input`` also follow values set in code, so :func:`typed` is
    always the box's text."""
    def follow(event: Any) -> None:
        if widget.value_input != event.new:
            widget.value_input = event.new
    widget.param.watch(follow, "value")
    return widget


def typed(widget: pn.widgets.Widget) -> str:
    """What is in a text box (kept by :func:`keep_typed`) now: ``value_input`` follows every
    key stroke, while ``value`` waits for the box to lose focus and may reach the server
    after the click that reads it."""
    return widget.value_input or ""


def parse_contacts(text: str) -> list[int | str]:
    """One contact per line (id or external_userid), blanks and repeats dropped, order
    kept."""
    refs = [contact_ref(line) for line in text.splitlines() if line.strip()]
    return list(dict.fromkeys(refs))


class TagsPage(pn.viewable.Viewer):
    """The Tags page (permission ``data.read``; changes need ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.rows = pd.DataFrame(columns=COLUMNS)
        # No height: the table grows with its rows, so no tag group hides in an inner scroll.
        self.table = data_table(COLS, css_class="siyu-tags-table")
        self.empty = empty_state(_("No tags yet."),
                                 _("Create one below (group/name, e.g. 渠道/抖音), or sync them "
                                   "from WeCom."), css_class="siyu-tags-empty")
        self.new_tag = keep_typed(pn.widgets.TextInput(
            label=_("New tag"), placeholder=_("group/name, e.g. 渠道/抖音"), disabled=readonly,
            css_classes=["siyu-tags-new-name"], width=260))
        self.create_button = pn.widgets.Button(
            label=_("Create tag"), color="primary", disabled=readonly,
            css_classes=["siyu-tags-create"], margin=(24, 10, 10, 10))
        self.contacts_input = keep_typed(pn.widgets.TextAreaInput(
            label=_("Contacts"), placeholder=_("One contact ID or external user ID per line"),
            disabled=readonly, css_classes=["siyu-tags-contacts"], height=160, width=320))
        self.tag_select = pn.widgets.Select(label=_("Tag"), disabled=readonly,
                                            css_classes=["siyu-tags-select"], width=220)
        self.tag_button = pn.widgets.Button(
            label=_("Tag contacts"), color="primary", disabled=readonly,
            css_classes=["siyu-tags-apply"])
        self.untag_button = pn.widgets.Button(
            label=_("Remove tag"), color="warning", disabled=readonly,
            css_classes=["siyu-tags-remove"])
        self.create_button.on_click(lambda _event: self.create_tag())
        self.new_tag.param.watch(lambda _event: self.create_tag(), "enter_pressed")
        self.tag_button.on_click(lambda _event: self.tag_contacts())
        self.untag_button.on_click(lambda _event: self.untag_contacts())
        self.refresh()

    def refresh(self) -> None:
        """Reload the tag list and the tag choices."""
        frame = self.ws.tags.df()[COLUMNS]
        self.rows = frame.assign(
            kind_label=[str(KINDS.get(k, k)) if k else None for k in frame["kind"]],
            source_label=[str(SOURCES.get(s, s)) if s else None for s in frame["source"]])
        self.table.value = display_frame(self.rows, COLS, self.ws.timezone)
        toggle_empty(self.table, self.empty, not frame.empty)
        names = [f"{g}/{n}" for g, n in zip(frame["group"], frame["name"], strict=True)]
        selected = self.tag_select.value
        self.tag_select.options = names
        self.tag_select.value = selected if selected in names else (names[0] if names else None)

    @notify_errors
    def create_tag(self) -> None:
        """Create the tag typed in *New tag* (``group/name``; a bare name goes to 默认)."""
        name = typed(self.new_tag).strip()
        if not name:
            raise ValidationError(_("type a tag as group/name, e.g. 渠道/抖音"))
        group, short = split_tag_name(name)
        full = f"{group}/{short}"
        existed = full in self.ws.tags.names()
        self.ws.tags.create(full)
        self.refresh()
        self.tag_select.value = full
        self.new_tag.value = ""
        notify_success(_("tag {tag} exists already", tag=full) if existed
                       else _("created tag {tag}", tag=full))

    def _selection(self) -> tuple[list[int | str], str]:
        contacts = parse_contacts(typed(self.contacts_input))
        if not contacts:
            raise ValidationError(_("list the contacts to tag, one ID or external user ID "
                                    "per line"))
        tag = self.tag_select.value
        if not tag:
            raise ValidationError(_("choose a tag (create one first if the list is empty)"))
        return contacts, tag

    @notify_errors
    def tag_contacts(self) -> int:
        """Put the chosen tag on the listed contacts (all or nothing)."""
        contacts, tag = self._selection()
        added = self.ws.tags.tag(contacts, [tag])
        self.refresh()
        total = len(contacts)
        if added == total:
            notify_success(_.ngettext("tagged {added} of {n} contact with {tag}",
                                      "tagged {added} of {n} contacts with {tag}", total,
                                      added=added, tag=tag))
        else:
            notify_success(_.ngettext(
                "tagged {added} of {n} contact with {tag}; {had} had it already",
                "tagged {added} of {n} contacts with {tag}; {had} had it already", total,
                added=added, tag=tag, had=total - added))
        return added

    @notify_errors
    def untag_contacts(self) -> int:
        """Take the chosen tag off the listed contacts."""
        contacts, tag = self._selection()
        removed = self.ws.tags.untag(contacts, [tag])
        self.refresh()
        notify_success(_.ngettext("removed {tag} from {n} contact",
                                  "removed {tag} from {n} contacts", removed, tag=tag))
        return removed

    def __panel__(self) -> pn.Column:
        note = readonly_note(self.can_write, _("tags"))
        create = section(_("Create a tag"),
                         pn.FlexBox(self.new_tag, self.create_button, flex_wrap="wrap"),
                         css_class="siyu-tags-create-section")
        create.styles = {"flex": "1 1 340px", "min-width": "0"}
        bulk = section(_("Tag contacts in bulk"), self.contacts_input,
                       pn.FlexBox(self.tag_select, self.tag_button, self.untag_button,
                                  flex_wrap="wrap"),
                       css_class="siyu-tags-bulk-section")
        bulk.styles = {"flex": "1 1 340px", "min-width": "0"}
        return pn.Column(
            page_header(_("Tags"), _("Every tag and how many contacts carry it; create tags "
                                     "and tag or untag contacts in bulk.")),
            *note, self.table, self.empty,
            pn.FlexBox(create, bulk, flex_wrap="wrap", sizing_mode="stretch_width"),
            css_classes=["siyu-tags-page"], sizing_mode="stretch_width")
