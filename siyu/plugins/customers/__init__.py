"""The customer card (客情卡): one view of one contact — profile, owner and owner history,
tags, orders with their totals, the journey timeline and the risk notes — in the console
(the Customer card page), in notebooks and on the command line (``siyu contact-card``).

The notebook door is this module::

    from siyu.plugins import customers

    c = customers.card(ws, 12)              # a contact id, or an external userid ("wm…")
    c.profile, c.owner, c.owner_history     # dicts and lists
    c.orders, c.timeline                    # DataFrames, newest first
    c.order_totals["revenue_fen"]           # integer fen, net of refunds
    c.to_dict()                             # JSON-able
    c.frames()                              # every section as a DataFrame
    customers.find(ws, "王")                 # name, phone, member id, external userid

Phones are masked unless the acting role holds ``pii.view``. Modules: :mod:`~.card` (the
card), :mod:`~.reads` (its queries), :mod:`~.journey` (the timeline, owner history and risk
notes in words), :mod:`~.search` (finding a contact), :mod:`~.commands`
(``siyu contact-card``), :mod:`~.pages` (the console page) and :mod:`~.plugin` (the hooks).
Importing this module loads neither pandas nor Panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from siyu.plugins.customers.card import CustomerCard, card

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

__all__ = ["CustomerCard", "card", "find"]


def find(ws: Workspace, term: str, *, limit: int = 20) -> pd.DataFrame:
    """The contacts ``term`` names (see :func:`siyu.plugins.customers.search.find`)."""
    from siyu.plugins.customers.search import find as search

    return search(ws, term, limit=limit)
