"""Audit log: who changed what and when, newest first, filtered by actor and action.

The log can be long, so it is read one page at a time (``ws.audit_log.df(limit=, offset=)``);
one extra row is asked for to know whether a next page exists. Times are in the workspace
timezone. Everything is shown in the reader's language, whatever language the entry was
written in: an action by its name (:data:`ACTIONS`; an action siyu does not know shows its
code), and its details as labelled fields (:data:`DETAIL_LABELS`), known values in words
(:data:`DETAIL_VALUES`: ``manual`` → "manual" / "手动", a role, a language, money in ¥), counts with
thousands separators — never JSON. An entry that stored a sentence (``summary``, written by
older versions or by a plugin) shows that sentence as it was stored. The action filter takes
an action code pattern (``tag.*``) or a word of an action's name ("tag"). The downloads hold
up to :data:`EXPORT_LIMIT` entries matching the filters (every page, not only this one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn

from siyu.apps.kit import (
    MISSING,
    Col,
    data_table,
    display_frame,
    downloads,
    empty_state,
    export_frame,
    fmt_int,
    fmt_money,
    page_header,
)
from siyu.apps.pages.common import Pager, notify_errors, plain_value, toggle_empty
from siyu.core.i18n import core as _
from siyu.core.i18n import language_name
from siyu.core.permissions import role_label

if TYPE_CHECKING:  # pragma: no cover
    from zoneinfo import ZoneInfo

    from siyu.core.workspace import Workspace

COLUMNS = ["at", "actor", "action", "target", "detail"]
COLS = (
    Col("at", _.lazy("Time"), "time", width=140),
    Col("actor", _.lazy("User")),
    Col("action_label", _.lazy("Action")),
    Col("target_label", _.lazy("Target")),
    Col("details", _.lazy("Details"), width=460),
)
#: Columns whose text wraps onto more lines instead of running past the column's width.
WRAPPED = ("target_label", "details")
#: A download holds at most this many entries.
EXPORT_LIMIT = 10_000

#: What each action of siyu and of its bundled plugins is called.
ACTIONS: dict[str, Any] = {
    "user.add": _.lazy("Add user"),
    "user.update": _.lazy("Change user"),
    "user.locked": _.lazy("User locked"),
    "user.unlock": _.lazy("Unlock user"),
    "user.login": _.lazy("Sign in"),
    "user.logout": _.lazy("Sign out"),
    "user.language": _.lazy("Change language"),
    "setting.set": _.lazy("Change setting"),
    "store.upsert": _.lazy("Save store"),
    "staff.upsert": _.lazy("Save staff member"),
    "contact.add": _.lazy("Add contact"),
    "contact.update": _.lazy("Update contact"),
    "contact.remove": _.lazy("Remove contact"),
    "contact.search": _.lazy("Search contacts"),
    "contact.export": _.lazy("Download contacts"),
    "contact.tag": _.lazy("Tag contacts"),
    "contact.untag": _.lazy("Untag contacts"),
    "contact.owner": _.lazy("Change owner"),
    "tag_group.create": _.lazy("Create tag group"),
    "tag.create": _.lazy("Create tag"),
    "tag.delete": _.lazy("Delete tag"),
    "order.add": _.lazy("Add order"),
    "order.update": _.lazy("Update order"),
    "import.contacts": _.lazy("Import contacts"),
    "import.orders": _.lazy("Import orders"),
    "wecom.contacts": _.lazy("Contacts from WeCom"),
    "wecom.sync": _.lazy("WeCom sync"),
    "job.run": _.lazy("Run job"),
    "job.pause": _.lazy("Pause job"),
    "job.resume": _.lazy("Resume job"),
    "hook.deliver": _.lazy("Deliver hook notices"),
    "hook.retry": _.lazy("Retry hook delivery"),
    "livecode.create": _.lazy("Create live code"),
    "livecode.update": _.lazy("Edit live code"),
    "livecode.pause": _.lazy("Pause live code"),
    "livecode.resume": _.lazy("Resume live code"),
    "livecode.delete": _.lazy("Delete live code"),
    "livecode.reconcile": _.lazy("Settle live code change"),
    "livecode.store_codes": _.lazy("Create store live codes"),
    "livecode.check": _.lazy("Check live codes"),
    "groupcode.create": _.lazy("Create group live code"),
    "groupcode.update": _.lazy("Edit group live code"),
    "groupcode.pause": _.lazy("Pause group live code"),
    "groupcode.resume": _.lazy("Resume group live code"),
    "groupcode.delete": _.lazy("Delete group live code"),
    "groupcode.reconcile": _.lazy("Settle group live code change"),
    "groupcode.invite": _.lazy("Invite to group live code"),
    "groupcode.reload_groups": _.lazy("Reload group chats"),
}
#: Targets that are words rather than names, by action: shown translated.
TARGETS: dict[tuple[str, str], Any] = {
    ("contact.search", "contacts"): _.lazy("Contacts"),
    ("contact.export", "contacts"): _.lazy("Contacts"),
}
#: The labels of the detail fields siyu and its bundled plugins record, in the order shown.
DETAIL_LABELS: dict[str, Any] = {
    "name": _.lazy("Name"), "role": _.lazy("Role"), "amount_fen": _.lazy("Amount"),
    "refunded_fen": _.lazy("Refunded amount"), "status": _.lazy("Status"),
    "contacts": _.lazy("Contacts"), "kind": _.lazy("Kind"), "via": _.lazy("Via"),
    "source": _.lazy("Source"), "term": _.lazy("Search term"),
    "denied": _.lazy("Refused"), "search": _.lazy("Searched"), "tag": _.lazy("Tag"),
    "owner": _.lazy("Owner"), "was": _.lazy("Was"), "channel": _.lazy("Channel"),
    "by": _.lazy("Removed by"), "changes": _.lazy("Changes"),
    "language": _.lazy("Language"), "password": _.lazy("Password"),
    "disabled": _.lazy("Disabled"), "failures": _.lazy("Failed sign-ins"),
    "sessions": _.lazy("Sessions ended"), "ran": _.lazy("Deliveries run"),
    # imports (import.contacts, import.orders, wecom.contacts)
    "file": _.lazy("File"), "rows": _.lazy("Rows"), "created": _.lazy("New"),
    "updated": _.lazy("Updated"), "unchanged": _.lazy("Unchanged"),
    "duplicates": _.lazy("Duplicate rows merged"), "skipped": _.lazy("Skipped"),
    "ignored_columns": _.lazy("Columns not imported"),
    # a WeCom sync, when recorded as counts
    "staff": _.lazy("Staff"), "tags": _.lazy("Tags"), "customers": _.lazy("Customers"),
    "removed": _.lazy("Removed"), "follows": _.lazy("Follows"),
    "follows_started": _.lazy("Follows started"), "follows_ended": _.lazy("Follows ended"),
    "groups": _.lazy("Group chats"), "resumed_from": _.lazy("Resumed at"),
    "stages": _.lazy("Stages"),
    # live codes and group live codes
    "members": _.lazy("Members"), "fields": _.lazy("Fields"), "chats": _.lazy("Group chats"),
    "pool": _.lazy("Spare group chats"), "group_code": _.lazy("Group live code"),
    "change": _.lazy("Change"), "outcome": _.lazy("Outcome"),
    "asked_by": _.lazy("Asked by"), "checked": _.lazy("Codes checked"),
    "missing": _.lazy("Missing in WeCom"), "failed": _.lazy("Failed"),
    "summary": _.lazy("Summary"),
}
#: Where a change came from (``source`` / ``via`` of an entry).
SOURCES: dict[str, Any] = {
    "manual": _.lazy("manual"), "api": _.lazy("API"), "import": _.lazy("import"),
    "wecom": _.lazy("WeCom"), "livecodes": _.lazy("live codes"),
}
#: Known values of detail fields, by field: shown in words.
DETAIL_VALUES: dict[str, dict[str, Any]] = {
    "source": SOURCES,
    "via": SOURCES,
    "kind": {"manual": _.lazy("manual"), "auto": _.lazy("automatic"),
             "plugin": _.lazy("plugin")},
    "by": {"customer": _.lazy("the customer"), "staff": _.lazy("a staff member"),
           "transfer": _.lazy("a transfer")},
    "status": {"ok": _.lazy("succeeded"), "failed": _.lazy("failed"),
               "running": _.lazy("running"), "paid": _.lazy("paid"),
               "partially_refunded": _.lazy("partially refunded"),
               "refunded": _.lazy("refunded"), "cancelled": _.lazy("cancelled")},
    "password": {"changed": _.lazy("changed")},
    "change": {"create": _.lazy("create"), "update": _.lazy("edit"),
               "pause": _.lazy("pause"), "resume": _.lazy("resume"),
               "delete": _.lazy("delete"), "relist": _.lazy("re-list members")},
    "outcome": {"done": _.lazy("completed"), "dropped": _.lazy("dropped")},
    "stages": {"staff": _.lazy("staff"), "tags": _.lazy("tags"),
               "customers": _.lazy("customers"), "groups": _.lazy("group chats")},
}
DETAIL_VALUES["resumed_from"] = DETAIL_VALUES["stages"]
#: Field names in ``fields`` (what an edit changed) and ``changes`` (old → new).
FIELD_LABELS: dict[str, Any] = {
    "name": _.lazy("Name"), "members": _.lazy("Members"), "strategy": _.lazy("Strategy"),
    "channel": _.lazy("Channel"), "tags": _.lazy("Tags"), "welcome": _.lazy("Welcome message"),
    "backup": _.lazy("Backup staff"), "daily_cap": _.lazy("Daily cap"),
    "round_cap": _.lazy("Round cap"), "remark": _.lazy("Remark"), "store": _.lazy("Store"),
    "chats": _.lazy("Group chats"), "pool": _.lazy("Spare group chats"),
    "amount_fen": _.lazy("Amount"), "refunded_fen": _.lazy("Refunded amount"),
    "status": _.lazy("Status"), "contact_id": _.lazy("Contact"),
}
#: Detail fields holding money in fen.
MONEY_FIELDS = frozenset({"amount_fen", "refunded_fen"})


def action_label(action: Any) -> str:
    """An action's name in the current language (:data:`ACTIONS`); an action siyu does not
    know shows its code."""
    if action is None or (isinstance(action, float) and pd.isna(action)):
        return MISSING
    return str(ACTIONS.get(action, action))


def target_label(action: Any, target: Any) -> str:
    """What an entry acted on: a name as stored, or a word (:data:`TARGETS`) translated."""
    if target is None or (isinstance(target, float) and pd.isna(target)):
        return ""
    known = TARGETS.get((action, target)) if isinstance(action, str) else None
    return str(known) if known is not None else str(target)


def action_patterns(text: str) -> list[str]:
    """The action code patterns the action filter ``text`` stands for: ``text`` itself (a
    code or a pattern such as ``tag.*``) and the codes of the actions whose name contains
    ``text``, in the current language or in English (so "标签" and "tag" find
    ``tag.create``, ``contact.tag``…). ``[]`` for no filter."""
    text = text.strip()
    if not text:
        return []
    needle = text.casefold()
    named = [code for code, label in ACTIONS.items()
             if needle in str(label).casefold() or needle in label.source.casefold()]
    return [text, *(code for code in named if code != text)]


def _field(name: Any) -> str:
    return str(FIELD_LABELS.get(name, name))


def detail_value(key: str, value: Any, tz: ZoneInfo) -> str:
    """One detail field's value as text a person reads: money in ¥ (:data:`MONEY_FIELDS`),
    a role, a language or a known value (:data:`DETAIL_VALUES`) in words, field names by
    their labels, counts with thousands separators, times in ``tz``; ``—`` for nothing."""
    if value is None or isinstance(value, bool):
        return plain_value(value, tz)
    if key in MONEY_FIELDS and isinstance(value, (int, float)):
        return fmt_money(value)
    if key == "role" and isinstance(value, str):
        return str(role_label(value))
    if key == "language" and isinstance(value, str):
        return language_name(value)
    if key == "fields" and isinstance(value, (list, tuple)):
        return _(", ").join(_field(name) for name in value) or MISSING
    if key == "changes" and isinstance(value, Mapping):
        parts = []
        for name, change in value.items():
            old, new = (change if isinstance(change, (list, tuple)) and len(change) == 2
                        else (None, change))
            parts.append(_("{field}: {old} → {new}", field=_field(name),
                           old=detail_value(name, old, tz), new=detail_value(name, new, tz)))
        return _("; ").join(parts) or MISSING
    known = DETAIL_VALUES.get(key)
    if known is not None and isinstance(value, str):
        return str(known.get(value, value))
    if known is not None and isinstance(value, (list, tuple)):
        return _(", ").join(str(known.get(item, item)) for item in value) or MISSING
    if isinstance(value, int):
        return fmt_int(value)
    return plain_value(value, tz)


def detail_pairs(detail: Mapping[str, Any], tz: ZoneInfo) -> list[tuple[str, str]]:
    """``(label, text)`` for each field of an entry's detail: the fields
    :data:`DETAIL_LABELS` knows first, in its order, under their translated label; others
    after, under their own name. Empty values are left out."""
    keys = [key for key in DETAIL_LABELS if key in detail] + [
        key for key in detail if key not in DETAIL_LABELS]
    pairs = []
    for key in keys:
        text = detail_value(key, detail[key], tz)
        if text != MISSING:
            pairs.append((str(DETAIL_LABELS.get(key, key)), text))
    return pairs


def details_text(detail: Any, tz: ZoneInfo) -> str:
    """An entry's ``detail`` as ``Label: value; Label: value`` in the current language
    (times in ``tz``); a detail that is not a mapping as it is."""
    if not isinstance(detail, Mapping):
        return "" if detail is None or (isinstance(detail, float) and pd.isna(detail)) \
            else str(detail)
    return _("; ").join(_("{label}: {value}", label=label, value=value)
                        for label, value in detail_pairs(detail, tz))


class AuditPage(pn.viewable.Viewer):
    """The Audit log page (permission ``audit.read``). ``rows`` holds the current page as
    read.

    :param page_size: entries per page.
    """

    def __init__(self, ws: Workspace, *, page_size: int = 50, **params: Any):
        super().__init__(**params)
        ws.principal.require("audit.read")
        self.ws = ws
        self.rows = pd.DataFrame(columns=COLUMNS)
        self.actor = pn.widgets.TextInput(label=_("User"), placeholder=_("user name"),
                                          css_classes=["siyu-audit-actor"], width=200)
        self.action = pn.widgets.TextInput(label=_("Action"),
                                           placeholder=_("e.g. tag.* or user.add"),
                                           css_classes=["siyu-audit-action"], width=200)
        self.pager = Pager(page_size=page_size, noun="entry", nouns="entries",
                           css_class="siyu-audit-pager")
        self.table = data_table(COLS, css_class="siyu-audit-table", sortable=False,
                                formatters={col.title: {"type": "textarea"}
                                            for col in COLS if col.key in WRAPPED})
        self.empty = empty_state(_("No entry matches these filters."),
                                 _("Clear the user or action filter."),
                                 css_class="siyu-audit-empty")
        self.downloads = downloads(self.export_frame, "audit-log",
                                   css_class="siyu-audit-download")
        for widget in (self.actor, self.action):
            widget.param.watch(self._filters_changed, "value")
        self.pager.param.watch(lambda _event: self.refresh(), "page")
        self.refresh()

    def filters(self) -> dict[str, Any]:
        """The current filters as ``ws.audit_log.df()`` keyword arguments."""
        return {"actor": self.actor.value.strip() or None,
                "action": action_patterns(self.action.value) or None}

    def _filters_changed(self, *_events: Any) -> None:
        if self.pager.page != 1:
            self.pager.page = 1  # the page watcher refreshes
        else:
            self.refresh()

    def _readable(self, frame: pd.DataFrame) -> pd.DataFrame:
        tz = self.ws.timezone
        frame = frame.reindex(columns=COLUMNS)
        return frame.assign(
            action_label=[action_label(a) for a in frame["action"]],
            target_label=[target_label(a, t) for a, t in zip(frame["action"], frame["target"],
                                                               strict=True)],
            details=[details_text(d, tz) for d in frame["detail"]])

    @notify_errors
    def refresh(self) -> None:
        """Show the current page of matching entries."""
        size = self.pager.page_size
        frame = self.ws.audit_log.df(limit=size + 1, offset=self.pager.offset,
                                     **self.filters())
        self.pager.has_more = len(frame) > size
        self.rows = frame.iloc[:size].reset_index(drop=True)
        self.table.value = display_frame(self._readable(self.rows), COLS, self.ws.timezone)
        toggle_empty(self.table, self.empty, not self.rows.empty)

    def export_frame(self) -> pd.DataFrame:
        """What the downloads hold: up to :data:`EXPORT_LIMIT` entries matching the
        filters, newest first, with the table's columns."""
        frame = self.ws.audit_log.df(limit=EXPORT_LIMIT, **self.filters())
        return export_frame(self._readable(frame), COLS, self.ws.timezone)

    def __panel__(self) -> pn.Column:
        return pn.Column(
            page_header(_("Audit log"), _("Who changed what and when, newest first. Filter "
                                          "by user, or by action: a word of its name or its "
                                          "code; * matches anything.")),
            pn.FlexBox(self.actor, self.action, flex_wrap="wrap",
                       css_classes=["siyu-audit-filters"]),
            self.pager, self.table, self.empty, self.downloads,
            css_classes=["siyu-audit-page"], sizing_mode="stretch_width")
