"""The Quick replies console page (话术库): the shared library of approved answers that staff
send from the chat sidebar.

A category filter and a search box over a table of the replies (category, title, kind, the
start of the text, uses, last used, enabled); clicking a row chooses a reply, shows it in
full (a picture shown as such) and offers editing, enabling or disabling, moving it up or
down its category and deleting it (asked first). Below: the form that adds or changes a
reply — a text, or a PNG/JPEG picture previewed as soon as it is chosen — bulk import of text
replies from a CSV or Excel file, and CSV/Excel downloads of what the table shows.

Opening the page needs ``data.read``; without ``data.write`` every control that changes the
library is disabled. Everything goes through :mod:`siyu.plugins.quickreplies.store`, which
checks the input before it stores anything. Data-derived text reaches the page through the
kit tables or :mod:`siyu.apps.safe`, escaped.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    Col,
    Spot,
    data_table,
    downloads,
    empty_state,
    export_frame,
    form_row,
    page_header,
)
from siyu.apps.pages.common import (
    notify_error,
    notify_errors,
    notify_info,
    notify_success,
    readonly_note,
    section,
)
from siyu.apps.safe import html, join, md
from siyu.core.errors import ImportFailed, SiyuError, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.quickreplies import store
from siyu.plugins.quickreplies.models import MAX_TEXT

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.quickreplies")

#: Widest a single form field gets, so the page works on a 390 px phone.
FIELD_WIDTH = 340
#: Characters of a text the table shows.
PREVIEW = 40
#: Problems of a rejected import listed on the page.
SHOWN_PROBLEMS = 20

COLS = (Col("category", _.lazy("Category"), width=110), Col("title", _.lazy("Title")),
        Col("kind_label", _.lazy("Kind")), Col("preview", _.lazy("Content")),
        Col("use_count", _.lazy("Uses"), "int"), Col("last_used_at", _.lazy("Last used"), "time"),
        Col("enabled", _.lazy("Enabled"), "bool"))
#: What a download holds: the whole text, and headers an import reads back.
EXPORT_COLS = (Col("category", _.lazy("Category")), Col("title", _.lazy("Title")),
               Col("kind_label", _.lazy("Kind")), Col("text", _.lazy("Text")),
               Col("image_name", _.lazy("Image")), Col("position", _.lazy("Position"), "int"),
               Col("enabled", _.lazy("Enabled"), "bool"),
               Col("use_count", _.lazy("Uses"), "int"),
               Col("last_used_at", _.lazy("Last used"), "time"))
KIND_LABELS = {"text": _.lazy("Text"), "image": _.lazy("Image")}

DETAIL_CSS = """
.siyu-replies-detail{border:1px solid #e3e7ed;border-radius:8px;padding:10px 12px;
background:#fff;line-height:1.6;overflow-wrap:anywhere}
.siyu-replies-detail-title{font-weight:600;margin:0 0 4px}
.siyu-replies-detail-text{white-space:pre-wrap;margin:0}
.siyu-replies-detail img,.siyu-replies-preview img{max-width:100%;max-height:240px;
border:1px solid #e3e7ed;border-radius:6px;display:block}
.siyu-replies-note{color:#5f6b7a;font-size:13px;margin:0}
.siyu-replies-error{color:#b42318;margin:2px 0}
"""


def kind_label(kind: str) -> str:
    """``"text"`` as the reader calls it."""
    return str(KIND_LABELS.get(kind, kind))


def preview(text: Any, size: int = PREVIEW) -> str:
    """The start of a text on one line, with ``…`` when cut."""
    shown = " ".join(str(text or "").split())
    return shown if len(shown) <= size else shown[:size - 1] + "…"


def shown_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The listing with what the table shows: the kind in words, a text's start or an
    image's file name."""
    return frame.assign(
        kind_label=[kind_label(k) for k in frame["kind"]],
        preview=[preview(t) if k == "text" else (n or "") for k, t, n in
                 zip(frame["kind"], frame["text"], frame["image_name"], strict=True)])


def image_html(data: bytes, content_type: str, alt: str) -> Any:
    """An ``<img>`` of ``data`` (PNG or JPEG), inline: the console serves no files."""
    source = f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    return html('<img src="{src}" alt="{alt}">', src=source, alt=alt)


class QuickRepliesPage(pn.viewable.Viewer):
    """The Quick replies page (permission ``data.read``; changes need ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.tz = ws.timezone
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.rows = store.listing(ws).iloc[0:0]
        self.chosen: int | None = None
        self.editing: int | None = None
        # -- filter and table
        self.category = pn.widgets.Select(label=_("Category"), width=180,
                                          css_classes=["siyu-replies-category"])
        self.search = pn.widgets.TextInput(label=_("Search"), width=220,
                                           placeholder=_("title or text"),
                                           css_classes=["siyu-replies-search"])
        self.search_button = pn.widgets.Button(label=_("Search"), width=90,
                                               css_classes=["siyu-replies-search-button"])
        self.table = data_table(COLS, css_class="siyu-replies-table", selectable=1,
                                sortable=False, max_height=520)
        self.empty = empty_state(
            _("No quick replies yet."),
            _("Add the answers staff give most often with the form below, or import them "
              "from a spreadsheet.") if self.can_write else
            _("An operator or administrator adds them on this page."),
            css_class="siyu-replies-empty")
        self.spot = Spot(self.table, self.empty)
        # -- the chosen reply
        self.detail = pn.pane.HTML(self._nothing_chosen(), sizing_mode="stretch_width",
                                   stylesheets=[DETAIL_CSS], margin=(0, 10),
                                   css_classes=["siyu-replies-chosen"])
        self.edit_button = pn.widgets.Button(label=_("Edit"), disabled=True,
                                             css_classes=["siyu-replies-edit"])
        self.toggle_button = pn.widgets.Button(label=_("Disable"), disabled=True,
                                               css_classes=["siyu-replies-toggle"])
        self.up_button = pn.widgets.Button(label=_("Move up"), disabled=True,
                                           css_classes=["siyu-replies-up"])
        self.down_button = pn.widgets.Button(label=_("Move down"), disabled=True,
                                             css_classes=["siyu-replies-down"])
        self.delete_button = pn.widgets.Button(label=_("Delete"), color="danger",
                                               variant="outline", disabled=True,
                                               css_classes=["siyu-replies-delete"])
        self.confirm_text = pn.pane.Markdown("", margin=(4, 10), sizing_mode="stretch_width")
        self.confirm_button = pn.widgets.Button(label=_("Delete it"), color="danger",
                                                width=120,
                                                css_classes=["siyu-replies-confirm"])
        self.cancel_button = pn.widgets.Button(label=_("No, keep it"), width=120,
                                               css_classes=["siyu-replies-cancel"])
        self.confirm_row = pn.FlexBox(self.confirm_text, self.confirm_button,
                                      self.cancel_button, flex_wrap="wrap",
                                      align_items="center", visible=False,
                                      sizing_mode="stretch_width",
                                      css_classes=["siyu-replies-ask"])
        # -- the form
        self.form_title = pn.pane.Markdown(md("### {title}", title=_("Add a reply")),
                                           margin=(0, 10), css_classes=["siyu-replies-form-title"])
        self.new_category = pn.widgets.TextInput(
            label=_("Category"), placeholder=_("e.g. 售后"), max_length=32, width=160,
            disabled=readonly, css_classes=["siyu-replies-new-category"])
        self.new_title = pn.widgets.TextInput(
            label=_("Title"), placeholder=_("e.g. 退换货政策"), max_length=40, width=FIELD_WIDTH,
            disabled=readonly, css_classes=["siyu-replies-new-title"])
        self.kind = pn.widgets.RadioButtonGroup(
            options={_("Text"): "text", _("Image"): "image"}, value="text", disabled=readonly,
            css_classes=["siyu-replies-kind"], margin=(10, 10))
        self.text = pn.widgets.TextAreaInput(
            label=_("Text (at most {n} characters)", n=MAX_TEXT), max_length=MAX_TEXT,
            height=140, sizing_mode="stretch_width", max_width=640, disabled=readonly,
            css_classes=["siyu-replies-text"])
        self.image = pn.widgets.FileInput(accept=".png,.jpg,.jpeg", disabled=readonly,
                                          css_classes=["siyu-replies-image"],
                                          width=FIELD_WIDTH)
        self.image_note = pn.pane.HTML(
            html('<p class="siyu-replies-note">{text}</p>',
                 text=_("A PNG or JPEG picture, at most 2 MB.")),
            stylesheets=[DETAIL_CSS], margin=(0, 10), sizing_mode="stretch_width")
        self.image_preview = pn.pane.HTML("", stylesheets=[DETAIL_CSS], margin=(0, 10),
                                          sizing_mode="stretch_width", max_width=400,
                                          css_classes=["siyu-replies-preview"])
        self.image_box = pn.Column(self.image, self.image_note, self.image_preview,
                                   sizing_mode="stretch_width", margin=0)
        self.save_button = pn.widgets.Button(label=_("Add reply"), color="primary",
                                             disabled=readonly, width=120,
                                             css_classes=["siyu-replies-save"])
        self.clear_button = pn.widgets.Button(label=_("Clear"), disabled=readonly, width=100,
                                              css_classes=["siyu-replies-clear"])
        # -- import
        self.import_file = pn.widgets.FileInput(accept=".csv,.xlsx", disabled=readonly,
                                                css_classes=["siyu-replies-import-file"],
                                                width=FIELD_WIDTH)
        self.import_button = pn.widgets.Button(label=_("Import"), color="primary",
                                               disabled=readonly, width=100,
                                               css_classes=["siyu-replies-import"])
        self.import_result = pn.pane.HTML("", stylesheets=[DETAIL_CSS], margin=(0, 10),
                                          sizing_mode="stretch_width",
                                          css_classes=["siyu-replies-import-result"])
        self.downloads = downloads(self.download_frame, "quick-replies",
                                   css_class="siyu-replies-download")
        # -- wiring
        self.category.param.watch(lambda _e: self.refresh(), "value")
        self.search.param.watch(lambda _e: self.refresh(), "value")
        self.search_button.on_click(lambda _e: self.refresh())
        self.table.param.watch(self._picked, "selection")
        self.edit_button.on_click(lambda _e: self.edit())
        self.toggle_button.on_click(lambda _e: self.toggle())
        self.up_button.on_click(lambda _e: self.move(-1))
        self.down_button.on_click(lambda _e: self.move(+1))
        self.delete_button.on_click(lambda _e: self.ask())
        self.confirm_button.on_click(lambda _e: self.delete())
        self.cancel_button.on_click(lambda _e: self.cancel())
        self.kind.param.watch(lambda _e: self._show_kind(), "value")
        self.image.param.watch(lambda _e: self.show_upload(), "value")
        self.save_button.on_click(lambda _e: self.save())
        self.clear_button.on_click(lambda _e: self.clear())
        self.import_button.on_click(lambda _e: self.import_file_now())
        self._show_kind()
        self.refresh()

    # -- reading ------------------------------------------------------------------------

    def refresh(self, chosen: int | None = None) -> None:
        """Reload the categories and the table (keeping the chosen reply, or ``chosen``)."""
        names = store.categories(self.ws)
        options = {_("All categories"): "", **{name: name for name in names}}
        keep = self.category.value if self.category.value in options.values() else ""
        if self.category.options != options:
            self.category.options = options
        if self.category.value != keep:
            self.category.value = keep  # refreshes again
            return
        frame = store.listing(self.ws, category=keep or None, search=self.search.value or None)
        self.rows = shown_frame(frame).reset_index(drop=True)
        self.table.selection = []  # the rows change: the browser's highlight must go too
        self.spot.show(self.rows, COLS, self.tz)
        self.choose(chosen if chosen is not None else self.chosen)

    def _picked(self, event: Any) -> None:
        rows = event.new or []
        if rows and rows[0] < len(self.rows):
            self.choose(int(self.rows.iloc[rows[0]]["id"]))

    def choose(self, reply_id: int | None) -> None:
        """Show reply ``reply_id`` (if the table lists it) and the buttons it allows."""
        self.cancel()
        ids = [int(i) for i in self.rows["id"]]
        self.chosen = reply_id if reply_id in ids else None
        index = ids.index(self.chosen) if self.chosen is not None else None
        wanted = [index] if index is not None else []
        if list(self.table.selection) != wanted:
            self.table.selection = wanted
        for button in (self.edit_button, self.toggle_button, self.delete_button,
                       self.up_button, self.down_button):
            button.disabled = self.chosen is None or not self.can_write
        if self.chosen is None:
            self.detail.object = self._nothing_chosen()
            self.toggle_button.label = _("Disable")
            return
        row = self.rows.iloc[index]
        self.toggle_button.label = _("Disable") if row["enabled"] else _("Enable")
        same = self.rows[self.rows["category"] == row["category"]]
        first, last = int(same["id"].iloc[0]), int(same["id"].iloc[-1])
        self.up_button.disabled = self.up_button.disabled or self.chosen == first
        self.down_button.disabled = self.down_button.disabled or self.chosen == last
        self.detail.object = self._detail(row)

    def _nothing_chosen(self) -> Any:
        return html('<p class="siyu-replies-note">{text}</p>',
                    text=_("Click a reply in the table to see it in full and change it."))

    def _detail(self, row: pd.Series) -> Any:
        head = html('<p class="siyu-replies-detail-title">{category} · {title} · {kind}</p>',
                    category=row["category"], title=row["title"],
                    kind=kind_label(row["kind"]))
        if row["kind"] == "image":
            try:
                data, name, content_type = store.image_of(self.ws, int(row["id"]))
            except SiyuError as exc:  # removed meanwhile, in another session
                return html('<p class="siyu-replies-error">{text}</p>', text=str(exc))
            body = join("", [image_html(data, content_type, name),
                             html('<p class="siyu-replies-note">{name}</p>', name=name)])
        else:
            body = html('<p class="siyu-replies-detail-text">{text}</p>', text=row["text"])
        return html('<div class="siyu-replies-detail">{head}{body}</div>', head=head,
                    body=body)

    def download_frame(self) -> pd.DataFrame:
        """What the downloads hold: the replies the table shows, texts in full."""
        return export_frame(self.rows, EXPORT_COLS, self.tz)

    # -- the chosen reply ---------------------------------------------------------------

    def _chosen_row(self) -> pd.Series | None:
        if self.chosen is None:
            return None
        found = self.rows[self.rows["id"] == self.chosen]
        return None if found.empty else found.iloc[0]

    @notify_errors
    def edit(self) -> None:
        """Load the chosen reply into the form."""
        row = self._chosen_row()
        if row is None or not self.can_write:
            return
        self.editing = int(row["id"])
        self.new_category.value = row["category"]
        self.new_title.value = row["title"]
        self.kind.value = row["kind"]
        self.text.value = row["text"] if row["kind"] == "text" else ""
        self._clear_upload()
        self.form_title.object = md("### {title}", title=_("Edit reply: {title}",
                                                             title=row["title"]))
        self.save_button.label = _("Save changes")
        notify_info(_("Change {title} in the form below, then save.", title=row["title"]))

    @notify_errors
    def toggle(self) -> None:
        """Enable the chosen reply, or disable it."""
        row = self._chosen_row()
        if row is None or not self.can_write:
            return
        reply = store.update(self.ws, int(row["id"]), enabled=not bool(row["enabled"]))
        notify_success(_("{title} enabled", title=reply.title) if reply.enabled
                       else _("{title} disabled: the sidebar no longer offers it",
                              title=reply.title))
        self.refresh(reply.id)

    @notify_errors
    def move(self, step: int) -> None:
        """Move the chosen reply one place up (``-1``) or down (``+1``) its category."""
        row = self._chosen_row()
        if row is None or not self.can_write:
            return
        reply = store.move(self.ws, int(row["id"]), max(1, int(row["position"]) + step))
        self.refresh(reply.id)

    def ask(self) -> None:
        """Ask before deleting the chosen reply."""
        row = self._chosen_row()
        if row is None or not self.can_write:
            return
        self.confirm_text.object = md(_("Delete **{title}** from {category}? Staff can no "
                                        "longer send it."), title=row["title"],
                                      category=row["category"])
        self.confirm_row.visible = True

    def cancel(self) -> None:
        self.confirm_row.visible = False

    @notify_errors
    def delete(self) -> None:
        """Delete the reply asked about."""
        row = self._chosen_row()
        self.cancel()
        if row is None or not self.can_write:
            return
        store.remove(self.ws, int(row["id"]))
        if self.editing == int(row["id"]):
            self.clear()
        notify_success(_("{title} deleted", title=row["title"]))
        self.chosen = None
        self.refresh()

    # -- the form -----------------------------------------------------------------------

    def _show_kind(self) -> None:
        image = self.kind.value == "image"
        self.text.visible = not image
        self.image_box.visible = image

    def _upload(self) -> tuple[bytes, str, str] | None:
        """The picture chosen in the form, checked (``None`` when none is)."""
        if not self.image.value:
            return None
        return store.check_image(self.image.value, self.image.filename or None)

    def show_upload(self) -> None:
        """Preview the picture just chosen, or say why it cannot be kept."""
        try:
            upload = self._upload()
        except ValidationError as exc:
            self.image_preview.object = html('<p class="siyu-replies-error">{text}</p>',
                                             text=str(exc))
            notify_error(str(exc))
            return
        if upload is None:
            self.image_preview.object = ""
            return
        data, name, content_type = upload
        self.image_preview.object = join("", [
            image_html(data, content_type, name),
            html('<p class="siyu-replies-note">{name} · {size}</p>', name=name,
                 size=store.size_text(len(data)))])

    @notify_errors
    def save(self) -> store.QuickReply | None:
        """Add the reply the form describes, or save the changes to the one being edited."""
        if not self.can_write:
            return None
        image = self._upload() if self.kind.value == "image" else None
        if self.editing is None:
            if self.kind.value == "image":
                if image is None:
                    raise ValidationError(_("choose a PNG or JPEG picture first"))
                reply = store.add(self.ws, category=self.new_category.value,
                                  title=self.new_title.value, image=image[0],
                                  image_name=image[1])
            else:
                reply = store.add(self.ws, category=self.new_category.value,
                                  title=self.new_title.value, text=self.text.value)
            notify_success(_("{title} added to {category}", title=reply.title,
                             category=reply.category))
        else:
            changes: dict[str, Any] = {"category": self.new_category.value,
                                       "title": self.new_title.value}
            if self.kind.value == "text":
                changes["text"] = self.text.value
            elif image is not None:
                changes.update(image=image[0], image_name=image[1])
            elif store.get(self.ws, self.editing).kind != "image":
                raise ValidationError(_("choose a PNG or JPEG picture first"))
            reply = store.update(self.ws, self.editing, **changes)
            notify_success(_("{title} saved", title=reply.title))
        self.clear()
        self.refresh()
        return reply

    def _clear_upload(self) -> None:
        self.image.clear()
        self.image_preview.object = ""

    def clear(self) -> None:
        """Empty the form, back to adding a new reply."""
        self.editing = None
        self.new_title.value = ""
        self.text.value = ""
        self._clear_upload()
        self.form_title.object = md("### {title}", title=_("Add a reply"))
        self.save_button.label = _("Add reply")

    # -- import -------------------------------------------------------------------------

    def import_file_now(self) -> Any:
        """Import the chosen CSV or Excel file (all or nothing); show what happened."""
        if not self.can_write:
            return None
        if not self.import_file.value:
            notify_error(_("choose a .csv or .xlsx file first"))
            return None
        name = Path(self.import_file.filename or "replies.csv").name
        suffix = Path(name).suffix.lower() or ".csv"
        with tempfile.TemporaryDirectory(prefix="siyu-replies-") as folder:
            path = Path(folder) / f"{Path(name).stem or 'replies'}{suffix}"
            path.write_bytes(self.import_file.value)
            try:
                report = store.import_texts(self.ws, path)
            except ImportFailed as exc:
                lines = [html('<p class="siyu-replies-error">{text}</p>', text=str(exc))]
                lines += [html('<p class="siyu-replies-error">{text}</p>', text=str(problem))
                          for problem in exc.problems[:SHOWN_PROBLEMS]]
                self.import_result.object = join("", lines)
                notify_error(str(exc))
                return None
            except SiyuError as exc:
                self.import_result.object = html('<p class="siyu-replies-error">{text}</p>',
                                                 text=str(exc))
                notify_error(str(exc))
                return None
        self.import_result.object = html('<p class="siyu-replies-note">{text}</p>',
                                         text=report.summary())
        notify_success(report.summary())
        self.refresh()
        return report

    # -- layout -------------------------------------------------------------------------

    def __panel__(self) -> pn.Column:
        header = page_header(
            _("Quick replies"),
            _("The shared library of approved answers — texts and pictures by category — "
              "that staff send from the chat sidebar."))
        library = section(_("Replies"), form_row(self.category, self.search,
                                                 self.search_button),
                          self.spot, self.downloads, css_class="siyu-replies-list")
        chosen = section(_("Chosen reply"), self.detail,
                         form_row(self.edit_button, self.toggle_button, self.up_button,
                                  self.down_button, self.delete_button),
                         self.confirm_row, css_class="siyu-replies-chosen-box")
        form = pn.Column(self.form_title,
                         form_row(self.new_category, self.new_title),
                         self.kind, self.text, self.image_box,
                         form_row(self.save_button, self.clear_button),
                         sizing_mode="stretch_width", css_classes=["siyu-replies-form"])
        bulk = section(_("Import from a spreadsheet"),
                       pn.pane.HTML(html('<p class="siyu-replies-note">{text}</p>', text=_(
                           "A CSV or Excel file with the columns category, title and text "
                           "(分类, 标题, 内容). A title its category has already gets the "
                           "file's text; a file with a bad row imports nothing.")),
                           stylesheets=[DETAIL_CSS], margin=(0, 10),
                           sizing_mode="stretch_width"),
                       form_row(self.import_file, self.import_button), self.import_result,
                       css_class="siyu-replies-import-box")
        return pn.Column(header, *readonly_note(self.can_write, _("quick replies")),
                         library, chosen, form, bulk,
                         css_classes=["siyu-replies-page"], sizing_mode="stretch_width")
