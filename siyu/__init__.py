"""siyu (私域): a plugin-based toolkit for private-domain growth operations.

Analysts start with::

    import siyu
    ws = siyu.open()            # ./siyu.db, or $SIYU_DATABASE_URL
    ws.contacts.df()

Integrators write plugins with :data:`hookimpl`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from siyu.core.plugins import hookimpl, notified_when  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace, open  # noqa: A004

__all__ = ["Workspace", "__version__", "hookimpl", "notified_when", "open"]

#: Names imported on first use (PEP 562): the Workspace pulls in SQLModel and Alembic, which
#: ``siyu --version``, ``siyu plugins`` and a plugin's ``from siyu import hookimpl`` do not need.
_LAZY = {"Workspace": "siyu.core.workspace", "open": "siyu.core.workspace"}


def __getattr__(name: str) -> Any:
    """``siyu.open`` and ``siyu.Workspace``, imported the first time they are asked for."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'siyu' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
