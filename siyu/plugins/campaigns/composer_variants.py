"""The composer's A/B variants: a switch, one row per variant (name, share %, its own text),
add and remove, and the shares' total checked as they are typed.

Adding or removing a variant spreads the shares evenly again; the operator then adjusts
them. The total line says at once when the shares do not add up to 100; saving still
goes through the service, which refuses them with its own message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import panel as pn

from siyu.apps.safe import html
from siyu.core.i18n import translator
from siyu.core.services.campaigns import MAX_VARIANTS
from siyu.plugins.campaigns.composer_fields import (
    even_shares,
    next_variant_name,
    shares_problem,
    variant_entries,
)
from siyu.plugins.campaigns.composer_text import PlaceholderText

_ = translator("siyu.plugins.campaigns")

#: Longest variant name the service takes.
MAX_NAME = 40

ROW_STYLES = {"border": "1px solid #e3e7ed", "border-radius": "8px", "margin": "4px 10px",
              "padding": "4px 0"}
TOTAL_CSS = """
.siyu-total{font-size:13px;margin:0}
.siyu-total-ok{color:#2e7d32}
.siyu-total-bad{color:#c62828;font-weight:600}
"""


class VariantRow:
    """One variant's fields: name, share %, its own text, and a remove button."""

    def __init__(self, name: str, share: int, *, placeholders: Sequence[str], disabled: bool,
                 on_change: Callable[[], None], on_remove: Callable[[VariantRow], None]):
        self.name = pn.widgets.TextInput(label=_("Variant name"), value=name,
                                         max_length=MAX_NAME, disabled=disabled, width=150,
                                         css_classes=["siyu-campaign-variant-name"])
        self.share = pn.widgets.IntInput(label=_("Share %"), value=share, start=1, end=100,
                                         disabled=disabled, width=110,
                                         css_classes=["siyu-campaign-variant-share"])
        self.text = PlaceholderText(
            label=_("Its own message"),
            placeholder=_("Leave empty to send the campaign's message"),
            css_class="siyu-campaign-variant-text", disabled=disabled, height=80,
            on_change=on_change)
        self.text.set_placeholders(placeholders)
        self.remove = pn.widgets.Button(label=_("Remove"), disabled=disabled, width=90,
                                        css_classes=["siyu-campaign-variant-remove"],
                                        margin=(24, 10, 10, 10))
        self.remove.on_click(lambda _e: on_remove(self))
        self.name.param.watch(lambda _e: on_change(), "value")
        self.share.param.watch(lambda _e: on_change(), "value")
        self.layout = pn.Column(
            pn.FlexBox(self.name, self.share, self.remove, flex_wrap="wrap",
                       sizing_mode="stretch_width"),
            self.text, sizing_mode="stretch_width", styles=ROW_STYLES,
            css_classes=["siyu-campaign-variant"])

    def entry(self) -> tuple[str, int | None, str]:
        """``(name, share, own text)`` as typed."""
        return self.name.value or "", self.share.value, self.text.value


class VariantsEditor(pn.viewable.Viewer):
    """A/B variants of a campaign (off by default: one message for everyone).

    :param on_change: called after any edit (the page then wants a new preview).
    """

    def __init__(self, *, disabled: bool, on_change: Callable[[], None], **params: Any):
        super().__init__(**params)
        self.disabled = disabled
        self.on_change = on_change
        self.placeholders: list[str] = []
        self.rows: list[VariantRow] = []
        self.enabled = pn.widgets.Checkbox(
            label=_("A/B test: send different versions to parts of the audience"),
            disabled=disabled, css_classes=["siyu-campaign-ab"])
        self.add_button = pn.widgets.Button(label=_("Add variant"), disabled=disabled,
                                            css_classes=["siyu-campaign-variant-add"])
        self.total = pn.pane.HTML("", css_classes=["siyu-campaign-variant-total"],
                                  stylesheets=[TOTAL_CSS], sizing_mode="stretch_width")
        self.holder = pn.Column(sizing_mode="stretch_width", margin=0)
        self.body = pn.Column(self.holder, pn.FlexBox(self.add_button, self.total,
                                                      flex_wrap="wrap", align_items="center",
                                                      sizing_mode="stretch_width"),
                              visible=False, sizing_mode="stretch_width", margin=0)
        self.layout = pn.Column(self.enabled, self.body, sizing_mode="stretch_width", margin=0,
                                css_classes=["siyu-campaign-variants"])
        self.enabled.param.watch(lambda _e: self._switch(), "value")
        self.add_button.on_click(lambda _e: self.add())

    # -- editing --------------------------------------------------------------------------

    def _switch(self) -> None:
        if self.enabled.value and not self.rows:
            self.add()
            self.add()
        self.body.visible = self.enabled.value
        self._changed()

    def add(self) -> VariantRow | None:
        """Add a variant (named A, B, … after the others) and spread the shares evenly;
        ``None`` when there are :data:`MAX_VARIANTS` already."""
        if len(self.rows) >= MAX_VARIANTS:
            return None
        row = VariantRow(next_variant_name(r.name.value or "" for r in self.rows), 0,
                         placeholders=self.placeholders, disabled=self.disabled,
                         on_change=self._changed, on_remove=self.remove)
        self.rows.append(row)
        self._spread()
        return row

    def remove(self, row: VariantRow) -> None:
        """Take ``row`` out (two variants always stay) and spread the shares evenly."""
        if len(self.rows) <= 2 or row not in self.rows:
            return
        self.rows.remove(row)
        self._spread()

    def _spread(self) -> None:
        for row, share in zip(self.rows, even_shares(len(self.rows)), strict=True):
            row.share.value = share
        self.holder.objects = [row.layout for row in self.rows]
        self._changed()

    def _changed(self) -> None:
        few, many = len(self.rows) <= 2, len(self.rows) >= MAX_VARIANTS
        for row in self.rows:
            row.remove.disabled = self.disabled or few
        self.add_button.disabled = self.disabled or many
        self._show_total()
        self.on_change()

    def _show_total(self) -> None:
        shares = [row.share.value for row in self.rows]
        problem = shares_problem(shares)
        total = sum(s for s in shares if s)
        if problem:
            self.total.object = html('<p class="siyu-total siyu-total-bad">{text}</p>',
                                     text=problem)
        else:
            self.total.object = html('<p class="siyu-total siyu-total-ok">{text}</p>',
                                     text=_("Shares add up to {total}%", total=total))

    def set_placeholders(self, names: Sequence[str]) -> None:
        """Offer the channel's placeholders in every variant's text."""
        self.placeholders = list(names)
        for row in self.rows:
            row.text.set_placeholders(self.placeholders)

    # -- reading --------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether the campaign is an A/B test."""
        return bool(self.enabled.value)

    def variants(self, content: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """The ``variants`` field (``None`` without an A/B test); ``content`` is the
        campaign's, which a variant with its own text copies."""
        if not self.active:
            return None
        return variant_entries((row.entry() for row in self.rows), content)

    def __panel__(self) -> pn.Column:
        return self.layout
