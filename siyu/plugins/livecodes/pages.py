"""The Live codes console page: every code with its numbers, a create form, and for the
chosen code its routing preview, pause / resume / delete, its QR code and recent arrivals.
A warning above the table lists codes with problems (deleted in WeCom, refused members)
and states customers arrived with that no code has.

The form shows the fields a routing strategy needs: a weight per member for ``weighted``,
a time slot per member for ``schedule``. Creating or saving resets the whole form.

Reading needs ``data.read``; the write controls are disabled without ``data.write``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import time
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    Col,
    Spot,
    data_table,
    empty_state,
    fmt_int,
    follow,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import notify_errors, notify_success, section
from siyu.apps.safe import join, labels, md
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.livecodes import api
from siyu.plugins.livecodes.assets import qr_png, qr_svg
from siyu.plugins.livecodes.models import STRATEGIES
from siyu.plugins.livecodes.picker import CodePicker

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.livecodes")

#: Arrivals shown for the chosen code, newest first.
RECENT = 50
#: Size of the QR shown on the page (the downloads are print size).
SCREEN_MM, SCREEN_DPI = 50, 96
#: Widest a single form field gets, so the page works on a 390 px phone.
FIELD_WIDTH = 340

STRATEGY_LABELS = {"round_robin": _.lazy("Round robin"), "weighted": _.lazy("Weighted"),
                   "least_loaded": _.lazy("Fewest adds today first"),
                   "schedule": _.lazy("By time slot")}
STATUS_LABELS = {"active": _.lazy("Active"), "paused": _.lazy("Paused"),
                 "deleted": _.lazy("Deleted")}
WELCOME_LABELS = {"pending": _.lazy("Pending"), "sent": _.lazy("Sent"),
                  "failed": _.lazy("Failed"), "none": _.lazy("Not sent")}
#: Weekdays as time slots number them (Monday = 0).
DAY_LABELS = (_.lazy("Mon"), _.lazy("Tue"), _.lazy("Wed"), _.lazy("Thu"), _.lazy("Fri"),
              _.lazy("Sat"), _.lazy("Sun"))
#: A new member's time slot on a ``schedule`` code.
DEFAULT_SLOT = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "09:00", "end": "18:00"}


def parse_tags(text: str) -> list[str]:
    """``"渠道/海报, 活动/双11"`` → ``["渠道/海报", "活动/双11"]`` (blanks dropped)."""
    return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


def label_of(labels_by_value: Mapping[str, Any], value: Any) -> str:
    """The translated label of a stored value (``"paused"`` → ``"已暂停"``); unknown values
    as they are."""
    return str(labels_by_value.get(value, value))


def readonly_alert(can_write: bool, text: str) -> list[pn.pane.Alert]:
    """``[]`` for a role that may change things; else one note saying it can only look."""
    if can_write:
        return []
    return [pn.pane.Alert(md("{text}", text=text), alert_type="info",
                          css_classes=["siyu-readonly-note"])]


def form_row(*objects: Any, css_class: str = "") -> pn.FlexBox:
    """Form fields side by side, wrapping onto more lines on a narrow screen."""
    return pn.FlexBox(*objects, flex_wrap="wrap", sizing_mode="stretch_width",
                      css_classes=[css_class] if css_class else [])


#: Kept under its old name for the group-code pages.
TableSpot = Spot


def set_empty(empty: pn.pane.HTML, message: Any, next_step: Any = "") -> None:
    """Change what an empty state made by :func:`~siyu.apps.kit.empty_state` says."""
    empty.object = empty_state(message, next_step).object


def clock(value: Any) -> str:
    """A time picker's value as ``"09:30"`` (what time slots store)."""
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value or "")[:5]


