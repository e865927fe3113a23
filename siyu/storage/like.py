"""SQL ``LIKE`` with user text: wildcards in the text match literally.

A user searching ``50%`` means the three characters ``5``, ``0``, ``%``, not "starts with
50"; a bare ``%`` must not match every row. Every ``LIKE`` built from user input goes through
here. The escape character is given explicitly (``ESCAPE '\\'``): SQLite has no default one
(PostgreSQL's is the backslash), so without it the same pattern would mean different things.
"""

from __future__ import annotations

import sqlalchemy as sa

#: The character that makes the next ``%``, ``_`` or itself literal.
ESCAPE = "\\"


def escape_like(term: str) -> str:
    """``"50%_off"`` → ``"50\\%\\_off"``: ``term`` as a LIKE pattern matching only itself."""
    return (term.replace(ESCAPE, ESCAPE * 2)
            .replace("%", ESCAPE + "%").replace("_", ESCAPE + "_"))


def contains(column: sa.ColumnElement, term: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``term`` as a literal substring."""
    return column.like(f"%{escape_like(term)}%", escape=ESCAPE)


def ends_with(column: sa.ColumnElement, term: str) -> sa.ColumnElement[bool]:
    """``column`` ends with ``term``, literally."""
    return column.like(f"%{escape_like(term)}", escape=ESCAPE)


def glob(column: sa.ColumnElement, pattern: str) -> sa.ColumnElement[bool]:
    """``column`` matches ``pattern`` where ``*`` is the only wildcard (any run of
    characters), e.g. ``"contact.*"``; ``%`` and ``_`` match themselves."""
    return column.like(escape_like(pattern).replace("*", "%"), escape=ESCAPE)
