"""The Campaigns page: the campaign list, a composer with the "will actually receive it"
breakdown, launching, progress while sending, and results per variant.

Reading needs ``data.read``; drafting and previewing ``campaigns.draft``; launching, pausing,
resuming and cancelling ``campaigns.send`` (the buttons are disabled without it, and the
service checks again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    empty_state,
    fmt_int,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import notify_errors, notify_success, section, toggle_empty
from siyu.apps.safe import html
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.core.messaging.launch import REASON_TITLES
from siyu.plugins.campaigns.labels import status_title

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.campaigns")

LIST_COLS = (
    Col("name", _.lazy("Campaign")),
    Col("status_label", _.lazy("Status")),
    Col("channel", _.lazy("Channel")),
    Col("targeted", _.lazy("Targeted"), "int"),
    Col("launched_at", _.lazy("Launched"), "time"),
)
BREAKDOWN_COLS = (Col("reason", _.lazy("Will not receive it because")),
                  Col("n", _.lazy("Customers"), "int"))
SAMPLE_COLS = (Col("variant", _.lazy("Variant")), Col("sender", _.lazy("Sender")),
               Col("text", _.lazy("Message")))
PROGRESS_COLS = (Col("status", _.lazy("Status")), Col("n", _.lazy("Deliveries"), "int"))
RESULT_COLS = (
    Col("variant", _.lazy("Variant")), Col("targeted", _.lazy("Targeted"), "int"),
    Col("sent", _.lazy("Sent"), "int"),
    Col("awaiting_confirmation", _.lazy("Awaiting confirmation"), "int"),
    Col("skipped", _.lazy("Skipped"), "int"), Col("blocked", _.lazy("Blocked"), "int"),
    Col("failed", _.lazy("Failed"), "int"), Col("conversions", _.lazy("Conversions"), "int"),
    Col("conversion_rate", _.lazy("Conversion rate"), "percent"),
    Col("revenue_fen", _.lazy("Revenue"), "money"), Col("lift", _.lazy("Lift"), "percent"),
    Col("p_value", _.lazy("p-value")),
)


class CampaignsPage(pn.viewable.Viewer):
    """The Campaigns page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        can_draft = ws.principal.can("campaigns.draft")
        self.can_send = ws.principal.can("campaigns.send")
        self.list_table = data_table(LIST_COLS, css_class="siyu-campaigns-list")
        self.list_empty = empty_state(_("No campaigns yet."),
                                      _("Compose one below: choose a segment, write the "
                                        "message, preview who will receive it, launch."),
                                      css_class="siyu-campaigns-empty")
        # -- composer
        self.name_input = pn.widgets.TextInput(label=_("Campaign name"), disabled=not can_draft,
                                         css_classes=["siyu-campaign-name"], width=260)
        self.channel = pn.widgets.Select(label=_("Channel"), disabled=not can_draft,
                                         css_classes=["siyu-campaign-channel"], width=200)
        self.segment = pn.widgets.Select(label=_("Segment"), disabled=not can_draft,
                                         css_classes=["siyu-campaign-segment"], width=220)
        self.text = pn.widgets.TextAreaInput(
            label=_("Message"), placeholder=_("e.g. 双十二会员日，{staff}为您准备了专属券"),
            disabled=not can_draft, css_classes=["siyu-campaign-text"], height=120,
            sizing_mode="stretch_width")
        self.holdout = pn.widgets.IntInput(label=_("Holdout %"), value=0, start=0, end=50,
                                           disabled=not can_draft, width=120,
                                           css_classes=["siyu-campaign-holdout"])
        self.preview_button = pn.widgets.Button(
            label=_("Save draft and preview"), color="primary", disabled=not can_draft,
            css_classes=["siyu-campaign-preview"])
        self.launch_button = pn.widgets.Button(
            label=_("Launch now"), color="danger", disabled=True,
            css_classes=["siyu-campaign-launch"])
        self.breakdown_cards = pn.Column(css_classes=["siyu-campaign-will"],
                                         sizing_mode="stretch_width")
        self.breakdown = data_table(BREAKDOWN_COLS, css_class="siyu-campaign-breakdown")
        self.samples = data_table(SAMPLE_COLS, css_class="siyu-campaign-samples")
        self.breakdown_box = pn.Column(self.breakdown_cards, self.breakdown, self.samples,
                                       visible=False, sizing_mode="stretch_width")
        # -- the chosen campaign
        self.chosen = pn.widgets.Select(label=_("Campaign"), width=260,
                                        css_classes=["siyu-campaign-chosen"])
        self.refresh_button = pn.widgets.Button(label=_("Refresh"),
                                                css_classes=["siyu-campaign-refresh"],
                                                margin=(24, 10, 10, 10))
        self.pause_button = pn.widgets.Button(label=_("Pause"), disabled=not self.can_send,
                                              css_classes=["siyu-campaign-pause"],
                                              margin=(24, 10, 10, 10))
        self.resume_button = pn.widgets.Button(label=_("Resume"), disabled=not self.can_send,
                                               css_classes=["siyu-campaign-resume"],
                                               margin=(24, 10, 10, 10))
        self.cancel_button = pn.widgets.Button(label=_("Cancel campaign"), color="warning",
                                               disabled=not self.can_send,
                                               css_classes=["siyu-campaign-cancel"],
                                               margin=(24, 10, 10, 10))
        self.progress_cards = pn.Column(css_classes=["siyu-campaign-kpis"],
                                        sizing_mode="stretch_width")
        self.progress = data_table(PROGRESS_COLS, css_class="siyu-campaign-progress")
        self.results = data_table(RESULT_COLS, css_class="siyu-campaign-results")
        self.preview_button.on_click(lambda _e: self.save_and_preview())
        self.launch_button.on_click(lambda _e: self.launch())
        self.chosen.param.watch(lambda _e: self.show_campaign(), "value")
        self.refresh_button.on_click(lambda _e: self.refresh())
        self.pause_button.on_click(lambda _e: self.act("pause"))
        self.resume_button.on_click(lambda _e: self.act("resume"))
        self.cancel_button.on_click(lambda _e: self.act("cancel"))
        self.draft_name: str | None = None
        self.refresh()

    # -- data ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the list, the choices and the chosen campaign's progress."""
        frame = self.ws.campaigns.list()
        shown = frame.assign(status_label=[status_title(s) for s in frame["status"]])
        self.list_table.value = display_frame(shown, LIST_COLS, self.ws.timezone)
        toggle_empty(self.list_table, self.list_empty, not frame.empty)
        chosen_channel = self.channel.value
        self.channel.options = {str(spec.title or name): name
                                for name, spec in sorted(self.ws.channels.items())
                                if spec.recipients == "contacts"}
        channels = list(self.channel.options.values())
        self.channel.value = (chosen_channel if chosen_channel in channels
                              else "wecom" if "wecom" in channels
                              else (channels[0] if channels else None))
        segments = self.ws.segments.list()
        self.segment.options = list(segments["name"]) if not segments.empty else []
        names = list(frame["name"])
        current = self.chosen.value
        self.chosen.options = names
        self.chosen.value = current if current in names else (names[0] if names else None)
        self.show_campaign()

    def show_campaign(self) -> None:
        """The chosen campaign's progress by status and its results per variant."""
        name = self.chosen.value
        if not name:
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
        self.progress_cards.objects = [kpi_cards(
            [(_("Status"), status_title(campaign.status)),
             (_("Targeted"), fmt_int(campaign.targeted)),
             (_("Handled"), fmt_int(done)), (_("Sent"), fmt_int(counts.get("sent", 0)))],
            css_class="siyu-campaign-kpi-cards")]
        results = self.ws.campaigns.results(name)
        results["variant"] = [v or _("(all)") if v != "holdout" else _("holdout")
                              for v in results["variant"]]
        self.results.value = display_frame(results, RESULT_COLS, self.ws.timezone)
        self.pause_button.disabled = not (self.can_send and campaign.status == "sending")
        self.resume_button.disabled = not (self.can_send and campaign.status == "paused")
        self.cancel_button.disabled = not (self.can_send and campaign.status in (
            "draft", "scheduled", "sending", "paused"))

    # -- actions ------------------------------------------------------------------------

    @notify_errors
    def save_and_preview(self) -> dict[str, Any]:
        """Save the composer as a draft (new or changed) and show who will receive it."""
        name = (self.name_input.value or "").strip()
        if not name:
            raise ValidationError(_("give the campaign a name"))
        if not self.segment.value:
            raise ValidationError(_("choose a segment (save one on the Segments page first)"))
        fields = {"channel": self.channel.value, "text": self.text.value or "",
                  "segment": self.segment.value, "holdout_pct": int(self.holdout.value or 0)}
        existing = name in set(self.ws.campaigns.list()["name"])
        if existing:
            self.ws.campaigns.update(name, **fields)
        else:
            self.ws.campaigns.create(name, **fields)
        preview = self.ws.campaigns.preview(name)
        self.draft_name = name
        self._show_preview(preview)
        self.launch_button.disabled = not self.can_send or bool(preview["blocked_words"]) \
            or not preview["will_receive"]
        self.refresh()
        self.chosen.value = name
        return preview

    def _show_preview(self, preview: dict[str, Any]) -> None:
        cards = [(_("Selected"), fmt_int(preview["selected"])),
                 (_("Will actually receive it"), fmt_int(preview["will_receive"]))]
        for variant, n in sorted(preview["variants"].items()):
            if variant:
                cards.append((_("Variant {name}", name=variant), fmt_int(n)))
        self.breakdown_cards.objects = [kpi_cards(cards, css_class="siyu-campaign-will-cards")]
        reasons = pd.DataFrame([{"reason": str(REASON_TITLES.get(r, r)), "n": n}
                                for r, n in sorted(preview["reasons"].items(),
                                                   key=lambda kv: -kv[1])],
                               columns=["reason", "n"])
        for problem in preview["blocked_words"]:
            reasons.loc[len(reasons)] = [problem["reason"], preview["will_receive"]]
        self.breakdown.value = display_frame(reasons, BREAKDOWN_COLS, self.ws.timezone)
        samples = pd.DataFrame(preview["samples"], columns=["variant", "sender", "text"])
        self.samples.value = display_frame(samples, SAMPLE_COLS, self.ws.timezone)
        self.breakdown_box.visible = True

    @notify_errors
    def launch(self) -> None:
        """Launch the previewed draft now."""
        if not self.draft_name:
            raise ValidationError(_("save and preview the campaign first"))
        campaign = self.ws.campaigns.launch(self.draft_name)
        self.launch_button.disabled = True
        self.refresh()
        self.chosen.value = campaign.name
        notify_success(_("launched {name}: {n} targeted; senders deliver it now",
                         name=campaign.name, n=fmt_int(campaign.targeted)))

    @notify_errors
    def act(self, action: str) -> None:
        """Pause, resume or cancel the chosen campaign."""
        name = self.chosen.value
        if not name:
            raise ValidationError(_("choose a campaign"))
        campaign = getattr(self.ws.campaigns, action)(name)
        self.refresh()
        notify_success(_("campaign {name} is now: {status}", name=campaign.name,
                         status=status_title(campaign.status)))

    def __panel__(self) -> pn.Column:
        composer = section(
            _("Compose"),
            pn.FlexBox(self.name_input, self.channel, self.segment, self.holdout, flex_wrap="wrap"),
            self.text,
            pn.pane.HTML(html("<span>{hint}</span>", hint=_(
                "Placeholders: {nickname} customer's name, {staff} sender, {store} store "
                "(WeCom fills {staff} only)")),
                         css_classes=["siyu-campaign-hint"], sizing_mode="stretch_width"),
            pn.FlexBox(self.preview_button, self.launch_button, flex_wrap="wrap"),
            self.breakdown_box, css_class="siyu-campaign-composer")
        follow = section(
            _("Progress and results"),
            pn.FlexBox(self.chosen, self.refresh_button, self.pause_button,
                       self.resume_button, self.cancel_button, flex_wrap="wrap"),
            self.progress_cards, self.progress, self.results,
            css_class="siyu-campaign-follow")
        return pn.Column(
            page_header(_("Campaigns"), _("Compose a message for a segment, see who will "
                                          "actually receive it, launch it and follow its "
                                          "results.")),
            self.list_table, self.list_empty, composer, follow,
            css_classes=["siyu-campaigns-page"], sizing_mode="stretch_width")
