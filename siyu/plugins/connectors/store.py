"""Configured connectors: adding, changing, reading and removing them.

A connector is a kind (``ws.connectors``: ``rest``, ``sql``, or a plugin's), settings checked
against the kind's :class:`~siyu.core.records.ConnectorSetting` list, a field mapping per
entity (:mod:`~siyu.plugins.connectors.mapping`) and a schedule. Secrets (the kind's
``secret`` settings) are stored apart and never read back: :func:`get` and :func:`listing`
say only which are set. Changing connectors needs ``data.write``; reading them ``data.read``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import select

from siyu.core.errors import ConfigError, NotFound
from siyu.core.i18n import translator
from siyu.core.records import CONNECTOR_ENTITIES, ConnectorSpec
from siyu.plugins.connectors.mapping import check_mapping
from siyu.plugins.connectors.models import Connector, ConnectorCursor, ConnectorRun

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.connectors")

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
#: Most minutes between scheduled runs (a week).
MAX_EVERY = 7 * 24 * 60


@dataclass(frozen=True)
class ConnectorInfo:
    """A connector as it may be shown: settings without secrets, which secrets are set."""

    name: str
    kind: str
    title: str
    entities: tuple[str, ...]
    settings: dict[str, Any]
    secrets_set: tuple[str, ...]
    mapping: dict[str, dict[str, str]]
    every_minutes: int
    enabled: bool
    cursors: dict[str, Any] = field(default_factory=dict)


def kind_of(ws: Workspace, kind: str) -> ConnectorSpec:
    """The registered kind named ``kind``.

    :raises ConfigError: no such kind (the known ones are named).
    """
    spec = ws.connectors.get(kind)
    if spec is None:
        raise ConfigError(_("no connector kind {kind!r}; known: {kinds}", kind=kind,
                            kinds=", ".join(sorted(ws.connectors)) or _("none")))
    return spec


def _split(spec: ConnectorSpec, given: Mapping[str, Any]) -> tuple[dict, dict]:
    known = {s.name: s for s in spec.settings}
    unknown = [name for name in given if name not in known]
    if unknown:
        raise ConfigError(_("{kind} connectors have no setting {names}; they have: {known}",
                            kind=spec.name, names=", ".join(map(repr, unknown)),
                            known=", ".join(known)))
    plain = {k: v for k, v in given.items() if not known[k].secret}
    secret = {k: v for k, v in given.items() if known[k].secret}
    return plain, secret


def _full(spec: ConnectorSpec, plain: dict, secrets: dict) -> dict[str, Any]:
    """Every setting: given, else the kind's default."""
    values = {s.name: s.default for s in spec.settings}
    values.update({k: v for k, v in plain.items() if v is not None})
    values.update({k: v for k, v in secrets.items() if v not in (None, "")})
    return values


def _check(spec: ConnectorSpec, values: dict, entities: tuple[str, ...],
           mapping: dict) -> None:
    for setting in spec.settings:
        if setting.required and values.get(setting.name) in (None, ""):
            raise ConfigError(_("{title} ({setting}) is required", title=str(setting.title),
                                setting=setting.name))
        if setting.choices and values.get(setting.name) not in setting.choices:
            raise ConfigError(_("{setting} {value!r} is not one of {choices}",
                                setting=setting.name, value=values.get(setting.name),
                                choices=", ".join(setting.choices)))
    if spec.check is not None:
        spec.check(values)
    for entity in entities:
        if entity not in mapping:
            raise ConfigError(_("no field mapping for {entity}; say which source field "
                                "holds each of siyu's fields", entity=entity))


def chosen_entities(spec: ConnectorSpec, entities: Any) -> tuple[str, ...]:
    """``"orders,members"`` (or a list) checked against what ``spec`` syncs.

    :raises ConfigError: none named, or one that is not orders or members or that the kind
        cannot sync.
    """
    items = entities.split(",") if isinstance(entities, str) else list(entities or ())
    chosen = tuple(dict.fromkeys(str(e).strip() for e in items if str(e).strip()))
    if not chosen:
        raise ConfigError(_("a connector syncs orders, members or both; name at least one"))
    for entity in chosen:
        if entity not in CONNECTOR_ENTITIES:
            raise ConfigError(_("{entity!r} is not orders or members", entity=entity))
        if entity not in spec.entities:
            raise ConfigError(_("{kind} connectors cannot sync {entity}", kind=spec.name,
                                entity=entity))
    return chosen


