"""Console pages of the WeCom plugin: settings with the doctor's checks, and sync.

Secrets are write-only: the form never shows them, only whether they are set; leaving a
secret field empty keeps the stored value.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.pages.common import notify_errors, notify_success, section, table
from siyu.apps.safe import join, md
from siyu.plugins.wecom.config import load_config, public_config, save_config
from siyu.plugins.wecom.receiver import CALLBACK_PATH
from siyu.plugins.wecom.service import wecom
from siyu.plugins.wecom.status import callback_counts

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

PLAIN = (("corp_id", "Corp ID (企业ID)"), ("agent_id", "AgentId"),
         ("base_url", "API base URL"), ("callback_url", "Public callback URL"))
SECRET = (("secret", "App secret"), ("token", "Callback token"),
          ("encoding_aes_key", "EncodingAESKey"))
#: Where WeCom must post events (a code constant, so it may be Markdown as it stands).
CALLBACK_HINT = (f"WeCom posts events to **`<this server>{CALLBACK_PATH}`**. Enter that public "
                 f"address as the app's API receive URL, with the same token and "
                 f"EncodingAESKey.")


class WeComSettingsPage(pn.viewable.Viewer):
    """WeCom settings (permission ``settings.write``) and the doctor's step-by-step checks."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("settings.write")
        self.ws = ws
        config = load_config(ws)
        shown = public_config(ws)
        self.inputs = {name: pn.widgets.TextInput(label=label, value=getattr(config, name),
                                                  css_classes=[f"siyu-wecom-{name}"])
                       for name, label in PLAIN}
        self.secrets = {name: pn.widgets.PasswordInput(
            label=f"{label} ({shown[name]})", placeholder="leave empty to keep",
            css_classes=[f"siyu-wecom-{name}"]) for name, label in SECRET}
        self.welcome = pn.widgets.TextAreaInput(label="Default welcome message",
                                                value=config.welcome_text, height=90)
        self.save = pn.widgets.Button(label="Save", color="primary",
                                      css_classes=["siyu-wecom-save"])
        self.check = pn.widgets.Button(label="Run checks", css_classes=["siyu-wecom-check"])
        self.checks = table(pd.DataFrame(columns=["step", "result", "detail", "fix"]),
                            css_class="siyu-wecom-checks")
        self.save.on_click(self._save)
        self.check.on_click(self._check)

    @notify_errors
    def _save(self, _event: Any = None) -> None:
        values = {name: widget.value for name, widget in self.inputs.items()}
        values.update({name: widget.value for name, widget in self.secrets.items()
                       if widget.value})
        values["welcome_text"] = self.welcome.value
        save_config(self.ws, **values)
        wecom(self.ws).reload()
        shown = public_config(self.ws)
        for name, label in SECRET:
            self.secrets[name].value = ""
            self.secrets[name].label = f"{label} ({shown[name]})"
        notify_success("WeCom settings saved")

    @notify_errors
    def _check(self, _event: Any = None) -> None:
        from siyu.plugins.wecom.doctor import run_checks

        results = run_checks(self.ws)
        self.checks.value = pd.DataFrame(
            [{"step": c.step, "result": {True: "ok", False: "FAIL", None: "skipped"}[c.ok],
              "detail": c.detail, "fix": c.fix} for c in results])

    def __panel__(self) -> pn.Column:
        hint = pn.pane.Markdown(CALLBACK_HINT)
        return pn.Column(
            pn.pane.Markdown("## WeCom"), hint,
            section("Settings", *self.inputs.values(), *self.secrets.values(), self.welcome,
                    self.save),
            section("Checks", self.check, self.checks),
            css_classes=["siyu-wecom-settings"], sizing_mode="stretch_width")


class WeComSyncPage(pn.viewable.Viewer):
    """Pull staff, tags, customers and groups from WeCom, with progress
    (permission ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.write")
        self.ws = ws
        self.button = pn.widgets.Button(label="Sync now", color="primary",
                                        css_classes=["siyu-wecom-sync"])
        self.restart = pn.widgets.Checkbox(label="Start over (ignore an interrupted sync)")
        self.bar = pn.indicators.Progress(value=0, max=100, visible=False,
                                          sizing_mode="stretch_width")
        self.stage = pn.pane.Markdown("", css_classes=["siyu-wecom-sync-stage"])
        self.status = pn.pane.Markdown(self._status(), css_classes=["siyu-wecom-status"])
        self._state: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._poll = None
        self.button.on_click(self._start)

    def _status(self) -> str:
        counts = callback_counts(self.ws)
        last = self.ws.settings.get("wecom.sync.last") or {}
        return md("**Callbacks:** {counts}  \n**Last sync:** {at} {summary}",
                  counts=join(", ", (md("{k} {v}", k=k, v=v) for k, v in counts.items())),
                  at=last.get("at", "never"), summary=last.get("summary", ""))

    def _start(self, _event: Any = None) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        from siyu.plugins.wecom.sync import sync

        self._state = {"stage": "starting", "done": 0, "total": 1}
        self.button.disabled = True
        self.bar.visible = True

        def progress(stage: str, done: int, total: int) -> None:
            self._state.update(stage=stage, done=done, total=max(total, 1))

        def work() -> None:
            try:
                self._state["result"] = sync(self.ws, progress=progress,
                                             restart=self.restart.value).summary()
            except Exception as exc:  # shown to the operator; the sync resumes next time
                self._state["error"] = str(exc)

        self._thread = threading.Thread(target=work, name="siyu-wecom-sync", daemon=True)
        self._thread.start()
        self._poll = pn.state.add_periodic_callback(self._refresh, period=300)

    def _refresh(self) -> None:
        state = self._state
        self.bar.value = int(100 * state.get("done", 0) / state.get("total", 1))
        self.stage.object = md("Syncing **{stage}** …", stage=state.get("stage", ""))
        if self._thread is not None and not self._thread.is_alive():
            if self._poll is not None:
                self._poll.stop()
            self.button.disabled = False
            self.bar.visible = False
            if "error" in state:
                self.stage.object = md("Sync stopped: {error}", error=state["error"])
                from siyu.apps.pages.common import notify_error
                notify_error(state["error"])
            else:
                self.stage.object = md("{result}", result=state.get("result", ""))
                notify_success("WeCom sync finished")
            self.status.object = self._status()

    def __panel__(self) -> pn.Column:
        return pn.Column(pn.pane.Markdown("## WeCom sync"), self.status, self.restart,
                         self.button, self.bar, self.stage,
                         css_classes=["siyu-wecom-sync-page"], sizing_mode="stretch_width")
