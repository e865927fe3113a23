"""The Campaigns page: the campaign list (scheduled ones with their time and a cancel
button), the composer (:mod:`siyu.plugins.campaigns.composer`) with the "will actually
receive it" preview, sending now or at a scheduled time, progress while sending, and results
per variant.

Reading needs ``data.read``; drafting and previewing ``campaigns.draft``; launching,
scheduling, pausing, resuming, cancelling and reminding staff to send a WeCom campaign
(:mod:`siyu.plugins.campaigns.page_remind`) ``campaigns.send``: without it the send controls
and the reminder button are not on the page (pause, resume and cancel are disabled), and the
service checks again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    TIME_FORMAT,
    Col,
    data_table,
    display_frame,
    empty_state,
    fmt_int,
    fmt_time,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import notify_errors, notify_success, section, toggle_empty
from siyu.apps.safe import html
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.campaigns.composer import NOTE_CSS, Composer, group
from siyu.plugins.campaigns.composer_preview import WRAP, PreviewView
from siyu.plugins.campaigns.composer_schedule import ScheduledList, WhenPicker
from siyu.plugins.campaigns.labels import status_title
from siyu.plugins.campaigns.page_remind import RemindButton

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.campaigns")

LIST_COLS = (
    Col("name", _.lazy("Campaign"), width=240),
    Col("status_label", _.lazy("Status")),
    Col("channel", _.lazy("Channel")),
    Col("targeted", _.lazy("Targeted"), "int"),
    Col("scheduled_at", _.lazy("Scheduled for"), "time"),
    Col("launched_at", _.lazy("Launched"), "time"),
)
PROGRESS_COLS = (Col("status", _.lazy("Status")), Col("n", _.lazy("Deliveries"), "int"))
RESULT_COLS = (
    Col("variant", _.lazy("Variant"), width=120), Col("targeted", _.lazy("Targeted"), "int"),
    Col("sent", _.lazy("Sent"), "int"),
    Col("awaiting_confirmation", _.lazy("Awaiting confirmation"), "int"),
    Col("skipped", _.lazy("Skipped"), "int"), Col("blocked", _.lazy("Blocked"), "int"),
    Col("failed", _.lazy("Failed"), "int"), Col("conversions", _.lazy("Conversions"), "int"),
    Col("conversion_rate", _.lazy("Conversion rate"), "percent"),
    Col("revenue_fen", _.lazy("Revenue"), "money"), Col("lift", _.lazy("Lift"), "percent"),
    Col("p_value", _.lazy("p-value")),
)
#: The statuses a campaign may be cancelled in.
CANCELLABLE = ("draft", "scheduled", "sending", "paused")


def launch_label(at: datetime | None, *, scheduled: bool) -> str:
    """The send button's label: "Launch now"; for a scheduled send "Schedule for <at>"
    (``at`` in the workspace timezone), or "Schedule" while no valid time is chosen."""
    if not scheduled:
        return _("Launch now")
    if at is None:
        return _("Schedule")
    return _("Schedule for {at}", at=at.strftime(TIME_FORMAT))


class CampaignsPage(pn.viewable.Viewer):
    """The Campaigns page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_send = ws.principal.can("campaigns.send")
        self.list_table = data_table(LIST_COLS, css_class="siyu-campaigns-list",
                                     formatters={LIST_COLS[0].title: WRAP})
        self.list_empty = empty_state(_("No campaigns yet."),
                                      _("Compose one below: choose a segment, write the "
                                        "message, preview who will receive it, launch."),
                                      css_class="siyu-campaigns-empty")
        self.list_spot = pn.Column(self.list_empty, sizing_mode="stretch_width", margin=0)
        self.scheduled = ScheduledList(ws.timezone, can_cancel=self.can_send,
                                       on_cancel=self.cancel_scheduled)
        # -- composing and sending
        self.composer = Composer(ws)
        self.preview_view = PreviewView(ws)
        self.preview_button = pn.widgets.Button(
            label=_("Save draft and preview"), color="primary",
            disabled=not ws.principal.can("campaigns.draft"),
            css_classes=["siyu-campaign-preview"])
        self.when = WhenPicker(ws.timezone)
        self.launch_button = pn.widgets.Button(
            label=launch_label(None, scheduled=False), color="danger", disabled=True,
            css_classes=["siyu-campaign-launch"])
        # -- the chosen campaign
        self.chosen = pn.widgets.Select(label=_("Campaign"), width=260,
                                        css_classes=["siyu-campaign-chosen"])
        self.refresh_button = self._button(_("Refresh"), "refresh", enabled=True)
        self.pause_button = self._button(_("Pause"), "pause")
        self.resume_button = self._button(_("Resume"), "resume")
        self.cancel_button = self._button(_("Cancel campaign"), "cancel", color="warning")
        self.remind = RemindButton(ws, can_send=self.can_send)
        self.progress_cards = pn.Column(css_classes=["siyu-campaign-kpis"],
                                        sizing_mode="stretch_width")
        self.progress = data_table(PROGRESS_COLS, css_class="siyu-campaign-progress")
        self.results = data_table(RESULT_COLS, css_class="siyu-campaign-results",
                                  formatters={RESULT_COLS[0].title: WRAP})
        self.preview_button.on_click(lambda _e: self.save_and_preview())
        self.launch_button.on_click(lambda _e: self.launch())
        self.composer.param.watch(lambda _e: self._draft_changed(), "changes")
        for widget in (self.when.mode, self.when.day, self.when.at):
            widget.param.watch(lambda _e: self._when_changed(), "value")
        self.chosen.param.watch(lambda _e: self.show_campaign(), "value")
        self.refresh_button.on_click(lambda _e: self.refresh())
        self.pause_button.on_click(lambda _e: self.act("pause"))
        self.resume_button.on_click(lambda _e: self.act("resume"))
        self.cancel_button.on_click(lambda _e: self.act("cancel"))
        self.draft_name: str | None = None
        self.refresh()

    def _button(self, label: str, css: str, *, color: str = "default",
                enabled: bool = False) -> pn.widgets.Button:
        return pn.widgets.Button(label=label, color=color,
                                 disabled=not (enabled or self.can_send),
                                 css_classes=[f"siyu-campaign-{css}"], margin=(24, 10, 10, 10))

    # -- data ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the list, the composer's choices and the chosen campaign's progress."""
        frame = self.ws.campaigns.list()
        channels = self.ws.channels
        shown = frame.assign(
            status_label=[status_title(s) for s in frame["status"]],
            channel=[str(getattr(channels.get(c), "title", "") or c) for c in frame["channel"]])
        self.list_table.value = display_frame(shown, LIST_COLS, self.ws.timezone)
        self._show_list(not frame.empty)
        self.scheduled.show(frame)
        self.composer.refresh_choices()
        names = list(frame["name"])
        current = self.chosen.value
        self.chosen.options = names
        self.chosen.value = current if current in names else (names[0] if names else None)
        self.show_campaign()

    def _show_list(self, has_rows: bool) -> None:
        """The list, or its empty state in its place. The one not shown is taken out of the
        page, not hidden: a Tabulator drawn while hidden never shows the rows it gets
        later."""
        toggle_empty(self.list_table, self.list_empty, has_rows)
        shown = self.list_table if has_rows else self.list_empty
        if self.list_spot.objects != [shown]:
            self.list_spot.objects = [shown]

    def show_campaign(self) -> None:
        """The chosen campaign's progress by status and its results per variant."""
        name = self.chosen.value
        if not name:
            self.remind.show(None, {})
            self.progress_cards.objects = []
            self.progress.value = display_frame(pd.DataFrame(columns=["status", "n"]),
                                                PROGRESS_COLS, self.ws.timezone)
            return
        campaign = self.ws.campaigns.get(name)
        counts = self.ws.campaigns.counts(name)
        frame = pd.DataFrame([{"status": status_title(s), "n": n}
                              for s, n in sorted(counts.items())], columns=["status", "n"])
        self.progress.value = display_frame(frame, PROGRESS_COLS, self.ws.timezone)
        done = sum(n for s, n in counts.items() if s not in ("queued", "sending"))
        when = (fmt_time(campaign.scheduled_at, self.ws.timezone)
                if campaign.status == "scheduled" else "")
        if campaign.status == "done" and counts.get("pending"):
            # Handed to WeCom, but staff still have to confirm the mass-send tasks.
            when = _("{n} still awaiting staff confirmation", n=fmt_int(counts["pending"]))
        cards = [(_("Status"), status_title(campaign.status), when),
                 (_("Targeted"), fmt_int(campaign.targeted)),
                 (_("Handled"), fmt_int(done)), (_("Sent"), fmt_int(counts.get("sent", 0)))]
        self.progress_cards.objects = [kpi_cards(cards, css_class="siyu-campaign-kpi-cards")]
        results = self.ws.campaigns.results(name)
        results["variant"] = [v or _("(all)") if v != "holdout" else _("holdout")
                              for v in results["variant"]]
        self.results.value = display_frame(results, RESULT_COLS, self.ws.timezone)
        self.pause_button.disabled = not (self.can_send and campaign.status == "sending")
        self.resume_button.disabled = not (self.can_send and campaign.status == "paused")
        self.cancel_button.disabled = not (self.can_send and campaign.status in CANCELLABLE)
        self.remind.show(campaign, counts)

    # -- actions ------------------------------------------------------------------------

    def _draft_changed(self) -> None:
        """The form changed since the preview: it must be saved and previewed again before
        it can be sent."""
        self.draft_name = None
        self.launch_button.disabled = True

    def _when_changed(self) -> None:
        """Say on the send button when it sends."""
        try:
            at = self.when.moment()
        except ValidationError:
            at = None
        self.launch_button.label = launch_label(at, scheduled=self.when.scheduled)

    @notify_errors
    def save_and_preview(self) -> dict[str, Any]:
        """Save the composer as a draft (new or changed) and show who will receive it."""
        name = self.composer.campaign_name()
        fields = self.composer.fields()
        if name in set(self.ws.campaigns.list()["name"]):
            self.ws.campaigns.update(name, **fields)
        else:
            self.ws.campaigns.create(name, **fields)
        preview = self.ws.campaigns.preview(name)
        self.preview_view.show(preview)
        self.refresh()
        self.chosen.value = name
        self.draft_name = name
        self.launch_button.disabled = not self.can_send or bool(preview["blocked_words"]) \
            or not preview["will_receive"]
        return preview

    @notify_errors
    def launch(self) -> None:
        """Send the previewed draft now, or schedule it for the chosen time."""
        if not self.draft_name:
            raise ValidationError(_("save and preview the campaign first"))
        at = self.when.moment()
        if at is None:
            campaign = self.ws.campaigns.launch(self.draft_name)
            message = _("launched {name}: {n} targeted; senders deliver it now",
                        name=campaign.name, n=fmt_int(campaign.targeted))
        else:
            campaign = self.ws.campaigns.schedule(self.draft_name, at)
            message = _("campaign {name} will launch at {at}", name=campaign.name,
                        at=fmt_time(campaign.scheduled_at, self.ws.timezone))
        self.launch_button.disabled = True
        self.draft_name = None
        self.refresh()
        self.chosen.value = campaign.name
        notify_success(message)

    @notify_errors
    def act(self, action: str) -> None:
        """Pause, resume or cancel the chosen campaign."""
        name = self.chosen.value
        if not name:
            raise ValidationError(_("choose a campaign"))
        self._act(action, name)

    @notify_errors
    def cancel_scheduled(self, name: str) -> None:
        """Cancel the scheduled campaign ``name`` (from the scheduled list)."""
        self._act("cancel", name)

    def _act(self, action: str, name: str) -> None:
        campaign = getattr(self.ws.campaigns, action)(name)
        self.refresh()
        notify_success(_("campaign {name} is now: {status}", name=campaign.name,
                         status=status_title(campaign.status)))

    # -- layout -------------------------------------------------------------------------

    def _send_controls(self) -> pn.Column:
        if self.can_send:
            return group(_("Preview and send"), "siyu-campaign-send", self.when,
                         pn.FlexBox(self.preview_button, self.launch_button,
                                    flex_wrap="wrap"))
        note = pn.pane.HTML(html('<p class="siyu-note">{text}</p>', text=_(
            "Your role can draft and preview campaigns; an operator launches them.")),
            stylesheets=[NOTE_CSS], sizing_mode="stretch_width",
            css_classes=["siyu-campaign-send-note"], margin=(0, 10))
        return group(_("Preview"), "siyu-campaign-send",
                     pn.FlexBox(self.preview_button, flex_wrap="wrap"), note)

    def __panel__(self) -> pn.Column:
        composer = section(_("Compose"), self.composer, self._send_controls(),
                           self.preview_view, css_class="siyu-campaign-composer")
        controls = [self.chosen, self.refresh_button, self.pause_button, self.resume_button,
                    self.cancel_button]
        if self.can_send:
            controls.append(self.remind.button)
        follow = section(
            _("Progress and results"), pn.FlexBox(*controls, flex_wrap="wrap"),
            self.progress_cards, self.progress, self.results,
            css_class="siyu-campaign-follow")
        return pn.Column(
            page_header(_("Campaigns"), _("Compose a message for a segment, see who will "
                                          "actually receive it, launch it and follow its "
                                          "results.")),
            self.list_spot, self.scheduled, composer, follow,
            css_classes=["siyu-campaigns-page"], sizing_mode="stretch_width")
