"""When a campaign goes out: "send now" or "schedule" with a day and a time in the workspace
timezone (:class:`WhenPicker`), and the campaigns waiting for their time, each with its
time and a cancel button (:class:`ScheduledList`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import panel as pn

from siyu.apps.kit import fmt_time, follow
from siyu.apps.safe import html
from siyu.core.i18n import translator
from siyu.plugins.campaigns.composer_fields import send_time

_ = translator("siyu.plugins.campaigns")

#: The time of day a new schedule starts at.
DEFAULT_TIME = "10:00"
ROW_CSS = """
.siyu-scheduled{margin:0;font-size:14px;overflow-wrap:anywhere}
.siyu-scheduled-at{color:#5f6b7a;margin-left:8px;white-space:nowrap}
"""


class WhenPicker(pn.viewable.Viewer):
    """Send now, or schedule: a day and a time read in the workspace timezone ``tz``.

    :param now: the current time (default: the clock), for the default day (tomorrow).
    """

    def __init__(self, tz: ZoneInfo, *, now: datetime | None = None, **params: Any):
        super().__init__(**params)
        self.tz = tz
        today = (now or datetime.now(tz)).astimezone(tz).date()
        self.mode = pn.widgets.RadioButtonGroup(
            options={_("Send now"): "now", _("Schedule"): "schedule"}, value="now",
            color="primary", variant="outline",
            css_classes=["siyu-campaign-when"], margin=(10, 10))
        self.day = pn.widgets.DatePicker(label=_("Day"), value=today + timedelta(days=1),
                                         start=today, width=160,
                                         css_classes=["siyu-campaign-day"])
        self.at = pn.widgets.TimePicker(label=_("Time"), value=DEFAULT_TIME, format="H:i",
                                        width=120, css_classes=["siyu-campaign-time"])
        self.zone = pn.pane.HTML(html('<span class="siyu-campaign-zone">{text}</span>',
                                      text=_("workspace time ({tz})", tz=str(tz))),
                                 margin=(34, 10, 10, 10))
        follow(self.mode, {"schedule": [self.day, self.at, self.zone]})
        self.layout = pn.FlexBox(self.mode, self.day, self.at, self.zone, flex_wrap="wrap",
                                 align_items="start", sizing_mode="stretch_width")

    @property
    def scheduled(self) -> bool:
        """Whether the campaign is to be scheduled rather than sent now."""
        return self.mode.value == "schedule"

    def moment(self) -> datetime | None:
        """The chosen send time (aware, in the workspace timezone), ``None`` for now.

        :raises ValidationError: no day or no valid time chosen.
        """
        if not self.scheduled:
            return None
        return send_time(self.day.value, self.at.value, self.tz)

    def __panel__(self) -> pn.FlexBox:
        return self.layout


class ScheduledList(pn.viewable.Viewer):
    """The scheduled campaigns, soonest first: name, time in the workspace timezone, and
    a cancel button for roles that may cancel.

    :param on_cancel: ``on_cancel(name)``, called when a cancel button is clicked.
    """

    def __init__(self, tz: ZoneInfo, *, can_cancel: bool,
                 on_cancel: Callable[[str], None], **params: Any):
        super().__init__(**params)
        self.tz = tz
        self.can_cancel = can_cancel
        self.on_cancel = on_cancel
        self.title = pn.pane.HTML(html("<strong>{text}</strong>",
                                       text=_("Scheduled to send")), margin=(0, 10))
        self.rows = pn.Column(sizing_mode="stretch_width", margin=0)
        self.layout = pn.Column(self.title, self.rows, visible=False,
                                sizing_mode="stretch_width",
                                css_classes=["siyu-campaign-scheduled"])

    def show(self, campaigns: pd.DataFrame) -> None:
        """Show the ``scheduled`` rows of ``ws.campaigns.list()``; hidden when none."""
        due = campaigns[campaigns["status"] == "scheduled"].sort_values("scheduled_at")
        self.rows.objects = [self._row(name, at)
                             for name, at in zip(due["name"], due["scheduled_at"],
                                                 strict=True)]
        self.layout.visible = not due.empty

    def _row(self, name: str, at: Any) -> pn.FlexBox:
        text = pn.pane.HTML(html('<p class="siyu-scheduled">{name}<span '
                                 'class="siyu-scheduled-at">{at}</span></p>', name=name,
                                 at=fmt_time(at, self.tz)),
                            stylesheets=[ROW_CSS], sizing_mode="stretch_width",
                            styles={"flex": "1 1 200px", "min-width": "0"})
        objects: list[Any] = [text]
        if self.can_cancel:
            cancel = pn.widgets.Button(label=_("Cancel"), color="warning", width=80,
                                       css_classes=["siyu-campaign-scheduled-cancel"])
            cancel.on_click(lambda _e: self.on_cancel(name))
            objects.append(cancel)
        return pn.FlexBox(*objects, flex_wrap="nowrap", align_items="center",
                          sizing_mode="stretch_width",
                          css_classes=["siyu-campaign-scheduled-row"])

    def __panel__(self) -> pn.Column:
        return self.layout
