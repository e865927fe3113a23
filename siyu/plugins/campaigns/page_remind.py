"""The Campaigns page's "remind staff to send" button.

A WeCom mass message (channels ``wecom`` and ``wecom_group``) goes out only once its sender
confirms it; until then its deliveries wait as ``pending``. The button asks WeCom to remind
those senders (:func:`siyu.plugins.wecom.remind.remind_unconfirmed`, also ``siyu campaign
remind``) and says in the notification area what happened: how many reminders went to staff,
how many tasks were already confirmed, how many were left alone because WeCom allows only
three reminders per task in 24 hours, and how many WeCom refused.

It is on the page only for roles with ``campaigns.send``, and shown only while the chosen
campaign is on a WeCom mass-message channel and has deliveries awaiting confirmation; the
function checks the permission again. The WeCom plugin is imported only when needed: without
it the button never shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import panel as pn

from siyu.apps.kit import fmt_int
from siyu.apps.pages.common import (
    notify_error,
    notify_errors,
    notify_info,
    notify_success,
    notify_warning,
)
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.storage.models import Campaign

log = logging.getLogger("siyu.console")
_ = translator("siyu.plugins.campaigns")

#: A click that reaches the server this soon after a reminder finished is the rest of a
#: double click (the server handles a session's events one after another), not a new one:
#: it is ignored, so that it does not use up one of WeCom's three reminders a day.
DOUBLE_CLICK_SECONDS = 1.0


def _remind_module() -> Any:
    """:mod:`siyu.plugins.wecom.remind`, or ``None`` when the WeCom plugin cannot load."""
    try:
        from siyu.plugins.wecom import remind
    except ImportError as exc:
        log.info("no reminders on the Campaigns page: %s", exc)
        return None
    return remind


def outcome_messages(name: str, counts: Mapping[str, int], limit: int = 3
                     ) -> list[tuple[str, str]]:
    """What the page says after reminding the staff of campaign ``name``: ``(kind, text)``
    pairs, ``kind`` being ``success``, ``info``, ``warning`` or ``error``.

    :param counts: what :func:`remind_unconfirmed` returned.
    :param limit: reminders WeCom accepts per task within 24 hours.
    """
    reminded = counts.get("reminded", 0)
    confirmed = counts.get("already_confirmed", 0)
    too_many = counts.get("limit_reached", 0)
    failed = counts.get("failed", 0)
    out: list[tuple[str, str]] = []
    if reminded and confirmed:
        out.append(("success", _.ngettext(
            "reminded staff to send {name}: {count} reminder sent, {confirmed} already confirmed",
            "reminded staff to send {name}: {count} reminders sent, {confirmed} already confirmed",
            reminded, name=name, count=fmt_int(reminded), confirmed=fmt_int(confirmed))))
    elif reminded:
        out.append(("success", _.ngettext(
            "reminded staff to send {name}: {count} reminder sent",
            "reminded staff to send {name}: {count} reminders sent",
            reminded, name=name, count=fmt_int(reminded))))
    elif confirmed and not (too_many or failed):
        out.append(("info", _(
            "nothing to remind: staff have confirmed every mass message of {name}; the "
            "results show once WeCom reports them", name=name)))
    elif not (too_many or failed):
        out.append(("info", _("{name} has no mass message waiting for staff to confirm it",
                              name=name)))
    if too_many:
        out.append(("warning", _.ngettext(
            "{count} mass message of {name} was not reminded: WeCom allows at most {limit} "
            "reminders per message in 24 hours; try again later",
            "{count} mass messages of {name} were not reminded: WeCom allows at most {limit} "
            "reminders per message in 24 hours; try again later",
            too_many, count=fmt_int(too_many), name=name, limit=limit)))
    if failed:
        out.append(("error", _.ngettext(
            "WeCom refused to remind the staff of {count} mass message of {name}; the server "
            "log says why",
            "WeCom refused to remind the staff of {count} mass messages of {name}; the server "
            "log says why",
            failed, count=fmt_int(failed), name=name)))
    return out


_NOTIFY = {"success": notify_success, "info": notify_info, "warning": notify_warning,
           "error": notify_error}


class RemindButton:
    """The button, and what it does for the chosen campaign.

    :param ws: the page's workspace (its principal is the signed-in user).
    :param can_send: whether that user may send campaigns; without it the button never
        shows.
    """

    def __init__(self, ws: Workspace, *, can_send: bool):
        self.ws = ws
        self.module = _remind_module() if can_send else None
        self.campaign: str | None = None
        self.button = pn.widgets.Button(
            label=_("Remind staff to send"), color="primary",
            visible=False, disabled=self.module is None,
            css_classes=["siyu-campaign-remind"], margin=(24, 10, 10, 10))
        self._done_at = float("-inf")
        self.button.on_click(lambda _e: self._clicked())

    def remindable(self, campaign: Campaign | None, counts: Mapping[str, int]) -> bool:
        """Whether the button is for ``campaign``: a WeCom mass-message channel this
        workspace has, and deliveries still awaiting their sender's confirmation."""
        return (self.module is not None and campaign is not None
                and campaign.channel in self.module.REMINDABLE
                and campaign.channel in self.ws.channels
                and counts.get("pending", 0) > 0)

    def show(self, campaign: Campaign | None, counts: Mapping[str, int]) -> None:
        """Follow the chosen campaign (``None``: none chosen) and its delivery counts."""
        self.campaign = campaign.name if campaign is not None else None
        self.button.visible = self.remindable(campaign, counts)

    def _clicked(self) -> None:
        if time.monotonic() - self._done_at < DOUBLE_CLICK_SECONDS:
            return
        try:
            self.remind()
        finally:
            self._done_at = time.monotonic()

    @notify_errors
    def remind(self) -> dict[str, int] | None:
        """Remind the senders of the chosen campaign's unconfirmed mass messages and say how
        it went; the counts of :func:`remind_unconfirmed` (``None`` after an error, which
        is shown instead)."""
        if self.module is None or not self.campaign:
            raise ValidationError(_("choose a campaign"))
        name = self.campaign
        counts = self.module.remind_unconfirmed(self.ws, name)
        for kind, message in outcome_messages(name, counts, self.module.LIMIT):
            _NOTIFY[kind](message)
        return counts
