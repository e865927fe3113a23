"""The Live codes console page: every code with its numbers, a create form, and for the
chosen code its routing preview, pause / resume / delete, its QR code and recent arrivals.
A warning above the table lists codes with problems (deleted in WeCom, refused members)
and states customers arrived with that no code has.

Reading needs ``data.read``; the write controls are disabled without ``data.write``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.pages.common import (
    notify_errors,
    notify_success,
    readonly_note,
    section,
    show_times,
    table,
)
from siyu.apps.safe import join, labels, md
from siyu.core.errors import ValidationError
from siyu.plugins.livecodes import api
from siyu.plugins.livecodes.assets import qr_png, qr_svg
from siyu.plugins.livecodes.models import STRATEGIES
from siyu.plugins.livecodes.picker import CodePicker

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["id", "name", "state", "strategy", "channel", "status", "listed", "members",
           "adds_today", "adds_total", "welcome_p50_ms", "welcome_p99_ms"]
ARRIVAL_COLUMNS = ["at", "contact_id", "userid", "welcome", "reason", "latency_ms"]
#: Arrivals shown for the chosen code, newest first.
RECENT = 50
#: Size of the QR shown on the page (the downloads are print size).
SCREEN_MM, SCREEN_DPI = 50, 96


def parse_tags(text: str) -> list[str]:
    """``"渠道/海报, 活动/双11"`` → ``["渠道/海报", "活动/双11"]`` (blanks dropped)."""
    return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


class LiveCodesPage(CodePicker, pn.viewable.Viewer):
    """The Live codes page (permission ``data.read``; changes need ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.table = table(css_class="siyu-livecodes-table", max_height=360, selectable=1)
        # -- create form
        self.code_name = pn.widgets.TextInput(label="Name", placeholder="e.g. 门店海报",
                                              disabled=readonly, width=260,
                                              css_classes=["siyu-livecodes-name"])
        self.members = pn.widgets.MultiChoice(label="Members", disabled=readonly, width=320,
                                              css_classes=["siyu-livecodes-members"])
        self.strategy = pn.widgets.Select(label="Strategy", options=list(STRATEGIES),
                                          value=STRATEGIES[0], disabled=readonly, width=180,
                                          css_classes=["siyu-livecodes-strategy"])
        self.channel = pn.widgets.TextInput(label="Channel", placeholder="e.g. poster",
                                            disabled=readonly, width=180,
                                            css_classes=["siyu-livecodes-channel"])
        self.tags = pn.widgets.TextInput(label="Tags", placeholder="渠道/海报, 活动/双11",
                                         disabled=readonly, width=260,
                                         css_classes=["siyu-livecodes-tags"])
        self.backup = pn.widgets.MultiChoice(label="Backup staff", disabled=readonly,
                                             width=320,
                                             css_classes=["siyu-livecodes-backup"])
        self.daily_cap = pn.widgets.IntInput(label="Daily cap per member (0 = none)", value=0,
                                             start=0, disabled=readonly, width=180,
                                             css_classes=["siyu-livecodes-cap"])
        self.welcome = pn.widgets.TextAreaInput(
            label="Welcome text", placeholder="{nickname} 你好，我是{staff}", height=90,
            disabled=readonly, width=420, css_classes=["siyu-livecodes-welcome"])
        self.create_button = pn.widgets.Button(
            label="Create code", color="primary", disabled=readonly,
            css_classes=["siyu-livecodes-create-button"])
        # -- the chosen code
        self.code = pn.widgets.Select(label="Code", width=260,
                                      css_classes=["siyu-livecodes-code"])
        self.add_code_controls("siyu-livecodes", readonly, self._png_file, "livecode.png")
        self.preview = table(css_class="siyu-livecodes-preview-table")
        self.svg_download = pn.widgets.FileDownload(
            callback=self._svg_file, filename="livecode.svg", label="Download SVG",
            color="default", css_classes=["siyu-livecodes-download-svg"])
        self.arrivals = table(css_class="siyu-livecodes-arrivals", max_height=300)
        # Codes WeCom no longer has (or refused), and states no code has: see checks.py.
        self.problems = pn.pane.Alert("", alert_type="warning", visible=False,
                                      css_classes=["siyu-livecodes-problems"])
        self.create_button.on_click(lambda _event: self.create())
        self.pause_button.on_click(lambda _event: self.pause())
        self.resume_button.on_click(lambda _event: self.resume())
        self.delete_button.on_click(lambda _event: self.delete())
        self.edit_button.on_click(lambda _event: self.edit())
        self.save_button.on_click(lambda _event: self.save())
        self.watch_choice()
        self.refresh()

    # -- reading --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the codes table, the staff and code choices, keeping the chosen code."""
        staff = {f"{s.name} ({s.userid})": s.userid for s in self.ws.staff.list()}
        self.members.options, self.backup.options = labels(staff), labels(staff)
        frame = api.list_codes(self.ws)
        frame["listed"] = frame["listed"].map(lambda v: ", ".join(v or []))
        self.table.value = frame[COLUMNS]
        found = api.problems(self.ws)
        self.problems.object = md("**Needs attention**\n\n{lines}", lines=join(
            "\n", (md("- {line}", line=line) for line in found)))
        self.problems.visible = bool(found)
        self.offer_codes(frame)

    def show_code(self) -> None:
        """Show the chosen code's routing preview, QR and recent arrivals."""
        code_id = self.code.value
        writable = code_id is not None and self.can_write
        if code_id is None:
            self.preview.value = pd.DataFrame()
            self.qr.object = None
            self.arrivals.value = pd.DataFrame()
            self.pause_button.disabled = self.resume_button.disabled = True
            self.delete_button.disabled = True
            return
        code = api.get_code(self.ws, code_id)
        self.preview.value = api.preview(self.ws, code_id)
        self.pause_button.disabled = not (writable and code["status"] == "active")
        self.resume_button.disabled = not (writable and code["status"] == "paused")
        self.delete_button.disabled = not writable
        self.qr.object = (qr_png(code["qr_url"], size_mm=SCREEN_MM, dpi=SCREEN_DPI)
                          if code["qr_url"] else None)
        stem = f"livecode-{code['id']}"
        self.png_download.filename, self.svg_download.filename = f"{stem}.png", f"{stem}.svg"
        adds = api.adds_df(self.ws, code_id).sort_values("id", ascending=False).head(RECENT)
        self.arrivals.value = show_times(adds[ARRIVAL_COLUMNS], ["at"], self.ws.timezone)

    def _qr_url(self) -> str:
        if self.code.value is None:
            raise ValidationError("choose a live code first")
        return api.get_code(self.ws, self.code.value)["qr_url"]

    @notify_errors
    def _png_file(self) -> io.BytesIO:
        return io.BytesIO(qr_png(self._qr_url()))

    @notify_errors
    def _svg_file(self) -> io.BytesIO:
        return io.BytesIO(qr_svg(self._qr_url()))

    # -- changing -------------------------------------------------------------------------

    @notify_errors
    def create(self) -> dict[str, Any]:
        """Create a code in WeCom from the form; it becomes the chosen code."""
        welcome = self.welcome.value.strip()
        code = api.create_code(
            self.ws, self.code_name.value, list(self.members.value),
            strategy=self.strategy.value, channel=self.channel.value.strip(),
            tags=parse_tags(self.tags.value), backup=list(self.backup.value),
            daily_cap=self.daily_cap.value or None,
            welcome={"text": welcome} if welcome else None)
        self.code_name.value = ""
        self.refresh()
        self.code.value = code["id"]
        notify_success(f"created live code {code['name']} ({code['state']})")
        return code

    @notify_errors
    def edit(self) -> dict[str, Any]:
        """Load the chosen code's settings into the form, to change and save them."""
        code = api.get_code(self.ws, self._chosen())
        self.code_name.value = code["name"]
        self.members.value = [m["userid"] for m in code["members"]]
        self.strategy.value = code["strategy"]
        self.channel.value = code["channel"] or ""
        self.tags.value = ", ".join(code["tags"] or [])
        self.backup.value = list(code["backup"] or [])
        self.daily_cap.value = code["daily_cap"] or 0
        self.welcome.value = (code["welcome"] or {}).get("text", "")
        self._editing = code["id"]
        self.save_button.disabled = not self.can_write
        return code

    @notify_errors
    def save(self) -> dict[str, Any]:
        """Apply the form to the code loaded with Edit. Members kept keep their weights,
        caps and shifts; the welcome keeps its attachments and variants."""
        editing = getattr(self, "_editing", None)
        if editing is None:
            raise ValidationError("choose a code and press Edit first")
        current = api.get_code(self.ws, editing)
        welcome = {**(current["welcome"] or {}), "text": self.welcome.value.strip()}
        code = api.update_code(
            self.ws, editing, name=self.code_name.value,
            members=api.merge_members(current["members"], list(self.members.value)),
            strategy=self.strategy.value, channel=self.channel.value.strip(),
            tags=parse_tags(self.tags.value), backup=list(self.backup.value),
            daily_cap=self.daily_cap.value or None,
            welcome=welcome if welcome["text"] or len(welcome) > 1 else None)
        self._editing = None
        self.save_button.disabled = True
        self.code_name.value = ""
        self.refresh()
        self.code.value = code["id"]
        notify_success(f"saved live code {code['name']}; listed now: "
                       f"{', '.join(code['listed'] or [])}")
        return code

    def _chosen(self) -> int:
        if self.code.value is None:
            raise ValidationError("choose a live code first")
        return self.code.value

    @notify_errors
    def pause(self) -> dict[str, Any]:
        """Pause the chosen code (only its backup staff stay listed)."""
        code = api.pause_code(self.ws, self._chosen())
        self.refresh()
        notify_success(f"paused {code['name']}: backup staff serve new customers")
        return code

    @notify_errors
    def resume(self) -> dict[str, Any]:
        """Route the chosen code to its members again."""
        code = api.resume_code(self.ws, self._chosen())
        self.refresh()
        notify_success(f"resumed {code['name']}")
        return code

    @notify_errors
    def delete(self) -> dict[str, Any]:
        """Delete the chosen code in WeCom: its printed QR stops working."""
        code = api.delete_code(self.ws, self._chosen())
        self.refresh()
        notify_success(f"deleted {code['name']}; its QR code no longer works")
        return code

    def __panel__(self) -> pn.Column:
        note = readonly_note(self.can_write, "live codes")
        create = section(
            "Create a live code, or edit the chosen one",
            pn.Row(self.code_name, self.strategy, self.channel),
            pn.Row(self.members, self.backup),
            pn.Row(self.tags, self.daily_cap),
            self.welcome, pn.Row(self.create_button, self.save_button),
            css_class="siyu-livecodes-create")
        chosen = pn.Row(self.code, self.edit_button, self.pause_button, self.resume_button,
                        self.delete_button)
        preview = section("Who gets the next customer, and why", self.preview,
                          css_class="siyu-livecodes-preview")
        qr = section("QR code", self.qr, pn.Row(self.png_download, self.svg_download),
                     css_class="siyu-livecodes-qr")
        arrivals = section("Recent arrivals", self.arrivals,
                           css_class="siyu-livecodes-arrivals-section")
        return pn.Column(pn.pane.Markdown("## Live codes"), *note, self.problems, self.table,
                         create, chosen, pn.Row(preview, qr, sizing_mode="stretch_width"), arrivals,
                         css_classes=["siyu-livecodes-page"], sizing_mode="stretch_width")
