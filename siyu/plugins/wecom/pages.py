"""Console pages of the WeCom plugin: settings with the doctor's checks, and sync (with the
org sync's section, :mod:`siyu.plugins.wecom.org_page`).

Secrets are write-only: the form never shows them, only whether they are set; leaving a
secret field empty keeps the stored value. Times are shown in the workspace timezone.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn
import sqlalchemy as sa

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    empty_state,
    fmt_int,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import notify_error, notify_errors, notify_success, section
from siyu.apps.safe import html, join, md
from siyu.core.errors import SiyuError
from siyu.core.i18n import current_language, translator, use_language
from siyu.plugins.wecom.config import load_config, public_config, save_config
from siyu.plugins.wecom.receiver import CALLBACK_PATH
from siyu.plugins.wecom.service import wecom
from siyu.plugins.wecom.status import (
    callback_counts,
    last_sync,
    show_time,
    stage_label,
    status_label,
    sync_summary,
)

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.wecom")

#: The settings shown as they are, with their labels.
PLAIN = (("corp_id", _.lazy("Corp ID (企业ID)")), ("agent_id", _.lazy("AgentId")),
         ("base_url", _.lazy("API base URL")), ("callback_url", _.lazy("Public callback URL")))
#: The write-only settings, with their labels.
SECRET = (("secret", _.lazy("App secret")), ("token", _.lazy("Callback token")),
          ("encoding_aes_key", _.lazy("EncodingAESKey")))

#: The columns of the connection table (one row per setting).
CONNECTION_COLUMNS = (Col("setting", _.lazy("Setting"), width=200),
                      Col("value", _.lazy("Value")))
#: The columns of the checks table.
CHECK_COLUMNS = (Col("step", _.lazy("Step"), width=190), Col("result", _.lazy("Result"),
                                                             width=90),
                 Col("detail", _.lazy("Detail")), Col("fix", _.lazy("How to fix")))
#: The columns of the callbacks table.
CALLBACK_COLUMNS = (Col("status", _.lazy("Status"), width=160),
                    Col("count", _.lazy("Callbacks"), "int", width=120))


def callback_hint(callback_url: str) -> str:
    """HTML saying where WeCom posts events: the recorded callback URL, or how to make
    one."""
    if callback_url:
        return html(_("<p>WeCom posts events to <b>{url}</b>. Enter the same address as the "
                      "app's API receive URL, with the same token and EncodingAESKey.</p>"),
                    url=callback_url)
    return html(_("<p>No callback URL is recorded. WeCom posts events to this server's public "
                  "address followed by <b>{path}</b>: enter that address below and as the "
                  "app's API receive URL, with the same token and EncodingAESKey.</p>"),
                path=CALLBACK_PATH)


def connection_frame(ws: Workspace) -> pd.DataFrame:
    """One row per WeCom setting: its label and what is stored (secrets only as set or not
    set; empty for nothing, which tables show as ``—``)."""
    config = load_config(ws)
    shown = public_config(ws)
    rows = [{"setting": str(label), "value": getattr(config, name)} for name, label in PLAIN]
    rows += [{"setting": str(label), "value": shown[name]} for name, label in SECRET]
    rows.append({"setting": _("Default welcome message"), "value": config.welcome_text})
    return pd.DataFrame(rows, columns=["setting", "value"])


def checks_frame(checks: list[Any]) -> pd.DataFrame:
    """The doctor's checks as table rows (in the current language)."""
    return pd.DataFrame([{"step": c.title, "result": c.result, "detail": c.detail,
                          "fix": c.fix} for c in checks],
                        columns=["step", "result", "detail", "fix"])


def _secret_label(label: Any, state: str) -> str:
    return _("{label} ({state})", label=str(label), state=state)


