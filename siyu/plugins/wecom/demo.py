"""``siyu demo`` with WeCom: the built-in sandbox wired to the demo console.

:func:`wire_sandbox` starts a sandbox WeCom on loopback, configures the workspace for it,
imports its staff, customers, tags and groups (``sync``), and makes one live code (when the
live-code plugin is loaded) whose QR a visitor can "scan". :meth:`DemoSandbox.connect` points
the sandbox's callbacks at the console once the console's port is known, so a scan travels
the whole loop: callback → contact with owner and channel tag → welcome message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.sandbox.server import Sandbox
from siyu.plugins.wecom.service import wecom
from siyu.plugins.wecom.sync import SyncReport, sync

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

DEMO_WELCOME = "您好，欢迎来到 siyu 演示店！有任何问题随时找我~"
DEMO_CODE = {"name": "演示海报", "channel": "演示海报", "tags": ["渠道/演示海报"],
             "welcome": {"text": "{nickname}您好，我是{staff}，欢迎来到 siyu 演示店！"}}


@dataclass
class DemoSandbox:
    """The running sandbox, what the sync imported, and the demo live code (or ``None``)."""

    sandbox: Sandbox
    report: SyncReport
    code: dict[str, Any] | None

    def connect(self, console_port: int) -> list[str]:
        """Send the sandbox's callbacks to the console on ``console_port``; returns the
        lines to print for people trying the demo."""
        self.sandbox.set_callback_url(f"http://127.0.0.1:{console_port}/wecom/callback")
        base = self.sandbox.base_url
        lines = [f"WeCom: the built-in sandbox at {base} (corp {self.sandbox.corp_id}), "
                 f"posting its callbacks to this console; {self.report.summary()}"]
        if self.code is not None:
            lines.append(f"Try a scan of live code {self.code['name']!r} (a new customer "
                         f"arrives, gets an owner, the channel tag and a welcome): open "
                         f"{base}/sandbox/scan?config_id={self.code['config_id']}")
        return lines

    def stop(self) -> None:
        """Stop the sandbox."""
        self.sandbox.stop()


def wire_sandbox(ws: Workspace, *, seed: int = 0) -> DemoSandbox:
    """Start a sandbox, configure ``ws`` for it, sync it and make the demo live code.

    :raises SiyuError: the sync or the live code failed (the sandbox is stopped again).
    """
    sandbox = Sandbox(seed=seed)
    try:
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url,
                    agent_id=str(sandbox.world.corp.agent_id), welcome_text=DEMO_WELCOME)
        wecom(ws).reload()
        report = sync(ws)
        code = None
        if ws.pm.get_plugin("livecodes") is not None:
            from siyu.plugins.livecodes.api import create_code

            with sandbox.world.lock:
                ready = sorted(u for u, s in sandbox.world.staff.items()
                               if s.activated and s.contact_permission and not s.resigned
                               and not s.console_welcome)
            if len(ready) >= 2:
                code = create_code(ws, DEMO_CODE["name"], ready[:2], backup=ready[2:3],
                                   channel=DEMO_CODE["channel"], tags=DEMO_CODE["tags"],
                                   welcome=DEMO_CODE["welcome"])
    except BaseException:
        sandbox.stop()
        raise
    return DemoSandbox(sandbox, report, code)
