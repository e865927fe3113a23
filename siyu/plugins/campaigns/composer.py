"""The campaign composer: every field ``ws.campaigns.create`` / ``update`` takes, as a form
that follows the chosen channel's :class:`~siyu.core.records.ChannelSpec`.

- the audience: a saved segment, or, for channels that address their own targets (group
  robots), a choice of those targets;
- the message with placeholder chips for the placeholders the channel fills, a value for
  each placeholder when a recipient has none (``fallbacks``), a subject line for e-mail;
- attachments (image, link, mini-program) up to the channel's ``max_attachments``;
- A/B variants, a holdout percentage, and who sends it (each customer's owner or one staff
  member).

:meth:`Composer.fields` turns the form into the service's keyword arguments; the service
checks them again. Every edit bumps :attr:`Composer.changes`, so the page knows its preview
is out of date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn
import param

from siyu.apps.kit import follow
from siyu.apps.safe import html, labels
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.core.messaging.content import PLACEHOLDERS
from siyu.core.services.campaigns import MAX_HOLDOUT_PCT
from siyu.plugins.campaigns.composer_attachments import AttachmentsEditor
from siyu.plugins.campaigns.composer_fields import (
    addresses_targets,
    allowed_placeholders,
    content_field,
    fallbacks,
    sender_field,
    takes_attachments,
    wants_subject,
)
from siyu.plugins.campaigns.composer_text import PlaceholderText
from siyu.plugins.campaigns.composer_variants import VariantsEditor

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.campaigns")

#: The channel chosen first when it is there.
DEFAULT_CHANNEL = "wecom"
#: Widest a single field gets, so the form works on a 390 px phone.
FIELD_WIDTH = 300
NOTE_CSS = ".siyu-note{color:#5f6b7a;font-size:13px;margin:0}"
GROUP_CSS = ".siyu-group-title{font-size:15px;font-weight:600;margin:6px 0 0;color:#33404f}"


def group(title: str, css_class: str, *objects: Any) -> pn.Column:
    """A titled group of fields of the form."""
    head = pn.pane.HTML(html('<h4 class="siyu-group-title">{title}</h4>', title=title),
                        stylesheets=[GROUP_CSS], margin=(8, 10, 0, 10))
    return pn.Column(head, *objects, sizing_mode="stretch_width", margin=0,
                     css_classes=[css_class])


def _note(text: str, css_class: str) -> pn.pane.HTML:
    return pn.pane.HTML(html('<p class="siyu-note">{text}</p>', text=text),
                        stylesheets=[NOTE_CSS], sizing_mode="stretch_width",
                        css_classes=[css_class], margin=(0, 10))


class Composer(pn.viewable.Viewer):
    """The form of one campaign (permission ``campaigns.draft`` to edit it)."""

    changes = param.Integer(default=0, doc="Bumped after every edit of the form.")

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        off = not ws.principal.can("campaigns.draft")
        self.name_input = pn.widgets.TextInput(label=_("Campaign name"), disabled=off,
                                               max_length=200, width=FIELD_WIDTH,
                                               css_classes=["siyu-campaign-name"])
        self.channel = pn.widgets.Select(label=_("Channel"), disabled=off, width=200,
                                         css_classes=["siyu-campaign-channel"])
        self.segment = pn.widgets.Select(label=_("Segment"), disabled=off, width=220,
                                         css_classes=["siyu-campaign-segment"])
        self.targets = pn.widgets.MultiChoice(label=_("Send to"), disabled=off,
                                              width=FIELD_WIDTH,
                                              css_classes=["siyu-campaign-targets"])
        self.no_targets = _note("", "siyu-campaign-no-targets")
        self.subject = pn.widgets.TextInput(label=_("Subject"), disabled=off,
                                            placeholder=_("e.g. 会员日专属优惠"),
                                            sizing_mode="stretch_width",
                                            css_classes=["siyu-campaign-subject"])
        self.text = PlaceholderText(
            label=_("Message"), placeholder=_("e.g. 双十二会员日，{staff}为您准备了专属券"),
            css_class="siyu-campaign-text", disabled=off, on_change=self._touch)
        self.fallback_inputs = {
            name: pn.widgets.TextInput(
                label=_("When {placeholder} is empty, write", placeholder="{" + name + "}"),
                placeholder=_("e.g. 亲"), disabled=off, width=200,
                css_classes=[f"siyu-campaign-fallback-{name}"])
            for name in PLACEHOLDERS}
        self.holdout = pn.widgets.IntInput(label=_("Holdout %"), value=0, start=0,
                                           end=MAX_HOLDOUT_PCT, disabled=off, width=120,
                                           css_classes=["siyu-campaign-holdout"])
        self.sender = pn.widgets.RadioButtonGroup(
            options={_("Each customer's owner sends it"): "owner",
                     _("One staff member sends it"): "staff"},
            value="owner", disabled=off, css_classes=["siyu-campaign-sender"],
            color="primary", variant="outline", margin=(10, 10))
        self.sender_staff = pn.widgets.Select(label=_("Staff member"), disabled=off,
                                              width=220,
                                              css_classes=["siyu-campaign-sender-staff"])
        follow(self.sender, {"staff": [self.sender_staff]})
        self.variants = VariantsEditor(disabled=off, on_change=self._touch)
        self.attachments = AttachmentsEditor(disabled=off, on_change=self._touch)
        for widget in (self.name_input, self.segment, self.targets, self.subject,
                       self.holdout, self.sender, self.sender_staff,
                       *self.fallback_inputs.values()):
            widget.param.watch(lambda _e: self._touch(), "value")
        self.channel.param.watch(lambda _e: self._channel_changed(), "value")
        self.layout = self._layout()
        self.refresh_choices()

    def _layout(self) -> pn.Column:
        self.testing = group(_("A/B test and holdout"), "siyu-campaign-testing",
                             self.holdout, self.variants)
        self.sending = group(_("Sender"), "siyu-campaign-sending",
                             pn.FlexBox(self.sender, self.sender_staff, flex_wrap="wrap",
                                        align_items="end", sizing_mode="stretch_width"))
        return pn.Column(
            group(_("Audience"), "siyu-campaign-audience",
                  pn.FlexBox(self.name_input, self.channel, self.segment, self.targets,
                             flex_wrap="wrap", sizing_mode="stretch_width"),
                  self.no_targets),
            group(_("Content"), "siyu-campaign-message", self.subject, self.text,
                  pn.FlexBox(*self.fallback_inputs.values(), flex_wrap="wrap",
                             sizing_mode="stretch_width"),
                  self.attachments),
            self.testing, self.sending,
            sizing_mode="stretch_width", margin=0, css_classes=["siyu-campaign-form"])

    # -- choices --------------------------------------------------------------------------

    def refresh_choices(self) -> None:
        """Reload the channels, segments, staff and the channel's targets, keeping what is
        chosen where it still exists."""
        chosen = self.channel.value
        self.channel.options = {str(spec.title or name): name
                                for name, spec in sorted(self.ws.channels.items())}
        names = list(self.channel.options.values())
        self.channel.value = (chosen if chosen in names
                              else DEFAULT_CHANNEL if DEFAULT_CHANNEL in names
                              else names[0] if names else None)
        segments = self.ws.segments.list()
        self.segment.options = list(segments["name"]) if not segments.empty else []
        self.sender_staff.options = {f"{s.name} ({s.userid})": s.userid
                                     for s in self.ws.staff.list()}
        self._apply_channel()

    @property
    def spec(self) -> Any:
        """The chosen channel's ``ChannelSpec`` (``None`` when no channel is available)."""
        return self.ws.channels.get(self.channel.value) if self.channel.value else None

    def _apply_channel(self) -> None:
        """Show the fields the chosen channel takes, and only those."""
        spec = self.spec
        to_targets = addresses_targets(spec)
        self.segment.visible = not to_targets
        self.targets.visible = to_targets
        self.testing.visible = self.sending.visible = not to_targets
        if to_targets:
            found = spec.targets(self.ws) if spec.targets else {}
            kept = [t for t in self.targets.value or [] if t in found]
            self.targets.options = labels({title: key for key, title in found.items()})
            self.targets.value = kept
            self.no_targets.visible = not found
            self.no_targets.object = html('<p class="siyu-note">{text}</p>', text=_(
                "{channel} has no targets yet: add one first (group robots: siyu robot add).",
                channel=str(spec.title or spec.name)))
        else:
            self.no_targets.visible = False
        self.subject.visible = wants_subject(spec)
        allowed = allowed_placeholders(spec)
        self.text.set_placeholders(allowed)
        self.variants.set_placeholders(allowed)
        for name, widget in self.fallback_inputs.items():
            widget.visible = name in allowed
        self.attachments.layout.visible = takes_attachments(spec)
        self.attachments.set_limit(spec.max_attachments if spec else None)

    def _channel_changed(self) -> None:
        self._apply_channel()
        self._touch()

    def _touch(self) -> None:
        self.changes += 1

    # -- the campaign ---------------------------------------------------------------------

    def campaign_name(self) -> str:
        """The campaign's name as typed (stripped).

        :raises ValidationError: no name.
        """
        name = (self.name_input.value or "").strip()
        if not name:
            raise ValidationError(_("give the campaign a name"))
        return name

    def content(self) -> dict[str, Any]:
        """The ``content`` field, holding only what the chosen channel takes."""
        spec = self.spec
        return content_field(
            self.text.value,
            subject=self.subject.value if wants_subject(spec) else "",
            attachments=self.attachments.attachments() if takes_attachments(spec) else (),
            fallback_values=fallbacks({n: w.value for n, w in self.fallback_inputs.items()},
                                      allowed_placeholders(spec)))

    def _audience(self, spec: Any) -> dict[str, Any]:
        if addresses_targets(spec):
            targets = list(self.targets.value or [])
            if not targets:
                raise ValidationError(_("choose at least one target of channel {channel}",
                                        channel=str(spec.title or spec.name)))
            return {"targets": targets}
        if not self.segment.value:
            raise ValidationError(_("choose a segment (save one on the Segments page first)"))
        return {"segment": self.segment.value,
                "holdout_pct": int(self.holdout.value or 0),
                "sender": sender_field(self.sender.value, self.sender_staff.value)}

    def fields(self) -> dict[str, Any]:
        """The keyword arguments of ``ws.campaigns.create`` / ``update`` the form stands
        for (without the name).

        :raises ValidationError: no channel, no audience, no staff member for a fixed
            sender.
        """
        spec = self.spec
        if spec is None:
            raise ValidationError(_("choose a channel"))
        content = self.content()
        variants = None if addresses_targets(spec) else self.variants.variants(content)
        return {"channel": spec.name, "content": content, "variants": variants,
                **self._audience(spec)}

    def __panel__(self) -> pn.Column:
        return self.layout