class WeComSettingsPage(pn.viewable.Viewer):
    """WeCom settings (permission ``settings.write``) and the doctor's step-by-step checks."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("settings.write")
        self.ws = ws
        config = load_config(ws)
        shown = public_config(ws)
        self.inputs = {name: pn.widgets.TextInput(label=str(label), value=getattr(config, name),
                                                  css_classes=[f"siyu-wecom-{name}"])
                       for name, label in PLAIN}
        self.secrets = {name: pn.widgets.PasswordInput(
            label=_secret_label(label, shown[name]), placeholder=_("leave empty to keep"),
            css_classes=[f"siyu-wecom-{name}"]) for name, label in SECRET}
        self.welcome = pn.widgets.TextAreaInput(label=_("Default welcome message"),
                                                value=config.welcome_text, height=90,
                                                css_classes=["siyu-wecom-welcome"])
        self.save = pn.widgets.Button(label=_("Save"), color="primary",
                                      css_classes=["siyu-wecom-save"])
        self.check = pn.widgets.Button(label=_("Run checks"), css_classes=["siyu-wecom-check"])
        self.hint = pn.pane.HTML(callback_hint(config.callback_url),
                                 css_classes=["siyu-wecom-callback-hint"],
                                 sizing_mode="stretch_width", margin=(0, 10))
        self.connection = data_table(CONNECTION_COLUMNS, css_class="siyu-wecom-connection")
        self.checks = data_table(CHECK_COLUMNS, css_class="siyu-wecom-checks")
        self.checks_empty = empty_state(
            _("No checks run yet"),
            _("Run the checks: each step of the set-up is tried in order (settings, access "
              "token, permission, callback crypto, callback URL, refused callbacks), with the "
              "fix for any that fails."), css_class="siyu-wecom-checks-empty")
        self.checks.visible = False
        self._show_connection()
        self.save.on_click(self._save)
        self.check.on_click(self._check_clicked)

    def _show_connection(self) -> None:
        self.connection.value = display_frame(connection_frame(self.ws), CONNECTION_COLUMNS,
                                              self.ws.timezone)
        self.hint.object = callback_hint(load_config(self.ws).callback_url)

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
            # value_input too: else what was typed stays in the browser after saving
            self.secrets[name].value = self.secrets[name].value_input = ""
            self.secrets[name].label = _secret_label(label, shown[name])
        self._show_connection()
        notify_success(_("WeCom settings saved"))

    def _run_checks(self, language: str) -> pd.DataFrame:
        """Run the doctor's checks in ``language``; the rows the table shows."""
        from siyu.plugins.wecom.doctor import run_checks

        with use_language(language):
            return display_frame(checks_frame(run_checks(self.ws)), CHECK_COLUMNS,
                                 self.ws.timezone)

    def _show_checks(self, frame: pd.DataFrame) -> None:
        self.checks.value = frame
        self.checks.visible = True
        self.checks_empty.visible = False

    @notify_errors
    def _check(self, _event: Any = None) -> None:
        """Run the checks here and show them (blocks the caller until they finish)."""
        self._show_checks(self._run_checks(current_language()))

    async def _check_clicked(self, _event: Any = None) -> None:
        """The button: the checks call this server's own callback URL, so they run off the
        event loop that must answer it."""
        language = current_language()
        self.check.disabled = True
        try:
            frame = await asyncio.get_running_loop().run_in_executor(
                None, self._run_checks, language)
        except SiyuError as exc:
            notify_error(str(exc))
            return
        finally:
            self.check.disabled = False
        self._show_checks(frame)

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("WeCom settings"),
                        _("Connect siyu to your WeCom app, then run the checks to see each "
                          "step of the set-up work.")),
            section(_("Connection"), self.hint, self.connection),
            section(_("Settings"), *self.inputs.values(), *self.secrets.values(), self.welcome,
                    self.save),
            section(_("Checks"), self.check, self.checks_empty, self.checks),
            css_classes=["siyu-wecom-settings"], sizing_mode="stretch_width")


def group_count(ws: Workspace) -> int:
    """Customer groups WeCom lists (dismissed ones left out)."""
    from siyu.plugins.wecom.models import WeComGroupChat

    table = WeComGroupChat.__table__
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)
                            .where(table.c.status != "dismissed")).scalar_one()


