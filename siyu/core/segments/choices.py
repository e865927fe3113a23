"""Where a segment parameter's menu comes from (``SegmentParam.choices_from``).

Each provider returns the values a rule accepts, read from the database: the console fills
its pickers with them and the validator checks ``strict`` parameters against them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import PluginError
from siyu.core.i18n import core as _
from siyu.storage.models import (
    Contact,
    ContactEventStats,
    ContactField,
    OrderLine,
    Segment,
    Staff,
    Store,
    Tag,
    TagGroup,
)

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

#: Most values a menu of free values (cities, channels) offers: the most common ones.
MENU_LIMIT = 300


def _values(ws: Workspace, query: sa.Select) -> list[str]:
    with ws.engine.connect() as conn:
        return [str(v) for v in conn.execute(query).scalars() if v not in (None, "")]


def _common(column: sa.ColumnElement) -> sa.Select:
    return (sa.select(column).where(column.is_not(None), column != "").group_by(column)
            .order_by(sa.func.count().desc(), column).limit(MENU_LIMIT))


PROVIDERS: dict[str, Callable[[Any], list[str]]] = {
    "tags": lambda ws: _values(ws, sa.select(TagGroup.name + "/" + Tag.name)
                               .select_from(Tag).join(TagGroup, Tag.group_id == TagGroup.id)
                               .order_by(TagGroup.name, Tag.name)),
    "tag_groups": lambda ws: _values(ws, sa.select(TagGroup.name).order_by(TagGroup.name)),
    "staff": lambda ws: _values(ws, sa.select(Staff.userid).order_by(Staff.userid)),
    "stores": lambda ws: _values(ws, sa.select(Store.code).order_by(Store.code)),
    "regions": lambda ws: _values(ws, sa.select(Store.region).distinct()
                                  .order_by(Store.region)),
    "cities": lambda ws: _values(ws, _common(Contact.__table__.c.city)),
    "channels": lambda ws: _values(ws, _common(Contact.__table__.c.source_channel)),
    "event_kinds": lambda ws: _values(ws, sa.select(ContactEventStats.kind).distinct()
                                      .order_by(ContactEventStats.kind)),
    "products": lambda ws: _values(ws, _common(OrderLine.__table__.c.product)),
    "categories": lambda ws: _values(ws, _common(OrderLine.__table__.c.category)),
    "custom_fields": lambda ws: _values(ws, sa.select(ContactField.name).distinct()
                                        .order_by(ContactField.name)),
    "segments": lambda ws: _values(ws, sa.select(Segment.name).order_by(Segment.name)),
}


def choices(ws: Workspace, source: str | Callable[[Any], list[str]]) -> list[str]:
    """The values of a ``choices_from`` source: a provider name or a plugin's callable.

    :raises PluginError: an unknown provider name.
    """
    if callable(source):
        return [str(v) for v in source(ws)]
    provider = PROVIDERS.get(source)
    if provider is None:
        raise PluginError(_("unknown choices source {name!r}; use one of {names} or a "
                            "callable", name=source, names=", ".join(PROVIDERS)))
    return provider(ws)
