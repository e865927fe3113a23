"""The preview under the composer: "N selected → M will actually receive it", the count per
variant, why the others will not receive it, who will wait first (``delayed``, when the
preview has it) and sample messages as the recipients will read them.

The tables are put in the page only once they have rows: a Tabulator drawn while hidden
never gets a size (see ``siyu.plugins.livecodes.pages.TableSpot``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import Col, data_table, display_frame, fmt_int, kpi_cards
from siyu.core.i18n import translator
from siyu.core.messaging.launch import REASON_TITLES

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.campaigns")

BREAKDOWN_COLS = (Col("reason", _.lazy("Will not receive it because")),
                  Col("n", _.lazy("Customers"), "int"))
DELAYED_COLS = (Col("reason", _.lazy("Will wait first because (still receives it)")),
                Col("n", _.lazy("Customers"), "int"))
SAMPLE_COLS = (Col("variant", _.lazy("Variant"), width=120), Col("sender", _.lazy("Sender")),
               Col("text", _.lazy("Message"), width=360))
#: Tabulator's ``textarea`` formatter: long text wraps in its cell (escaped like the default).
WRAP = {"type": "textarea"}


def reason_title(reason: str, risk_rules: Mapping[str, Any]) -> str:
    """How a skip or wait reason reads: the launch's own reasons translated, a risk rule by
    its title, anything else as stored."""
    if reason in REASON_TITLES:
        return str(REASON_TITLES[reason])
    rule = risk_rules.get(reason)
    title = getattr(rule, "title", None)
    return str(title) if title else reason


def reason_frame(counts: Mapping[str, int], risk_rules: Mapping[str, Any]) -> pd.DataFrame:
    """``{reason: n}`` as rows ``reason``, ``n``, the largest first."""
    rows = [{"reason": reason_title(r, risk_rules), "n": n}
            for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return pd.DataFrame(rows, columns=["reason", "n"])


def preview_cards(preview: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headline cards: selected, will receive, per variant, and how many wait first."""
    cards = [(_("Selected"), fmt_int(preview["selected"])),
             (_("Will actually receive it"), fmt_int(preview["will_receive"]))]
    for variant, n in sorted(preview["variants"].items()):
        if variant:
            cards.append((_("Variant {name}", name=variant), fmt_int(n)))
    delayed = sum((preview.get("delayed") or {}).values())
    if delayed:
        cards.append((_("Of them wait first"), fmt_int(delayed)))
    return cards


class PreviewView(pn.viewable.Viewer):
    """What launching now would do, for the campaign just saved."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.cards = pn.Column(css_classes=["siyu-campaign-will"], sizing_mode="stretch_width",
                               margin=0)
        self.breakdown = data_table(BREAKDOWN_COLS, css_class="siyu-campaign-breakdown")
        self.delayed = data_table(DELAYED_COLS, css_class="siyu-campaign-delayed")
        self.samples = data_table(SAMPLE_COLS, css_class="siyu-campaign-samples",
                                  formatters={SAMPLE_COLS[0].title: WRAP,
                                              SAMPLE_COLS[2].title: WRAP})
        self.layout = pn.Column(sizing_mode="stretch_width", margin=0,
                                css_classes=["siyu-campaign-preview-box"])

    def show(self, preview: Mapping[str, Any]) -> None:
        """Show ``preview`` (what ``ws.campaigns.preview`` returns)."""
        tz, rules = self.ws.timezone, self.ws.risk_rules
        self.cards.objects = [kpi_cards(preview_cards(preview),
                                        css_class="siyu-campaign-will-cards")]
        reasons = reason_frame(preview["reasons"], rules)
        for problem in preview.get("blocked_words") or []:
            reasons.loc[len(reasons)] = [problem["reason"], preview["will_receive"]]
        self.breakdown.value = display_frame(reasons, BREAKDOWN_COLS, tz)
        shown: list[Any] = [self.cards] + ([self.breakdown] if not reasons.empty else [])
        delayed = preview.get("delayed")
        if delayed:
            self.delayed.value = display_frame(reason_frame(delayed, rules), DELAYED_COLS, tz)
            shown.append(self.delayed)
        samples = pd.DataFrame(preview.get("samples") or [],
                               columns=["variant", "sender", "text"])
        self.samples.value = display_frame(samples, SAMPLE_COLS, tz)
        shown.append(self.samples)
        self.layout.objects = shown

    def clear(self) -> None:
        """Show nothing (no preview yet)."""
        self.layout.objects = []

    @property
    def shown(self) -> bool:
        """Whether a preview is on the page."""
        return bool(self.layout.objects)

    def __panel__(self) -> pn.Column:
        return self.layout