class SlotFields:
    """The time slot of one member of a ``schedule`` code: weekdays, start and end.

    Slots past midnight are allowed (an end not after the start runs into the next day);
    every day from 00:00 to 00:00 means always on duty.
    """

    def __init__(self, name: str, slot: Mapping[str, Any] | None, disabled: bool):
        slot = dict(slot or DEFAULT_SLOT)
        self.days = pn.widgets.CheckButtonGroup(
            options={str(label): day for day, label in enumerate(DAY_LABELS)},
            value=list(slot.get("days", DEFAULT_SLOT["days"])), disabled=disabled,
            width=300, css_classes=["siyu-livecodes-slot-days"])
        self.start = pn.widgets.TimePicker(label=_("On duty from"), value=slot["start"],
                                           format="H:i", disabled=disabled, width=130,
                                           css_classes=["siyu-livecodes-slot-start"])
        end = "00:00" if slot["end"] == "24:00" else slot["end"]
        self.end = pn.widgets.TimePicker(label=_("until"), value=end, format="H:i",
                                         disabled=disabled, width=130,
                                         css_classes=["siyu-livecodes-slot-end"])
        self.layout = pn.Column(
            pn.pane.Markdown(md("**{name}**", name=name), margin=(0, 10)), self.days,
            form_row(self.start, self.end), width=FIELD_WIDTH,
            css_classes=["siyu-livecodes-slot"])

    def slots(self, name: str) -> list[dict[str, Any]]:
        """The member's time slots as :func:`~siyu.plugins.livecodes.routing.check_slots`
        takes them (``[]``: always on duty).

        :raises ValidationError: no weekday chosen.
        """
        days = sorted(int(d) for d in self.days.value)
        if not days:
            raise ValidationError(_("choose at least one weekday for {staff}", staff=name))
        start, end = clock(self.start.value), clock(self.end.value)
        if days == list(range(7)) and start == end == "00:00":
            return []
        return [{"days": days, "start": start, "end": end}]


