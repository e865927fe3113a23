"""The Risk center's list tabs: the sensitive-word lists (categories, words, add, remove,
import a file) and the do-not-contact list (paged, add and remove by contact id).

Changes need ``data.write`` (the controls are disabled without it; the notebook doors check
again). Phones are masked unless the role holds ``pii.view``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, empty_state, fmt_int
from siyu.apps.pages.common import (
    Pager,
    notify_errors,
    notify_success,
    readonly_note,
    section,
    toggle_empty,
)
from siyu.apps.safe import html
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.risk import dnc, words
from siyu.plugins.risk.models import MANUAL

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.risk")

CATEGORY_COLS = (Col("category", _.lazy("Category")), Col("words", _.lazy("Words"), "int"))
WORD_COLS = (Col("word", _.lazy("Word")), Col("source", _.lazy("Source")),
             Col("created_at", _.lazy("Added"), "time"),
             Col("created_by", _.lazy("Added by")))
DNC_COLS = (Col("contact_id", _.lazy("Contact ID"), "id"), Col("name", _.lazy("Name")),
            Col("phone", _.lazy("Phone")), Col("reason", _.lazy("Reason")),
            Col("added_at", _.lazy("Added"), "time"), Col("added_by", _.lazy("Added by")))
#: Words of one category the tab shows (lists run to thousands; the CLI lists them all).
WORDS_SHOWN = 500
#: Entries per page of the do-not-contact list.
PAGE_SIZE = 50
#: What separates contact ids typed in one box.
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _nothing() -> None:
    return None


def parse_ids(text: str) -> list[str]:
    """Contact ids typed one per line or separated by commas or spaces (checked by
    :func:`siyu.plugins.risk.dnc.contact_ids`)."""
    return [part for part in _SEPARATORS.split(text or "") if part]


class WordsTab(pn.viewable.Viewer):
    """The word lists: categories with counts, one category's words, and the changes."""

    def __init__(self, ws: Workspace, on_change: Callable[[], None] = _nothing,
                 **params: Any):
        super().__init__(**params)
        self.ws, self.on_change = ws, on_change
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.categories = data_table(CATEGORY_COLS, css_class="siyu-risk-categories")
        self.empty = empty_state(_("No sensitive words yet."),
                                 _("Import a word list file below, or add words one by one."),
                                 css_class="siyu-risk-words-empty")
        self.shown = pn.widgets.Select(label=_("Show the words of"), width=220,
                                       css_classes=["siyu-risk-shown-category"])
        self.words = data_table(WORD_COLS, css_class="siyu-risk-words")
        self.word = pn.widgets.TextInput(label=_("Word"), placeholder=_("e.g. 加微信"),
                                         disabled=readonly, width=200,
                                         css_classes=["siyu-risk-word"])
        self.category = pn.widgets.TextInput(label=_("Category"), placeholder=_("e.g. 引流"),
                                             disabled=readonly, width=200,
                                             css_classes=["siyu-risk-category"])
        self.add_button = pn.widgets.Button(label=_("Add word"), color="primary",
                                            disabled=readonly, margin=(24, 10, 10, 10),
                                            css_classes=["siyu-risk-add-word"])
        self.remove_button = pn.widgets.Button(label=_("Remove word"), color="warning",
                                               disabled=readonly, margin=(24, 10, 10, 10),
                                               css_classes=["siyu-risk-remove-word"])
        self.file = pn.widgets.FileInput(accept=".txt,text/plain", disabled=readonly,
                                         css_classes=["siyu-risk-file"])
        self.replace = pn.widgets.Checkbox(
            label=_("Replace: the file's categories keep exactly its words"), disabled=readonly,
            css_classes=["siyu-risk-replace"])
        self.import_button = pn.widgets.Button(label=_("Import file"), color="primary",
                                               disabled=readonly,
                                               css_classes=["siyu-risk-import"])
        self.shown.param.watch(lambda _e: self.show_words(), "value")
        self.add_button.on_click(lambda _e: self.add_word())
        self.remove_button.on_click(lambda _e: self.remove_word())
        self.import_button.on_click(lambda _e: self.import_file())
        self.refresh()

    def refresh(self) -> None:
        """Reload the categories and the shown category's words."""
        counts = words.categories(self.ws)
        frame = pd.DataFrame({"category": list(counts), "words": list(counts.values())},
                             columns=["category", "words"])
        self.categories.value = display_frame(frame, CATEGORY_COLS, self.ws.timezone)
        toggle_empty(self.categories, self.empty, bool(counts))
        chosen = self.shown.value
        self.shown.options = list(counts)
        self.shown.value = chosen if chosen in counts else next(iter(counts), None)
        self.show_words()

    def show_words(self) -> None:
        """The words of the chosen category (the first :data:`WORDS_SHOWN`)."""
        rows = words.word_rows(self.ws, self.shown.value) if self.shown.value else []
        frame = pd.DataFrame(rows[:WORDS_SHOWN], columns=list(words.COLUMNS))
        frame["source"] = [_("added by hand") if source == MANUAL else source
                           for source in frame["source"]]
        self.words.value = display_frame(frame, WORD_COLS, self.ws.timezone)
        self.words.visible = bool(rows)

    def _changed(self, message: str) -> None:
        self.refresh()
        self.on_change()
        notify_success(message)

    @notify_errors
    def add_word(self) -> bool:
        """Add the typed word to the typed category."""
        word, category = (self.word.value or "").strip(), (self.category.value or "").strip()
        if not word or not category:
            raise ValidationError(_("type a word and its category"))
        added = words.add_word(self.ws, word, category)
        self.shown.value = category
        self._changed(_("added {word} to {category}", word=word, category=category) if added
                      else _("{category} has {word} already", word=word, category=category))
        self.word.value = ""
        return added

    @notify_errors
    def remove_word(self) -> int:
        """Remove the typed word (from the typed category, or from every category)."""
        word, category = (self.word.value or "").strip(), (self.category.value or "").strip()
        if not word:
            raise ValidationError(_("type the word to remove"))
        removed = words.remove_words(self.ws, [word], category or None)
        self._changed(_.ngettext("removed {n} word", "removed {n} words", removed))
        return removed

    @notify_errors
    def import_file(self) -> None:
        """Import the chosen word list file (UTF-8, ``[category]`` headers; words before
        the first header go to the typed category, else to the file's name)."""
        if not self.file.value:
            raise ValidationError(_("choose a word list file (.txt) first"))
        name = Path(self.file.filename or "words.txt").name or "words.txt"
        category = (self.category.value or "").strip() or None
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(self.file.value)
            report = words.import_words(self.ws, path, category=category,
                                        replace=bool(self.replace.value))
        self._changed(_("imported {file}: added {added}, already present {present}, "
                        "removed {removed}", file=name, added=fmt_int(report.added),
                        present=fmt_int(report.present), removed=fmt_int(report.removed)))

    def __panel__(self) -> pn.Column:
        change = section(_("Add or remove a word"),
                         pn.FlexBox(self.word, self.category, self.add_button,
                                    self.remove_button, flex_wrap="wrap"),
                         css_class="siyu-risk-word-form")
        upload = section(_("Import a word list"),
                         pn.pane.HTML(html("<p>{help}</p>", help=_(
                             "UTF-8 text, one word per line; a line [category] starts a "
                             "category; lines starting with # are comments.")),
                             sizing_mode="stretch_width", css_classes=["siyu-risk-import-help"]),
                         pn.FlexBox(self.file, self.replace, self.import_button,
                                    flex_wrap="wrap", align_items="center"),
                         css_class="siyu-risk-import-form")
        return pn.Column(*readonly_note(self.can_write, _("the word lists")),
                         self.categories, self.empty, self.shown, self.words, change, upload,
                         sizing_mode="stretch_width", css_classes=["siyu-risk-words-tab"])