def _every(value: Any) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = -1
    if not 0 <= minutes <= MAX_EVERY:
        raise ConfigError(_("run every {value!r} minutes: give 0 (by hand only) to {most}",
                            value=value, most=MAX_EVERY))
    return minutes


def add(ws: Workspace, name: str, kind: str, *, settings: Mapping[str, Any] | None = None,
        mapping: Mapping[str, Mapping[str, str]] | None = None,
        entities: Any = ("orders",), title: str = "", every_minutes: int = 60,
        enabled: bool = True) -> ConnectorInfo:
    """Configure a new connector.

    :param name: its name (lower-case letters, digits, ``-`` and ``_``); orders it stores
        have this as their ``source``.
    :param kind: a registered kind (``"rest"``, ``"sql"`` …).
    :param settings: the kind's settings, secrets included (stored apart, never shown).
    :param mapping: ``{"orders": {"external_id": "order_id", …}, "members": {…}}``.
    :param entities: what it syncs: ``"orders"``, ``"members"`` or both.
    :param every_minutes: minutes between scheduled runs; ``0`` runs only by hand.
    :raises ConfigError: a bad name, kind, setting or mapping (nothing stored).
    """
    ws.principal.require("data.write")
    if not NAME.match(str(name)):
        raise ConfigError(_("connector name {name!r}: use lower-case letters, digits, - and _, "
                            "starting with a letter (at most 64)", name=name))
    spec = kind_of(ws, kind)
    chosen = chosen_entities(spec, entities)
    plain, secrets = _split(spec, settings or {})
    for entity in mapping or {}:
        if entity not in CONNECTOR_ENTITIES:
            raise ConfigError(_("{entity!r} is not orders or members", entity=entity))
    # A mapping for an entity not synced yet is kept: syncing it later needs no new mapping.
    checked = {entity: check_mapping(entity, fields) for entity, fields in (mapping or {}).items()}
    _check(spec, _full(spec, plain, secrets), chosen, checked)
    with ws.session() as s:
        if s.exec(select(Connector.id).where(Connector.name == name)).first() is not None:
            raise ConfigError(_("a connector named {name!r} exists already", name=name))
        s.add(Connector(name=name, kind=kind, title=str(title)[:200],
                        entities=",".join(chosen), settings=plain, secrets=secrets,
                        mapping=checked, every_minutes=_every(every_minutes),
                        enabled=bool(enabled), created_by=ws.principal.name))
        ws.audit("connector.add", name, {"kind": kind, "entities": list(chosen),
                                         "settings": plain, "secrets": sorted(secrets)},
                 session=s)
    return get(ws, name)


def update(ws: Workspace, name: str, *, settings: Mapping[str, Any] | None = None,
           mapping: Mapping[str, Mapping[str, str]] | None = None, entities: Any = None,
           title: str | None = None, every_minutes: int | None = None,
           enabled: bool | None = None) -> ConnectorInfo:
    """Change a connector: the settings given replace those of the same name (a secret
    given as ``""`` is kept as it was; ``None`` removes a setting), the mappings given
    replace those of their entity.

    :raises ConfigError: a bad setting or mapping (nothing changed).
    :raises NotFound: no such connector.
    """
    ws.principal.require("data.write")
    with ws.session() as s:
        row = _row(s, name)
        spec = kind_of(ws, row.kind)
        chosen = (chosen_entities(spec, entities) if entities is not None
                  else _listed(row.entities))
        plain, secrets = _split(spec, settings or {})
        new_plain = {**(row.settings or {}), **plain}
        new_plain = {k: v for k, v in new_plain.items() if v is not None}
        new_secrets = dict(row.secrets or {})
        for key, value in secrets.items():
            if value is None:
                new_secrets.pop(key, None)
            elif value != "":
                new_secrets[key] = value
        new_mapping = dict(row.mapping or {})
        for entity, fields in (mapping or {}).items():
            if entity not in CONNECTOR_ENTITIES:
                raise ConfigError(_("{entity!r} is not orders or members", entity=entity))
            new_mapping[entity] = check_mapping(entity, fields)
        _check(spec, _full(spec, new_plain, new_secrets), chosen, new_mapping)
        row.settings, row.secrets, row.mapping = new_plain, new_secrets, new_mapping
        row.entities = ",".join(chosen)
        if title is not None:
            row.title = str(title)[:200]
        if every_minutes is not None:
            row.every_minutes = _every(every_minutes)
        if enabled is not None:
            row.enabled = bool(enabled)
        s.add(row)
        ws.audit("connector.update", name, {"settings": plain, "secrets": sorted(secrets),
                                            "mapping": sorted(mapping or {})}, session=s)
    return get(ws, name)


