"""Quick replies (话术库): the brand's shared library of approved answers — texts and images
filed by category — that shopping guides send from the chat sidebar instead of typing the
same answer all day.

The notebook door is this module::

    from siyu.plugins import quickreplies as qr

    r = qr.add(ws, category="售后", title="退换货政策", text="七天无理由退换…")
    qr.add(ws, category="活动", title="双11海报", image="poster.png")
    qr.listing(ws, category="售后", search="退")     # a DataFrame, never the images
    qr.categories(ws)                                # ["售后", "活动"]
    data, name, content_type = qr.image_of(ws, 2)
    qr.update(ws, r.id, text="…", enabled=False)
    qr.move(ws, r.id, 1)                             # first of its category
    qr.record_use(ws, r.id, by="zhangsan")           # one send: use_count + 1
    qr.import_texts(ws, "replies.xlsx")              # category, title, text columns
    qr.export_frame(ws)

Reading needs ``data.read``, changing ``data.write``. Modules: :mod:`~.models` (the
``quick_reply`` table, history ``quickreplies``), :mod:`~.store` (the door above),
:mod:`~.commands` (``siyu replies``), :mod:`~.pages` (the 话术库 page) and :mod:`~.plugin`
(the hooks). Importing this module loads neither pandas nor Panel.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The notebook door: every name lives in :mod:`~.store`, imported on first use.
_DOOR = ("QuickReply", "add", "categories", "export_frame", "get", "image_of",
         "import_texts", "listing", "move", "record_use", "remove", "update")

__all__ = sorted(_DOOR)


def __getattr__(name: str) -> Any:
    if name not in _DOOR:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.store"), name)
