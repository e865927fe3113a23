"""Checked spec → one parameterised SQL statement over ``contact``.

Each rule compiles to a boolean clause on the ``contact`` table (its own code, or the
``segment`` hook of the plugin that registered it); groups become ``AND`` / ``OR`` /
``NOT``. Values stay bound parameters; nothing is pulled into Python to be combined.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression
from sqlalchemy.sql.selectable import ScalarSelect

from siyu.core.errors import PluginError
from siyu.core.i18n import core as _
from siyu.core.segments.spec import Node
from siyu.storage.models import Contact
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_now: ContextVar[datetime | None] = ContextVar("siyu_segment_now", default=None)


def evaluation_time() -> datetime:
    """"Now" for the segment being compiled: windows such as ``within_days`` count back
    from it (a fixed time when the caller gave one, so counts are reproducible)."""
    return _now.get() or utcnow()


@contextmanager
def evaluated_at(now: datetime | None) -> Iterator[None]:
    """Compile rules inside the block as if it were ``now`` (aware; ``None``: real time)."""
    if now is not None and now.tzinfo is None:
        raise ValueError("evaluated_at needs an aware datetime")
    token = _now.set(now)
    try:
        yield
    finally:
        _now.reset(token)


def clause(ws: Workspace, node: Node) -> sa.ColumnElement[bool]:
    """The boolean SQL clause for a checked node."""
    if node.op == "all":
        return sa.and_(*[clause(ws, child) for child in node.children])
    if node.op == "any":
        return sa.or_(*[clause(ws, child) for child in node.children])
    if node.op == "not":
        return sa.not_(clause(ws, node.children[0]))
    rule = node.rule
    if rule.compile is not None:
        result = rule.compile(ws, node.params)
    else:
        result = ws.hook.segment(ws=ws, rule=rule.name, params=dict(node.params))
    if result is None:
        raise PluginError(_("no plugin compiles segment rule {name!r} (its segment hook "
                            "returned nothing)", name=rule.name))
    if not isinstance(result, sa.ColumnElement):
        raise PluginError(_("segment rule {name!r} compiled to {value!r}, not a SQL "
                            "condition", name=rule.name, value=type(result).__name__))
    return result


def members(ws: Workspace, node: Node) -> sa.Select:
    """``SELECT contact.id FROM contact WHERE <node>``."""
    c = Contact.__table__
    return sa.select(c.c.id).where(_for_engine(ws, clause(ws, node)))


def count_query(ws: Workspace, node: Node) -> sa.Select:
    """``SELECT count(*) FROM contact WHERE <node>``."""
    c = Contact.__table__
    return sa.select(sa.func.count()).select_from(c).where(_for_engine(ws, clause(ws, node)))


def _for_engine(ws: Workspace, where: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """On PostgreSQL, ``contact.id NOT IN (subquery)`` becomes ``NOT EXISTS``.

    PostgreSQL hashes a ``NOT IN`` subquery only while it fits in ``work_mem``; past that
    (hundreds of thousands of ids: "never ordered" at a million contacts) it rescans the
    subquery for every contact, for minutes. ``NOT EXISTS`` plans as a hash anti-join at
    any size. SQLite builds one index of a ``NOT IN`` subquery, which is what it does best,
    so it keeps it (a correlated ``NOT EXISTS`` would re-run a grouped subquery per row).
    """
    if ws.engine.dialect.name != "postgresql":
        return where
    contact_id = Contact.__table__.c.id

    def replace(element: Any) -> Any:
        if (isinstance(element, BinaryExpression) and element.operator is operators.not_in_op
                and element.left is contact_id and isinstance(element.right, ScalarSelect)):
            inner = element.right.element.subquery("excluded")
            key = list(inner.c)[0]
            return sa.not_(sa.exists(sa.select(sa.literal(1)).select_from(inner)
                                     .where(key == contact_id)))
        return None

    return visitors.replacement_traverse(where, {}, replace)


def sql_text(ws: Workspace, query: sa.Select) -> tuple[str, dict[str, Any]]:
    """The statement as the engine receives it, and its bound parameters."""
    compiled = compile_for(ws, query)
    return str(compiled), dict(compiled.params)


def compile_for(ws: Workspace, query: sa.Select) -> Any:
    """``query`` compiled for the workspace's engine, lists of values expanded."""
    return query.compile(dialect=ws.engine.dialect,
                         compile_kwargs={"render_postcompile": True})