class WeComSyncPage(pn.viewable.Viewer):
    """Pull staff, tags, customers and groups from WeCom, with progress
    (permission ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.write")
        self.ws = ws
        self.button = pn.widgets.Button(label=_("Sync now"), color="primary",
                                        css_classes=["siyu-wecom-sync"])
        self.restart = pn.widgets.Checkbox(label=_("Start over (ignore an interrupted sync)"),
                                           css_classes=["siyu-wecom-sync-restart"])
        self.bar = pn.indicators.Progress(value=0, max=100, visible=False,
                                          sizing_mode="stretch_width")
        self.stage = pn.pane.Markdown("", css_classes=["siyu-wecom-sync-stage"])
        self.kpis = pn.Column(sizing_mode="stretch_width")
        self.status = pn.pane.HTML(self._status(), css_classes=["siyu-wecom-status"],
                                   sizing_mode="stretch_width")
        self.callbacks = data_table(CALLBACK_COLUMNS, css_class="siyu-wecom-callbacks")
        self._state: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._poll = None
        self._show_figures()
        self.button.on_click(self._start)
        from siyu.plugins.wecom.org_page import OrgSyncSection

        self.org = OrgSyncSection(ws)

    def _status(self) -> str:
        """The last sync: when (workspace timezone) and what it did."""
        at, summary = last_sync(self.ws)
        if at is None:
            return html("<p>{text}</p>", text=_("No sync has run yet."))
        lines = [html("<p>{text}</p>", text=_("Last sync: {at}",
                                                 at=show_time(at, self.ws.timezone)))]
        if summary:
            lines.append(html("<p>{text}</p>", text=sync_summary(summary)))
        return join("", lines)

    def _show_figures(self) -> None:
        """Headline figures, the callbacks table and the last-sync lines, read now."""
        from siyu.plugins.wecom.sync import contact_count

        counts = callback_counts(self.ws)
        self.kpis.objects = [kpi_cards(
            [(_("WeCom customers"), fmt_int(contact_count(self.ws))),
             (_("Customer groups"), fmt_int(group_count(self.ws))),
             (_("Callbacks pending"), fmt_int(counts["pending"])),
             (_("Callbacks failed"), fmt_int(counts["failed"]))],
            css_class="siyu-wecom-kpis")]
        self.callbacks.value = display_frame(
            pd.DataFrame([{"status": status_label(k), "count": v} for k, v in counts.items()],
                         columns=["status", "count"]), CALLBACK_COLUMNS, self.ws.timezone)
        self.status.object = self._status()

    def _start(self, _event: Any = None) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        from siyu.plugins.wecom.sync import sync

        self._state = {"stage": "starting", "done": 0, "total": 1}
        self.button.disabled = True
        self.bar.visible = True
        language = current_language()

        def progress(stage: str, done: int, total: int) -> None:
            self._state.update(stage=stage, done=done, total=max(total, 1))

        def work() -> None:
            with use_language(language):
                try:
                    self._state["result"] = sync_summary(
                        sync(self.ws, progress=progress, restart=self.restart.value))
                except Exception as exc:  # shown to the operator; the sync resumes next time
                    self._state["error"] = str(exc)

        self._thread = threading.Thread(target=work, name="siyu-wecom-sync", daemon=True)
        self._thread.start()
        self._poll = pn.state.add_periodic_callback(self._refresh, period=300)

    def _refresh(self) -> None:
        state = self._state
        self.bar.value = int(100 * state.get("done", 0) / state.get("total", 1))
        self.stage.object = md(_("Syncing **{stage}** …"),
                               stage=stage_label(state.get("stage", "")))
        if self._thread is not None and not self._thread.is_alive():
            if self._poll is not None:
                self._poll.stop()
            self.button.disabled = False
            self.bar.visible = False
            if "error" in state:
                self.stage.object = md(_("Sync stopped: {error}"), error=state["error"])
                notify_error(state["error"])
            else:
                self.stage.object = md("{result}", result=state.get("result", ""))
                notify_success(_("WeCom sync finished"))
            self._show_figures()

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("WeCom sync"),
                        _("Pull staff, tags, customers and customer groups from WeCom. A sync "
                          "also runs every hour by itself; callbacks bring changes in "
                          "between.")),
            self.kpis, self.status, self.restart, self.button, self.bar, self.stage,
            section(_("Callbacks"), self.callbacks), self.org,
            css_classes=["siyu-wecom-sync-page"], sizing_mode="stretch_width")
