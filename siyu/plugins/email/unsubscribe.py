"""Who unsubscribed from e-mail: recording it (once), asking it, undoing it.

The public unsubscribe page records through :func:`unsubscribe`; the ``risk_check`` hook
asks :func:`unsubscribed_at` before each e-mail a campaign sends, and the channel asks again
for its batch (a customer may unsubscribe between the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import NotFound
from siyu.core.i18n import translator
from siyu.plugins.email.models import MAX_ADDRESS, EmailUnsubscribe
from siyu.storage.dialect import insert_for
from siyu.storage.models import Contact, ContactField
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.email")

#: The contact custom field that holds a contact's e-mail address.
FIELD = "email"
#: How an unsubscribe arrived.
VIA = ("link", "one-click", "operator")
_TABLE = EmailUnsubscribe.__table__


def addresses(ws: Workspace, contact_ids: Iterable[int]) -> dict[int, str]:
    """contact id → the value of its ``email`` custom field, for those that have one."""
    ids = sorted({int(i) for i in contact_ids})
    found: dict[int, str] = {}
    field = ContactField.__table__.c
    with ws.engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            rows = conn.execute(sa.select(field.contact_id, field.value)
                                .where(field.name == FIELD,
                                       field.contact_id.in_(ids[start:start + 5000])))
            found.update({cid: value for cid, value in rows if value and value.strip()})
    return found


def unsubscribed_at(ws: Workspace, contact_ids: Iterable[int]) -> dict[int, datetime]:
    """contact id → when it unsubscribed, for those of ``contact_ids`` that did."""
    ids = sorted({int(i) for i in contact_ids})
    found: dict[int, datetime] = {}
    column = _TABLE.c
    with ws.engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            rows = conn.execute(sa.select(column.contact_id, column.at)
                                .where(column.contact_id.in_(ids[start:start + 5000])))
            found.update(dict(rows.all()))
    return found


def unsubscribe(ws: Workspace, contact_id: int, *, via: str = "link") -> datetime:
    """Record that ``contact_id`` wants no more e-mail; returns when it first asked.

    Idempotent: asking again (a second click, the mail client's one-click request after the
    page's button, two processes at once) keeps the first record. Needs no permission when
    the customer asks through a signed link; ``via="operator"`` needs ``data.write``.

    :raises NotFound: there is no such contact.
    """
    if via not in VIA:
        raise ValueError(f"via must be one of {VIA}, not {via!r}")
    if via == "operator":
        ws.principal.require("data.write")
    with ws.session() as s:
        conn = s.connection()
        if conn.execute(sa.select(Contact.id).where(Contact.id == contact_id)).first() is None:
            raise NotFound(_("there is no contact {id}", id=contact_id))
        address = conn.execute(sa.select(ContactField.value).where(
            ContactField.contact_id == contact_id, ContactField.name == FIELD)).scalar() or ""
        statement = insert_for(conn, _TABLE).values(
            contact_id=contact_id, address=address.strip()[:MAX_ADDRESS], at=utcnow(), via=via)
        inserted = conn.execute(statement.on_conflict_do_nothing(
            index_elements=["contact_id"]).returning(_TABLE.c.contact_id)).first()
        if inserted is not None:
            actor = ws.principal.name if via == "operator" else f"contact:{contact_id}"
            ws.audit("email.unsubscribe", contact_id, {"via": via}, actor=actor, session=s)
        return conn.execute(sa.select(_TABLE.c.at)
                            .where(_TABLE.c.contact_id == contact_id)).scalar_one()


def resubscribe(ws: Workspace, contact_id: int) -> bool:
    """Forget an unsubscribe (the customer asked to receive e-mail again); needs
    ``data.write``. Returns whether there was one."""
    ws.principal.require("data.write")
    with ws.session() as s:
        removed = s.connection().execute(
            _TABLE.delete().where(_TABLE.c.contact_id == contact_id)).rowcount
        if removed:
            ws.audit("email.resubscribe", contact_id, session=s)
    return bool(removed)


def unsubscribed_reason(ws: Workspace, at: datetime) -> str:
    """The reason a message to a customer who unsubscribed is not sent."""
    day = at.astimezone(ws.timezone).date().isoformat()
    return _("this customer unsubscribed from e-mail on {date}", date=day)


def risk_check(ws: Workspace, action: dict[str, Any]) -> str | None:
    """The ``email_unsubscribed`` rule: veto an e-mail to a contact who unsubscribed."""
    if action.get("kind") != "send" or action.get("channel") != "email":
        return None
    contact_id = action.get("contact_id")
    if contact_id is None:
        return None
    at = unsubscribed_at(ws, [contact_id]).get(int(contact_id))
    return None if at is None else unsubscribed_reason(ws, at)
