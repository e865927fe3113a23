"""siyu (私域): a plugin-based toolkit for private-domain growth operations.

Analysts start with::

    import siyu
    ws = siyu.open()            # ./siyu.db, or $SIYU_DATABASE_URL
    ws.contacts.df()

Integrators write plugins with :data:`hookimpl`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from siyu.core.plugins import hookimpl  # noqa: E402
from siyu.core.workspace import Workspace, open  # noqa: E402,A004

__all__ = ["Workspace", "__version__", "hookimpl", "open"]
