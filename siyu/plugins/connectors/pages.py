"""The Connectors console page (数据连接器): the configured connectors with their schedule and
last run, a form to add or change one, and for the chosen connector its settings, "Run now",
its run history and the records a run skipped, and resetting or removing it.

The form is drawn from the kind's :class:`~siyu.core.records.ConnectorSetting` list: required
settings are marked, settings with choices are menus, secrets are password fields that are
never filled back (editing says only whether one is set; leaving it empty keeps it). The field
mapping is one row per siyu field: the field, and where it is in a source record. Saving goes
through :func:`~siyu.plugins.connectors.store.add` / :func:`~siyu.plugins.connectors.store.update`,
which check everything before they store anything.

"Run now" syncs in a thread of its own, so the server keeps answering while the source is read;
the page polls the run's row (its counts are saved with each page) to show how far it got, and
shows the result when it ends.

Opening the page needs ``data.read``; without ``data.write`` there is no form and there are no
run, edit, reset or remove buttons. Data-derived text reaches the page through the kit tables
or :mod:`siyu.apps.safe`, escaped.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import panel as pn
import sqlalchemy as sa

from siyu.apps.kit import (
    Col,
    Spot,
    data_table,
    empty_state,
    fmt_int,
    fmt_time,
    form_row,
    page_header,
)
from siyu.apps.pages.common import (
    notify_error,
    notify_errors,
    notify_info,
    notify_success,
    notify_warning,
    readonly_note,
    section,
)
from siyu.apps.safe import html, join, md
from siyu.core.errors import SiyuError, ValidationError
from siyu.core.i18n import current_language, translator, use_language
from siyu.core.importing.headers import CUSTOM_PREFIX
from siyu.core.records import CONNECTOR_ENTITIES, ConnectorSetting, ConnectorSpec
from siyu.plugins.connectors import runner, store
from siyu.plugins.connectors.mapping import TARGETS
from siyu.plugins.connectors.models import Connector, ConnectorRun
from siyu.plugins.connectors.runner import ENTITY_LABELS, STATUS_LABELS, RunResult, sync

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace
    from siyu.plugins.connectors.runner import SyncReport

_ = translator("siyu.plugins.connectors")
log = logging.getLogger("siyu.console")

#: Widest a single form field gets, so the page works on a 390 px phone.
FIELD_WIDTH = 340
#: Runs the history shows, newest first.
HISTORY = 50
#: How often (ms) the page looks at a running sync.
POLL_MS = 500

LIST_COLS = (Col("name", _.lazy("Connector"), width=130), Col("kind", _.lazy("Kind")),
             Col("syncs", _.lazy("Syncs")), Col("schedule", _.lazy("Schedule")),
             Col("enabled", _.lazy("Enabled"), "bool"),
             Col("last_status", _.lazy("Last run")),
             Col("last_at", _.lazy("Last run at"), "time"))
DETAIL_COLS = (Col("what", _.lazy("Setting"), width=150), Col("value", _.lazy("Value")))
#: Tabulator's ``textarea`` formatter: long text wraps in its cell (escaped like the default).
WRAP = {"type": "textarea"}
RUN_COLS = (Col("id", _.lazy("Run"), "id"), Col("entity_label", _.lazy("Entity")),
            Col("status_label", _.lazy("Status")), Col("trigger_label", _.lazy("Started")),
            Col("started_at", _.lazy("Started at"), "time"),
            Col("finished_at", _.lazy("Finished at"), "time"),
            Col("pages", _.lazy("Pages"), "int"), Col("records", _.lazy("Records"), "int"),
            Col("created", _.lazy("New"), "int"), Col("updated", _.lazy("Updated"), "int"),
            Col("unchanged", _.lazy("Unchanged"), "int"),
            Col("skipped", _.lazy("Skipped"), "int"),
            Col("queued", _.lazy("To match by hand"), "int"), Col("error", _.lazy("Error")))
PROBLEM_COLS = (Col("record", _.lazy("Record"), "int", 80), Col("field", _.lazy("Field")),
                Col("value", _.lazy("Value")), Col("reason", _.lazy("Reason")))
#: What the history query reads of each run.
RUN_FIELDS = ("id", "entity", "status", "trigger", "started_at", "finished_at", "pages",
              "records", "created", "updated", "unchanged", "skipped", "queued", "error",
              "problems")

TRIGGER_LABELS = {"hand": _.lazy("by hand"), "schedule": _.lazy("on schedule")}
#: siyu's fields, as the mapping menus name them.
FIELD_LABELS = {
    "orders": {"external_id": _.lazy("order number"),
               "contact": _.lazy("WeCom external contact ID"),
               "buyer_phone": _.lazy("buyer's phone"), "unionid": _.lazy("UnionID"),
               "member_id": _.lazy("member number"), "amount": _.lazy("amount in yuan"),
               "amount_fen": _.lazy("amount in fen"),
               "refunded": _.lazy("refunded in yuan"),
               "refunded_fen": _.lazy("refunded in fen"), "paid_at": _.lazy("paid at"),
               "store": _.lazy("store code"), "staff": _.lazy("staff member's userid"),
               "status": _.lazy("order status")},
    "members": {"external_userid": _.lazy("WeCom external contact ID"),
                "unionid": _.lazy("UnionID"), "name": _.lazy("name"),
                "phone": _.lazy("phone"), "gender": _.lazy("gender"), "city": _.lazy("city"),
                "owner": _.lazy("owner's userid"), "store": _.lazy("store code"),
                "source_channel": _.lazy("channel"), "remark": _.lazy("remark"),
                "added_at": _.lazy("added at"), "tags": _.lazy("tags"),
                "member_id": _.lazy("member number")},
}
#: The rows a new connector's mapping starts with: the fields each entity needs, taken from
#: the source field most APIs give them under.
PREFILL = {"orders": (("external_id", "order_id"), ("amount", "amount"),
                      ("paid_at", "paid_at")),
           "members": (("member_id", "member_id"),)}

HELP_CSS = """
.siyu-connector-help{color:#5f6b7a;font-size:13px;margin:0 0 6px;line-height:1.5}
"""
RESULT_CSS = """
p{margin:4px 0;line-height:1.5;overflow-wrap:anywhere}
.siyu-connectors-error{color:#b42318}
"""


# -- text -----------------------------------------------------------------------------------

def listed(items: Sequence[Any]) -> str:
    """Items joined as the reader's language lists them (``"orders、members"`` in Chinese)."""
    return ("、" if current_language().startswith("zh") else ", ").join(map(str, items))


def entity_label(entity: str) -> str:
    """``"orders"`` as the reader calls it."""
    return str(ENTITY_LABELS.get(entity, entity))


def status_label(status: str) -> str:
    """A run's status as the reader calls it (``"ok"`` → finished)."""
    return str(STATUS_LABELS.get(status, status))


def schedule_text(minutes: int) -> str:
    """``60`` → "every 60 minutes"; ``0`` → "by hand only"."""
    if not minutes:
        return _("by hand only")
    return _.ngettext("every {n} minute", "every {n} minutes", minutes)


def field_option(entity: str, field: str) -> str:
    """A mapping menu's label for siyu's ``field``: ``"order number"`` (the field's own name
    when it has no label)."""
    label = FIELD_LABELS.get(entity, {}).get(field)
    return str(label) if label else field


def choice_options(setting: ConnectorSetting) -> dict[str, str]:
    """A menu's options for a setting with choices: ``{label: value}``, each value named by
    the kind's ``choice_labels`` (the value itself when it gives none)."""
    labels = [str(label) for label in setting.choice_labels] or list(setting.choices)
    if len(labels) != len(setting.choices):
        labels = list(setting.choices)
    return dict(zip(labels, setting.choices, strict=True))


def secret_label(setting: ConnectorSetting, is_set: bool) -> str:
    """A secret field's label: its title and whether a value is stored."""
    return _("{title} ({state})", title=setting_label(setting),
             state=_("set") if is_set else _("not set"))


def setting_label(setting: ConnectorSetting) -> str:
    """A setting's label; required ones marked with ``*``."""
    title = str(setting.title or setting.name)
    return f"{title} *" if setting.required else title


def as_setting(text: Any, default: Any) -> Any:
    """What a text field holds, as the kind's setting: a number where the default is one and
    the text reads as one; otherwise the text (the kind's check names what is wrong), blanks
    around it dropped unless the default has them (a token prefix such as ``"Bearer "``)."""
    value = str(text if text is not None else "")
    padded = isinstance(default, str) and default != default.strip()
    if not padded:
        value = value.strip()
    if isinstance(default, bool) or not isinstance(default, int | float):
        return value
    try:
        return int(value) if isinstance(default, int) else float(value)
    except ValueError:
        return value


def is_default(value: Any, default: Any) -> bool:
    """Whether a form value (made by :func:`as_setting`) says the same as the setting's
    default."""
    return str(value) == ("" if default is None else str(default))


def shown_value(value: Any) -> str:
    """A setting's or a cursor's value as one line of text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


# -- reading --------------------------------------------------------------------------------

def run_history(ws: Workspace, name: str, limit: int = HISTORY) -> pd.DataFrame:
    """The latest runs of connector ``name``, newest first (``RUN_FIELDS`` as columns)."""
    rows = [{f: getattr(run, f) for f in RUN_FIELDS} for run in runner.runs(ws, name, limit=limit)]
    return pd.DataFrame(rows, columns=list(RUN_FIELDS))


def latest_runs(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """Each connector's latest run of each entity: ``{name: [{"entity", "status",
    "started_at", "finished_at"}, …]}``."""
    run, connector = ConnectorRun.__table__, Connector.__table__
    newest = (sa.select(sa.func.max(run.c.id).label("id"))
              .group_by(run.c.connector_id, run.c.entity).subquery())
    query = (sa.select(connector.c.name, run.c.entity, run.c.status, run.c.started_at,
                       run.c.finished_at)
             .join(connector, connector.c.id == run.c.connector_id)
             .join(newest, newest.c.id == run.c.id))
    found: dict[str, list[dict[str, Any]]] = {}
    with ws.engine.connect() as conn:
        for name, entity, status, started, finished in conn.execute(query):
            found.setdefault(name, []).append({"entity": entity, "status": status,
                                               "started_at": started,
                                               "finished_at": finished})
    return found


def last_run_text(runs: list[dict[str, Any]]) -> str:
    """How a connector's latest runs ended, in one word or so: "finished", "running",
    "failed: members" (empty when it never ran)."""
    if not runs:
        return ""
    if any(r["status"] == "running" for r in runs):
        return status_label("running")
    failed = [entity_label(r["entity"]) for r in runs if r["status"] == "failed"]
    if failed:
        return _("failed: {entities}", entities=listed(failed))
    return status_label("ok")


def connectors_frame(ws: Workspace) -> pd.DataFrame:
    """One row per connector, as the list shows it."""
    latest = latest_runs(ws)
    rows = []
    for info in store.configured(ws):
        spec = ws.connectors.get(info.kind)
        runs = latest.get(info.name, [])
        times = [r["finished_at"] or r["started_at"] for r in runs]
        rows.append({"name": info.name,
                     "kind": str(spec.title) if spec is not None and spec.title else info.kind,
                     "syncs": listed([entity_label(e) for e in info.entities]),
                     "schedule": schedule_text(info.every_minutes), "enabled": info.enabled,
                     "last_status": last_run_text(runs),
                     "last_at": max(times) if times else None})
    return pd.DataFrame(rows, columns=[c.key for c in LIST_COLS])


def details_frame(ws: Workspace, info: store.ConnectorInfo) -> pd.DataFrame:
    """What a connector is set to, one row per line: its kind, schedule, the settings it
    stores (secrets only as set or not set), its mappings and where each entity stands."""
    spec = ws.connectors.get(info.kind)
    rows = [(_("Kind"), str(spec.title) if spec is not None and spec.title else info.kind),
            (_("Title"), info.title), (_("Syncs"),
                                       listed([entity_label(e) for e in info.entities])),
            (_("Schedule"), schedule_text(info.every_minutes)),
            (_("Enabled"), _("Yes") if info.enabled else _("No"))]
    settings = {s.name: s for s in (spec.settings if spec is not None else ())}
    for key, value in info.settings.items():
        setting = settings.get(key)
        rows.append((str(setting.title) if setting is not None and setting.title else key,
                     shown_value(value)))
    for setting in settings.values():
        if setting.secret:
            rows.append((str(setting.title or setting.name),
                         _("set") if setting.name in info.secrets_set else _("not set")))
    for entity in info.entities:
        fields = info.mapping.get(entity, {})
        rows.append((_("Field mapping ({entity})", entity=entity_label(entity)),
                     listed([f"{field} ← {path}" for field, path in fields.items()])))
    for entity in info.entities:
        cursor = info.cursors.get(entity)
        rows.append((_("Read up to ({entity})", entity=entity_label(entity)),
                     shown_value(cursor) if cursor else _("the start")))
    return pd.DataFrame([{"what": what, "value": value} for what, value in rows],
                        columns=["what", "value"])


def notify_outcome(report: SyncReport) -> None:
    """One notification for a sync: its totals when every entity finished, else why not."""
    runs = report.runs
    if report.ok:
        notify_success(_("connector {name} synced: {records} records, {created} new, "
                         "{updated} updated, {skipped} skipped", name=report.connector,
                         records=fmt_int(sum(r.records for r in runs)),
                         created=fmt_int(sum(r.created for r in runs)),
                         updated=fmt_int(sum(r.updated for r in runs)),
                         skipped=fmt_int(sum(r.skipped for r in runs))))
        return
    failed = [_("{entity}: {error}", entity=entity_label(r.entity), error=r.error)
              for r in runs if r.status != "ok"]
    notify_warning(_("connector {name} did not finish — {problems}", name=report.connector,
                     problems="; ".join(failed)))


def result_of(row: Mapping[str, Any]) -> RunResult:
    """A run's row as the runner's :class:`RunResult` (for its summary line)."""
    return RunResult(run_id=int(row["id"]), entity=row["entity"], status=row["status"],
                     pages=int(row["pages"]), records=int(row["records"]),
                     created=int(row["created"]), updated=int(row["updated"]),
                     unchanged=int(row["unchanged"]), skipped=int(row["skipped"]),
                     queued=int(row["queued"] or 0), error=row["error"] or "",
                     problems=list(row["problems"] or []))


# -- pieces ---------------------------------------------------------------------------------

class SettingFields:
    """The fields of one kind's settings: a menu for a setting with choices, a password
    field for a secret, a text field for the rest. Required settings, secrets and those
    with choices or without a default come first; the others wait under "More settings"
    with their defaults filled in."""

    def __init__(self, spec: ConnectorSpec):
        self.spec = spec
        self.widgets: dict[str, pn.widgets.Widget] = {}
        main, more = [], []
        for setting in spec.settings:
            widget = self._widget(setting)
            self.widgets[setting.name] = widget
            first = (setting.required or setting.secret or setting.choices
                     or setting.default in (None, ""))
            (main if first else more).append(widget)
        self.more = pn.Card(form_row(*more), title=html("{title}", title=_("More settings")),
                            collapsed=True, sizing_mode="stretch_width", visible=bool(more),
                            css_classes=["siyu-connector-more"], margin=(5, 10))
        self.layout = pn.Column(form_row(*main), self.more, sizing_mode="stretch_width",
                                margin=0, css_classes=["siyu-connector-settings"])

    @staticmethod
    def _widget(setting: ConnectorSetting) -> pn.widgets.Widget:
        css = [f"siyu-connector-setting-{setting.name}"]
        help_text = str(setting.help) if setting.help else None
        if setting.secret:
            return pn.widgets.PasswordInput(
                label=secret_label(setting, False), placeholder=help_text or "",
                width=FIELD_WIDTH, css_classes=css)
        if setting.choices:
            return pn.widgets.Select(label=setting_label(setting), options=choice_options(setting),
                                     value=setting.default if setting.default in setting.choices
                                     else setting.choices[0], description=help_text,
                                     width=200, css_classes=css)
        return pn.widgets.TextInput(label=setting_label(setting),
                                    value=shown_value(setting.default),
                                    placeholder=help_text or "", description=help_text,
                                    width=FIELD_WIDTH if setting.required else 240,
                                    css_classes=css)

    def load(self, info: store.ConnectorInfo) -> None:
        """Show ``info``'s settings (secrets stay empty: their labels say whether one is
        set)."""
        for setting in self.spec.settings:
            widget = self.widgets[setting.name]
            if setting.secret:
                widget.value = widget.value_input = ""
                widget.label = secret_label(setting, setting.name in info.secrets_set)
                widget.placeholder = _("leave empty to keep")
            elif setting.choices:
                value = info.settings.get(setting.name, setting.default)
                widget.value = value if value in setting.choices else setting.choices[0]
            else:
                widget.value = shown_value(info.settings.get(setting.name, setting.default))

    def clear_secrets(self) -> None:
        """Empty every secret field, what the browser sent while it was typed included (a
        saved secret never stays in the page)."""
        for setting in self.spec.settings:
            if setting.secret:
                widget = self.widgets[setting.name]
                widget.value = widget.value_input = ""

    def values(self, *, editing: bool) -> dict[str, Any]:
        """The settings to save: those that differ from the kind's default (when editing, a
        setting back at its default is removed, ``None``); a secret only when typed."""
        found: dict[str, Any] = {}
        for setting in self.spec.settings:
            widget = self.widgets[setting.name]
            if setting.secret:
                if widget.value:
                    found[setting.name] = widget.value
                continue
            value = as_setting(widget.value, setting.default)
            if is_default(value, setting.default):
                if editing:
                    found[setting.name] = None
                continue
            found[setting.name] = value
        return found


class MappingRow:
    """One line of a field mapping: siyu's field (a menu; members may also fill a custom
    field, named in a text field) and the path of the value in a source record."""

    def __init__(self, entity: str, field: str, path: str, on_remove: Callable):
        custom = entity == "members" and field.startswith(CUSTOM_PREFIX)
        options = {field_option(entity, f): f for f in TARGETS[entity]}
        if entity == "members":
            options[_("custom field…")] = CUSTOM_PREFIX
        self.target = pn.widgets.Select(
            label=_("siyu field"), options=options,
            value=CUSTOM_PREFIX if custom else (field or TARGETS[entity][0]), width=230,
            css_classes=["siyu-connector-map-field"])
        self.custom = pn.widgets.TextInput(
            label=_("Custom field name"), value=field[len(CUSTOM_PREFIX):] if custom else "",
            placeholder=_("e.g. 会员等级"), width=150, visible=custom,
            css_classes=["siyu-connector-map-custom"])
        self.path = pn.widgets.TextInput(
            label=_("Source path"), value=path, placeholder=_("e.g. buyer.mobile"),
            width=220, css_classes=["siyu-connector-map-path"])
        self.remove = pn.widgets.Button(label=_("Remove"), width=80,
                                        css_classes=["siyu-connector-map-remove"])
        self.target.param.watch(
            lambda e: setattr(self.custom, "visible", e.new == CUSTOM_PREFIX), "value")
        self.remove.on_click(lambda _e: on_remove(self))
        self.layout = form_row(self.target, self.custom, self.path, self.remove,
                               css_class="siyu-connector-map-row")

    def pair(self) -> tuple[str, str]:
        """``(siyu field, path)`` as typed (the custom field as ``field:<name>``)."""
        field = self.target.value
        if field == CUSTOM_PREFIX:
            field = CUSTOM_PREFIX + self.custom.value.strip() if self.custom.value.strip() \
                else CUSTOM_PREFIX
        return field, (self.path.value or "").strip()


class MappingEditor(pn.viewable.Viewer):
    """The field mapping of one entity: one :class:`MappingRow` per siyu field and a button
    for one more."""

    def __init__(self, entity: str, **params: Any):
        super().__init__(**params)
        self.entity = entity
        self.rows: list[MappingRow] = []
        self.box = pn.Column(sizing_mode="stretch_width", margin=0)
        self.add_button = pn.widgets.Button(label=_("Add a field"), width=140,
                                            css_classes=["siyu-connector-map-add"])
        self.add_button.on_click(lambda _e: self.add_row())
        self.layout = pn.Column(
            pn.pane.Markdown(md("**{title}**", title=_("Field mapping ({entity}): where each "
                                                        "siyu field is in a source record",
                                                        entity=entity_label(entity))),
                             margin=(10, 10, 0, 10)),
            self.box, self.add_button, sizing_mode="stretch_width",
            css_classes=[f"siyu-connector-map-{entity}"])
        self.reset()

    def add_row(self, field: str = "", path: str = "") -> MappingRow:
        row = MappingRow(self.entity, field, path, self.remove_row)
        self.rows.append(row)
        self.box.append(row.layout)
        return row

    def remove_row(self, row: MappingRow) -> None:
        if row in self.rows:
            self.rows.remove(row)
            self.box.objects = [r.layout for r in self.rows]

    def load(self, mapping: Mapping[str, str]) -> None:
        """One row per mapped field."""
        self.rows = []
        self.box.objects = []
        for field, path in mapping.items():
            self.add_row(field, path)

    def reset(self) -> None:
        """The rows of a new connector: the fields the entity needs."""
        self.load(dict(PREFILL[self.entity]))

    def values(self) -> dict[str, str]:
        """``{siyu field: path}``; rows without a path are left out.

        :raises ValidationError: a custom field without a name, or a field given twice.
        """
        found: dict[str, str] = {}
        for row in self.rows:
            field, path = row.pair()
            if not path:
                continue
            if field == CUSTOM_PREFIX:
                raise ValidationError(_("{entity}: name the custom field that {path} fills",
                                        entity=entity_label(self.entity), path=path))
            if field in found:
                raise ValidationError(_("{entity}: {field} is mapped twice; keep one row "
                                        "for it", entity=entity_label(self.entity),
                                        field=field))
            found[field] = path
        return found

    def __panel__(self) -> pn.Column:
        return self.layout


class ConnectorForm(pn.viewable.Viewer):
    """Add a connector, or change the one loaded with Edit (``data.write``)."""

    def __init__(self, ws: Workspace, on_saved: Callable[[str], None] | None = None,
                 **params: Any):
        super().__init__(**params)
        self.ws, self.on_saved = ws, on_saved
        self.editing: str | None = None
        self.kinds = dict(ws.connectors)  # as registered: the built-in REST API first
        self.heading = pn.pane.Markdown(md("### {title}", title=_("Add a connector")),
                                        margin=(0, 10), css_classes=["siyu-connector-heading"])
        self.name_input = pn.widgets.TextInput(
            label=_("Name *"), placeholder=_("e.g. shop"), width=200,
            description=_("lower-case letters, digits, - and _; orders it stores have it as "
                          "their source"), css_classes=["siyu-connector-name"])
        self.title_input = pn.widgets.TextInput(label=_("Title"),
                                                placeholder=_("e.g. 天猫旗舰店 ERP"),
                                                width=240, css_classes=["siyu-connector-title"])
        self.kind = pn.widgets.Select(
            label=_("Kind *"), options={str(spec.title or spec.name): spec.name
                                       for spec in self.kinds.values()},
            value="rest" if "rest" in self.kinds else next(iter(self.kinds), None),
            width=200, css_classes=["siyu-connector-kind"])
        self.kind_help = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10),
                                      stylesheets=[HELP_CSS],
                                      css_classes=["siyu-connector-kind-help"])
        self.settings_box = pn.Column(sizing_mode="stretch_width", margin=0)
        self.fields: SettingFields | None = None
        self.entities = pn.widgets.CheckBoxGroup(
            label=_("Syncs"), options={entity_label(e): e for e in CONNECTOR_ENTITIES},
            value=["orders"], inline=True, css_classes=["siyu-connector-entities"])
        self.mappings = {e: MappingEditor(e) for e in CONNECTOR_ENTITIES}
        self.every = pn.widgets.IntInput(label=_("Run every N minutes (0: by hand only)"),
                                         value=60, start=0, end=store.MAX_EVERY, width=260,
                                         css_classes=["siyu-connector-every"])
        self.enabled = pn.widgets.Checkbox(label=_("Enabled: runs on its schedule"),
                                           value=True, css_classes=["siyu-connector-enabled"])
        self.save_button = pn.widgets.Button(label=_("Add connector"), color="primary",
                                             css_classes=["siyu-connector-save"])
        self.new_button = pn.widgets.Button(label=_("Start a new one instead"), visible=False,
                                            css_classes=["siyu-connector-new"])
        self.kind.param.watch(lambda _e: self._kind_chosen(), "value")
        self.entities.param.watch(lambda _e: self._entities_chosen(), "value")
        self.save_button.on_click(lambda _e: self.save())
        self.new_button.on_click(lambda _e: self.reset())
        self._kind_chosen()

    def spec(self) -> ConnectorSpec:
        """The chosen kind."""
        return store.kind_of(self.ws, self.kind.value)

    def _kind_chosen(self) -> None:
        """The chosen kind's fields, its help, and the entities it can sync."""
        spec = self.kinds.get(self.kind.value)
        if spec is None:
            self.fields = None
            self.settings_box.objects = []
            return
        self.fields = SettingFields(spec)
        self.settings_box.objects = [self.fields.layout]
        self.kind_help.object = html('<p class="siyu-connector-help">{text}</p>',
                                     text=str(spec.help)) if spec.help else ""
        self.entities.options = {entity_label(e): e for e in spec.entities}
        self.entities.value = [e for e in self.entities.value if e in spec.entities] \
            or list(spec.entities[:1])
        self._entities_chosen()

    def _entities_chosen(self) -> None:
        for entity, editor in self.mappings.items():
            editor.layout.visible = entity in self.entities.value

    def reset(self) -> None:
        """Back to adding a new connector, every field at its default."""
        self.editing = None
        self.heading.object = md("### {title}", title=_("Add a connector"))
        self.name_input.value, self.name_input.disabled = "", False
        self.title_input.value = ""
        self.kind.disabled = False
        self.kind.value = "rest" if "rest" in self.kinds else next(iter(self.kinds), None)
        self.entities.value = ["orders"]
        self._kind_chosen()
        for editor in self.mappings.values():
            editor.reset()
        self.every.value = 60
        self.enabled.value = True
        self.save_button.label = _("Add connector")
        self.new_button.visible = False

    def load(self, info: store.ConnectorInfo) -> None:
        """Fill the form with connector ``info`` to change it.

        :raises ConfigError: its kind is no longer registered.
        """
        store.kind_of(self.ws, info.kind)
        self.reset()
        self.editing = info.name
        self.heading.object = md("### {title}", title=_("Change connector {name}",
                                                        name=info.name))
        self.name_input.value, self.name_input.disabled = info.name, True
        self.title_input.value = info.title
        self.kind.value = info.kind
        self.kind.disabled = True
        self.entities.value = list(info.entities)
        if self.fields is not None:
            self.fields.load(info)
        for entity, editor in self.mappings.items():
            if entity in info.mapping:
                editor.load(info.mapping[entity])
        self.every.value = info.every_minutes
        self.enabled.value = info.enabled
        self.save_button.label = _("Save changes")
        self.new_button.visible = True

    @notify_errors
    def save(self) -> store.ConnectorInfo:
        """Add the connector, or save the changes to the one being edited; nothing is stored
        unless everything checks."""
        spec = self.spec()
        if self.fields is None:  # pragma: no cover - a kind always has its fields
            raise ValidationError(_("choose a kind of connector"))
        entities = [e for e in CONNECTOR_ENTITIES if e in (self.entities.value or [])]
        mapping = {e: self.mappings[e].values() for e in entities}
        settings = self.fields.values(editing=self.editing is not None)
        common = {"settings": settings, "mapping": mapping, "entities": entities,
                  "title": (self.title_input.value or "").strip(),
                  "every_minutes": self.every.value, "enabled": bool(self.enabled.value)}
        if self.editing is not None:
            info = store.update(self.ws, self.editing, **common)
        else:
            info = store.add(self.ws, (self.name_input.value or "").strip(), spec.name,
                             **common)
        self.fields.clear_secrets()
        self.reset()
        notify_success(_("connector {name} saved: it syncs {entities}, {schedule}",
                         name=info.name, entities=listed([entity_label(e)
                                                          for e in info.entities]),
                         schedule=schedule_text(info.every_minutes)))
        if self.on_saved is not None:
            self.on_saved(info.name)
        return info

    def __panel__(self) -> pn.Column:
        note = pn.pane.HTML(html('<p class="siyu-connector-help">{text}</p>',
                                 text=_("Fields marked * are required. A source path names a "
                                        "value in a record: a key (order_id), keys joined by "
                                        "dots (buyer.mobile), [n] for a list item "
                                        "(payments[0].paid_at).")),
                            sizing_mode="stretch_width", margin=(0, 10), stylesheets=[HELP_CSS])
        return pn.Column(
            self.heading, note, form_row(self.name_input, self.title_input, self.kind),
            self.kind_help, self.settings_box,
            pn.pane.Markdown(md("**{title}**", title=_("Syncs")), margin=(10, 10, 0, 10)),
            self.entities,
            *(editor for editor in self.mappings.values()),
            form_row(self.every, self.enabled),
            form_row(self.save_button, self.new_button),
            sizing_mode="stretch_width", css_classes=["siyu-connector-form"])


