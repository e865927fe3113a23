"""The Group codes console page: every group code with its groups' member counts and
warnings, a create form, and for the chosen code its groups, pause / resume / delete, its QR
code, recent joins and the staff codes whose welcome invites into it.

Creating or saving resets the whole form. The staff-code choice under "New customers → this
group" shows the staff code that invites into the chosen group code, when one does.

Reading needs ``data.read``; the write controls are disabled without ``data.write``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, empty_state, page_header
from siyu.apps.pages.common import notify_errors, notify_success, section
from siyu.apps.safe import labels, md
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes import group_api as api
from siyu.plugins.livecodes.assets import qr_png
from siyu.plugins.livecodes.groups import DEFAULT_ROTATE_AT, DEFAULT_WARN_AT, WECOM_GROUP_LIMIT
from siyu.plugins.livecodes.pages import (
    FIELD_WIDTH,
    SCREEN_DPI,
    SCREEN_MM,
    STATUS_LABELS,
    TableSpot,
    form_row,
    label_of,
    parse_tags,
    readonly_alert,
    set_empty,
)
from siyu.plugins.livecodes.picker import CodePicker

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.livecodes")

#: Joins shown for the chosen code, newest first.
RECENT = 50
ROLE_LABELS = {"in_use": _.lazy("In use"), "pool": _.lazy("Pool"),
               "retired": _.lazy("Retired")}
#: The form's defaults (what it shows when it starts over).
DEFAULTS = {"code_name": "", "chats": [], "pool": [], "auto_create": True, "room_name": "",
            "room_start": 1, "warn_at": DEFAULT_WARN_AT, "rotate_at": DEFAULT_ROTATE_AT,
            "tags": ""}


class GroupCodesPage(CodePicker, pn.viewable.Viewer):
    """The Group codes page (permission ``data.read``; changes need ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.columns = [
            Col("name", _("Name"), width=140), Col("id", _("ID"), "id", 60),
            Col("status", _("Status")), Col("groups", _("Groups in use (members)")),
            Col("fullest", _("Fullest group (members)"), "int"),
            Col("pool", _("Fresh groups in the pool"), "int"),
            Col("joined", _("Customers in its groups"), "int"),
            Col("joins_total", _("Joins in total"), "int"),
            Col("warning", _("Warning")), Col("last_error", _("Last WeCom error")),
            Col("state", _("Channel parameter"))]
        self.table = data_table(self.columns, css_class="siyu-groupcodes-table",
                                max_height=360, selectable=1)
        self.no_codes = empty_state(
            _("No group codes yet."),
            _("Reload the groups from WeCom, then create the first group code with the form "
              "below."), css_class="siyu-groupcodes-empty")
        self.codes_spot = TableSpot(self.table, self.no_codes)
        # -- create form
        self.code_name = pn.widgets.TextInput(label=_("Name"),
                                              placeholder=_("e.g. new product group"),
                                              disabled=readonly, width=260,
                                              css_classes=["siyu-groupcodes-name"])
        self.chats = pn.widgets.MultiChoice(label=_("Groups in use (at most 5)"), max_items=5,
                                            disabled=readonly, width=FIELD_WIDTH,
                                            css_classes=["siyu-groupcodes-chats"])
        self.pool = pn.widgets.MultiChoice(label=_("Pool (rotate in as groups fill)"),
                                           disabled=readonly, width=FIELD_WIDTH,
                                           css_classes=["siyu-groupcodes-pool"])
        self.reload_button = pn.widgets.Button(label=_("Reload groups from WeCom"),
                                               disabled=readonly,
                                               css_classes=["siyu-groupcodes-reload"])
        self.auto_create = pn.widgets.Checkbox(
            label=_("WeCom opens a new group when all are full"), value=True,
            disabled=readonly, css_classes=["siyu-groupcodes-auto"])
        self.room_name = pn.widgets.TextInput(label=_("New group name prefix"), width=200,
                                              placeholder=_("e.g. new product group"),
                                              disabled=readonly,
                                              css_classes=["siyu-groupcodes-room-name"])
        self.room_start = pn.widgets.IntInput(label=_("First group number"), value=1, start=0,
                                              width=140, disabled=readonly,
                                              css_classes=["siyu-groupcodes-room-start"])
        self.warn_at = pn.widgets.IntInput(label=_("Warn at (members)"),
                                           value=DEFAULT_WARN_AT, start=2,
                                           end=WECOM_GROUP_LIMIT, width=140, disabled=readonly,
                                           css_classes=["siyu-groupcodes-warn-at"])
        self.rotate_at = pn.widgets.IntInput(label=_("Rotate out at (members)"),
                                             value=DEFAULT_ROTATE_AT, start=2,
                                             end=WECOM_GROUP_LIMIT, width=160,
                                             disabled=readonly,
                                             css_classes=["siyu-groupcodes-rotate-at"])
        self.tags = pn.widgets.TextInput(label=_("Tags for joiners"), width=260,
                                         placeholder="渠道/社群, 活动/双11", disabled=readonly,
                                         css_classes=["siyu-groupcodes-tags"])
        self.create_button = pn.widgets.Button(
            label=_("Create group code"), color="primary", disabled=readonly,
            css_classes=["siyu-groupcodes-create-button"])
        # -- the chosen code
        self.code = pn.widgets.Select(label=_("Chosen group code"), width=260,
                                      css_classes=["siyu-groupcodes-code"])
        self.add_code_controls("siyu-groupcodes", readonly, self._png_file, "groupcode.png",
                               choose_hint=_("Choose a group code above to see its QR code."))
        self.warning = pn.pane.Alert("", alert_type="warning", visible=False,
                                     css_classes=["siyu-groupcodes-warning"])
        self.error = pn.pane.Alert("", alert_type="danger", visible=False,
                                   css_classes=["siyu-groupcodes-error"])
        self.group_columns = [
            Col("name", _("Group"), width=140), Col("role", _("Role")),
            Col("members", _("Members"), "int"),
            Col("joined", _("Customers in it through this code"), "int"),
            Col("joins", _("Joins"), "int"), Col("left", _("Left"), "int"),
            Col("warn", _("Nearly full"), "bool"), Col("chat_id", _("Group ID"), "id")]
        self.groups = data_table(self.group_columns, css_class="siyu-groupcodes-groups")
        self.no_groups = empty_state(_("No code chosen."),
                                     _("Choose a group code above to see its groups."))
        self.groups_spot = TableSpot(self.groups, self.no_groups)
        self.join_columns = [
            Col("joined_at", _("Joined at"), "time", 140), Col("group", _("Group")),
            Col("contact_id", _("Customer ID"), "id"),
            Col("member_id", _("External user ID"), "id"), Col("left_at", _("Left at"), "time")]
        self.joins = data_table(self.join_columns, css_class="siyu-groupcodes-joins",
                                max_height=300)
        self.no_joins = empty_state("", css_class="siyu-groupcodes-joins-empty")
        self.joins_spot = TableSpot(self.joins, self.no_joins)
        # -- staff codes inviting into the chosen code
        self.staff_code = pn.widgets.Select(label=_("Staff live code"), width=260,
                                            disabled=readonly,
                                            css_classes=["siyu-groupcodes-staff-code"])
        self.invite_button = pn.widgets.Button(
            label=_("Invite its new customers"), disabled=readonly,
            css_classes=["siyu-groupcodes-invite"])
        self.uninvite_button = pn.widgets.Button(
            label=_("Stop inviting"), disabled=readonly,
            css_classes=["siyu-groupcodes-uninvite"])
        self.invited = pn.pane.Markdown("", css_classes=["siyu-groupcodes-invited"])
        self.frames: dict[str, pd.DataFrame] = {}
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
        return {_("{group} ({members} members) · {chat_id}", group=n or c, members=m,
                  chat_id=c): c
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
        self.frames["codes"] = frame
        self.codes_spot.show(
            frame.assign(status=frame["status"].map(lambda v: label_of(STATUS_LABELS, v))),
            self.columns, self.ws.timezone)
        self.offer_codes(frame)

    def show_code(self) -> None:
        """Show the chosen code's joins, warning, groups, QR and inviting staff codes."""
        code_id = self.code.value
        self.show_joins(code_id)
        writable = code_id is not None and self.can_write
        for button in (self.invite_button, self.uninvite_button):
            button.disabled = not writable
        if code_id is None:
            self.groups_spot.show(pd.DataFrame(columns=["name"]), self.group_columns,
                                  self.ws.timezone)
            self.show_qr(None, chosen=False)
            self.warning.visible = self.error.visible = False
            self.pause_button.disabled = self.resume_button.disabled = True
            self.delete_button.disabled = self.edit_button.disabled = True
            self.invited.object = md(_("Choose a group code above to choose the staff live "
                                       "codes whose new customers are invited into it."))
            self._choose_staff_code([])
            return
        code = api.get_group_code(self.ws, code_id)
        self.warning.object = md("{text}", text=code["warning"])
        self.error.object = md("{text}", text=code["last_error"])
        self.warning.visible, self.error.visible = bool(code["warning"]), bool(code["last_error"])
        self.pause_button.disabled = not (writable and code["status"] == "active")
        self.resume_button.disabled = not (writable and code["status"] == "paused")
        self.delete_button.disabled = self.edit_button.disabled = not writable
        groups = api.group_members_df(self.ws, code_id)
        self.frames["groups"] = groups
        set_empty(self.no_groups, _("This code has no groups."),
                  _("Edit it and choose the groups in use."))
        self.groups_spot.show(
            groups.assign(role=groups["role"].map(lambda v: label_of(ROLE_LABELS, v))),
            self.group_columns, self.ws.timezone)
        self.show_qr(qr_png(code["qr_url"], size_mm=SCREEN_MM, dpi=SCREEN_DPI)
                     if code["qr_url"] else None, chosen=True)
        self.png_download.filename = f"groupcode-{code['id']}.png"
        names = {v: k for k, v in self.staff_code.options.items()}
        self.invited.object = (
            md(_("New customers of {codes} get this QR in their welcome."),
               codes="、".join(names.get(i, str(i)) for i in code["invited_by"]))
            if code["invited_by"] else
            md(_("No staff live code invites into this group code yet.")))
        self._choose_staff_code(code["invited_by"])

    def _choose_staff_code(self, invited_by: list[int]) -> None:
        """Give the staff-code choice a value that is one of its options (what the browser
        shows): the first staff code inviting into the chosen group code, else the one
        chosen before when still offered, else the first."""
        offered = list(self.staff_code.options.values())
        inviting = [i for i in invited_by if i in offered]
        if inviting:
            self.staff_code.value = inviting[0]
        elif self.staff_code.value not in offered:
            self.staff_code.value = offered[0] if offered else None

    def show_joins(self, code_id: int | None) -> None:
        """The newest joins through ``code_id``; an empty table saying what to do when
        there are none or no code is chosen."""
        if code_id is None:
            joins = pd.DataFrame(columns=[c.key for c in self.join_columns])
            set_empty(self.no_joins, _("No code chosen."),
                      _("Choose a group code above to see who joined through it."))
        else:
            joins = api.joins_df(self.ws, code_id).sort_values("id", ascending=False)
            joins = joins.head(RECENT).reset_index(drop=True)
            set_empty(self.no_joins, _("Nobody has joined through this code yet."),
                      _("Print or share its QR code: customers who join a group through it "
                        "show up here."))
        self.frames["joins"] = joins
        self.joins_spot.show(joins, self.join_columns, self.ws.timezone)

    def _chosen(self) -> int:
        if self.code.value is None:
            raise ValidationError(_("choose a group code first"))
        return self.code.value

    @notify_errors
    def _png_file(self) -> io.BytesIO:
        return io.BytesIO(qr_png(api.get_group_code(self.ws, self._chosen())["qr_url"]))

    # -- changing -------------------------------------------------------------------------

    def reset_form(self) -> None:
        """Every field of the form back to its default."""
        self._editing = None
        self.save_button.disabled = True
        for attribute, value in DEFAULTS.items():
            getattr(self, attribute).value = value

    @notify_errors
    def reload_groups(self) -> int:
        """Mirror the corp's customer groups from WeCom, for the group choices."""
        count = api.reload_groups(self.ws)
        self.refresh()
        notify_success(_("{count} customer groups loaded from WeCom", count=count))
        return count

    @notify_errors
    def create(self) -> dict[str, Any]:
        """Create a group code in WeCom from the form; it becomes the chosen code and the
        form starts over."""
        code = api.create_group_code(
            self.ws, self.code_name.value, list(self.chats.value), pool=list(self.pool.value),
            auto_create_room=self.auto_create.value, room_base_name=self.room_name.value,
            room_base_id=self.room_start.value, warn_at=self.warn_at.value,
            rotate_at=self.rotate_at.value, tags=parse_tags(self.tags.value))
        self.reset_form()
        self.refresh()
        self.code.value = code["id"]
        notify_success(_("created group code {name} ({state})", name=code["name"],
                         state=code["state"]))
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
        """Apply the form to the code loaded with Edit (groups dropped from use retire); the
        form starts over."""
        editing = getattr(self, "_editing", None)
        if editing is None:
            raise ValidationError(_("choose a group code and press Edit first"))
        code = api.update_group_code(
            self.ws, editing, chats=list(self.chats.value), pool=list(self.pool.value),
            name=self.code_name.value, auto_create_room=self.auto_create.value,
            room_base_name=self.room_name.value, room_base_id=self.room_start.value,
            warn_at=self.warn_at.value, rotate_at=self.rotate_at.value,
            tags=parse_tags(self.tags.value))
        self.reset_form()
        self.refresh()
        self.code.value = code["id"]
        notify_success(_("saved group code {name}", name=code["name"]))
        return code

    @notify_errors
    def pause(self) -> dict[str, Any]:
        """Pause the chosen code: no new rooms, no rotation."""
        code = api.pause_group_code(self.ws, self._chosen())
        self.refresh()
        notify_success(_("paused {name}: no new rooms or rotation until resumed",
                         name=code["name"]))
        return code

    @notify_errors
    def resume(self) -> dict[str, Any]:
        """Let the chosen code grow again."""
        code = api.resume_group_code(self.ws, self._chosen())
        self.refresh()
        notify_success(_("resumed {name}", name=code["name"]))
        return code

    @notify_errors
    def delete(self) -> dict[str, Any]:
        """Delete the chosen code in WeCom: its printed QR stops working."""
        code = api.delete_group_code(self.ws, self._chosen())
        self.refresh()
        notify_success(_("deleted {name}; its QR code no longer works", name=code["name"]))
        return code

    def _staff(self) -> int:
        if self.staff_code.value is None:
            raise ValidationError(_("choose a staff live code first"))
        return self.staff_code.value

    @notify_errors
    def invite(self) -> dict[str, Any]:
        """New customers of the chosen staff code get this group code's QR in the welcome."""
        done = api.invite_to_group(self.ws, self._staff(), self._chosen())
        self.show_code()
        notify_success(_("new customers of staff code {code} now get this group's QR in "
                         "their welcome", code=done["live_code"]))
        return done

    @notify_errors
    def uninvite(self) -> dict[str, Any]:
        """The chosen staff code stops inviting into a group."""
        done = api.invite_to_group(self.ws, self._staff(), None)
        self.show_code()
        notify_success(_("staff code {code} no longer invites into a group",
                         code=done["live_code"]))
        return done

    def __panel__(self) -> pn.Column:
        note = readonly_alert(self.can_write, _("Your role can see group codes but not "
                                                "change them."))
        header = page_header(
            _("Group codes"),
            _("A group code is one QR code over up to five customer groups: when a group "
              "fills up, a fresh one from the pool takes its place. Choose a code in the "
              "table to see its groups, QR code and recent joins."))
        create = section(
            _("Create a group code, or edit the chosen one"),
            form_row(self.code_name, self.reload_button),
            form_row(self.chats, self.pool),
            form_row(self.auto_create, self.room_name, self.room_start),
            form_row(self.warn_at, self.rotate_at, self.tags),
            form_row(self.create_button, self.save_button), css_class="siyu-groupcodes-create")
        chosen = form_row(self.code, self.edit_button, self.pause_button, self.resume_button,
                          self.delete_button)
        groups = section(_("Groups and their members"), self.warning, self.error,
                         self.groups_spot, css_class="siyu-groupcodes-groups-section")
        qr = section(_("QR code"), self.qr, self.no_qr, self.png_download,
                     css_class="siyu-groupcodes-qr")
        invites = section(_("New customers → this group"), self.invited,
                          form_row(self.staff_code, self.invite_button, self.uninvite_button),
                          css_class="siyu-groupcodes-invites")
        joins = section(_("Recent joins"), self.joins_spot,
                        css_class="siyu-groupcodes-joins-section")
        return pn.Column(header, *note, self.codes_spot, create, chosen,
                         form_row(groups, qr), invites, joins,
                         css_classes=["siyu-groupcodes-page"], sizing_mode="stretch_width")
