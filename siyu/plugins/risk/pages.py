"""The Risk center console page: one tab per job — the rules and their settings, the word
lists, a text tester, what was blocked or held, the do-not-contact list, and a daily summary.

Opening it needs ``data.read``; changing words and the do-not-contact list ``data.write``;
changing quiet hours and the staff daily cap ``settings.write`` (the controls are disabled
without them, and the notebook doors check again). Every data-derived string reaches the
page through the kit or :func:`~siyu.apps.safe.html`, escaped. Each browser session builds
its own page (no state is shared between sessions).

The tabs are built by :mod:`~siyu.plugins.risk.page_lists` (words, do-not-contact list) and
:mod:`~siyu.plugins.risk.page_events` (events, summary); this module holds the rules tab,
the tester and the page itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, fmt_int, page_header
from siyu.apps.pages.common import notify_errors, notify_success, readonly_note, section
from siyu.apps.safe import Safe, html, join
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.risk import dnc, limits, words
from siyu.plugins.risk.page_events import EventsTab, SummaryTab
from siyu.plugins.risk.page_lists import DncTab, WordsTab
from siyu.plugins.risk.rules import DNC, NAMES, QUIET_HOURS, SENSITIVE_WORDS, STAFF_CAP

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.plugins.risk.screen import Match

_ = translator("siyu.plugins.risk")

MATCH_COLS = (Col("category", _.lazy("Category")), Col("word", _.lazy("Word")),
              Col("found", _.lazy("As written")))

RULES_CSS = """
.siyu-risk-rules{display:flex;flex-wrap:wrap;gap:12px}
.siyu-risk-rule{flex:1 1 260px;min-width:0;background:#fff;border:1px solid #e3e7ed;
border-radius:8px;padding:12px 14px;box-sizing:border-box}
.siyu-risk-rule h4{margin:0 0 6px;font-size:15px}
.siyu-risk-rule p{margin:0 0 8px;color:#5f6b7a;font-size:13px;line-height:1.5}
.siyu-risk-rule .siyu-risk-setting{color:#1f2d3d;font-weight:600;margin:0}
"""
#: The tab titles wrap onto a second line on a phone instead of scrolling out of sight.
TABS_CSS = """
.bk-headers-wrapper{flex-wrap:wrap;overflow-x:visible}
"""
TESTED_CSS = """
.siyu-risk-tested{white-space:pre-wrap;word-break:break-word;border:1px solid #e3e7ed;
border-radius:8px;padding:10px 12px;background:#fff;line-height:1.7}
.siyu-risk-hit{background:#ffe08a;color:#7a1f00;border-radius:3px;padding:0 2px}
.siyu-risk-verdict{margin:6px 0 0;font-weight:600}
"""


def highlight(text: str, matches: Sequence[Match]) -> Safe:
    """``text`` as HTML with every match marked (``<mark class="siyu-risk-hit">``),
    overlapping matches merged; everything escaped."""
    spans: list[list[int]] = []
    for start, end in sorted((m.start, m.end) for m in matches):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    parts: list[Any] = []
    position = 0
    for start, end in spans:
        parts.append(text[position:start])
        parts.append(html('<mark class="siyu-risk-hit">{hit}</mark>', hit=text[start:end]))
        position = end
    parts.append(text[position:])
    return html('<div class="siyu-risk-tested">{body}</div>', body=join("", parts))


def rule_settings(ws: Workspace) -> dict[str, str]:
    """What each of the plugin's rules is set to now, in words."""
    categories = words.categories(ws)
    quiet, cap, listed = limits.quiet_hours(ws), limits.staff_daily_cap(ws), dnc.count(ws)
    return {
        SENSITIVE_WORDS: _("{words} words in {categories} categories",
                           words=fmt_int(sum(categories.values())),
                           categories=fmt_int(len(categories))),
        DNC: _.ngettext("{count} contact on the list", "{count} contacts on the list",
                        listed, count=fmt_int(listed)),
        STAFF_CAP: (_("{n} messages per staff member per day", n=fmt_int(cap)) if cap
                    else _("off")),
        QUIET_HOURS: _("{hours} (workspace time)", hours=str(quiet)) if quiet else _("off"),
    }


def _rule_order(item: tuple[str, Any]) -> tuple[int, str]:
    """This plugin's rules first, in :data:`~siyu.plugins.risk.rules.NAMES` order."""
    name = item[0]
    return (NAMES.index(name) if name in NAMES else len(NAMES), name)


class RulesTab(pn.viewable.Viewer):
    """Every risk rule with what it does and its setting; quiet hours and the staff daily
    cap can be changed here (``settings.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.can_set = ws.principal.can("settings.write")
        readonly = not self.can_set
        self.cards = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[RULES_CSS],
                                  css_classes=["siyu-risk-rule-cards"])
        self.quiet_start = pn.widgets.TextInput(
            label=_("Quiet hours start"), placeholder="22:00", disabled=readonly, width=150,
            css_classes=["siyu-risk-quiet-start"])
        self.quiet_end = pn.widgets.TextInput(
            label=_("Quiet hours end"), placeholder="08:00", disabled=readonly, width=150,
            css_classes=["siyu-risk-quiet-end"])
        self.quiet_save = pn.widgets.Button(label=_("Save quiet hours"), color="primary",
                                            disabled=readonly, margin=(24, 10, 10, 10),
                                            css_classes=["siyu-risk-quiet-save"])
        self.quiet_off = pn.widgets.Button(label=_("Turn off"), disabled=readonly,
                                           margin=(24, 10, 10, 10),
                                           css_classes=["siyu-risk-quiet-off"])
        self.cap = pn.widgets.IntInput(label=_("Staff daily cap (0 = off)"), start=0,
                                       end=limits.MAX_CAP, disabled=readonly, width=200,
                                       css_classes=["siyu-risk-cap"])
        self.cap_save = pn.widgets.Button(label=_("Save cap"), color="primary",
                                          disabled=readonly, margin=(24, 10, 10, 10),
                                          css_classes=["siyu-risk-cap-save"])
        self.quiet_save.on_click(lambda _e: self.save_quiet_hours())
        self.quiet_off.on_click(lambda _e: self.clear_quiet_hours())
        self.cap_save.on_click(lambda _e: self.save_cap())
        self.refresh()

    def refresh(self) -> None:
        """Show the rules and the current settings."""
        settings = rule_settings(self.ws)
        cards = [html('<div class="siyu-risk-rule siyu-risk-rule-{name}"><h4>{title}</h4>'
                      '<p>{description}</p><p class="siyu-risk-setting">{setting}</p></div>',
                      name=name, title=str(rule.title), description=str(rule.description),
                      setting=settings.get(name, ""))
                 for name, rule in sorted(self.ws.risk_rules.items(), key=_rule_order)]
        self.cards.object = html('<div class="siyu-risk-rules">{cards}</div>',
                                 cards=join("", cards))
        quiet = limits.quiet_hours(self.ws)
        self.quiet_start.value = f"{quiet.start:%H:%M}" if quiet else ""
        self.quiet_end.value = f"{quiet.end:%H:%M}" if quiet else ""
        self.cap.value = limits.staff_daily_cap(self.ws) or 0

    @notify_errors
    def save_quiet_hours(self) -> None:
        """Store the quiet hours typed in."""
        hours = limits.set_quiet_hours(self.ws, self.quiet_start.value or "",
                                       self.quiet_end.value or "")
        self.refresh()
        notify_success(_("quiet hours are now {hours}", hours=str(hours)))

    @notify_errors
    def clear_quiet_hours(self) -> None:
        """Turn quiet hours off."""
        limits.clear_quiet_hours(self.ws)
        self.refresh()
        notify_success(_("quiet hours are off"))

    @notify_errors
    def save_cap(self) -> None:
        """Store the staff daily cap typed in (0 turns it off)."""
        cap = limits.set_staff_cap(self.ws, int(self.cap.value or 0))
        self.refresh()
        notify_success(_("staff daily cap is now {n}", n=fmt_int(cap)) if cap
                       else _("staff daily cap is off"))

    def __panel__(self) -> pn.Column:
        return pn.Column(
            self.cards,
            section(_("Settings"), *readonly_note(self.can_set, _("the risk settings")),
                    pn.FlexBox(self.quiet_start, self.quiet_end, self.quiet_save,
                               self.quiet_off, flex_wrap="wrap"),
                    pn.FlexBox(self.cap, self.cap_save, flex_wrap="wrap"),
                    css_class="siyu-risk-settings"),
            sizing_mode="stretch_width", css_classes=["siyu-risk-rules-tab"])


class TesterTab(pn.viewable.Viewer):
    """Paste a text, see the sensitive words in it highlighted and listed."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.text = pn.widgets.TextAreaInput(
            label=_("Text to test"), placeholder=_("e.g. 加微信领取全网最低价"), height=140,
            sizing_mode="stretch_width", css_classes=["siyu-risk-test-text"])
        self.button = pn.widgets.Button(label=_("Test"), color="primary",
                                        css_classes=["siyu-risk-test-button"])
        self.result = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[TESTED_CSS],
                                   css_classes=["siyu-risk-test-result"])
        self.matches = data_table(MATCH_COLS, css_class="siyu-risk-test-matches",
                                  visible=False)
        self.button.on_click(lambda _e: self.test())

    @notify_errors
    def test(self) -> list[Match]:
        """Screen the text: highlight the matches and list them."""
        text = self.text.value or ""
        if not text.strip():
            raise ValidationError(_("paste a text to test"))
        found = words.test_text(self.ws, text)
        verdict = (_.ngettext("{n} sensitive word found", "{n} sensitive words found",
                              len(found)) if found
                   else _("clean: no sensitive words found"))
        self.result.object = join("", [highlight(text, found),
                                       html('<p class="siyu-risk-verdict">{v}</p>', v=verdict)])
        frame = pd.DataFrame([{"category": m.category, "word": m.word,
                               "found": text[m.start:m.end]} for m in found],
                             columns=["category", "word", "found"])
        self.matches.value = display_frame(frame, MATCH_COLS, self.ws.timezone)
        self.matches.visible = bool(found)
        return found

    def __panel__(self) -> pn.Column:
        return pn.Column(self.text, self.button, self.result, self.matches,
                         sizing_mode="stretch_width", css_classes=["siyu-risk-tester-tab"])


class RiskCenterPage(pn.viewable.Viewer):
    """The Risk center (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.rules = RulesTab(ws)
        self.words = WordsTab(ws, on_change=self.rules.refresh)
        self.tester = TesterTab(ws)
        self.events = EventsTab(ws)
        self.dnc = DncTab(ws, on_change=self.rules.refresh)
        self.summary = SummaryTab(ws)
        self.tabs = pn.Tabs((_("Rules"), self.rules), (_("Word lists"), self.words),
                            (_("Text tester"), self.tester), (_("Blocked and held"), self.events),
                            (_("Do not contact"), self.dnc), (_("Daily summary"), self.summary),
                            dynamic=True, sizing_mode="stretch_width",
                            stylesheets=[TABS_CSS], css_classes=["siyu-risk-tabs"])
        self.tabs.param.watch(self._opened, "active")

    def _opened(self, event: Any) -> None:
        """Reload the opened tab's data (another session may have changed it)."""
        tab = [self.rules, self.words, self.tester, self.events, self.dnc,
               self.summary][event.new]
        if hasattr(tab, "refresh"):
            tab.refresh()

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("Risk center"), _("Sensitive words, the do-not-contact list, quiet "
                                            "hours and staff daily caps: what each rule does, "
                                            "what it blocked or held, and a daily summary.")),
            self.tabs, css_classes=["siyu-risk-page"], sizing_mode="stretch_width")
