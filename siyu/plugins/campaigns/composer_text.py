"""A message text box with placeholder chips: clicking ``{nickname}`` adds it to the text.

The chips are the placeholders the chosen channel can fill (``ChannelSpec.placeholders``);
a channel that fills none shows no chips. Used for the campaign's message and for each A/B
variant's own text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import panel as pn

from siyu.apps.safe import html
from siyu.core.i18n import translator
from siyu.core.messaging.content import PLACEHOLDERS
from siyu.plugins.campaigns.composer_fields import insert_placeholder

_ = translator("siyu.plugins.campaigns")

#: What a chip says a placeholder holds (short, to fit three chips on a phone).
CHIP_TITLES = {"nickname": _.lazy("customer's name"), "staff": _.lazy("sender's name"),
               "store": _.lazy("store")}

CHIP_CSS = """
:host{margin:2px 4px}
.bk-btn{border-radius:14px;padding:2px 10px;font-size:13px}
"""


class PlaceholderText(pn.viewable.Viewer):
    """A text area and, below it, one chip per placeholder the channel fills.

    :param css_class: the text area's CSS class (tests find it by it).
    :param on_change: called after the text changes (typed or by a chip).
    """

    def __init__(self, *, label: str, placeholder: str, css_class: str, disabled: bool,
                 height: int = 120, on_change: Callable[[], None] | None = None,
                 **params: Any):
        super().__init__(**params)
        self.area = pn.widgets.TextAreaInput(
            label=label, placeholder=placeholder, disabled=disabled, height=height,
            css_classes=[css_class], sizing_mode="stretch_width")
        self.disabled = disabled
        self.css_class = css_class
        self.chips = pn.FlexBox(flex_wrap="wrap", align_items="center",
                                sizing_mode="stretch_width",
                                css_classes=[f"{css_class}-chips", "siyu-campaign-chips"])
        self.names: list[str] = []
        self.layout = pn.Column(self.area, self.chips, sizing_mode="stretch_width", margin=0)
        if on_change is not None:
            self.area.param.watch(lambda _e: on_change(), "value")

    @property
    def value(self) -> str:
        """The text as typed."""
        return self.area.value or ""

    def set_placeholders(self, names: Sequence[str]) -> None:
        """Offer chips for ``names`` (the channel's placeholders); none hides the row."""
        names = list(names)
        if names == self.names and self.chips.objects:
            return
        self.names = names
        chips: list[Any] = []
        if names:
            chips.append(pn.pane.HTML(html('<span class="siyu-chip-label">{text}</span>',
                                           text=_("Insert:")), margin=(2, 4)))
        for name in names:
            chip = pn.widgets.Button(
                label=f"{{{name}}} {CHIP_TITLES.get(name, name)}",
                description=str(PLACEHOLDERS.get(name, name)), disabled=self.disabled,
                css_classes=["siyu-campaign-chip", f"siyu-campaign-chip-{name}"],
                color="light", stylesheets=[CHIP_CSS])
            chip.on_click(lambda _e, n=name: self.insert(n))
            chips.append(chip)
        self.chips.objects = chips
        self.chips.visible = bool(names)

    def insert(self, name: str) -> None:
        """Add ``{name}`` at the end of the text."""
        self.area.value = insert_placeholder(self.area.value, name)

    def __panel__(self) -> pn.Column:
        return self.layout
