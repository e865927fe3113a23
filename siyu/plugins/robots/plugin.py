"""The robots plugin: the ``robot`` channel (group robots of WeCom, Feishu, DingTalk), the
``webhook`` channel (a signed webhook for integrators) and the ``siyu robot`` CLI.

Registered as a built-in (``siyu.plugins.robots.plugin``), written exactly like a third-party
plugin. The sending modules are imported only when a batch is sent.
"""

from __future__ import annotations

from pathlib import Path

from siyu.core.i18n import translator
from siyu.core.plugins import hookimpl
from siyu.core.records import ModelSet
from siyu.plugins.robots.models import TABLES

_ = translator("siyu.plugins.robots")


@hookimpl
def register_models():
    """robot and robot_send (history ``robots``)."""
    return [ModelSet("robots", TABLES, Path(__file__).parent / "migrations")]


@hookimpl
def register_channels():
    """``robot``: one message per group robot (the campaign's targets), at most 2048 bytes
    of text and no attachments (WeCom's limits, the strictest); ``webhook``: one signed POST
    per contact."""
    from siyu.core.records import ChannelSpec

    return [
        ChannelSpec("robot", title=_.lazy("Group robot"), batch_size=20, text_limit=2048,
                    max_attachments=0, placeholders=(), recipients="targets",
                    targets="siyu.plugins.robots.store:targets"),
        ChannelSpec("webhook", title=_.lazy("Signed webhook"), batch_size=100,
                    placeholders=None),
    ]


@hookimpl
def send(ws, channel, batch):
    """Send a batch through ``robot`` or ``webhook``; ``None`` for other channels."""
    if channel == "robot":
        from siyu.plugins.robots.channel import send as send_robots

        return send_robots(ws, batch)
    if channel == "webhook":
        from siyu.plugins.robots.webhook import send as send_webhook

        return send_webhook(ws, batch)
    return None


@hookimpl
def register_commands():
    """``siyu robot``, named by import path (imported only when it runs)."""
    from siyu.core.records import CommandSpec

    module = "siyu.plugins.robots.commands"
    return [CommandSpec("robot", _.lazy("group robots and the signed webhook: add, list, "
                                        "remove and test robots, set up the webhook"),
                        f"{module}:configure", f"{module}:run")]
