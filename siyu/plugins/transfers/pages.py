"""The Transfers console page: pick a departing member, see their customers and customer
groups, split the customers over successors and execute through WeCom; then follow each
customer's transfer and see what failed and why.

Opening it needs ``data.read``; planning, executing and checking results need
``data.write`` (the buttons are disabled without it, and the notebook doors check again).
Every data-derived string reaches the page through the kit tables, :func:`labels` or
:func:`~siyu.apps.safe.html`, escaped. Each browser session builds its own page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    Col,
    data_table,
    display_frame,
    empty_state,
    fmt_int,
    kpi_cards,
    page_header,
)
from siyu.apps.pages.common import (
    notify_error,
    notify_errors,
    notify_success,
    readonly_note,
    section,
)
from siyu.apps.safe import html, join, labels
from siyu.core.errors import SiyuError, ValidationError
from siyu.core.i18n import translator
from siyu.plugins.transfers import departed, execute, planning
from siyu.plugins.transfers.models import STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.transfers")

CUSTOMER_COLS = (Col("name", _.lazy("Customer")), Col("store", _.lazy("Store")),
                 Col("transfers_90d", _.lazy("Transfers in 90 days"), "int"),
                 Col("external_userid", _.lazy("External ID")))
GROUP_COLS = (Col("name", _.lazy("Customer group")), Col("members", _.lazy("Members"), "int"),
              Col("chat_id", _.lazy("Group ID")))
PLAN_COLS = (Col("id", _.lazy("Plan"), "id"), Col("handover", _.lazy("Departing member")),
             Col("kind_label", _.lazy("Kind")), Col("successors", _.lazy("Successors")),
             Col("created_at", _.lazy("Planned"), "time"), Col("total", _.lazy("Customers"), "int"),
             Col("planned", _.lazy("Not sent"), "int"), Col("open", _.lazy("In progress"), "int"),
             Col("taken_over", _.lazy("Taken over"), "int"),
             Col("problems", _.lazy("Failed"), "int"))
ITEM_COLS = (Col("customer", _.lazy("Customer")), Col("takeover_name", _.lazy("Successor")),
             Col("state", _.lazy("State")), Col("reason", _.lazy("Why")),
             Col("takeover_at", _.lazy("Takeover"), "time"),
             Col("external_userid", _.lazy("External ID")))
#: Rows per page of the customer tables (a member may have thousands).
PAGE_SIZE = 50


def state_labels() -> dict[str, str]:
    """Each item state in words, in the current language."""
    return {"planned": _("planned"), "requested": _("sending"),
            "waiting": _("waiting 24 h for takeover"), "taken_over": _("taken over"),
            "refused": _("refused by the customer"), "limit_exceeded": _("over a limit"),
            "failed": _("failed"), "unknown": _("answer lost, checking")}


def split_options() -> dict[str, str]:
    return {_("Evenly, in turn"): "even", _("By store"): "store", _("By hand"): "manual"}


def parse_assignments(text: str) -> dict[str, str]:
    """``customer = successor`` lines (external userid or contact id, then a userid).

    :raises ValidationError: a line without ``=``.
    """
    found: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        customer, sep, successor = line.replace("＝", "=").partition("=")
        if not sep or not customer.strip() or not successor.strip():
            raise ValidationError(_("line {n}: write customer = successor, e.g. wmXXXX = lisi",
                                    n=number))
        found[customer.strip()] = successor.strip()
    return found


@contextmanager
def busy(*widgets: Any) -> Iterator[None]:
    """Show ``widgets`` as loading (a spinner) while WeCom is being asked."""
    for widget in widgets:
        widget.loading = True
    try:
        yield
    finally:
        for widget in widgets:
            widget.loading = False


def member_label(name: str, userid: str) -> str:
    """A staff member as a menu shows them: ``name (userid)``, or the userid alone when the
    name is not known (it is the userid until a sync brings it)."""
    return f"{name} ({userid})" if name and name != userid else userid


class NewTransfer(pn.viewable.Viewer):
    """Pick a departing member, see their customers and groups, plan and execute."""

    def __init__(self, ws: Workspace, on_change: Any = None, **params: Any):
        super().__init__(**params)
        self.ws, self.on_change = ws, on_change
        self.can_write = ws.principal.can("data.write")
        readonly = not self.can_write
        self.member = pn.widgets.Select(label=_("Departing member"), width=280,
                                        css_classes=["siyu-transfers-member"])
        self.load_departed = pn.widgets.Button(
            label=_("Ask WeCom who has left"), margin=(24, 10, 10, 10),
            css_classes=["siyu-transfers-departed"])
        self.show = pn.widgets.Button(label=_("Show customers"), color="primary",
                                      margin=(24, 10, 10, 10),
                                      css_classes=["siyu-transfers-show"])
        self.kpis = pn.Column(sizing_mode="stretch_width", visible=False)
        self.customers = data_table(CUSTOMER_COLS, css_class="siyu-transfers-customers",
                                    pagination="remote", page_size=PAGE_SIZE, visible=False)
        self.groups = data_table(GROUP_COLS, css_class="siyu-transfers-groups",
                                 pagination="remote", page_size=PAGE_SIZE, visible=False)
        self.empty = empty_state(_("Pick a departing member and show their customers."),
                                 _("Members who left appear after asking WeCom."),
                                 css_class="siyu-transfers-empty")
        self.successors = pn.widgets.MultiChoice(label=_("Successors"), disabled=readonly,
                                                 sizing_mode="stretch_width",
                                                 css_classes=["siyu-transfers-successors"])
        self.split = pn.widgets.Select(label=_("Split"), options=split_options(),
                                       disabled=readonly, width=200,
                                       css_classes=["siyu-transfers-split"])
        self.assign = pn.widgets.TextAreaInput(
            label=_("By hand: one customer per line, customer = successor"),
            placeholder="wmXXXX = lisi", height=120, disabled=readonly,
            sizing_mode="stretch_width", visible=False,
            css_classes=["siyu-transfers-assign"])
        self.message = pn.widgets.TextInput(
            label=_("Message to customers (employed members only, at most 200 characters)"),
            placeholder=_("e.g. 您好，后续将由我的同事为您服务"), disabled=readonly,
            sizing_mode="stretch_width", max_length=200,
            css_classes=["siyu-transfers-message"])
        self.plan_button = pn.widgets.Button(label=_("Make the plan"), disabled=readonly,
                                             css_classes=["siyu-transfers-plan"])
        self.run_button = pn.widgets.Button(label=_("Plan and execute"), color="primary",
                                            disabled=readonly,
                                            css_classes=["siyu-transfers-plan-run"])
        self.result = pn.pane.HTML("", sizing_mode="stretch_width",
                                   css_classes=["siyu-transfers-result"])
        self.leaving: departed.Departing | None = None
        self.departed: list[departed.DepartedMember] = []
        self.split.param.watch(lambda e: setattr(self.assign, "visible", e.new == "manual"),
                               "value")
        self.load_departed.on_click(lambda _e: self.ask_wecom())
        self.show.on_click(lambda _e: self.show_customers())
        self.plan_button.on_click(lambda _e: self.make_plan(execute_now=False))
        self.run_button.on_click(lambda _e: self.make_plan(execute_now=True))
        self.refresh_members()

    def refresh_members(self) -> None:
        """The member menu: active staff, then members WeCom says have left."""
        staff = self.ws.staff.list(status="active")
        options = {member_label(s.name, s.userid): s.userid for s in staff}
        for d in self.departed:
            options[_("{member} — left, {n} customers waiting",
                      member=member_label(d.name, d.userid), n=fmt_int(d.customers))] = d.userid
        self.member.options = options
        if self.member.value not in options.values():
            self.member.value = next(iter(options.values()), None)
        self.successors.options = labels({member_label(s.name, s.userid): s.userid
                                          for s in staff})

    @notify_errors
    def ask_wecom(self) -> None:
        """Read WeCom's list of resigned members with customers waiting."""
        self.departed = departed.list_departed(self.ws)
        self.refresh_members()
        if self.departed:
            self.member.value = self.departed[0].userid
        notify_success(_.ngettext("{n} member who left has customers waiting",
                                  "{n} members who left have customers waiting",
                                  len(self.departed), n=len(self.departed)))

    @notify_errors
    def show_customers(self) -> departed.Departing | None:
        """Load the chosen member's customers and groups."""
        if not self.member.value:
            raise ValidationError(_("pick a departing member first"))
        leaving = departed.departing(self.ws, self.member.value)
        self.leaving = leaving
        tz = self.ws.timezone
        over = len(leaving.over_limit())
        kind = _("left the company") if leaving.kind == "resigned" else _("still employed")
        self.kpis[:] = [kpi_cards(
            [(_("Customers"), fmt_int(len(leaving.customers)), kind),
             (_("Customer groups"), fmt_int(len(leaving.groups)), _("listed, not moved")),
             (_("Over the 90-day limit"), fmt_int(over), _("two transfers already"))],
            css_class="siyu-transfers-kpis")]
        self.kpis.visible = True
        # Shown before filled: a table given its rows while hidden may stay blank once shown.
        self.customers.visible = bool(leaving.customers)
        self.customers.value = display_frame(leaving.df(), CUSTOMER_COLS, tz)
        self.groups.visible = bool(leaving.groups)
        self.groups.value = display_frame(pd.DataFrame(leaving.groups), GROUP_COLS, tz)
        self.empty.visible = not leaving.customers
        self.message.disabled = not self.can_write or leaving.kind != "onjob"
        return leaving

    @notify_errors
    def make_plan(self, *, execute_now: bool) -> planning.PlanResult | None:
        """Plan the chosen member's customers (and execute the plan)."""
        if not self.member.value:
            raise ValidationError(_("pick a departing member first"))
        split = self.split.value or "even"
        assignments = parse_assignments(self.assign.value) if split == "manual" else None
        made = planning.plan(self.ws, self.member.value, self.successors.value or [],
                          split=split, assignments=assignments,
                          message=self.message.value or "")
        counts = ", ".join(f"{userid} {fmt_int(n)}" for userid, n in made.counts.items())
        lines = [_("Plan {id}: {n} customers planned ({counts}).", id=made.plan_id,
                   n=fmt_int(made.planned), counts=counts)]
        if made.over_limit:
            lines.append(_("Left out, WeCom allows no third transfer within 90 days: "
                           "{customers}", customers=", ".join(made.over_limit)))
        if execute_now:
            with busy(self.plan_button, self.run_button):
                lines.append(execute.run(self.ws, made.plan_id).summary())
        self.result.object = join("", [html("<p>{line}</p>", line=line) for line in lines])
        notify_success(lines[0])
        if self.on_change is not None:
            self.on_change(made.plan_id)
        return made

    def __panel__(self) -> pn.Column:
        return pn.Column(
            pn.FlexBox(self.member, self.show, self.load_departed, flex_wrap="wrap"),
            self.kpis, self.empty,
            section(_("Customers"), self.customers, css_class="siyu-transfers-customers-box"),
            section(_("Customer groups"), self.groups, css_class="siyu-transfers-groups-box"),
            section(_("Successors"), *readonly_note(self.can_write, _("transfers")),
                    self.successors, self.split, self.assign, self.message,
                    pn.FlexBox(self.plan_button, self.run_button, flex_wrap="wrap"),
                    self.result, css_class="siyu-transfers-plan-box"),
            sizing_mode="stretch_width", css_classes=["siyu-transfers-new"])


