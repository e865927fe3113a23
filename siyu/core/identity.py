"""Who bought this? Matching orders (and connectors' members) to contacts.

A buyer or a member is known by some of four identifiers, the **keys**:

- ``external_userid``: the WeCom external contact id (``wm…``);
- ``unionid``: the WeChat unionid, shared by the mini program, the official account and WeCom;
- ``phone``: a mainland mobile number, normalised to eleven digits;
- ``member_id``: the member (loyalty card) number of a CRM.

They are tried in the workspace's order, setting ``identity.order`` (default
:data:`DEFAULT_ORDER`): the first key whose value finds a contact wins. A key left out of the
setting is not used for matching at all (``["external_userid", "member_id"]`` never matches by
phone). When several contacts share a value (one phone on two contacts) the oldest contact,
the lowest id, is taken.

Two doors, one rule: :func:`match_rows` matches a whole import in a few queries per key
(chunks of :data:`CHUNK` values, never a query per row); :func:`match_one` matches one buyer
(``ws.orders.upsert``) in one query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ConfigError, listing
from siyu.core.i18n import core as _
from siyu.core.pii import normalize_phone
from siyu.storage.models import Contact, Setting

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sqlmodel import Session

    from siyu.core.workspace import Workspace

#: The identifiers a contact can be matched by.
KEYS = ("external_userid", "unionid", "phone", "member_id")
#: The matching order when the workspace sets none.
DEFAULT_ORDER: tuple[str, ...] = KEYS
#: The workspace setting holding the order: a list of keys, e.g. ``["unionid", "phone"]``.
SETTING = "identity.order"
#: Values looked up per query by :func:`match_rows`.
CHUNK = 5000


def parse_order(value: Any) -> tuple[str, ...]:
    """Check a matching order: a list of distinct keys (or ``"unionid,phone"``).

    :return: the keys, in order.
    :raises ConfigError: not a list of strings, an unknown or repeated key, or no key at all.
    """
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(k, str) for k in items):
        raise ConfigError(_("identity order {value!r} is not a list of keys; {hint}",
                            value=value, hint=_order_hint()))
    keys = tuple(k.strip() for k in items if k.strip())
    unknown = [k for k in keys if k not in KEYS]
    if unknown:
        raise ConfigError(_("identity order {value!r} names unknown key(s) {keys}; {hint}",
                            value=value, keys=listing(map(repr, unknown)), hint=_order_hint()))
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(_("identity order {value!r} repeats {keys}; {hint}", value=value,
                            keys=listing(map(repr, repeated)), hint=_order_hint()))
    if not keys:
        raise ConfigError(_("identity order {value!r} names no key; {hint}", value=value,
                            hint=_order_hint()))
    return keys


def _order_hint() -> str:
    """How to write the matching order, for the errors of :func:`parse_order`."""
    return _("set {setting} to a list of distinct keys from {keys}, e.g. {example}",
             setting=SETTING, keys=listing(KEYS), example=list(DEFAULT_ORDER))


def identity_order(ws: Workspace, session: Session | None = None) -> tuple[str, ...]:
    """The workspace's matching order (setting ``identity.order``, checked).

    :param session: read in the caller's transaction.
    :raises ConfigError: the setting is malformed (see :func:`parse_order`).
    """
    if session is not None:
        row = session.get(Setting, SETTING)
        value = None if row is None else row.value
    else:
        value = ws.settings.get(SETTING)
    return DEFAULT_ORDER if value is None else parse_order(value)


def set_identity_order(ws: Workspace, order: Iterable[str] | str) -> tuple[str, ...]:
    """Check and store the workspace's matching order (needs ``settings.write``).

    :return: the stored order.
    :raises ConfigError: a malformed order; nothing is stored.
    """
    keys = parse_order(order if isinstance(order, str) else list(order))
    ws.settings.set(SETTING, list(keys))
    return keys


def normalize(key: str, value: Any) -> str | None:
    """One identifier as contacts store it: a phone as eleven digits, the others stripped;
    empty gives ``None``.

    :raises ValidationError: a phone that is not a mainland mobile number.
    """
    if key not in KEYS:
        raise ConfigError(_("{key!r} is not an identity key; use one of {keys}", key=key,
                            keys=listing(KEYS)))
    if key == "phone":
        return normalize_phone(value)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def match_one(conn: sa.Connection, order: Iterable[str], **values: Any) -> int | None:
    """The contact one buyer or member is, by the first key in ``order`` that finds one.

    One query, whatever the number of keys given.

    :param conn: a connection (``session.connection()`` to read in a transaction).
    :param order: keys in matching order (see :func:`identity_order`).
    :param values: ``external_userid=…``, ``unionid=…``, ``phone=…``, ``member_id=…``;
        missing or empty ones are skipped. Give them normalised (see :func:`normalize`).
    :return: the contact id, or ``None`` when no key finds a contact.
    """
    unknown = set(values) - set(KEYS)
    if unknown:
        raise ConfigError(_("unknown identity key(s) {unknown}; use {keys}",
                            unknown=listing(sorted(unknown)), keys=listing(KEYS)))
    c = Contact.__table__
    given = [(rank, key, values[key]) for rank, key in enumerate(order)
             if values.get(key) not in (None, "")]
    if not given:
        return None
    queries = [sa.select(sa.literal(rank).label("rank"), sa.func.min(c.c.id).label("id"))
               .where(c.c[key] == value) for rank, key, value in given]
    query = queries[0] if len(queries) == 1 else sa.union_all(*queries)
    found = {rank: contact_id for rank, contact_id in conn.execute(query)
             if contact_id is not None}
    return found[min(found)] if found else None


def match_rows(conn: sa.Connection, keys: Mapping[str, pd.Series] | pd.DataFrame,
               order: Iterable[str]) -> pd.Series:
    """The contact each row is, for many rows at once (an import, a sync).

    Key by key in ``order``, only the rows still unmatched are looked up: their distinct
    values, in one query where the engine binds a whole list as one parameter
    (:func:`siyu.core.importing.fast.one_of`), else :data:`CHUNK` per query.

    :param keys: key → one value per row (a DataFrame with key columns, or a dict of Series
        sharing one index); ``None``, ``NaN`` and ``""`` are no value. Give them normalised
        (phones as eleven digits: :func:`siyu.core.pii.normalize_phone_series`).
    :param order: keys in matching order; keys without a column are skipped.
    :return: contact ids (``Int64``, ``<NA>`` where no key finds a contact), indexed like
        ``keys``.
    """
    import pandas as pd

    from siyu.core.importing.fast import chunks, one_of

    columns = {k: keys[k] for k in KEYS if k in keys}
    if not columns:
        raise ConfigError(_("nothing to match contacts by; give one of {keys}",
                            keys=listing(KEYS)))
    index = next(iter(columns.values())).index
    result = pd.Series(pd.NA, index=index, dtype="Int64")
    c = Contact.__table__
    for key in order:
        if key not in columns:
            continue
        values = columns[key]
        todo = result.isna() & values.notna() & values.astype(object).ne("")
        if not todo.any():
            continue
        wanted = values[todo].unique().tolist()
        found: dict[Any, int] = {}
        for part in chunks(conn, wanted):  # one query on PostgreSQL and SQLite
            found.update(conn.execute(
                sa.select(c.c[key], sa.func.min(c.c.id))
                .where(one_of(conn, c.c[key], part))
                .group_by(c.c[key])).all())
        if found:
            result.loc[todo] = values[todo].map(found).astype("Int64")
    return result