class SyncJob:
    """One "Run now": the sync of a connector in a thread of its own (the source is read
    outside any transaction; the server's event loop keeps answering)."""

    def __init__(self, ws: Workspace, name: str, language: str):
        self.ws, self.name, self.language = ws, name, language
        self.report: SyncReport | None = None
        self.error = ""
        self.thread = threading.Thread(target=self._work, name=f"siyu-connector-{name}",
                                       daemon=True)

    def start(self) -> SyncJob:
        self.thread.start()
        return self

    def _work(self) -> None:
        with use_language(self.language):
            try:
                self.report = sync(self.ws, self.name, progress=False)
            except SiyuError as exc:
                self.error = str(exc)
            except Exception as exc:  # the run is marked failed; the operator sees why
                log.exception("connector %s: the sync failed", self.name)
                self.error = f"{type(exc).__name__}: {exc}"

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the sync to end (tests); whether it has."""
        self.thread.join(timeout)
        return self.done


class ConnectorsPage(pn.viewable.Viewer):
    """The Connectors page (permission ``data.read``; changes need ``data.write``)."""

    def __init__(self, ws: Workspace, **params: Any):
        super().__init__(**params)
        ws.principal.require("data.read")
        self.ws = ws
        self.can_write = ws.principal.can("data.write")
        tz = ws.timezone
        self.tz = tz
        # -- the list
        self.list_table = data_table(LIST_COLS, css_class="siyu-connectors-table")
        self.list_empty = empty_state(
            _("No connectors yet."),
            _("Add one with the form below: choose its kind (a REST API, a SQL database …), "
              "say where it is, and where siyu's fields are in its records.")
            if self.can_write else
            _("An operator or administrator adds them on this page."),
            css_class="siyu-connectors-empty")
        self.list_spot = Spot(self.list_table, self.list_empty)
        self.refresh_button = pn.widgets.Button(label=_("Refresh"), width=100,
                                                css_classes=["siyu-connectors-refresh"])
        # -- the chosen connector
        self.chosen = pn.widgets.Select(label=_("Connector"), width=220,
                                        css_classes=["siyu-connectors-chosen"])
        self.run_button = pn.widgets.Button(label=_("Run now"), color="primary",
                                            disabled=True, css_classes=["siyu-connectors-run"])
        self.edit_button = pn.widgets.Button(label=_("Edit"), disabled=True,
                                             css_classes=["siyu-connectors-edit"])
        self.reset_button = pn.widgets.Button(label=_("Read from the start"), disabled=True,
                                              css_classes=["siyu-connectors-reset"])
        self.remove_button = pn.widgets.Button(label=_("Remove"), color="danger",
                                               variant="outline", disabled=True,
                                               css_classes=["siyu-connectors-remove"])
        self.confirm_text = pn.pane.Markdown("", margin=(4, 10), sizing_mode="stretch_width")
        self.confirm_button = pn.widgets.Button(label=_("Yes"), color="danger",
                                                width=140,
                                                css_classes=["siyu-connectors-confirm"])
        self.cancel_button = pn.widgets.Button(label=_("No, keep it"), width=120,
                                               css_classes=["siyu-connectors-cancel"])
        self.confirm_row = pn.FlexBox(self.confirm_text, self.confirm_button,
                                      self.cancel_button, flex_wrap="wrap",
                                      align_items="center", visible=False,
                                      sizing_mode="stretch_width",
                                      css_classes=["siyu-connectors-ask"])
        self.asking: tuple[str, str] | None = None
        self.progress = pn.indicators.Progress(active=True, value=-1, visible=False,
                                               sizing_mode="stretch_width", max_width=600,
                                               css_classes=["siyu-connectors-progress"])
        self.result = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[RESULT_CSS],
                                   css_classes=["siyu-connectors-result"], margin=(0, 10))
        self.details = data_table(DETAIL_COLS, css_class="siyu-connectors-details",
                                  layout="fit_columns",
                                  formatters={col.title: WRAP for col in DETAIL_COLS})
        self.details_empty = empty_state(_("No connector chosen."),
                                         _("Choose a connector to see its settings."),
                                         css_class="siyu-connectors-details-empty")
        self.details_spot = Spot(self.details, self.details_empty)
        # -- history
        self.history = data_table(RUN_COLS, css_class="siyu-connectors-runs", max_height=400)
        self.history_empty = empty_state(_("No runs yet."),
                                         _("A run starts on the connector's schedule, or with "
                                           "Run now.") if self.can_write else
                                         _("A run starts on the connector's schedule."),
                                         css_class="siyu-connectors-runs-empty")
        self.history_spot = Spot(self.history, self.history_empty)
        self.run_choice = pn.widgets.Select(label=_("Run"), width=FIELD_WIDTH,
                                            css_classes=["siyu-connectors-run-choice"])
        self.run_error = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10),
                                      stylesheets=[RESULT_CSS],
                                      css_classes=["siyu-connectors-run-error"])
        self.problems = data_table(PROBLEM_COLS, css_class="siyu-connectors-problems",
                                   max_height=400)
        self.problems_empty = empty_state(_("No record was skipped."), "",
                                          css_class="siyu-connectors-problems-empty")
        self.problems_spot = Spot(self.problems, self.problems_empty)
        self.runs = pd.DataFrame(columns=list(RUN_FIELDS))
        # -- the form (only for roles that may change connectors)
        self.form = ConnectorForm(ws, on_saved=self._saved) if self.can_write else None
        self.job: SyncJob | None = None
        self._poll: Any = None
        self.refresh_button.on_click(lambda _e: self.refresh())
        self.chosen.param.watch(lambda _e: self.show_connector(), "value")
        self.run_choice.param.watch(lambda _e: self.show_run(), "value")
        self.run_button.on_click(lambda _e: self.run_now())
        self.edit_button.on_click(lambda _e: self.edit())
        self.reset_button.on_click(lambda _e: self.ask("reset"))
        self.remove_button.on_click(lambda _e: self.ask("remove"))
        self.confirm_button.on_click(lambda _e: self.confirm())
        self.cancel_button.on_click(lambda _e: self.cancel())
        self.refresh()

    # -- reading ------------------------------------------------------------------------

    def refresh(self, chosen: str | None = None) -> None:
        """Reload the list and the chosen connector (``chosen``, else the one chosen now,
        else the first)."""
        frame = connectors_frame(self.ws)
        self.list_spot.show(frame, LIST_COLS, self.tz)
        names = list(frame["name"])
        keep = chosen if chosen in names else self.chosen.value
        self.chosen.options = names
        value = keep if keep in names else (names[0] if names else None)
        if self.chosen.value != value:
            self.chosen.value = value  # shows it
        else:
            self.show_connector()

    def show_connector(self) -> None:
        """The chosen connector's settings and run history; the buttons it allows."""
        self.cancel()
        name = self.chosen.value
        running = self.job is not None
        for button in (self.edit_button, self.reset_button, self.remove_button):
            button.disabled = name is None or not self.can_write
        self.run_button.disabled = name is None or not self.can_write or running
        if name is None:
            self.details_spot.show(pd.DataFrame(columns=["what", "value"]), DETAIL_COLS,
                                   self.tz)
            self.show_history(None)
            return
        try:
            info = store.get(self.ws, name)
        except SiyuError as exc:  # removed meanwhile, in another session
            notify_error(str(exc))
            return
        self.details_spot.show(details_frame(self.ws, info), DETAIL_COLS, self.tz)
        self.show_history(name)

    def show_history(self, name: str | None) -> None:
        """The runs of connector ``name``, and the run choice for their skipped records."""
        runs = (run_history(self.ws, name) if name is not None
                else pd.DataFrame(columns=list(RUN_FIELDS)))
        self.runs = runs
        shown = runs.assign(
            entity_label=[entity_label(e) for e in runs["entity"]],
            status_label=[status_label(s) for s in runs["status"]],
            trigger_label=[str(TRIGGER_LABELS.get(t, t)) for t in runs["trigger"]])
        self.history_spot.show(shown, RUN_COLS, self.tz)
        options = {_("Run {id} · {entity} · {at} · {status}", id=int(r["id"]),
                     entity=entity_label(r["entity"]), at=fmt_time(r["started_at"], self.tz),
                     status=status_label(r["status"])): int(r["id"])
                   for r in runs.to_dict("records")}
        keep = self.run_choice.value
        self.run_choice.options = options
        value = keep if keep in options.values() else next(iter(options.values()), None)
        if self.run_choice.value != value:
            self.run_choice.value = value  # shows it
        else:
            self.show_run()

    def show_run(self) -> None:
        """The chosen run's error and the records it skipped, and why."""
        chosen = self.runs[self.runs["id"] == self.run_choice.value] \
            if self.run_choice.value is not None else self.runs.iloc[0:0]
        if chosen.empty:
            self.run_error.object = ""
            self.problems_spot.show(pd.DataFrame(columns=[c.key for c in PROBLEM_COLS]),
                                    PROBLEM_COLS, self.tz)
            return
        run = chosen.iloc[0]
        problems = pd.DataFrame(list(run["problems"] or []),
                                columns=[c.key for c in PROBLEM_COLS])
        lines = []
        if run["error"]:
            lines.append(html('<p class="siyu-connectors-error">{label} {error}</p>',
                              label=_("Stopped by:"), error=run["error"]))
        if int(run["skipped"]) > len(problems):
            lines.append(html("<p>{text}</p>", text=_(
                "{skipped} records were skipped; the first {n} are listed.",
                skipped=fmt_int(run["skipped"]), n=fmt_int(len(problems)))))
        self.run_error.object = join("", lines)
        self.problems_spot.show(problems, PROBLEM_COLS, self.tz)

    # -- running ------------------------------------------------------------------------

    def run_now(self) -> SyncJob | None:
        """Sync the chosen connector now, in the background; the page follows it."""
        name = self.chosen.value
        if not self.can_write or name is None or self.job is not None:
            return None
        self.job = SyncJob(self.ws, name, current_language()).start()
        self.run_button.disabled = True
        self.progress.visible = True
        self.result.object = html("<p>{text}</p>", text=_("Syncing {name} …", name=name))
        self._poll = pn.state.add_periodic_callback(self.poll, period=POLL_MS)
        return self.job

    def poll(self) -> None:
        """Show how far the running sync got; once it ended, its result."""
        job = self.job
        if job is None:
            return
        if not job.done:
            running = run_history(self.ws, job.name, limit=len(CONNECTOR_ENTITIES))
            lines = [html("<p>{text}</p>", text=_("Syncing {name} …", name=job.name))]
            lines += [html("<p>{text}</p>", text=result_of(row).summary())
                      for row in running.to_dict("records") if row["status"] == "running"]
            self.result.object = join("", lines)
            return
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
        self.job = None
        self.progress.visible = False
        if job.report is None:
            self.result.object = html('<p class="siyu-connectors-error">{text}</p>',
                                      text=job.error)
            notify_error(job.error)
        else:
            lines = [html("<p>{text}</p>", text=run.summary()) for run in job.report.runs]
            self.result.object = join("", lines)
            notify_outcome(job.report)
        self.refresh(job.name)

    # -- changing -----------------------------------------------------------------------

    @notify_errors
    def edit(self) -> store.ConnectorInfo | None:
        """Load the chosen connector into the form."""
        if self.form is None or self.chosen.value is None:
            return None
        info = store.get(self.ws, self.chosen.value)
        self.form.load(info)
        notify_info(_("Change {name} in the form below, then save.", name=info.name))
        return info

    def ask(self, action: str) -> None:
        """Ask before resetting or removing the chosen connector."""
        name = self.chosen.value
        if name is None or not self.can_write:
            return
        self.asking = (action, name)
        if action == "remove":
            self.confirm_text.object = md(_("Remove **{name}** with its run history? The "
                                            "orders and members it stored stay."), name=name)
            self.confirm_button.label = _("Remove it")
        else:
            self.confirm_text.object = md(_("Read **{name}**'s source from the start on its "
                                            "next run? What is stored stays: records read "
                                            "again are updated, not stored twice."), name=name)
            self.confirm_button.label = _("Read from the start")
        self.confirm_row.visible = True

    def cancel(self) -> None:
        self.asking = None
        self.confirm_row.visible = False

    @notify_errors
    def confirm(self) -> None:
        """Reset or remove the connector asked about."""
        asking = self.asking
        self.cancel()
        if asking is None:
            return
        action, name = asking
        if action == "remove":
            store.remove(self.ws, name)
            if self.form is not None and self.form.editing == name:
                self.form.reset()
            notify_success(_("connector {name} removed", name=name))
            self.refresh()
        else:
            store.reset(self.ws, name)
            notify_success(_("connector {name} will read its source from the start",
                             name=name))
            self.refresh(name)

    def _saved(self, name: str) -> None:
        self.refresh(name)

    # -- layout -------------------------------------------------------------------------

    def __panel__(self) -> pn.Column:
        header = page_header(
            _("Data connectors"),
            _("Sync orders and members from ERP, CRM and shop systems — a REST API or a SQL "
              "database — on a schedule or by hand. Each run goes on where the last one "
              "stopped."))
        controls: list[Any] = [self.chosen, self.refresh_button]
        asking: list[Any] = []
        if self.can_write:
            controls += [self.run_button, self.edit_button, self.reset_button,
                         self.remove_button]
            asking = [self.confirm_row, self.progress, self.result]
        chosen = section(_("Chosen connector"), form_row(*controls), *asking,
                         self.details_spot, css_class="siyu-connectors-chosen-box")
        history = section(_("Run history"), self.history_spot,
                          form_row(self.run_choice), self.run_error,
                          pn.pane.Markdown(md("**{title}**", title=_("Records the run "
                                                                     "skipped, and why")),
                                           margin=(10, 10, 0, 10)),
                          self.problems_spot, css_class="siyu-connectors-history")
        parts: list[Any] = [header, *readonly_note(self.can_write, _("connectors")),
                            section(_("Connectors"), self.list_spot,
                                    css_class="siyu-connectors-list"),
                            chosen, history]
        if self.form is not None:
            parts.append(self.form)
        return pn.Column(*parts, css_classes=["siyu-connectors-page"],
                         sizing_mode="stretch_width")

