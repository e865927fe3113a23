"""What the Live codes and Group codes pages share: choosing one code from a table, and
the controls for the chosen code.

A page keeps a ``table`` (Tabulator of codes, ``id`` column first) and a ``code`` Select
whose values are code ids, and implements ``show_code()``. Selecting a table row chooses
that code; reloading keeps the chosen code when it still exists. :meth:`add_code_controls`
makes the Save, Edit, Pause, Resume and Delete buttons, the QR image and its PNG download.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn


class CodePicker:
    """Mixin for a page that shows one chosen code out of a table of codes."""

    table: Any
    code: Any
    #: The page's own method showing the chosen code (or nothing when none is chosen).
    show_code: Any
    _reloading: bool = False

    def add_code_controls(self, prefix: str, readonly: bool, png: Any, png_name: str) -> None:
        """Make the chosen-code controls as attributes, CSS classes ``<prefix>-pause`` etc.

        :param png: callback returning the QR PNG file for the download.
        """
        self.save_button = pn.widgets.Button(
            label="Save changes to the chosen code", color="primary", disabled=True,
            css_classes=[f"{prefix}-save-button"])
        for attribute, label, kind in (("pause_button", "Pause", "warning"),
                                       ("resume_button", "Resume", "success"),
                                       ("delete_button", "Delete", "danger"),
                                       ("edit_button", "Edit", "default")):
            setattr(self, attribute, pn.widgets.Button(
                label=label, color=kind, disabled=readonly,
                css_classes=[f"{prefix}-{attribute.removesuffix('_button')}"]))
        self.qr = pn.pane.PNG(None, width=200, height=200, css_classes=[f"{prefix}-qr-image"])
        self.png_download = pn.widgets.FileDownload(
            callback=png, filename=png_name, label="Download PNG", color="default",
            css_classes=[f"{prefix}-download-png"])

    def watch_choice(self) -> None:
        """Connect the table's row selection and the Select to :meth:`show_code`."""
        self._reloading = False
        self.table.param.watch(self._on_selection, "selection")
        self.code.param.watch(self._on_code, "value")

    def offer_codes(self, frame: pd.DataFrame) -> None:
        """Offer the codes in ``frame`` (``id``, ``name``, ``status``) that are not deleted,
        keep the chosen one when it is still offered (else the first), and show it."""
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
        self.show_code()

    def _on_code(self, _event: Any) -> None:
        if not self._reloading:
            self.show_code()

    def _on_selection(self, event: Any) -> None:
        if event.new:
            code_id = int(self.table.value["id"].iloc[event.new[0]])
            if code_id in self.code.options.values():
                self.code.value = code_id