class DncTab(pn.viewable.Viewer):
    """The do-not-contact list, a page at a time; add or remove contacts by id."""

    def __init__(self, ws: Workspace, on_change: Callable[[], None] = _nothing,
                 **params: Any):
        super().__init__(**params)
        self.ws, self.on_change = ws, on_change
        self.can_write = ws.principal.can("data.write")
        self.reveal_pii = ws.principal.can("pii.view")
        readonly = not self.can_write
        self.table = data_table(DNC_COLS, css_class="siyu-risk-dnc-table")
        self.empty = empty_state(_("Nobody is on the do-not-contact list."),
                                 _("Add a contact who asked not to be contacted below; "
                                   "campaigns will skip them."),
                                 css_class="siyu-risk-dnc-empty")
        self.pager = Pager(page_size=PAGE_SIZE, noun="contact", css_class="siyu-risk-dnc-pager")
        self.ids = pn.widgets.TextAreaInput(
            label=_("Contact IDs"), placeholder=_("One contact ID per line, or separated by "
                                                  "commas"),
            disabled=readonly, height=100, width=260, css_classes=["siyu-risk-dnc-ids"])
        self.reason = pn.widgets.TextInput(label=_("Reason"), placeholder=_("e.g. 投诉"),
                                           disabled=readonly, width=220,
                                           css_classes=["siyu-risk-dnc-reason"])
        self.add_button = pn.widgets.Button(label=_("Add to the list"), color="primary",
                                            disabled=readonly,
                                            css_classes=["siyu-risk-dnc-add"])
        self.remove_button = pn.widgets.Button(label=_("Remove from the list"),
                                               color="warning", disabled=readonly,
                                               css_classes=["siyu-risk-dnc-remove"])
        self.pager.param.watch(lambda _e: self.show_page(), "page")
        self.add_button.on_click(lambda _e: self.add())
        self.remove_button.on_click(lambda _e: self.remove())
        self.refresh()

    def refresh(self) -> None:
        """Count the list again and show the current page."""
        self.pager.total = dnc.count(self.ws)
        self.pager.go(self.pager.page)
        self.show_page()

    def show_page(self) -> None:
        """The current page of the list, newest entry first."""
        rows = dnc.rows(self.ws, reveal_pii=self.reveal_pii, limit=PAGE_SIZE,
                        offset=self.pager.offset)
        frame = pd.DataFrame(rows, columns=list(dnc.COLUMNS))
        self.table.value = display_frame(frame, DNC_COLS, self.ws.timezone)
        toggle_empty(self.table, self.empty, bool(self.pager.total))

    @notify_errors
    def add(self) -> int:
        """Put the typed contacts on the list."""
        added = dnc.add(self.ws, parse_ids(self.ids.value), reason=self.reason.value or "")
        self.refresh()
        self.on_change()
        notify_success(_.ngettext("added {n} contact to the do-not-contact list",
                                  "added {n} contacts to the do-not-contact list", added))
        self.ids.value = ""
        return added

    @notify_errors
    def remove(self) -> int:
        """Take the typed contacts off the list."""
        removed = dnc.remove(self.ws, parse_ids(self.ids.value))
        self.refresh()
        self.on_change()
        notify_success(_.ngettext("removed {n} contact from the do-not-contact list",
                                  "removed {n} contacts from the do-not-contact list",
                                  removed))
        return removed

    def __panel__(self) -> pn.Column:
        form = section(_("Add or remove contacts"),
                       pn.FlexBox(self.ids, self.reason, flex_wrap="wrap"),
                       pn.FlexBox(self.add_button, self.remove_button, flex_wrap="wrap"),
                       css_class="siyu-risk-dnc-form")
        return pn.Column(*readonly_note(self.can_write, _("the do-not-contact list")),
                         self.table, self.empty, self.pager, form,
                         sizing_mode="stretch_width", css_classes=["siyu-risk-dnc-tab"])
