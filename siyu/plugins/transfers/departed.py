"""Who is leaving and what they leave behind: departed members, a member's customers and
customer groups, and how often each customer was handed over lately.

Resigned members' customers come from WeCom (``externalcontact/get_unassigned_list``); an
employed member's customers are their live follows in the workspace. WeCom is asked with no
database transaction open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from siyu.core.errors import ValidationError, listing
from siyu.core.i18n import translator
from siyu.plugins.transfers.models import TransferItem
from siyu.storage.models import Contact, ContactFollow, Staff, Store
from siyu.storage.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.transfers")

#: WeCom hands a customer of an employed member over at most this often in :data:`WINDOW`.
LIMIT = 2
WINDOW = timedelta(days=90)
#: Item states that count as a transfer WeCom started (or may have started).
COUNTED = ("requested", "waiting", "taken_over", "unknown")
CHUNK = 500


@dataclass(frozen=True)
class DepartedMember:
    """A resigned member with customers waiting to be assigned."""

    userid: str
    name: str
    customers: int
    dimission_time: datetime | None


@dataclass
class Departing:
    """A departing member's customers and customer groups.

    :ivar kind: ``"resigned"`` (WeCom lists their customers as unassigned) or ``"onjob"``.
    :ivar customers: one dict per customer: ``external_userid``, ``contact_id``, ``name``,
        ``store_id``, ``store``, ``recent`` (the times of their on-job transfers in the last
        90 days, oldest first).
    :ivar groups: the customer groups they own: ``chat_id``, ``name``, ``members``,
        ``status`` (read-only; WeCom transfers groups through other APIs).
    """

    handover: str
    name: str
    kind: str
    customers: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)

    def over_limit(self) -> list[dict[str, Any]]:
        """The customers another on-job transfer would hand over a third time in 90 days."""
        if self.kind != "onjob":
            return []
        return [c for c in self.customers if len(c["recent"]) >= LIMIT]

    def df(self) -> pd.DataFrame:
        """The customers as a DataFrame (``transfers_90d`` counts ``recent``)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in c.items() if k != "recent"}
                             | {"transfers_90d": len(c["recent"])} for c in self.customers],
                            columns=["external_userid", "contact_id", "name", "store_id",
                                     "store", "transfers_90d"])


def _client(ws: Workspace) -> Any:
    from siyu.plugins.wecom.service import wecom

    service = wecom(ws)
    return service.client if service.config.api_ready else None


def unassigned(ws: Workspace) -> list[dict[str, Any]]:
    """WeCom's list of resigned members' customers waiting to be assigned (every page), or
    ``[]`` while WeCom is not configured.

    :raises WeComError: WeCom refused or did not answer.
    """
    client = _client(ws)
    return list(client.iter_unassigned()) if client is not None else []


def list_departed(ws: Workspace) -> list[DepartedMember]:
    """Resigned members with customers waiting to be assigned, the most customers first.

    :raises ConfigError: WeCom is not configured.
    :raises WeComError: WeCom refused or did not answer.
    """
    ws.principal.require("data.read")
    from siyu.plugins.wecom.service import wecom

    entries = list(wecom(ws).client.iter_unassigned())
    counts: dict[str, int] = {}
    left: dict[str, int] = {}
    for entry in entries:
        userid = entry.get("handover_userid", "")
        counts[userid] = counts.get(userid, 0) + 1
        left[userid] = int(entry.get("dimission_time") or 0)
    names = _names(ws, list(counts))
    return sorted((DepartedMember(userid, names.get(userid, userid), n,
                                  datetime.fromtimestamp(left[userid], UTC) if left[userid]
                                  else None)
                   for userid, n in counts.items()), key=lambda d: (-d.customers, d.userid))


def _names(ws: Workspace, userids: list[str]) -> dict[str, str]:
    if not userids:
        return {}
    with ws.engine.connect() as conn:
        return dict(conn.execute(sa.select(Staff.userid, Staff.name)
                                 .where(Staff.userid.in_(userids))).all())


