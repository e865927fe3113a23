"""The org sync section of the WeCom sync page: its settings and a button to run it.

Anyone who may open the sync page (``data.write``) may run the org sync; only administrators
(``settings.write``) may change its settings: for everyone else the fields are read-only and
there is no save button. The sync calls WeCom, so it runs off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame
from siyu.apps.pages.common import notify_error, notify_errors, notify_success, section
from siyu.apps.safe import html
from siyu.core.errors import SiyuError
from siyu.core.i18n import current_language, translator, use_language
from siyu.plugins.wecom.org_sync import (
    MAX_LEVEL,
    OrgSyncReport,
    last_org_sync,
    load_org_settings,
    parse_skip,
    save_org_settings,
    summary_line,
    sync_org,
)
from siyu.plugins.wecom.status import show_time

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.wecom")

#: The columns of the problems table.
PROBLEM_COLUMNS = (Col("what", _.lazy("Department or member"), width=190),
                   Col("problem", _.lazy("Problem")))


def problems_frame(report: OrgSyncReport) -> pd.DataFrame:
    """One row per problem of a run (in the current language)."""
    rows = [{"what": (_("department {id}", id=p.id) if p.kind == "department"
                      else _("member {id}", id=p.id)), "problem": p.message}
            for p in report.problems]
    return pd.DataFrame(rows, columns=["what", "problem"])


class OrgSyncSection(pn.viewable.Viewer):
    """Org sync settings (administrators change them) and the button that runs it."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.admin = ws.principal.can("settings.write")
        settings = load_org_settings(ws)
        self.store_level = pn.widgets.IntInput(
            label=_("Store level (your corp is level 1)"), value=settings.store_level, start=1,
            end=MAX_LEVEL, disabled=not self.admin, css_classes=["siyu-org-store-level"])
        self.region_level = pn.widgets.IntInput(
            label=_("Region level (0: no regions)"), value=settings.region_level, start=0,
            end=MAX_LEVEL - 1, disabled=not self.admin, css_classes=["siyu-org-region-level"])
        self.skip = pn.widgets.TextInput(
            label=_("Departments to skip (ids, e.g. 12, 15)"),
            value=", ".join(str(d) for d in settings.skip), disabled=not self.admin,
            css_classes=["siyu-org-skip"])
        self.departed = pn.widgets.Checkbox(
            label=_("Mark staff WeCom no longer lists as resigned"),
            value=settings.mark_departed, disabled=not self.admin,
            css_classes=["siyu-org-departed"])
        self.save = pn.widgets.Button(label=_("Save org sync settings"),
                                      css_classes=["siyu-org-save"], visible=self.admin)
        self.note = pn.pane.HTML(
            "" if self.admin else html("<p>{text}</p>", text=_(
                "Only administrators change these settings.")),
            css_classes=["siyu-org-note"], sizing_mode="stretch_width")
        self.run = pn.widgets.Button(label=_("Run org sync"), color="primary",
                                     css_classes=["siyu-org-run"])
        self.status = pn.pane.HTML(self._status(), css_classes=["siyu-org-status"],
                                   sizing_mode="stretch_width")
        self.problems = data_table(PROBLEM_COLUMNS, css_class="siyu-org-problems")
        self.problems.visible = False
        self.save.on_click(self._save)
        self.run.on_click(self._run_clicked)

    def _status(self) -> str:
        at, counts = last_org_sync(self.ws)
        if at is None:
            return html("<p>{text}</p>", text=_("No org sync has run yet."))
        return html("<p>{when}</p><p>{what}</p>",
                    when=_("Last org sync: {at}", at=show_time(at, self.ws.timezone)),
                    what=summary_line(counts))

    @notify_errors
    def _save(self, _event: Any = None) -> None:
        save_org_settings(self.ws, store_level=self.store_level.value,
                          region_level=self.region_level.value,
                          skip=parse_skip(self.skip.value),
                          mark_departed=self.departed.value)
        notify_success(_("Org sync settings saved"))

    def _sync(self, language: str) -> OrgSyncReport:
        with use_language(language):
            return sync_org(self.ws)

    async def _run_clicked(self, _event: Any = None) -> None:
        """The button: the sync calls WeCom, so it runs off the event loop."""
        language = current_language()
        self.run.disabled = True
        try:
            report = await asyncio.get_running_loop().run_in_executor(
                None, self._sync, language)
        except SiyuError as exc:
            notify_error(str(exc))
            return
        finally:
            self.run.disabled = False
        self.show(report)
        notify_success(report.summary())

    def show(self, report: OrgSyncReport) -> None:
        """Show a run's outcome: the last-run lines and its problems."""
        self.status.object = self._status()
        self.problems.value = display_frame(problems_frame(report), PROBLEM_COLUMNS,
                                            self.ws.timezone)
        self.problems.visible = bool(report.problems)

    def __panel__(self) -> pn.Column:
        return section(
            _("Org sync"),
            pn.pane.HTML(html("<p>{text}</p>", text=_(
                "WeCom departments at the store level become stores, their names at the "
                "region level the stores' regions, and members staff of their store. Runs "
                "daily by itself.")), sizing_mode="stretch_width"),
            self.store_level, self.region_level, self.skip, self.departed, self.note,
            self.save, self.run, self.status, self.problems)