class TransferList(pn.viewable.Viewer):
    """Every plan with its progress; one plan's customers with their state and reason."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        self.table = data_table(PLAN_COLS, css_class="siyu-transfers-plans",
                                pagination="remote", page_size=20)
        self.empty = empty_state(_("No transfers yet."),
                                 _("Plan one under New transfer."),
                                 css_class="siyu-transfers-plans-empty")
        self.plan = pn.widgets.Select(label=_("Plan"), width=200,
                                      css_classes=["siyu-transfers-plan-choice"])
        self.state = pn.widgets.Select(label=_("State"), width=220,
                                       css_classes=["siyu-transfers-state"])
        self.items = data_table(ITEM_COLS, css_class="siyu-transfers-items",
                                pagination="remote", page_size=PAGE_SIZE)
        self.run_button = pn.widgets.Button(label=_("Execute what is not sent"),
                                            color="primary", disabled=not self.can_write,
                                            margin=(24, 10, 10, 10),
                                            css_classes=["siyu-transfers-run"])
        self.check = pn.widgets.Button(label=_("Check results now"),
                                       disabled=not self.can_write, margin=(24, 10, 10, 10),
                                       css_classes=["siyu-transfers-check"])
        self.plan.param.watch(lambda _e: self.show_items(), "value")
        self.state.param.watch(lambda _e: self.show_items(), "value")
        self.run_button.on_click(lambda _e: self.run_plan())
        self.check.on_click(lambda _e: self.check_results())
        self.refresh()

    def refresh(self, plan_id: int | None = None) -> None:
        """Reload the plans (and show ``plan_id``'s customers)."""
        frame = planning.plans(self.ws)
        kinds = {"onjob": _("employed"), "resigned": _("left")}
        frame["kind_label"] = frame["kind"].map(lambda k: kinds.get(k, k))
        frame["open"] = frame[["requested", "waiting", "unknown"]].sum(axis=1)
        frame["problems"] = frame[["refused", "limit_exceeded", "failed"]].sum(axis=1)
        self.table.value = display_frame(frame, PLAN_COLS, self.ws.timezone)
        self.table.visible = not frame.empty
        self.empty.visible = frame.empty
        options = {_("Plan {id} — {member}", id=int(r.id), member=r.handover): int(r.id)
                   for r in frame.itertuples()}
        self.plan.options = options
        words = state_labels()
        self.state.options = {_("Every state"): "", **{words[s]: s for s in STATUSES}}
        if plan_id is not None and plan_id in options.values():
            self.plan.value = plan_id
        elif self.plan.value not in options.values():
            self.plan.value = next(iter(options.values()), None)  # the newest
        self.show_items()

    def show_items(self) -> None:
        """The chosen plan's customers in the chosen state."""
        if not self.plan.value:
            self.items.value = display_frame(pd.DataFrame(), ITEM_COLS, self.ws.timezone)
            return
        try:
            frame = planning.items(self.ws, self.plan.value, status=self.state.value or None)
        except SiyuError as exc:
            notify_error(str(exc))
            return
        words = state_labels()
        frame["state"] = frame["status"].map(lambda s: words.get(s, s))
        frame["takeover_name"] = frame["takeover_name"].fillna(frame["takeover"])
        self.items.value = display_frame(frame, ITEM_COLS, self.ws.timezone)

    @notify_errors
    def run_plan(self) -> None:
        """Send the chosen plan's planned customers to WeCom."""
        if not self.plan.value:
            raise ValidationError(_("pick a plan first"))
        with busy(self.run_button, self.items):
            report = execute.run(self.ws, self.plan.value)
        self.refresh(self.plan.value)
        notify_success(report.summary())

    @notify_errors
    def check_results(self) -> None:
        """Apply failure callbacks and read WeCom's transfer results now."""
        with busy(self.check, self.items):
            report = execute.reconcile(self.ws)
        self.refresh(self.plan.value)
        notify_success(_("results checked: {summary}", summary=report.summary()))

    def __panel__(self) -> pn.Column:
        return pn.Column(
            self.table, self.empty,
            pn.FlexBox(self.plan, self.state, self.run_button, self.check, flex_wrap="wrap"),
            self.items, sizing_mode="stretch_width", css_classes=["siyu-transfers-list"])


#: The tab titles wrap onto a second line on a phone instead of scrolling out of sight.
TABS_CSS = """
.bk-headers-wrapper{flex-wrap:wrap;overflow-x:visible}
"""


class TransfersPage(pn.viewable.Viewer):
    """The Transfers page (permission ``data.read``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.list = TransferList(ws)
        self.new = NewTransfer(ws, on_change=self._planned)
        self.tabs = pn.Tabs((_("New transfer"), self.new), (_("Transfer records"), self.list),
                            sizing_mode="stretch_width", stylesheets=[TABS_CSS],
                            css_classes=["siyu-transfers-tabs"])

    def _planned(self, plan_id: int) -> None:
        self.list.refresh(plan_id)

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("Transfers"), _("Hand a departing member's customers to successors "
                                          "through WeCom (在职/离职继承): at most 100 per call, "
                                          "twice per customer in 90 days, taken over after "
                                          "24 hours.")),
            self.tabs, css_classes=["siyu-transfers-page"], sizing_mode="stretch_width")

