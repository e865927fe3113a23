"""``siyu demo`` with WeCom: the built-in sandbox wired to the demo console.

:func:`wire_sandbox` starts a sandbox WeCom on loopback whose members include every staff
member of the sample business (:func:`siyu.samples.sample_staff`, same userids and names, in
one department per store), so any guide the console offers — in the live-code member picker,
say — exists in WeCom too. It configures the workspace for the sandbox, imports its staff,
customers, tags and groups (``sync``), and makes one live code (when the live-code plugin is
loaded) whose QR a visitor can "scan". :meth:`DemoSandbox.connect` points the sandbox's
callbacks at the console once the console's port is known and records that callback URL in
the workspace's WeCom settings (what the settings page shows and ``siyu doctor`` checks), so
a scan travels the whole loop: callback → contact with owner and channel tag → welcome
message. Opened in a browser, the scan link answers with a page saying what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from siyu.core.i18n import translator
from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.receiver import CALLBACK_PATH
from siyu.plugins.wecom.sandbox.server import Sandbox
from siyu.plugins.wecom.service import wecom
from siyu.plugins.wecom.status import sync_summary
from siyu.plugins.wecom.sync import SyncReport, sync

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.wecom")

DEMO_WELCOME = "您好，欢迎来到 siyu 演示店！有任何问题随时找我~"
DEMO_CODE = {"name": "演示海报", "channel": "演示海报", "tags": ["渠道/演示海报"],
             "welcome": {"text": "{nickname}您好，我是{staff}，欢迎来到 siyu 演示店！"}}


def add_sample_staff(sandbox: Sandbox) -> list[str]:
    """Make every staff member of the sample business a member of ``sandbox``'s corp:
    same userid and name, activated, with customer contact, in a department named after
    their store, below one named after its region. Returns their userids."""
    from siyu.samples import sample_staff

    added = []
    world = sandbox.world
    with world.lock:
        for row in sample_staff():
            store: int | None = None
            if row["store_name"]:  # brand (the root) → region → store, as chains set it up
                region = world.department(row["region"], 1) if row["region"] else 1
                store = world.department(row["store_name"], region)
            world.add_staff(row["userid"], row["name"], department=store)
            added.append(row["userid"])
    return added


def name_synced_staff(ws: Workspace, sandbox: Sandbox) -> int:
    """Give the staff a sync brought in the names the sandbox knows them by.

    A sync learns members by userid only (WeCom no longer tells apps their names), so it
    names new staff after their userid; the demo knows the real names and uses them, so the
    console and the welcome messages say 李四, not lisi. Returns how many were named.
    """
    with sandbox.world.lock:
        names = {u: s.name for u, s in sandbox.world.staff.items()}
    named = 0
    for staff in ws.staff.list():
        name = names.get(staff.userid)
        if name and staff.name == staff.userid and name != staff.name:
            ws.staff.upsert(staff.userid, name, status=staff.status)
            named += 1
    return named


def wire_callbacks(ws: Workspace, sandbox: Sandbox, console_url: str) -> str:
    """Send ``sandbox``'s callbacks to the console at ``console_url`` (``http://host:port``)
    and record that callback URL in ``ws``'s WeCom settings, where the settings page shows
    it and ``siyu doctor`` checks it. Returns the callback URL."""
    console_url = console_url.rstrip("/")
    url = f"{console_url}{CALLBACK_PATH}"
    sandbox.set_callback_url(url)
    sandbox.console_url = console_url
    save_config(ws, callback_url=url)
    wecom(ws).reload()
    return url


@dataclass
class DemoSandbox:
    """The running sandbox, what the sync imported, and the demo live code (or ``None``)."""

    sandbox: Sandbox
    report: SyncReport
    code: dict[str, Any] | None
    ws: Workspace | None = None

    def connect(self, console_port: int) -> list[str]:
        """Send the sandbox's callbacks to the console on ``console_port`` (and record the
        callback URL in the workspace's WeCom settings); returns the lines to print for
        people trying the demo."""
        console = f"http://127.0.0.1:{console_port}"
        if self.ws is not None:
            url = wire_callbacks(self.ws, self.sandbox, console)
        else:
            url = f"{console}{CALLBACK_PATH}"
            self.sandbox.set_callback_url(url)
            self.sandbox.console_url = console
        base = self.sandbox.base_url
        lines = [_("WeCom: the built-in sandbox at {base} (corp {corp}), posting its callbacks "
                   "to {url}; {summary}", base=base, corp=self.sandbox.corp_id, url=url,
                   summary=sync_summary(self.report))]
        if self.code is not None:
            link = f"{base}/sandbox/scan?config_id={self.code['config_id']}"
            lines.append(_("Try a scan of live code “{name}” (a new customer arrives, gets an "
                           "owner, the channel tag and a welcome): open {link}",
                           name=self.code["name"], link=link))
        return lines

    def stop(self) -> None:
        """Stop the sandbox."""
        self.sandbox.stop()


def wire_sandbox(ws: Workspace, *, seed: int = 0) -> DemoSandbox:
    """Start a sandbox that knows the sample business's staff, configure ``ws`` for it, sync
    it and make the demo live code.

    :raises SiyuError: the sync or the live code failed (the sandbox is stopped again).
    """
    sandbox = Sandbox(seed=seed, language=ws.language)
    try:
        with sandbox.world.lock:  # the seed's members serve the demo code, as they always did
            ready = sorted(u for u, s in sandbox.world.staff.items()
                           if s.activated and s.contact_permission and not s.resigned
                           and not s.console_welcome)
        add_sample_staff(sandbox)
        # callback_url stays empty until connect(): nothing receives callbacks before then.
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url,
                    agent_id=str(sandbox.world.corp.agent_id), welcome_text=DEMO_WELCOME,
                    callback_url="")
        wecom(ws).reload()
        report = sync(ws)
        name_synced_staff(ws, sandbox)
        code = None
        if ws.pm.get_plugin("livecodes") is not None and len(ready) >= 2:
            from siyu.plugins.livecodes.api import create_code

            code = create_code(ws, DEMO_CODE["name"], ready[:2], backup=ready[2:3],
                               channel=DEMO_CODE["channel"], tags=DEMO_CODE["tags"],
                               welcome=DEMO_CODE["welcome"])
    except BaseException:
        sandbox.stop()
        raise
    return DemoSandbox(sandbox, report, code, ws)
