"""How campaign and delivery statuses read to people (console and CLI)."""

from __future__ import annotations

from siyu.core.i18n import translator

_ = translator("siyu.plugins.campaigns")

#: How campaign and delivery statuses read.
STATUS_TITLES = {
    "draft": _.lazy("Draft"), "scheduled": _.lazy("Scheduled"), "sending": _.lazy("Sending"),
    "paused": _.lazy("Paused"), "done": _.lazy("Done"), "cancelled": _.lazy("Cancelled"),
    "queued": _.lazy("Queued"), "pending": _.lazy("Awaiting staff confirmation"),
    "sent": _.lazy("Sent"), "failed": _.lazy("Failed"), "blocked": _.lazy("Blocked"),
    "skipped": _.lazy("Skipped"),
}


def status_title(status: str) -> str:
    """A status in the current language."""
    return str(STATUS_TITLES.get(status, status))
