"""What the Live codes and Group codes pages share: choosing one code from a table.

A page keeps a ``table`` (Tabulator of codes, ``id`` column first) and a ``code`` Select
whose values are code ids, and implements ``show_code()``. Selecting a table row chooses
that code; reloading keeps the chosen code when it still exists.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


class CodePicker:
    """Mixin for a page that shows one chosen code out of a table of codes."""

    table: Any
    code: Any
    #: The page's own method showing the chosen code (or nothing when none is chosen).
    show_code: Any
    _reloading: bool = False

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
