"""What the Live codes and Group codes pages share: choosing one code from a table, and
the controls for the chosen code.

A page keeps a ``table`` (a kit table showing ``frame``, the codes one row each with their
``id``, ``name`` and ``status``) and a ``code`` Select whose values are code ids, and
implements ``show_code()``. The Select is the one place the chosen code lives: selecting a
table row chooses that code (a deleted code cannot be chosen, so its row chooses none), and
the table's highlighted row follows the Select, so a row clicked again always chooses its
code. Reloading keeps the chosen code when it still exists. :meth:`add_code_controls` makes
the Save, Edit, Pause, Resume and Delete buttons, the QR image and its PNG download, and
:meth:`show_qr` shows the chosen code's QR, or says why there is none in its place.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from siyu.apps.kit import empty_state
from siyu.core.i18n import translator

_ = translator("siyu.plugins.livecodes")


class CodePicker:
    """Mixin for a page that shows one chosen code out of a table of codes."""

    table: Any
    code: Any
    #: The codes the table shows, in its row order (``id``, ``name``, ``status``…).
    frame: pd.DataFrame
    #: The page's own method showing the chosen code (or nothing when none is chosen).
    show_code: Any
    _reloading: bool = False
    _marking: bool = False

    def add_code_controls(self, prefix: str, readonly: bool, png: Any, png_name: str, *,
                          choose_hint: Any) -> None:
        """Make the chosen-code controls as attributes, CSS classes ``<prefix>-pause`` etc.

        :param png: callback returning the QR PNG file for the download.
        :param choose_hint: what the QR's place says to do when no code is chosen (e.g.
            "Choose a live code above to see its QR code.").
        """
        self._choose_hint = choose_hint
        self.save_button = pn.widgets.Button(
            label=_("Save changes to the chosen code"), color="primary", disabled=True,
            css_classes=[f"{prefix}-save-button"])
        for attribute, label, kind in (("pause_button", _("Pause"), "warning"),
                                       ("resume_button", _("Resume"), "success"),
                                       ("delete_button", _("Delete"), "danger"),
                                       ("edit_button", _("Edit"), "default")):
            setattr(self, attribute, pn.widgets.Button(
                label=label, color=kind, disabled=readonly,
                css_classes=[f"{prefix}-{attribute.removesuffix('_button')}"]))
        self.qr = pn.pane.PNG(None, width=200, height=200, css_classes=[f"{prefix}-qr-image"])
        self.png_download = pn.widgets.FileDownload(
            callback=png, filename=png_name, label=_("Download PNG"), color="default",
            css_classes=[f"{prefix}-download-png"])
        #: The QR's downloads: shown only with a QR to download (a page may add more).
        self.qr_downloads = [self.png_download]
        self.no_qr = empty_state(_("No code chosen."), choose_hint,
                                 css_class=f"{prefix}-qr-empty")

    def show_qr(self, image: bytes | None, chosen: bool) -> None:
        """Show the chosen code's QR ``image`` with its downloads; in their place, an empty
        state saying to choose a code (``chosen`` false) or that WeCom gave the chosen code
        no QR (``image`` empty)."""
        self.qr.object = image or None
        shown = bool(image)
        self.qr.visible = shown
        for button in self.qr_downloads:
            button.visible = shown
        self.no_qr.visible = not shown
        if not chosen:
            message, hint = _("No code chosen."), self._choose_hint
        else:
            message = _("WeCom has not confirmed this code yet, so it has no QR code.")
            hint = _("siyu asks WeCom again on the code's next change and in the daily check; "
                     "its QR code shows here once WeCom has it.")
        self.no_qr.object = empty_state(message, hint).object

    def watch_choice(self) -> None:
        """Connect the table's row selection and the Select to :meth:`show_code`."""
        self._reloading = False
        self.frame = getattr(self, "frame", pd.DataFrame(columns=["id", "name", "status"]))
        self.table.param.watch(self._on_selection, "selection")
        self.code.param.watch(self._on_code, "value")

    def offer_codes(self, frame: pd.DataFrame) -> None:
        """Offer the codes in ``frame`` (``id``, ``name``, ``status``) that are not deleted,
        keep the chosen one when it is still offered (else the first), and show it.

        ``frame`` must be what the table now shows, in its row order.
        """
        self.frame = frame.reset_index(drop=True)
        live = frame[frame["status"] != "deleted"]
        options = {f"{i} · {n}": int(i) for i, n in zip(live["id"], live["name"], strict=True)}
        chosen = self.code.value
        # Changing the options may move the value; show the code once, at the end.
        self._reloading = True
        try:
            self.code.options = options
            self.code.value = (chosen if chosen in options.values()
                               else next(iter(options.values()), None))
        finally:
            self._reloading = False
        self._follow_choice()

    def _follow_choice(self) -> None:
        """Highlight the chosen code's row and show the code."""
        self._mark_row()
        self.show_code()

    def _mark_row(self) -> None:
        ids = [int(i) for i in self.frame["id"]] if "id" in self.frame else []
        wanted = [ids.index(self.code.value)] if self.code.value in ids else []
        if list(self.table.selection) != wanted:
            self._marking = True
            try:
                self.table.selection = wanted
            finally:
                self._marking = False

    def _on_code(self, _event: Any) -> None:
        if not self._reloading:
            self._follow_choice()

    def _on_selection(self, event: Any) -> None:
        if self._marking or not event.new or event.new[0] >= len(self.frame):
            return
        code_id = int(self.frame["id"].iloc[event.new[0]])
        offered = code_id in self.code.options.values()
        # A deleted code cannot be chosen: its row chooses none, so nothing of the code
        # chosen before stays on the page under another code's highlighted row.
        self.code.value = code_id if offered else None
        if not offered:
            self._follow_choice()
