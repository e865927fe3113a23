"""Notes on a customer: what a shopping guide or an operator wants colleagues to know
("prefers WeChat voice", "size 38", "VIP since the store opened").

A note is a journey event (``contact.note``), so it shows on the customer card's timeline
with everything else, in the console, the chat sidebar and notebooks::

    from siyu.plugins.customers import notes

    notes.add(ws, 12, "怕打扰，只在周末联系")
    notes.listing(ws, 12)       # newest first: at, text, by, userid

Adding needs ``data.write``, reading ``data.read``; a note is at most :data:`MAX_NOTE`
characters and is kept as typed (the pages escape it when they show it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator
from siyu.storage.models import Event
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.customers")

#: The event kind of a note.
NOTE_KIND = "contact.note"
#: The longest note, in characters.
MAX_NOTE = 500


def add(ws: Workspace, contact: int | str, text: str, *, userid: str | None = None,
        at: datetime | None = None) -> dict[str, Any]:
    """Write a note on ``contact``.

    :param contact: a contact id or external userid.
    :param text: the note; leading and trailing blanks are dropped.
    :param userid: the WeCom member writing it (the chat sidebar passes the guide's).
    :return: the note as :func:`listing` shows it.
    :raises ValidationError: an empty note, or one longer than :data:`MAX_NOTE`.
    :raises NotFound: no such contact.
    """
    ws.principal.require("data.write")
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("a note cannot be empty"))
    if len(text) > MAX_NOTE:
        raise ValidationError(_("a note is at most {limit} characters; this one has {n}",
                                limit=MAX_NOTE, n=len(text)))
    contact_id = ws.contacts.get(contact).id
    at = at or utcnow()
    note = {"text": text, "by": ws.principal.name, "userid": userid}
    with ws.session() as s:
        ws.events.record(NOTE_KIND, dedupe_key=f"note:{uuid.uuid4().hex}",
                         contact_id=contact_id, occurred_at=at, source="note",
                         payload=note, session=s)
    ws.audit("contact.note", contact_id, {"length": len(text)})
    return {"at": at, **note}


def listing(ws: Workspace, contact: int | str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The notes on ``contact``, newest first: ``at, text, by, userid`` each.

    :raises NotFound: no such contact.
    """
    ws.principal.require("data.read")
    contact_id = ws.contacts.get(contact).id
    e = Event.__table__.c
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(e.occurred_at, e.payload)
                            .where(e.contact_id == contact_id, e.kind == NOTE_KIND)
                            .order_by(e.occurred_at.desc(), e.id.desc()).limit(limit)).all()
    return [{"at": r.occurred_at, "text": (r.payload or {}).get("text", ""),
             "by": (r.payload or {}).get("by", ""), "userid": (r.payload or {}).get("userid")}
            for r in rows]
