"""The composer's attachments: pick a kind (image, link, mini-program), fill its fields, add
it; the list of added attachments with a remove button each, and the count against the
channel's ``max_attachments``.

Hidden for channels that take no attachment (e-mail, group robots); the page then sends
none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from siyu.apps.kit import follow
from siyu.apps.pages.common import notify_errors
from siyu.apps.safe import html
from siyu.core.i18n import translator
from siyu.plugins.campaigns.composer_fields import (
    ATTACHMENT_KINDS,
    ATTACHMENT_TITLES,
    attachment_count,
    attachment_parts,
    image_attachment,
    link_attachment,
    miniprogram_attachment,
)

_ = translator("siyu.plugins.campaigns")

#: Widest a field gets, so the form works on a 390 px phone.
FIELD_WIDTH = 300
ITEM_CSS = """
.siyu-attachment{margin:0;font-size:14px;overflow-wrap:anywhere}
.siyu-attachment-kind{color:#5f6b7a;margin-right:6px}
"""


def _field(label: str, css: str, placeholder: str = "") -> pn.widgets.TextInput:
    return pn.widgets.TextInput(label=label, placeholder=placeholder, width=FIELD_WIDTH,
                                css_classes=[f"siyu-campaign-attachment-{css}"])


class AttachmentsEditor(pn.viewable.Viewer):
    """Attachments of the campaign's message (shared by its A/B variants).

    :param on_change: called after an attachment is added or removed.
    """

    def __init__(self, *, disabled: bool, on_change: Callable[[], None], **params: Any):
        super().__init__(**params)
        self.on_change = on_change
        self.disabled = disabled
        self.items: list[dict[str, Any]] = []
        self.limit: int | None = None
        self.kind = pn.widgets.Select(
            label=_("Attachment"), disabled=disabled, width=160,
            options={str(ATTACHMENT_TITLES[k]): k for k in ATTACHMENT_KINDS},
            css_classes=["siyu-campaign-attachment-kind"])
        self.image_url = _field(_("Image URL"), "image-url", "https://")
        self.link_title = _field(_("Link title"), "link-title")
        self.link_url = _field(_("Link URL"), "link-url", "https://")
        self.link_desc = _field(_("Description (optional)"), "link-desc")
        self.mini_title = _field(_("Mini-program title"), "mini-title")
        self.mini_appid = _field(_("Mini-program appid"), "mini-appid", "wx…")
        self.mini_page = _field(_("Page path"), "mini-page", "pages/index/index")
        self.inputs = {"image": [self.image_url],
                       "link": [self.link_title, self.link_url, self.link_desc],
                       "miniprogram": [self.mini_title, self.mini_appid, self.mini_page]}
        for widget in (w for group in self.inputs.values() for w in group):
            widget.disabled = disabled
        follow(self.kind, self.inputs)
        self.add_button = pn.widgets.Button(label=_("Add attachment"), disabled=disabled,
                                            css_classes=["siyu-campaign-attachment-add"],
                                            margin=(24, 10, 10, 10))
        self.add_button.on_click(lambda _e: self.add())
        self.count = pn.pane.HTML("", css_classes=["siyu-campaign-attachment-count"],
                                  margin=(0, 10))
        self.listing = pn.Column(sizing_mode="stretch_width", margin=0,
                                 css_classes=["siyu-campaign-attachments"])
        self.layout = pn.Column(
            self.count, self.listing,
            pn.FlexBox(self.kind, *[w for group in self.inputs.values() for w in group],
                       self.add_button, flex_wrap="wrap", sizing_mode="stretch_width"),
            sizing_mode="stretch_width", margin=0,
            css_classes=["siyu-campaign-attachments-editor"])
        self._draw()

    def _built(self) -> dict[str, Any]:
        kind = self.kind.value
        if kind == "image":
            return image_attachment(self.image_url.value)
        if kind == "link":
            return link_attachment(self.link_title.value, self.link_url.value,
                                   self.link_desc.value)
        return miniprogram_attachment(self.mini_title.value, self.mini_appid.value,
                                      self.mini_page.value)

    @notify_errors
    def add(self) -> dict[str, Any]:
        """Add the attachment the fields describe and clear them.

        :raises ValidationError: (shown as a notification) a field is missing or wrong.
        """
        item = self._built()
        self.items.append(item)
        for widget in self.inputs[self.kind.value]:
            widget.value = ""
        self._draw()
        self.on_change()
        return item

    def remove(self, index: int) -> None:
        """Take out the ``index``-th attachment."""
        if 0 <= index < len(self.items):
            del self.items[index]
            self._draw()
            self.on_change()

    def set_limit(self, limit: int | None) -> None:
        """The channel's ``max_attachments`` (``None``: no limit)."""
        self.limit = limit
        self._draw()

    def _row(self, index: int, item: dict[str, Any]) -> pn.FlexBox:
        kind, shows = attachment_parts(item)
        remove = pn.widgets.Button(label=_("Remove"), disabled=self.disabled, width=80,
                                   css_classes=["siyu-campaign-attachment-remove"])
        remove.on_click(lambda _e, i=index: self.remove(i))
        text = pn.pane.HTML(html('<p class="siyu-attachment"><span class="siyu-attachment-kind">'
                                 '{kind}</span>{shows}</p>', kind=kind, shows=shows),
                            stylesheets=[ITEM_CSS], sizing_mode="stretch_width",
                            styles={"flex": "1 1 200px", "min-width": "0"})
        return pn.FlexBox(text, remove, flex_wrap="nowrap", align_items="center",
                          sizing_mode="stretch_width", css_classes=["siyu-campaign-attachment"])

    def _draw(self) -> None:
        self.listing.objects = [self._row(i, item) for i, item in enumerate(self.items)]
        self.count.object = html("<span>{text}</span>",
                                 text=attachment_count(len(self.items), self.limit))
        full = self.limit is not None and len(self.items) >= self.limit
        self.add_button.disabled = self.disabled or full

    def attachments(self) -> list[dict[str, Any]]:
        """The attachments added, in order."""
        return [dict(item) for item in self.items]

    def __panel__(self) -> pn.Column:
        return self.layout
