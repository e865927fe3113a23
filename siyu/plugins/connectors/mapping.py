"""Field mapping: from a source's records (JSON objects, database rows) to siyu's fields.

A mapping is ``{siyu_field: path}`` per entity. A path names a value inside a record: a key
(``"order_id"``), keys joined by dots for nested objects (``"buyer.mobile"``) and ``[n]`` for
the n-th item of a list (``"payments[0].paid_at"``). Orders map to the fields of an order
import (``external_id``, ``amount`` in yuan or ``amount_fen``, ``paid_at``, ``status``,
``buyer_phone``, ``unionid``, ``member_id``, ``store``, ``staff`` …), members to those of a
contact import (``member_id``, ``name``, ``phone``, ``unionid``, ``city``, ``tags``, and
``field:<name>`` for a custom field such as 会员等级).

Values become text the way a CSV export would write them (``None`` → ``""``, ``12.5`` →
``"12.5"``, a nested object → JSON), so a sync validates exactly as a file import does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from siyu.core.errors import ConfigError, SyncError
from siyu.core.i18n import translator
from siyu.core.importing.headers import CONTACT_FIELDS, CUSTOM_PREFIX, ORDER_FIELDS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_ = translator("siyu.plugins.connectors")

#: The fields each entity maps to.
TARGETS = {"orders": tuple(ORDER_FIELDS), "members": tuple(CONTACT_FIELDS)}
#: What each entity cannot do without (one of each tuple).
REQUIRED = {"orders": (("external_id",), ("amount", "amount_fen"), ("paid_at",)),
            "members": (("member_id",),)}
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_MISSING = object()


def parse_path(path: str) -> tuple[str | int, ...]:
    """``"buyer.phones[0]"`` → ``("buyer", "phones", 0)``.

    :raises ConfigError: an empty path or one with stray brackets or dots.
    """
    text = str(path).strip()
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        if text[position] == "." and steps and position + 1 < len(text):
            position += 1
        match = _STEP.match(text, position)
        if match is None:
            raise ConfigError(_("path {path!r} is not a field name, names joined by dots, "
                                "or [n] list items (e.g. buyer.phones[0])", path=path))
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if not steps:
        raise ConfigError(_("an empty path maps nothing; give the source's field name"))
    return tuple(steps)


def check_mapping(entity: str, mapping: Mapping[str, str]) -> dict[str, str]:
    """A mapping for ``entity`` checked: known target fields, readable paths, and the
    fields the entity needs.

    :return: the mapping, paths stripped.
    :raises ConfigError: naming the unknown field, the bad path or what is missing.
    """
    if not isinstance(mapping, Mapping):
        raise ConfigError(_("the {entity} mapping is not field → path pairs", entity=entity))
    targets = TARGETS[entity]
    checked: dict[str, str] = {}
    for target, path in mapping.items():
        custom = entity == "members" and str(target).startswith(CUSTOM_PREFIX)
        if target not in targets and not custom:
            raise ConfigError(_("{entity} have no field {field!r}; map to one of {fields}",
                                entity=entity, field=target, fields=", ".join(targets)))
        parse_path(path)
        checked[str(target)] = str(path).strip()
    for needed in REQUIRED[entity]:
        if not any(field in checked for field in needed):
            raise ConfigError(_("the {entity} mapping has no {field} (map the source's field "
                                "to it)", entity=entity, field=" or ".join(needed)))
    return checked


def value_at(record: Any, steps: Sequence[str | int]) -> Any:
    """The value ``steps`` lead to in ``record``, or :data:`_MISSING`."""
    value = record
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
            value = value[step]
        else:
            if not isinstance(value, Mapping) or step not in value:
                return _MISSING
            value = value[step]
    return value


def as_text(value: Any) -> str:
    """A source value as a CSV cell would hold it."""
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


#: :func:`as_text` of the commonest types, without its chain of ``isinstance``.
_TEXT = {str: str.strip, int: str, type(None): lambda _value: "", datetime: datetime.isoformat,
         date: date.isoformat, Decimal: str}


def map_records(entity: str, mapping: Mapping[str, str], records: Sequence[Any],
                first: int) -> pd.DataFrame:
    """The records as a frame of text cells named after siyu's fields, indexed by record
    number (``first``, ``first + 1`` …), as an import validates it.

    :raises SyncError: a mapped field that no record of the page has (a mistyped mapping or
        a source that changed), or records that are not objects.
    """
    import pandas as pd

    columns: dict[str, list[str]] = {}
    plain = all(type(record) is dict for record in records)  # rows of a database, most JSON
    for target, path in mapping.items():
        steps = parse_path(path)
        if plain and len(steps) == 1 and isinstance(steps[0], str):
            key = steps[0]
            values = [record.get(key, _MISSING) for record in records]
        else:
            values = [value_at(record, steps) if isinstance(record, Mapping) else _MISSING
                      for record in records]
        if records and all(value is _MISSING for value in values):
            raise SyncError(_missing(entity, target, path, records))
        columns[target] = [_TEXT.get(type(value), as_text)(value) for value in values]
    return pd.DataFrame(columns, index=pd.RangeIndex(first, first + len(records)),
                        dtype=object)


def _missing(entity: str, target: str, path: str, records: Sequence[Any]) -> str:
    sample = next((record for record in records if isinstance(record, Mapping)), None)
    if sample is None:
        return _("the source's {entity} are not objects (first: {value!r})", entity=entity,
                 value=str(records[0])[:80])
    return _("the mapping takes {field} from {path!r}, which no {entity} record has; the "
             "records have: {keys}", field=target, path=path, entity=entity,
             keys=", ".join(sorted(map(str, sample)))[:300])
