"""Tables as the ``siyu`` commands print them: left-aligned columns two spaces apart under
their names, wide (Chinese) characters counted as two columns."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any


def width(text: str) -> int:
    """Terminal columns of ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def cell(value: Any, tz: Any = None) -> str:
    """A value as one table cell: ``""`` for nothing (``None``, NaN), a time as
    ``2026-12-04 20:30`` in ``tz``, a whole float without ``.0``, text on one line."""
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if hasattr(value, "astimezone"):
        return (value.astimezone(tz) if tz else value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).translate(str.maketrans({"\t": " ", "\n": " ", "\r": " "}))


def table_text(rows: Sequence[dict[str, Any]], columns: Sequence[str], empty: str,
               tz: Any = None, *, show: Callable[[Any], str] | None = None) -> str:
    """``rows`` as left-aligned ``columns`` two spaces apart; ``empty`` when there are
    none. Times are shown in ``tz``; ``show`` replaces :func:`cell` for every value."""
    if not rows:
        return empty
    shown = show or (lambda value: cell(value, tz))
    table = [list(columns)] + [[shown(row.get(name)) for name in columns] for row in rows]
    widths = [max(width(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join("  ".join(text + " " * (size - width(text))
                               for text, size in zip(line, widths, strict=True)).rstrip()
                     for line in table)
