"""Tags: every tag with how many contacts carry it; create tags and tag contacts in bulk.

Reading needs ``data.read``; the write controls are disabled without ``data.write``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn

from siyu.apps.pages.common import (
    contact_ref,
    notify_errors,
    notify_success,
    readonly_note,
    section,
    table,
)
from siyu.core.errors import ValidationError
from siyu.core.services.contacts import split_tag_name

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["group", "name", "kind", "source", "contacts"]


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
        self.table = table(css_class="siyu-tags-table", max_height=420)
        self.new_tag = pn.widgets.TextInput(
            label="New tag", placeholder="group/name, e.g. 渠道/抖音", disabled=readonly,
            css_classes=["siyu-tags-new-name"], width=260)
        self.create_button = pn.widgets.Button(
            label="Create tag", color="primary", disabled=readonly,
            css_classes=["siyu-tags-create"], margin=(24, 10, 10, 10))
        self.contacts_input = pn.widgets.TextAreaInput(
            label="Contacts", placeholder="One contact id or external user id per line",
            disabled=readonly, css_classes=["siyu-tags-contacts"], height=160, width=320)
        self.tag_select = pn.widgets.Select(label="Tag", disabled=readonly,
                                            css_classes=["siyu-tags-select"], width=220)
        self.tag_button = pn.widgets.Button(
            label="Tag contacts", color="primary", disabled=readonly,
            css_classes=["siyu-tags-apply"])
        self.untag_button = pn.widgets.Button(
            label="Remove tag", color="warning", disabled=readonly,
            css_classes=["siyu-tags-remove"])
        self.create_button.on_click(lambda _event: self.create_tag())
        self.new_tag.param.watch(lambda _event: self.create_tag(), "enter_pressed")
        self.tag_button.on_click(lambda _event: self.tag_contacts())
        self.untag_button.on_click(lambda _event: self.untag_contacts())
        self.refresh()

    def refresh(self) -> None:
        """Reload the tag list and the tag choices."""
        frame = self.ws.tags.df()
        self.table.value = frame[COLUMNS]
        names = [f"{g}/{n}" for g, n in zip(frame["group"], frame["name"], strict=True)]
        selected = self.tag_select.value
        self.tag_select.options = names
        self.tag_select.value = selected if selected in names else (names[0] if names else None)

    @notify_errors
    def create_tag(self) -> None:
        """Create the tag typed in *New tag* (``group/name``; a bare name goes to 默认)."""
        name = self.new_tag.value.strip()
        if not name:
            raise ValidationError("type a tag as group/name, e.g. 渠道/抖音")
        group, short = split_tag_name(name)
        full = f"{group}/{short}"
        existed = full in self.ws.tags.names()
        self.ws.tags.create(full)
        self.refresh()
        self.tag_select.value = full
        self.new_tag.value = ""
        notify_success(f"tag {full} exists already" if existed else f"created tag {full}")

    def _selection(self) -> tuple[list[int | str], str]:
        contacts = parse_contacts(self.contacts_input.value or "")
        if not contacts:
            raise ValidationError("list the contacts to tag, one id or external user id "
                                  "per line")
        tag = self.tag_select.value
        if not tag:
            raise ValidationError("choose a tag (create one first if the list is empty)")
        return contacts, tag

    @notify_errors
    def tag_contacts(self) -> int:
        """Put the chosen tag on the listed contacts (all or nothing)."""
        contacts, tag = self._selection()
        added = self.ws.tags.tag(contacts, [tag])
        self.refresh()
        notify_success(f"tagged {added} of {len(contacts)} contact(s) with {tag}"
                       + ("" if added == len(contacts) else
                          f"; {len(contacts) - added} had it already"))
        return added

    @notify_errors
    def untag_contacts(self) -> int:
        """Take the chosen tag off the listed contacts."""
        contacts, tag = self._selection()
        removed = self.ws.tags.untag(contacts, [tag])
        self.refresh()
        notify_success(f"removed {tag} from {removed} contact(s)")
        return removed

    def __panel__(self) -> pn.Column:
        note = readonly_note(self.can_write, "tags")
        create = section("Create a tag", pn.Row(self.new_tag, self.create_button),
                         css_class="siyu-tags-create-section")
        bulk = section("Tag contacts in bulk", self.contacts_input,
                       pn.Row(self.tag_select, self.tag_button, self.untag_button),
                       css_class="siyu-tags-bulk-section")
        return pn.Column(pn.pane.Markdown("## Tags"), *note, self.table,
                         pn.Row(create, bulk, sizing_mode="stretch_width"),
                         css_classes=["siyu-tags-page"], sizing_mode="stretch_width")