def remove(ws: Workspace, name: str) -> None:
    """Remove a connector with its cursors and run history (the orders and members it
    stored stay).

    :raises NotFound: no such connector.
    """
    ws.principal.require("data.write")
    with ws.session() as s:
        row = _row(s, name)
        for model in (ConnectorRun, ConnectorCursor):
            s.execute(sa.delete(model).where(model.connector_id == row.id))
        s.delete(row)
        ws.audit("connector.remove", name, session=s)


def reset(ws: Workspace, name: str, entity: str | None = None) -> None:
    """Forget where a connector stands, so its next run reads its source from the start
    (what is stored stays: rows read again are upserted, not stored twice).

    :raises NotFound: no such connector.
    """
    ws.principal.require("data.write")
    with ws.session() as s:
        row = _row(s, name)
        query = sa.delete(ConnectorCursor).where(ConnectorCursor.connector_id == row.id)
        if entity is not None:
            query = query.where(ConnectorCursor.entity == entity)
        s.execute(query)
        ws.audit("connector.reset", name, {"entity": entity}, session=s)


def _listed(text: str) -> tuple[str, ...]:
    return tuple(e for e in (text or "").split(",") if e)


def _row(s, name: str) -> Connector:
    row = s.exec(select(Connector).where(Connector.name == name)).first()
    if row is None:
        raise NotFound(_("no connector named {name!r}", name=name))
    return row


def _info(row: Connector, cursors: dict[str, Any]) -> ConnectorInfo:
    return ConnectorInfo(row.name, row.kind, row.title, _listed(row.entities),
                         dict(row.settings or {}), tuple(sorted(row.secrets or {})),
                         {k: dict(v) for k, v in (row.mapping or {}).items()},
                         row.every_minutes, row.enabled, cursors)


def get(ws: Workspace, name: str) -> ConnectorInfo:
    """One connector, without its secrets, with where each entity stands.

    :raises NotFound: no such connector.
    """
    ws.principal.require("data.read")
    with ws.session() as s:
        row = _row(s, name)
        cursors = {c.entity: c.cursor for c in s.exec(
            select(ConnectorCursor).where(ConnectorCursor.connector_id == row.id))}
        return _info(row, cursors)


def configured(ws: Workspace) -> list[ConnectorInfo]:
    """Every connector, by name, without secrets."""
    ws.principal.require("data.read")
    with ws.session() as s:
        return [_info(row, {}) for row in s.exec(select(Connector).order_by(Connector.name))]


def listing(ws: Workspace) -> pd.DataFrame:
    """Every connector as a table: name, kind, entities, schedule, last run."""
    import pandas as pd

    infos = configured(ws)
    last = last_runs(ws)
    return pd.DataFrame([{
        "name": i.name, "kind": i.kind, "title": i.title, "entities": ",".join(i.entities),
        "every_minutes": i.every_minutes, "enabled": i.enabled,
        "last_status": last.get(i.name, {}).get("status", ""),
        "last_started_at": last.get(i.name, {}).get("started_at"),
    } for i in infos], columns=["name", "kind", "title", "entities", "every_minutes",
                                "enabled", "last_status", "last_started_at"])


def last_runs(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The latest run of each connector: ``{name: {"status", "started_at", …}}``."""
    with ws.session() as s:
        latest = (sa.select(ConnectorRun.connector_id, sa.func.max(ConnectorRun.id).label("id"))
                  .group_by(ConnectorRun.connector_id).subquery())
        rows = s.execute(sa.select(Connector.name, ConnectorRun.status,
                                   ConnectorRun.started_at, ConnectorRun.finished_at)
                         .join(ConnectorRun, ConnectorRun.connector_id == Connector.id)
                         .join(latest, latest.c.id == ConnectorRun.id)).all()
    return {name: {"status": status, "started_at": started, "finished_at": finished}
            for name, status, started, finished in rows}


def secrets_of(ws: Workspace, name: str) -> tuple[ConnectorSpec, dict[str, Any], Connector]:
    """The kind, every setting (secrets included) and the row of a connector: what a run
    gives its kind's ``read``. Not a door for people: nothing shows what it returns."""
    with ws.session() as s:
        row = _row(s, name)
    spec = kind_of(ws, row.kind)
    return spec, _full(spec, row.settings or {}, row.secrets or {}), row
