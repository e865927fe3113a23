"""The Rewards console page (奖励): the pools with budget and spend, creating one, pausing,
resuming or ending one, loading coupon codes, a customer's claim link, and the ledger of
claims with each red packet's payout.

Opening it needs ``data.read``; creating and changing pools needs ``rewards.pay``. Data-derived
text reaches the page through the kit tables or :mod:`siyu.apps.safe`, escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    downloads,
    empty_state,
    fmt_int,
    fmt_money,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import (
    contact_ref,
    notify_errors,
    notify_success,
    readonly_note,
    section,
    toggle_empty,
)
from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.plugins.rewards import claims, pools, tokens

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.rewards")

KIND_LABELS: dict[str, Any] = {"red_packet": _.lazy("Red packet"), "coupon": _.lazy("Coupon")}
MODE_LABELS: dict[str, Any] = {"fixed": _.lazy("Fixed amount"),
                               "random": _.lazy("Random amount"), "lucky": _.lazy("Lucky split")}
STATUS_LABELS: dict[str, Any] = {"active": _.lazy("Active"), "paused": _.lazy("Paused"),
                                 "ended": _.lazy("Ended")}
PAYOUT_LABELS: dict[str, Any] = {"pending": _.lazy("Waiting to pay"), "paid": _.lazy("Paid"),
                                 "failed": _.lazy("Failed"),
                                 "unknown": _.lazy("Sent, checking")}
POOL_COLS = (Col("name", _.lazy("Pool"), "id"), Col("title", _.lazy("Title")),
             Col("kind_label", _.lazy("Kind")), Col("mode_label", _.lazy("How much")),
             Col("status_label", _.lazy("Status")), Col("amount_fen", _.lazy("Amount"), "money"),
             Col("budget_fen", _.lazy("Budget"), "money"),
             Col("spent_fen", _.lazy("Spent"), "money"), Col("claims", _.lazy("Claims"), "int"),
             Col("contact_limit", _.lazy("Per customer"), "int"),
             Col("ends_at", _.lazy("Ends at"), "time"))
CLAIM_COLS = (Col("id", _.lazy("Claim"), "id"), Col("pool", _.lazy("Pool"), "id"),
              Col("contact", _.lazy("Customer")),
              Col("amount_fen", _.lazy("Amount"), "money"), Col("code", _.lazy("Code"), "id"),
              Col("claimed_at", _.lazy("Claimed at"), "time"),
              Col("payout_label", _.lazy("Payout")),
              Col("payout_message", _.lazy("Payout message"), width=220),
              Col("source", _.lazy("From")))


def yuan_to_fen(text: str, what: str) -> int:
    """A yuan amount typed in a box (``"8.88"``) as fen; empty is 0."""
    from decimal import Decimal, InvalidOperation

    text = (text or "").strip()
    if not text:
        return 0
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("{what}: {text} is not an amount in yuan", what=what,
                                text=repr(text))) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("{what}: {text} is not an amount in yuan with at most two "
                                "decimals", what=what, text=repr(text)))
    return int(value * 100)


class RewardsPage(pn.viewable.Viewer):
    """The Rewards page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_pay = ws.principal.can("rewards.pay")
        off = not self.can_pay
        self.kpis = pn.Column(sizing_mode="stretch_width")
        self.pool_table = data_table(POOL_COLS, css_class="siyu-rewards-pools", selectable=1)
        self.no_pools = empty_state(_("No reward pools yet."),
                                    _("Create a red-packet or coupon pool below."),
                                    css_class="siyu-rewards-pools-empty")
        self.pool_rows = pd.DataFrame()
        # the chosen pool's actions
        self.status_select = pn.widgets.Select(
            label=_("Status"), options={str(v): k for k, v in STATUS_LABELS.items()},
            disabled=off, css_classes=["siyu-rewards-status"], width=160)
        self.status_button = pn.widgets.Button(label=_("Change status"), disabled=off,
                                               css_classes=["siyu-rewards-status-set"],
                                               margin=(24, 10, 10, 10))
        self.codes_file = pn.widgets.FileInput(accept=".txt,.csv", disabled=off,
                                               css_classes=["siyu-rewards-codes"])
        self.codes_button = pn.widgets.Button(label=_("Load coupon codes"), disabled=off,
                                              css_classes=["siyu-rewards-codes-load"])
        self.link_contact = pn.widgets.TextInput(
            label=_("Customer"), placeholder=_("Contact ID or external user ID"),
            css_classes=["siyu-rewards-link-contact"], width=240)
        self.link_button = pn.widgets.Button(label=_("Make claim link"), disabled=off,
                                             css_classes=["siyu-rewards-link-make"],
                                             margin=(24, 10, 10, 10))
        self.link_out = pn.widgets.TextInput(label=_("Claim link"), disabled=True,
                                             css_classes=["siyu-rewards-link"],
                                             sizing_mode="stretch_width")
        # the new pool form
        self.f_name = pn.widgets.TextInput(label=_("Pool name"),
                                           disabled=off, css_classes=["siyu-rewards-new-name"],
                                           width=200)
        self.f_title = pn.widgets.TextInput(label=_("Title customers see"), disabled=off,
                                            css_classes=["siyu-rewards-new-title"], width=240)
        self.f_kind = pn.widgets.Select(label=_("Kind"), options={str(v): k for k, v in
                                                                  KIND_LABELS.items()},
                                        disabled=off, css_classes=["siyu-rewards-new-kind"],
                                        width=160)
        self.f_mode = pn.widgets.Select(label=_("How much"), options={str(v): k for k, v in
                                                                      MODE_LABELS.items()},
                                        disabled=off, css_classes=["siyu-rewards-new-mode"],
                                        width=160)
        self.f_amount = self._money(_("Amount (yuan)"), "amount", "8.88")
        self.f_min = self._money(_("From (yuan)"), "min", "1")
        self.f_max = self._money(_("To (yuan)"), "max", "20")
        self.f_budget = self._money(_("Budget (yuan)"), "budget", "1000")
        self.f_threshold = self._money(_("Usable from an order of (yuan)"), "threshold", "100")
        self.f_shares = pn.widgets.IntInput(label=_("Red packets"), value=10, start=1,
                                            disabled=off, css_classes=["siyu-rewards-new-shares"],
                                            width=140)
        self.f_days = pn.widgets.IntInput(label=_("Valid days"), value=30, start=0, disabled=off,
                                          css_classes=["siyu-rewards-new-days"], width=140)
        self.f_limit = pn.widgets.IntInput(label=_("Claims per customer"), value=1, start=1,
                                           disabled=off, css_classes=["siyu-rewards-new-limit"],
                                           width=160)
        self.f_daily = pn.widgets.IntInput(label=_("Per day (0: no limit)"), value=0, start=0,
                                           disabled=off, css_classes=["siyu-rewards-new-daily"],
                                           width=160)
        self.f_tag = pn.widgets.Select(label=_("Only customers tagged"), disabled=off,
                                       css_classes=["siyu-rewards-new-tag"], width=220)
        self.create_button = pn.widgets.Button(label=_("Create pool"), color="primary",
                                               disabled=off,
                                               css_classes=["siyu-rewards-new-create"])
        # the ledger
        self.claim_table = data_table(CLAIM_COLS, css_class="siyu-rewards-claims",
                                      pagination="local", page_size=20)
        self.no_claims = empty_state(_("No claims yet."),
                                     _("Customers claim from the links in welcome messages "
                                       "and campaigns."), css_class="siyu-rewards-claims-empty")
        self.claim_rows = pd.DataFrame()
        self.pay_button = pn.widgets.Button(label=_("Pay waiting red packets now"),
                                            color="primary", disabled=off,
                                            css_classes=["siyu-rewards-pay"])
        self.failed_select = pn.widgets.Select(label=_("Failed payout"), disabled=off,
                                               css_classes=["siyu-rewards-failed"], width=280)
        self.retry_button = pn.widgets.Button(label=_("Send again"), disabled=off,
                                              css_classes=["siyu-rewards-retry"],
                                              margin=(24, 10, 10, 10))
        self.pay_button.on_click(lambda _e: self.pay())
        self.retry_button.on_click(lambda _e: self.retry())
        self.status_button.on_click(lambda _e: self.change_status())
        self.codes_button.on_click(lambda _e: self.load_codes())
        self.link_button.on_click(lambda _e: self.make_link())
        self.create_button.on_click(lambda _e: self.create())
        self.f_kind.param.watch(lambda _e: self._show_fields(), "value")
        self.f_mode.param.watch(lambda _e: self._show_fields(), "value")
        self.pool_table.param.watch(lambda _e: self._picked(), "selection")
        self._show_fields()
        self.refresh()

    def _money(self, label: str, name: str, example: str) -> pn.widgets.TextInput:
        return pn.widgets.TextInput(label=label, placeholder=example, disabled=not self.can_pay,
                                    css_classes=[f"siyu-rewards-new-{name}"], width=150)

    def _show_fields(self) -> None:
        red = self.f_kind.value == "red_packet"
        mode = self.f_mode.value
        self.f_mode.visible = red
        self.f_amount.visible = not red or mode == "fixed"
        self.f_min.visible = self.f_max.visible = red and mode == "random"
        self.f_shares.visible = red and mode == "lucky"
        self.f_budget.visible = red
        self.f_threshold.visible = self.f_days.visible = not red

    # -- reading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the pools, the headline figures and the ledger."""
        frame = pools.listing(self.ws)
        self.pool_rows = frame.assign(
            kind_label=[str(KIND_LABELS.get(k, k)) for k in frame["kind"]],
            mode_label=[str(MODE_LABELS.get(m, m)) if k == "red_packet" else ""
                        for k, m in zip(frame["kind"], frame["mode"], strict=True)],
            status_label=[str(STATUS_LABELS.get(s, s)) for s in frame["status"]])
        self.pool_table.value = display_frame(self.pool_rows, POOL_COLS, self.ws.timezone)
        toggle_empty(self.pool_table, self.no_pools, not frame.empty)
        ledger = claims.listing(self.ws, limit=500)
        self.claim_rows = ledger.assign(payout_label=[
            str(PAYOUT_LABELS.get(p, "")) if isinstance(p, str) else "" for p in ledger["payout"]])
        self.claim_table.value = display_frame(self.claim_rows, CLAIM_COLS, self.ws.timezone)
        toggle_empty(self.claim_table, self.no_claims, not ledger.empty)
        failed = ledger[ledger["payout"] == "failed"]
        self.failed_select.options = {
            f"{b} · {fmt_money(a)} · {m or ''}"[:120]: b for b, a, m in zip(
                failed["billno"], failed["amount_fen"], failed["payout_message"], strict=True)}
        self.retry_button.disabled = not (self.can_pay and len(failed))
        active = frame[frame["status"] == "active"]
        self.kpis.objects = [kpi_cards([
            (_("Active pools"), fmt_int(len(active))),
            (_("Budget"), fmt_money(int(frame["budget_fen"].sum()) if len(frame) else 0)),
            (_("Paid out"), fmt_money(int(frame["spent_fen"].sum()) if len(frame) else 0)),
            (_("Claims"), fmt_int(int(frame["claims"].sum()) if len(frame) else 0))],
            css_class="siyu-rewards-kpis")]
        self.f_tag.options = ["", *self.ws.tags.names()]

    def chosen(self) -> str | None:
        """The name of the pool picked in the table."""
        picked = self.pool_table.selection
        if picked and 0 <= picked[0] < len(self.pool_rows):
            return str(self.pool_rows["name"].iloc[picked[0]])
        return None

    def _picked(self) -> None:
        name = self.chosen()
        if name is not None:
            row = self.pool_rows[self.pool_rows["name"] == name].iloc[0]
            self.status_select.value = row["status"]

    def _need_pool(self) -> str:
        name = self.chosen()
        if name is None:
            raise ValidationError(_("pick a pool in the table first"))
        return name

    # -- acting -----------------------------------------------------------------------------

    @notify_errors
    def create(self) -> None:
        """Create the pool the form describes."""
        red = self.f_kind.value == "red_packet"
        mode = self.f_mode.value if red else "fixed"
        pool = pools.create(
            self.ws, (self.f_name.value_input or self.f_name.value or "").strip(),
            kind=self.f_kind.value, mode=mode, title=(self.f_title.value_input
                                                      or self.f_title.value or "").strip(),
            amount_fen=yuan_to_fen(self.f_amount.value_input or self.f_amount.value,
                                   _("Amount")),
            min_fen=yuan_to_fen(self.f_min.value_input or self.f_min.value, _("From")),
            max_fen=yuan_to_fen(self.f_max.value_input or self.f_max.value, _("To")),
            budget_fen=yuan_to_fen(self.f_budget.value_input or self.f_budget.value,
                                   _("Budget")) if red else 0,
            shares=self.f_shares.value if mode == "lucky" else 0,
            threshold_fen=0 if red else yuan_to_fen(
                self.f_threshold.value_input or self.f_threshold.value, _("Threshold")),
            coupon_days=0 if red else self.f_days.value, contact_limit=self.f_limit.value,
            daily_limit=self.f_daily.value, tag=self.f_tag.value or None)
        self.refresh()
        notify_success(_("created pool {name}", name=pool.name))

    @notify_errors
    def change_status(self) -> None:
        """Pause, resume or end the chosen pool."""
        name = self._need_pool()
        pools.set_status(self.ws, name, self.status_select.value)
        self.refresh()
        notify_success(_("pool {name} is now {status}", name=name,
                         status=STATUS_LABELS[self.status_select.value]))

    @notify_errors
    def load_codes(self) -> None:
        """Load the uploaded file's codes into the chosen coupon pool."""
        name = self._need_pool()
        if not self.codes_file.value:
            raise ValidationError(_("choose a file of coupon codes first (.txt or .csv, one "
                                    "code per line)"))
        import csv

        text = self.codes_file.value.decode("utf-8-sig", errors="replace")
        codes = [row[0].strip() for row in csv.reader(text.splitlines()) if row and row[0].strip()]
        added = pools.add_codes(self.ws, name, codes)
        self.refresh()
        notify_success(_("added {n} codes to {name}", n=added, name=name))

    @notify_errors
    def make_link(self) -> None:
        """The chosen pool's claim link for the customer typed."""
        name = self._need_pool()
        text = (self.link_contact.value_input or self.link_contact.value or "").strip()
        if not text:
            raise ValidationError(_("type the customer's contact ID or external user ID"))
        contact = self.ws.contacts.get(contact_ref(text))
        location = pn.state.location
        origin = (f"{location.protocol}//{location.host}" if location is not None
                  and getattr(location, "host", "") else "")
        token = tokens.make_token(self.ws, pools.get(self.ws, name).id, contact.id)
        self.link_out.value = tokens.claim_url(origin or "", token)

    @notify_errors
    def pay(self) -> None:
        """Pay the waiting red packets and check the unknown ones now."""
        from siyu.plugins.rewards import payouts

        report = payouts.pay_due(self.ws)
        self.refresh()
        notify_success(_("paid {paid}, failed {failed}, still unknown {unknown}",
                         paid=report.paid, failed=report.failed, unknown=report.unknown))

    @notify_errors
    def retry(self) -> None:
        """Send the chosen failed payout again."""
        from siyu.plugins.rewards import payouts

        billno = self.failed_select.value
        if not billno:
            raise ValidationError(_("no failed payout to send again"))
        status = payouts.retry(self.ws, billno)
        self.refresh()
        notify_success(_("payout {billno}: {status}", billno=billno,
                         status=PAYOUT_LABELS.get(status, status)))

    def __panel__(self) -> pn.Column:
        form = pn.FlexBox(self.f_name, self.f_title, self.f_kind, self.f_mode, self.f_amount,
                          self.f_min, self.f_max, self.f_shares, self.f_budget,
                          self.f_threshold, self.f_days, self.f_limit, self.f_daily,
                          self.f_tag, flex_wrap="wrap", sizing_mode="stretch_width")
        chosen = pn.Column(
            pn.FlexBox(self.status_select, self.status_button, flex_wrap="wrap"),
            pn.FlexBox(self.codes_file, self.codes_button, flex_wrap="wrap"),
            pn.FlexBox(self.link_contact, self.link_button, flex_wrap="wrap"), self.link_out,
            sizing_mode="stretch_width")
        return pn.Column(
            page_header(_("Rewards"), _("Red-packet and coupon pools: budgets, limits, who "
                                        "claimed what, and each payout.")),
            *readonly_note(self.can_pay, _("reward pools")),
            self.kpis,
            section(_("Pools"), self.pool_table, self.no_pools,
                    downloads(lambda: pools.listing(self.ws), "reward-pools",
                              css_class="siyu-rewards-pools-download")),
            section(_("The chosen pool"), chosen),
            section(_("New pool"), form, self.create_button),
            section(_("Claims"), pn.FlexBox(self.pay_button, self.failed_select,
                                            self.retry_button, flex_wrap="wrap"),
                    self.claim_table, self.no_claims,
                    downloads(lambda: claims.listing(self.ws, limit=None), "reward-claims",
                              css_class="siyu-rewards-claims-download")),
            sizing_mode="stretch_width", css_classes=["siyu-rewards-page"])
