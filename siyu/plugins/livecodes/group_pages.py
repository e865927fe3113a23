"""The Group codes console page: every group code with its groups' member counts and
warnings, a create form, and for the chosen code its groups, pause / resume / delete, its QR
code, recent joins and the staff codes whose welcome invites into it.

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
from siyu.apps.safe import labels, md
from siyu.core.errors import ValidationError
from siyu.plugins.livecodes import group_api as api
from siyu.plugins.livecodes.assets import qr_png
from siyu.plugins.livecodes.groups import DEFAULT_ROTATE_AT, DEFAULT_WARN_AT, WECOM_GROUP_LIMIT
from siyu.plugins.livecodes.pages import SCREEN_DPI, SCREEN_MM, parse_tags
from siyu.plugins.livecodes.picker import CodePicker

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

COLUMNS = ["id", "name", "state", "status", "groups", "fullest", "pool", "joined",
           "joins_total", "warning", "last_error"]
GROUP_COLUMNS = ["name", "role", "members", "joined", "joins", "left", "warn", "chat_id"]
JOIN_COLUMNS = ["joined_at", "group", "member_id", "contact_id", "left_at"]
#: Joins shown for the chosen code, newest first.
RECENT = 50


class GroupCodesPage(CodePicker, pn.viewable.Viewer):
    """The Group codes page (permission ``data.read``; changes need ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.table = table(css_class="siyu-groupcodes-table", max_height=360, selectable=1)
        # -- create form
        self.code_name = pn.widgets.TextInput(label="Name", placeholder="e.g. 新品体验群码",
                                              disabled=readonly, width=260,
                                              css_classes=["siyu-groupcodes-name"])
        self.chats = pn.widgets.MultiChoice(label="Groups in use (at most 5)", max_items=5,
                                            disabled=readonly, width=420,
                                            css_classes=["siyu-groupcodes-chats"])
        self.pool = pn.widgets.MultiChoice(label="Pool (rotate in as groups fill)",
                                           disabled=readonly, width=420,
                                           css_classes=["siyu-groupcodes-pool"])
        self.reload_button = pn.widgets.Button(label="Reload groups from WeCom",
                                               disabled=readonly,
                                               css_classes=["siyu-groupcodes-reload"])
        self.auto_create = pn.widgets.Checkbox(label="WeCom opens a new room when all are full",
                                               value=True, disabled=readonly,
                                               css_classes=["siyu-groupcodes-auto"])
        self.room_name = pn.widgets.TextInput(label="New room name prefix", width=200,
                                              placeholder="e.g. 新品体验群", disabled=readonly,
                                              css_classes=["siyu-groupcodes-room-name"])
        self.room_start = pn.widgets.IntInput(label="First room number", value=1, start=0,
                                              width=140, disabled=readonly,
                                              css_classes=["siyu-groupcodes-room-start"])
        self.warn_at = pn.widgets.IntInput(label="Warn at (members)", value=DEFAULT_WARN_AT,
                                           start=2, end=WECOM_GROUP_LIMIT, width=140,
                                           disabled=readonly,
                                           css_classes=["siyu-groupcodes-warn-at"])
        self.rotate_at = pn.widgets.IntInput(label="Rotate out at (members)",
                                             value=DEFAULT_ROTATE_AT, start=2,
                                             end=WECOM_GROUP_LIMIT, width=160,
                                             disabled=readonly,
                                             css_classes=["siyu-groupcodes-rotate-at"])
        self.tags = pn.widgets.TextInput(label="Tags for joiners", width=260,
                                         placeholder="渠道/社群, 活动/双11", disabled=readonly,
                                         css_classes=["siyu-groupcodes-tags"])
        self.create_button = pn.widgets.Button(
            label="Create group code", color="primary", disabled=readonly,
            css_classes=["siyu-groupcodes-create-button"])
        # -- the chosen code
        self.code = pn.widgets.Select(label="Group code", width=260,
                                      css_classes=["siyu-groupcodes-code"])
        self.add_code_controls("siyu-groupcodes", readonly, self._png_file, "groupcode.png")
        self.warning = pn.pane.Alert("", alert_type="warning", visible=False,
                                     css_classes=["siyu-groupcodes-warning"])
        self.error = pn.pane.Alert("", alert_type="danger", visible=False,
                                   css_classes=["siyu-groupcodes-error"])
        self.groups = table(css_class="siyu-groupcodes-groups")
        self.joins = table(css_class="siyu-groupcodes-joins", max_height=300)
        # -- staff codes inviting into the chosen code
        self.staff_code = pn.widgets.Select(label="Staff live code", width=260,
                                            disabled=readonly,
                                            css_classes=["siyu-groupcodes-staff-code"])
        self.invite_button = pn.widgets.Button(
            label="Invite its new customers", disabled=readonly,
            css_classes=["siyu-groupcodes-invite"])
        self.uninvite_button = pn.widgets.Button(
            label="Stop inviting", disabled=readonly,
            css_classes=["siyu-groupcodes-uninvite"])
        self.invited = pn.pane.Markdown("", css_classes=["siyu-groupcodes-invited"])
        self.create_button.on_click(lambda _event: self.create())
        self.edit_button.on_click(lambda _event: self.edit())
        self.save_button.on_click(lambda _event: self.save())
        self.reload_button.on_click(lambda _event: self.reload_groups())
        self.pause_button.on_click(lambda _event: self.pause())
        self.resume_button.on_click(lambda _event: self.resume())
        self.delete_button.on_click(lambda _event: self.delete())
        self.invite_button.on_click(lambda _event: self.invite())
        self.uninvite_button.on_click(lambda _event: self.uninvite())
        self.watch_choice()
        self.refresh()

    # -- reading --------------------------------------------------------------------------

    def _group_choices(self) -> dict[str, str]:
        known = api.known_groups(self.ws)
        return {f"{n or c} ({m} members) · {c}": c
                for c, n, m in zip(known["chat_id"], known["name"], known["members"],
                                   strict=True)}

    def refresh(self) -> None:
        """Reload the codes table and the group, staff-code and code choices, keeping the
        chosen code."""
        choices = self._group_choices()
        self.chats.options, self.pool.options = labels(choices), labels(choices)
        staff = api.staff_codes(self.ws)
        self.staff_code.options = {f"{i} · {n}": int(i)
                                   for i, n in zip(staff["id"], staff["name"], strict=True)}
        frame = api.list_group_codes(self.ws)
        self.table.value = frame[COLUMNS]
        self.offer_codes(frame)

    def show_code(self) -> None:
        """Show the chosen code's warning, groups, QR, joins and inviting staff codes."""
        code_id = self.code.value
        writable = code_id is not None and self.can_write
        for button in (self.invite_button, self.uninvite_button):
            button.disabled = not writable
        if code_id is None:
            self.groups.value = self.joins.value = pd.DataFrame()
            self.qr.object = None
            self.warning.visible = self.error.visible = False
            self.pause_button.disabled = self.resume_button.disabled = True
            self.delete_button.disabled = True
            self.invited.object = ""
            return
        code = api.get_group_code(self.ws, code_id)
        self.warning.object = md("{text}", text=code["warning"])
        self.error.object = md("{text}", text=code["last_error"])
        self.warning.visible, self.error.visible = bool(code["warning"]), bool(code["last_error"])
        self.pause_button.disabled = not (writable and code["status"] == "active")
        self.resume_button.disabled = not (writable and code["status"] == "paused")
        self.delete_button.disabled = not writable
        self.groups.value = api.group_members_df(self.ws, code_id)[GROUP_COLUMNS]
        self.qr.object = (qr_png(code["qr_url"], size_mm=SCREEN_MM, dpi=SCREEN_DPI)
                          if code["qr_url"] else None)
        self.png_download.filename = f"groupcode-{code['id']}.png"
        joins = api.joins_df(self.ws, code_id).sort_values("id", ascending=False).head(RECENT)
        self.joins.value = show_times(joins[JOIN_COLUMNS], ["joined_at", "left_at"],
                                      self.ws.timezone)
        names = {v: k for k, v in self.staff_code.options.items()}
        self.invited.object = (
            md("New customers of {codes} get this QR in their welcome.",
               codes=", ".join(names.get(i, str(i)) for i in code["invited_by"]))
            if code["invited_by"] else "No staff live code invites into this group code yet.")

    def _chosen(self) -> int:
        if self.code.value is None:
            raise ValidationError("choose a group code first")
        return self.code.value

    @notify_errors
    def _png_file(self) -> io.BytesIO:
        return io.BytesIO(qr_png(api.get_group_code(self.ws, self._chosen())["qr_url"]))

    # -- changing -------------------------------------------------------------------------

    @notify_errors
    def reload_groups(self) -> int:
        """Mirror the corp's customer groups from WeCom, for the group choices."""
        count = api.reload_groups(self.ws)
        self.refresh()
        notify_success(f"{count} customer groups loaded from WeCom")
        return count

    @notify_errors
    def create(self) -> dict[str, Any]:
        """Create a group code in WeCom from the form; it becomes the chosen code."""
        code = api.create_group_code(
            self.ws, self.code_name.value, list(self.chats.value), pool=list(self.pool.value),
            auto_create_room=self.auto_create.value, room_base_name=self.room_name.value,
            room_base_id=self.room_start.value, warn_at=self.warn_at.value,
            rotate_at=self.rotate_at.value, tags=parse_tags(self.tags.value))
        self.code_name.value = ""
        self.chats.value, self.pool.value = [], []
        self.refresh()
        self.code.value = code["id"]
        notify_success(f"created group code {code['name']} ({code['state']})")
        return code

    @notify_errors
    def edit(self) -> dict[str, Any]:
        """Load the chosen code's settings into the form, to change and save them."""
        code = api.get_group_code(self.ws, self._chosen())
        self.code_name.value = code["name"]
        self.chats.value, self.pool.value = list(code["chats"]), list(code["pool"])
        self.auto_create.value = bool(code["auto_create_room"])
        self.room_name.value = code["room_base_name"] or ""
        self.room_start.value = code["room_base_id"] or 1
        self.warn_at.value, self.rotate_at.value = code["warn_at"], code["rotate_at"]
        self.tags.value = ", ".join(code["tags"] or [])
        self._editing = code["id"]
        self.save_button.disabled = not self.can_write
        return code

    @notify_errors
    def save(self) -> dict[str, Any]:
        """Apply the form to the code loaded with Edit (groups dropped from use retire)."""
        editing = getattr(self, "_editing", None)
        if editing is None:
            raise ValidationError("choose a group code and press Edit first")
        code = api.update_group_code(
            self.ws, editing, chats=list(self.chats.value), pool=list(self.pool.value),
            name=self.code_name.value, auto_create_room=self.auto_create.value,
            room_base_name=self.room_name.value, room_base_id=self.room_start.value,
            warn_at=self.warn_at.value, rotate_at=self.rotate_at.value,
            tags=parse_tags(self.tags.value))
        self._editing = None
        self.save_button.disabled = True
        self.code_name.value = ""
        self.chats.value, self.pool.value = [], []
        self.refresh()
        self.code.value = code["id"]
        notify_success(f"saved group code {code['name']}")
        return code

    @notify_errors
    def pause(self) -> dict[str, Any]:
        """Pause the chosen code: no new rooms, no rotation."""
        code = api.pause_group_code(self.ws, self._chosen())
        self.refresh()
        notify_success(f"paused {code['name']}: no new rooms or rotation until resumed")
        return code

    @notify_errors
    def resume(self) -> dict[str, Any]:
        """Let the chosen code grow again."""
        code = api.resume_group_code(self.ws, self._chosen())
        self.refresh()
        notify_success(f"resumed {code['name']}")
        return code

    @notify_errors
    def delete(self) -> dict[str, Any]:
        """Delete the chosen code in WeCom: its printed QR stops working."""
        code = api.delete_group_code(self.ws, self._chosen())
        self.refresh()
        notify_success(f"deleted {code['name']}; its QR code no longer works")
        return code

    def _staff(self) -> int:
        if self.staff_code.value is None:
            raise ValidationError("choose a staff live code first")
        return self.staff_code.value

    @notify_errors
    def invite(self) -> dict[str, Any]:
        """New customers of the chosen staff code get this group code's QR in the welcome."""
        done = api.invite_to_group(self.ws, self._staff(), self._chosen())
        self.show_code()
        notify_success(f"new customers of staff code {done['live_code']} now get this "
                       "group's QR in their welcome")
        return done

    @notify_errors
    def uninvite(self) -> dict[str, Any]:
        """The chosen staff code stops inviting into a group."""
        done = api.invite_to_group(self.ws, self._staff(), None)
        self.show_code()
        notify_success(f"staff code {done['live_code']} no longer invites into a group")
        return done

    def __panel__(self) -> pn.Column:
        note = readonly_note(self.can_write, "group codes")
        create = section(
            "Create a group code, or edit the chosen one",
            pn.Row(self.code_name, self.reload_button),
            pn.Row(self.chats, self.pool),
            pn.Row(self.auto_create, self.room_name, self.room_start),
            pn.Row(self.warn_at, self.rotate_at, self.tags),
            pn.Row(self.create_button, self.save_button), css_class="siyu-groupcodes-create")
        chosen = pn.Row(self.code, self.edit_button, self.pause_button, self.resume_button,
                        self.delete_button)
        groups = section("Groups and their members", self.warning, self.error, self.groups,
                         css_class="siyu-groupcodes-groups-section")
        qr = section("QR code", self.qr, self.png_download, css_class="siyu-groupcodes-qr")
        invites = section("New customers → this group", self.invited,
                          pn.Row(self.staff_code, self.invite_button, self.uninvite_button),
                          css_class="siyu-groupcodes-invites")
        joins = section("Recent joins", self.joins, css_class="siyu-groupcodes-joins-section")
        return pn.Column(pn.pane.Markdown("## Group codes"), *note, self.table, create,
                         chosen, pn.Row(groups, qr, sizing_mode="stretch_width"), invites,
                         joins, css_classes=["siyu-groupcodes-page"],
                         sizing_mode="stretch_width")