class LiveCodesPage(CodePicker, pn.viewable.Viewer):
    """The Live codes page (permission ``data.read``; changes need ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.staff_names: dict[str, str] = {}
        # -- the codes
        self.columns = [
            Col("name", _("Name"), width=140), Col("id", _("ID"), "id", 60),
            Col("strategy", _("Routing")), Col("channel", _("Channel")),
            Col("status", _("Status")), Col("listed", _("Listed now")),
            Col("members", _("Members"), "int"), Col("adds_today", _("Adds today"), "int"),
            Col("adds_total", _("Adds in total"), "int"),
            Col("welcome_p50_ms", _("Welcome time, median (ms)"), "int"),
            Col("welcome_p99_ms", _("Welcome time, slowest 1% (ms)"), "int"),
            Col("state", _("Channel parameter"))]
        self.table = data_table(self.columns, css_class="siyu-livecodes-table",
                                max_height=360, selectable=1)
        self.no_codes = empty_state(
            _("No live codes yet."),
            _("Create the first live code with the form below: choose its members, then "
              "print or share its QR code."), css_class="siyu-livecodes-empty")
        self.codes_spot = TableSpot(self.table, self.no_codes)
        self.kpis = kpi_cards([], css_class="siyu-livecodes-kpis")
        # -- create form
        self.code_name = pn.widgets.TextInput(label=_("Name"),
                                              placeholder=_("e.g. store poster"),
                                              disabled=readonly, width=260,
                                              css_classes=["siyu-livecodes-name"])
        self.members = pn.widgets.MultiChoice(label=_("Members"), disabled=readonly,
                                              width=FIELD_WIDTH,
                                              css_classes=["siyu-livecodes-members"])
        self.strategy = pn.widgets.Select(
            label=_("Routing"), options={str(STRATEGY_LABELS[s]): s for s in STRATEGIES},
            value=STRATEGIES[0], disabled=readonly, width=200,
            css_classes=["siyu-livecodes-strategy"])
        self.channel = pn.widgets.TextInput(label=_("Channel"), placeholder=_("e.g. poster"),
                                            disabled=readonly, width=180,
                                            css_classes=["siyu-livecodes-channel"])
        self.tags = pn.widgets.TextInput(label=_("Tags"), placeholder="渠道/海报, 活动/双11",
                                         disabled=readonly, width=260,
                                         css_classes=["siyu-livecodes-tags"])
        self.backup = pn.widgets.MultiChoice(label=_("Backup staff"), disabled=readonly,
                                             width=FIELD_WIDTH,
                                             css_classes=["siyu-livecodes-backup"])
        self.daily_cap = pn.widgets.IntInput(label=_("Daily cap per member (0 = none)"),
                                             value=0, start=0, disabled=readonly, width=200,
                                             css_classes=["siyu-livecodes-cap"])
        self.welcome = pn.widgets.TextAreaInput(
            label=_("Welcome message"), placeholder=_("{nickname}, hello! I am {staff}"),
            height=90, disabled=readonly, width=FIELD_WIDTH,
            css_classes=["siyu-livecodes-welcome"])
        self.welcome_help = pn.pane.Markdown(
            md(_("You may write {nickname} (the customer's nickname), {staff} (the member's "
                 "name) and {store} (the store's name): each is filled in when sent."),
               nickname="{nickname}", staff="{staff}", store="{store}"),
            css_classes=["siyu-livecodes-welcome-help"], margin=(0, 10))
        # Per-member fields of the strategies that need them, kept per userid while chosen.
        self.weight_inputs: dict[str, pn.widgets.IntInput] = {}
        self.slot_inputs: dict[str, SlotFields] = {}
        self._extra_slots: dict[str, list[dict[str, Any]]] = {}
        self.weights_box = pn.Column(css_classes=["siyu-livecodes-weights"],
                                     sizing_mode="stretch_width")
        self.slots_box = pn.Column(css_classes=["siyu-livecodes-slots"],
                                   sizing_mode="stretch_width")
        self.create_button = pn.widgets.Button(
            label=_("Create code"), color="primary", disabled=readonly,
            css_classes=["siyu-livecodes-create-button"])
        # -- the chosen code
        self.code = pn.widgets.Select(label=_("Chosen code"), width=260,
                                      css_classes=["siyu-livecodes-code"])
        self.add_code_controls("siyu-livecodes", readonly, self._png_file, "livecode.png",
                               choose_hint=_("Choose a live code above to see its QR code."))
        self.preview_columns = [
            Col("staff", _("Staff"), width=120), Col("listed", _("Listed now"), "bool"),
            Col("reason", _("Why")), Col("adds_today", _("Adds today"), "int"),
            Col("round_adds", _("Adds this round"), "int")]
        self.preview = data_table(self.preview_columns,
                                  css_class="siyu-livecodes-preview-table")
        self.no_preview = empty_state(_("No code chosen."),
                                      _("Choose a live code above to see who gets its next "
                                        "customer."))
        self.preview_spot = TableSpot(self.preview, self.no_preview)
        self.svg_download = pn.widgets.FileDownload(
            callback=self._svg_file, filename="livecode.svg", label=_("Download SVG"),
            color="default", css_classes=["siyu-livecodes-download-svg"])
        self.qr_downloads.append(self.svg_download)
        self.arrival_columns = [
            Col("at", _("Arrived at"), "time", 140), Col("contact_id", _("Customer ID"), "id"),
            Col("staff", _("Staff")), Col("welcome", _("Welcome message")),
            Col("reason", _("Note")), Col("latency_ms", _("Welcome time (ms)"), "int")]
        self.arrivals = data_table(self.arrival_columns, css_class="siyu-livecodes-arrivals",
                                   max_height=300)
        self.no_arrivals = empty_state("", css_class="siyu-livecodes-arrivals-empty")
        self.arrivals_spot = TableSpot(self.arrivals, self.no_arrivals)
        # Codes WeCom no longer has (or refused), and states no code has: see checks.py.
        self.problems = pn.pane.Alert("", alert_type="warning", visible=False,
                                      css_classes=["siyu-livecodes-problems"])
        self.frames: dict[str, pd.DataFrame] = {}
        self.members.param.watch(lambda _event: self._member_fields(), "value")
        follow(self.strategy, {"weighted": [self.weights_box], "schedule": [self.slots_box]})
        self.create_button.on_click(lambda _event: self.create())
        self.pause_button.on_click(lambda _event: self.pause())
        self.resume_button.on_click(lambda _event: self.resume())
        self.delete_button.on_click(lambda _event: self.delete())
        self.edit_button.on_click(lambda _event: self.edit())
        self.save_button.on_click(lambda _event: self.save())
        self.watch_choice()
        self.refresh()

    # -- reading --------------------------------------------------------------------------

    def staff_name(self, userid: str) -> str:
        """A member's name as the staff list has it (the userid when unknown)."""
        return self.staff_names.get(userid) or userid

    def refresh(self) -> None:
        """Reload the codes table, the staff and code choices, keeping the chosen code."""
        staff = self.ws.staff.list()
        self.staff_names = {s.userid: s.name for s in staff}
        choices = {f"{s.name} ({s.userid})": s.userid for s in staff}
        self.members.options, self.backup.options = labels(choices), labels(choices)
        frame = api.list_codes(self.ws)
        self.frames["codes"] = frame
        shown = frame.assign(
            strategy=frame["strategy"].map(lambda v: label_of(STRATEGY_LABELS, v)),
            status=frame["status"].map(lambda v: label_of(STATUS_LABELS, v)),
            listed=frame["listed"].map(
                lambda v: "、".join(self.staff_name(u) for u in (v or []))))
        self.codes_spot.show(shown, self.columns, self.ws.timezone)
        live = frame[frame["status"] != "deleted"]
        self.kpis.object = kpi_cards([
            (_("Codes in use"), fmt_int(int((live["status"] == "active").sum()))),
            (_("Adds today"), fmt_int(int(live["adds_today"].sum()))),
            (_("Adds in total"), fmt_int(int(frame["adds_total"].sum())))],
            css_class="siyu-livecodes-kpis").object
        found = api.problems(self.ws)
        self.problems.object = md("**{title}**\n\n{lines}", title=_("Needs attention"),
                                  lines=join("\n", (md("- {line}", line=line)
                                                    for line in found)))
        self.problems.visible = bool(found)
        self.offer_codes(frame)

    def show_code(self) -> None:
        """Show the chosen code's recent arrivals, routing preview and QR (nothing of a
        code chosen before stays when another code, or none, is chosen)."""
        code_id = self.code.value
        self.show_arrivals(code_id)
        writable = code_id is not None and self.can_write
        if code_id is None:
            self.frames["preview"] = pd.DataFrame(columns=["userid", "listed", "reason"])
            self.preview_spot.show(self.frames["preview"], self.preview_columns,
                                   self.ws.timezone)
            self.show_qr(None, chosen=False)
            self.pause_button.disabled = self.resume_button.disabled = True
            self.delete_button.disabled = self.edit_button.disabled = True
            return
        code = api.get_code(self.ws, code_id)
        preview = api.preview(self.ws, code_id)
        self.frames["preview"] = preview
        self.preview_spot.show(preview.assign(staff=preview["userid"].map(self.staff_name)),
                               self.preview_columns, self.ws.timezone)
        self.pause_button.disabled = not (writable and code["status"] == "active")
        self.resume_button.disabled = not (writable and code["status"] == "paused")
        self.delete_button.disabled = self.edit_button.disabled = not writable
        self.show_qr(qr_png(code["qr_url"], size_mm=SCREEN_MM, dpi=SCREEN_DPI)
                     if code["qr_url"] else None, chosen=True)
        stem = f"livecode-{code['id']}"
        self.png_download.filename, self.svg_download.filename = f"{stem}.png", f"{stem}.svg"

    def show_arrivals(self, code_id: int | None) -> None:
        """The newest arrivals through ``code_id``; an empty table saying what to do when
        there are none or no code is chosen."""
        if code_id is None:
            adds = pd.DataFrame(columns=["at", "contact_id", "userid", "welcome", "reason",
                                         "latency_ms"])
            set_empty(self.no_arrivals, _("No code chosen."),
                      _("Choose a live code above to see the customers who arrived "
                        "through it."))
        else:
            adds = api.adds_df(self.ws, code_id).sort_values("id", ascending=False)
            adds = adds.head(RECENT).reset_index(drop=True)
            set_empty(self.no_arrivals, _("No customer has arrived through this code yet."),
                      _("Print or share its QR code: customers who scan it show up here."))
        self.frames["arrivals"] = adds
        shown = adds.assign(staff=adds["userid"].map(self.staff_name),
                            welcome=adds["welcome"].map(lambda v: label_of(WELCOME_LABELS, v)))
        self.arrivals_spot.show(shown, self.arrival_columns, self.ws.timezone)

    def _qr_url(self) -> str:
        return api.get_code(self.ws, self._chosen())["qr_url"]

    @notify_errors
    def _png_file(self) -> io.BytesIO:
        return io.BytesIO(qr_png(self._qr_url()))

    @notify_errors
    def _svg_file(self) -> io.BytesIO:
        return io.BytesIO(qr_svg(self._qr_url()))

    # -- the form -------------------------------------------------------------------------

    def _member_fields(self) -> None:
        """One weight input and one time slot per chosen member, in member order; a member
        chosen again gets back what was entered for them."""
        disabled = not self.can_write
        chosen = list(self.members.value)
        for userid in chosen:
            name = self.staff_name(userid)
            if userid not in self.weight_inputs:
                self.weight_inputs[userid] = pn.widgets.IntInput(
                    label=_("Weight of {staff}", staff=name), value=1, start=0,
                    disabled=disabled, width=160, css_classes=["siyu-livecodes-weight"])
            if userid not in self.slot_inputs:
                self.slot_inputs[userid] = SlotFields(name, None, disabled)
        self.weights_box.objects = [
            pn.pane.Markdown(md(_("Each member gets customers in proportion to their weight "
                                  "(weight 0: only when nobody else can).")), margin=(0, 10)),
            form_row(*(self.weight_inputs[u] for u in chosen))] if chosen else []
        self.slots_box.objects = [
            pn.pane.Markdown(md(_("Members get customers only while on duty; every day from "
                                  "00:00 until 00:00 means always.")), margin=(0, 10)),
            form_row(*(self.slot_inputs[u].layout for u in chosen))] if chosen else []

    def member_specs(self) -> list[dict[str, Any]]:
        """The chosen members as :func:`~siyu.plugins.livecodes.api.create_code` takes them:
        with their weights for ``weighted`` and their time slots for ``schedule``.

        :raises ValidationError: a member on a schedule without a weekday.
        """
        specs = []
        for userid in self.members.value:
            spec: dict[str, Any] = {"userid": userid}
            if self.strategy.value == "weighted":
                spec["weight"] = int(self.weight_inputs[userid].value or 0)
            if self.strategy.value == "schedule":
                spec["slots"] = (self.slot_inputs[userid].slots(self.staff_name(userid))
                                 + self._extra_slots.get(userid, []))
            specs.append(spec)
        return specs

    def reset_form(self) -> None:
        """Every field of the form back to its default, the strategy's fields included."""
        self._editing = None
        self.save_button.disabled = True
        self.weight_inputs.clear()
        self.slot_inputs.clear()
        self._extra_slots.clear()
        self.code_name.value = ""
        self.members.value = []
        self.backup.value = []
        self.strategy.value = STRATEGIES[0]
        self.channel.value = ""
        self.tags.value = ""
        self.daily_cap.value = 0
        self.welcome.value = ""
        self._member_fields()

    # -- changing -------------------------------------------------------------------------

    @notify_errors
    def create(self) -> dict[str, Any]:
        """Create a code in WeCom from the form; it becomes the chosen code and the form
        starts over."""
        welcome = self.welcome.value.strip()
        code = api.create_code(
            self.ws, self.code_name.value, self.member_specs(),
            strategy=self.strategy.value, channel=self.channel.value.strip(),
            tags=parse_tags(self.tags.value), backup=list(self.backup.value),
            daily_cap=self.daily_cap.value or None,
            welcome={"text": welcome} if welcome else None)
        self.reset_form()
        self.refresh()
        self.code.value = code["id"]
        notify_success(_("created live code {name} ({state})", name=code["name"],
                         state=code["state"]))
        return code

    @notify_errors
    def edit(self) -> dict[str, Any]:
        """Load the chosen code's settings into the form, to change and save them."""
        code = api.get_code(self.ws, self._chosen())
        self.reset_form()
        self.code_name.value = code["name"]
        self.members.value = [m["userid"] for m in code["members"]]
        for member in code["members"]:
            userid, slots = member["userid"], list(member["slots"] or [])
            self.weight_inputs[userid].value = member["weight"]
            if slots:
                fields = self.slot_inputs[userid]
                first = slots[0]
                fields.days.value = list(first.get("days", range(7)))
                fields.start.value = first["start"]
                fields.end.value = "00:00" if first["end"] == "24:00" else first["end"]
                self._extra_slots[userid] = slots[1:]
            elif code["strategy"] == "schedule":
                fields = self.slot_inputs[userid]  # no slot: always on duty
                fields.days.value, fields.start.value, fields.end.value = (
                    list(range(7)), "00:00", "00:00")
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
        """Apply the form to the code loaded with Edit. Members kept keep their caps, and
        their weights and shifts unless the strategy's fields give them; the welcome keeps
        its attachments and variants. The form starts over."""
        editing = getattr(self, "_editing", None)
        if editing is None:
            raise ValidationError(_("choose a code and press Edit first"))
        current = api.get_code(self.ws, editing)
        welcome = {**(current["welcome"] or {}), "text": self.welcome.value.strip()}
        code = api.update_code(
            self.ws, editing, name=self.code_name.value,
            members=api.merge_members(current["members"], self.member_specs()),
            strategy=self.strategy.value, channel=self.channel.value.strip(),
            tags=parse_tags(self.tags.value), backup=list(self.backup.value),
            daily_cap=self.daily_cap.value or None,
            welcome=welcome if welcome["text"] or len(welcome) > 1 else None)
        self.reset_form()
        self.refresh()
        self.code.value = code["id"]
        notify_success(_("saved live code {name}; listed now: {listed}", name=code["name"],
                         listed=", ".join(code["listed"] or [])))
        return code

    def _chosen(self) -> int:
        if self.code.value is None:
            raise ValidationError(_("choose a live code first"))
        return self.code.value

    @notify_errors
    def pause(self) -> dict[str, Any]:
        """Pause the chosen code (only its backup staff stay listed)."""
        code = api.pause_code(self.ws, self._chosen())
        self.refresh()
        notify_success(_("paused {name}: backup staff serve new customers", name=code["name"]))
        return code

    @notify_errors
    def resume(self) -> dict[str, Any]:
        """Route the chosen code to its members again."""
        code = api.resume_code(self.ws, self._chosen())
        self.refresh()
        notify_success(_("resumed {name}", name=code["name"]))
        return code

    @notify_errors
    def delete(self) -> dict[str, Any]:
        """Delete the chosen code in WeCom: its printed QR stops working."""
        code = api.delete_code(self.ws, self._chosen())
        self.refresh()
        notify_success(_("deleted {name}; its QR code no longer works", name=code["name"]))
        return code

    def __panel__(self) -> pn.Column:
        note = readonly_alert(self.can_write, _("Your role can see live codes but not "
                                                "change them."))
        header = page_header(
            _("Live codes"),
            _("Each live code is one QR code that hands new customers to the right member, "
              "welcomes and tags them. Choose a code in the table to see who gets its next "
              "customer, its QR code and its recent arrivals."))
        create = section(
            _("Create a live code, or edit the chosen one"),
            form_row(self.code_name, self.strategy, self.channel),
            form_row(self.members, self.backup),
            self.weights_box, self.slots_box,
            form_row(self.tags, self.daily_cap),
            self.welcome, self.welcome_help,
            form_row(self.create_button, self.save_button),
            css_class="siyu-livecodes-create")
        chosen = form_row(self.code, self.edit_button, self.pause_button, self.resume_button,
                          self.delete_button)
        preview = section(_("Who gets the next customer, and why"), self.preview_spot,
                          css_class="siyu-livecodes-preview")
        qr = section(_("QR code"), self.qr, self.no_qr,
                     form_row(self.png_download, self.svg_download),
                     css_class="siyu-livecodes-qr")
        arrivals = section(_("Recent arrivals"), self.arrivals_spot,
                           css_class="siyu-livecodes-arrivals-section")
        return pn.Column(header, *note, self.problems, self.kpis, self.codes_spot,
                         create, chosen, form_row(preview, qr), arrivals,
                         css_classes=["siyu-livecodes-page"], sizing_mode="stretch_width")