def departing(ws: Workspace, handover: str, *, now: datetime | None = None) -> Departing:
    """The customers and customer groups of ``handover``.

    When WeCom lists unassigned customers of ``handover`` they have resigned and those are
    their customers (``kind="resigned"``); otherwise their live follows in the workspace are
    (``kind="onjob"``).

    :raises ValidationError: ``handover`` is neither a staff member nor a resigned member
        with customers waiting.
    :raises WeComError: WeCom refused or did not answer.
    """
    ws.principal.require("data.read")
    handover = (handover or "").strip()
    waiting = [e for e in unassigned(ws) if e.get("handover_userid") == handover]
    with ws.engine.connect() as conn:
        staff = conn.execute(sa.select(Staff.id, Staff.name, Staff.status)
                             .where(Staff.userid == handover)).first()
        if not waiting and staff is None:
            raise ValidationError(_(
                "unknown staff member {userid!r}: not in the staff list and WeCom lists no "
                "customers of theirs waiting to be assigned (see `siyu transfer "
                "list-departed`)", userid=handover))
        name = staff.name if staff is not None else handover
        if waiting:
            rows = _contacts_by_external(conn, [e["external_userid"] for e in waiting])
            customers = [rows.get(e["external_userid"]) or
                         {"external_userid": e["external_userid"], "contact_id": None,
                          "name": "", "store_id": None, "store": ""} for e in waiting]
            kind = "resigned"
        else:
            customers = _followers(conn, staff.id)
            kind = "onjob"
        recent = recent_transfers(conn, [c["external_userid"] for c in customers],
                                  now or utcnow())
        for customer in customers:
            customer["recent"] = recent.get(customer["external_userid"], [])
        groups = _groups(conn, handover)
    return Departing(handover, name, kind, customers, groups)


def _customer(row: Any) -> dict[str, Any]:
    return {"external_userid": row.external_userid, "contact_id": row.id,
            "name": row.name or "", "store_id": row.store_id, "store": row.store or ""}


def _contact_query() -> sa.Select:
    return (sa.select(Contact.id, Contact.external_userid, Contact.name, Contact.store_id,
                      Store.code.label("store"))
            .select_from(Contact.__table__.outerjoin(Store.__table__,
                                                     Store.id == Contact.store_id)))


def _contacts_by_external(conn: sa.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        for row in conn.execute(_contact_query().where(
                Contact.external_userid.in_(ids[start:start + CHUNK]))):
            found[row.external_userid] = _customer(row)
    return found


def _followers(conn: sa.Connection, staff_id: int) -> list[dict[str, Any]]:
    """The contacts with a live follow of ``staff_id`` that WeCom knows (an external
    userid), by contact id."""
    query = (_contact_query().join(ContactFollow, ContactFollow.contact_id == Contact.id)
             .where(ContactFollow.staff_id == staff_id, ContactFollow.deleted_at.is_(None),
                    Contact.external_userid.is_not(None))
             .order_by(Contact.id))
    return [_customer(row) for row in conn.execute(query)]


def _groups(conn: sa.Connection, owner: str) -> list[dict[str, Any]]:
    from siyu.plugins.wecom.models import WeComGroupChat

    g = WeComGroupChat.__table__
    return [dict(row._mapping) for row in conn.execute(
        sa.select(g.c.chat_id, g.c.name, g.c.members, g.c.status)
        .where(g.c.owner == owner, g.c.status != "dismissed").order_by(g.c.name, g.c.chat_id))]


def recent_transfers(conn: sa.Connection, external_userids: list[str], now: datetime
                     ) -> dict[str, list[datetime]]:
    """The times of the on-job transfers started (or possibly started) for each customer
    in the 90 days before ``now``, oldest first."""
    found: dict[str, list[datetime]] = {}
    t = TransferItem.__table__
    for start in range(0, len(external_userids), CHUNK):
        for ext, at in conn.execute(
                sa.select(t.c.external_userid, t.c.requested_at)
                .where(t.c.external_userid.in_(external_userids[start:start + CHUNK]),
                       t.c.kind == "onjob", t.c.status.in_(COUNTED),
                       t.c.requested_at >= now - WINDOW)
                .order_by(t.c.requested_at)):
            found.setdefault(ext, []).append(at)
    return found


def limit_reason(recent: list[datetime], tz: Any) -> str:
    """Why a customer handed over at the times ``recent`` cannot be handed over again yet."""
    dates = [at.astimezone(tz).strftime("%Y-%m-%d") for at in recent]
    again = (recent[-LIMIT] + WINDOW).astimezone(tz).strftime("%Y-%m-%d")
    return _("already transferred {n} times in 90 days ({dates}); WeCom allows another "
             "transfer from {again}", n=len(recent), dates=listing(dates), again=again)


def customer_label(customer: dict[str, Any]) -> str:
    """A customer as an operator recognises them: ``name (external_userid)``."""
    name = customer.get("name") or ""
    return f"{name} ({customer['external_userid']})" if name else customer["external_userid"]
