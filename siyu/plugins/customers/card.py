"""The customer card (客情卡): everything known about one contact, read in one go.

::

    from siyu.plugins import customers

    c = customers.card(ws, 12)          # a contact id, or an external userid ("wm…")
    c.profile["phone"]                  # masked (138****0001) unless the role has pii.view
    c.order_totals["revenue_fen"]       # paid revenue net of refunds, integer fen
    c.timeline.head()                   # time, kind, what — newest first
    c.to_dict()                         # JSON-able
    c.frames()                          # every section as a DataFrame

Reading needs ``data.read``. Times are aware UTC (the console shows them in the workspace's
timezone); money is integer fen. This module imports nothing heavy: pandas and the queries
are loaded when a card is built, so registering the plugin costs the ``siyu`` command nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from siyu.core.workspace import Workspace

#: The columns of :attr:`CustomerCard.orders`, in order.
ORDER_COLUMNS = ("source", "external_id", "amount_fen", "refunded_fen", "status", "paid_at",
                 "store", "store_name", "staff")
#: The columns of :attr:`CustomerCard.timeline`, in order.
TIMELINE_COLUMNS = ("time", "kind", "what")
#: The keys of each follower, in order.
FOLLOWER_KEYS = ("userid", "name", "owner", "pinned", "added_at", "state", "remark",
                 "deleted_at", "deleted_by")
OWNER_HISTORY_KEYS = ("at", "from", "from_name", "to", "to_name", "how", "status", "by",
                      "note")
TAG_KEYS = ("group", "name", "source", "tagged_at")
RISK_KEYS = ("at", "kind", "campaign", "reason", "by")


@dataclass(frozen=True)
class CustomerCard:
    """One contact's card.

    :ivar profile: ``id, name, external_userid, unionid, phone`` (masked unless shown in
        full), ``gender`` (0 unknown, 1 male, 2 female), ``city, member_id, source_channel,
        remark, store, store_name, added_at, removed_at, removed`` and ``fields`` (custom
        fields by name).
    :ivar owner: ``{"userid", "name", "since", "pinned"}`` or ``None``.
    :ivar followers: every staff member who follows or followed the contact, earliest
        first (keys :data:`FOLLOWER_KEYS`; ``deleted_by``: ``customer``, ``staff`` or
        ``transfer``).
    :ivar owner_history: owner changes, newest first (see
        :func:`~siyu.plugins.customers.journey.owner_history`).
    :ivar tags: ``{"group", "name", "source", "tagged_at"}`` each, by group and name.
    :ivar orders: the newest orders (at most
        :data:`~siyu.plugins.customers.reads.ORDERS_LIMIT`), newest first.
    :ivar order_totals: ``orders`` (every status), ``paid_orders``, ``revenue_fen`` (paid,
        net of refunds), ``refunded_fen``, ``average_order_fen`` (revenue per paid order),
        ``first_order_at``, ``last_order_at``.
    :ivar timeline: ``time, kind, what``, newest first (see
        :func:`~siyu.plugins.customers.journey.timeline`).
    :ivar risk_notes: ``{"at", "kind", "campaign", "reason", "by"}``, newest first.
    :ivar phone_masked: whether ``profile["phone"]`` is masked.
    """

    profile: dict[str, Any]
    owner: dict[str, Any] | None
    followers: list[dict[str, Any]]
    owner_history: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    orders: pd.DataFrame
    order_totals: dict[str, Any]
    timeline: pd.DataFrame
    risk_notes: list[dict[str, Any]]
    phone_masked: bool = True

    @property
    def contact_id(self) -> int:
        return int(self.profile["id"])

    @property
    def title(self) -> str:
        """What the card is called: the contact's name, else its external userid or id."""
        return str(self.profile["name"] or self.profile["external_userid"]
                   or self.profile["id"])

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-able data: times as ISO 8601 text in UTC, money in fen."""
        return _plain({"profile": self.profile, "owner": self.owner,
                       "followers": self.followers, "owner_history": self.owner_history,
                       "tags": self.tags, "orders": self.orders.to_dict("records"),
                       "order_totals": self.order_totals,
                       "timeline": self.timeline.to_dict("records"),
                       "risk_notes": self.risk_notes, "phone_masked": self.phone_masked})

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every section as a DataFrame: ``profile`` and ``order_totals`` one row each,
        ``fields`` (name, value), the lists one row per entry."""
        import pandas as pd

        profile = {k: v for k, v in self.profile.items() if k != "fields"}
        fields = self.profile.get("fields") or {}
        return {
            "profile": pd.DataFrame([profile]),
            "fields": pd.DataFrame({"name": list(fields), "value": list(fields.values())},
                                   columns=["name", "value"]),
            "followers": _frame(self.followers, FOLLOWER_KEYS),
            "owner_history": _frame(self.owner_history, OWNER_HISTORY_KEYS),
            "tags": _frame(self.tags, TAG_KEYS),
            "orders": self.orders.copy(),
            "order_totals": pd.DataFrame([self.order_totals]),
            "timeline": self.timeline.copy(),
            "risk_notes": _frame(self.risk_notes, RISK_KEYS),
        }


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=list(columns))


def _plain(value: Any) -> Any:
    """``value`` with times as ISO text and pandas' missing values as ``None``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return None if value != value else value.isoformat()  # NaT is not equal to itself
    if hasattr(value, "item") and not isinstance(value, str):  # a numpy scalar
        return _plain(value.item())
    if isinstance(value, float) and value != value:
        return None
    return value


# -- building -------------------------------------------------------------------------------

def card(ws: Workspace, contact: int | str, *, reveal_pii: bool | None = None) -> CustomerCard:
    """The customer card of ``contact``.

    :param contact: a contact id, or an external userid (digits given as text are an id).
    :param reveal_pii: show the phone in full. ``None`` (default): in full when the acting
        role holds ``pii.view``, masked otherwise; ``True`` needs ``pii.view``.
    :raises NotFound: no such contact.
    :raises PermissionDenied: the role may not read data, or ``reveal_pii=True`` without
        ``pii.view``.
    """
    principal = ws.principal
    principal.require("data.read")
    if reveal_pii:
        principal.require("pii.view")
    reveal = principal.can("pii.view") if reveal_pii is None else bool(reveal_pii)
    with ws.engine.connect() as conn:
        found = _read(ws, conn, contact)
    return _build(found, reveal=reveal, show_actor=principal.can("audit.read"))


def _read(ws: Workspace, conn: Any, contact: int | str) -> dict[str, Any]:
    """Every row the card is made of, by name."""
    from siyu.plugins.customers import reads

    row = reads.contact_row(conn, contact)
    found = {"row": row, "fields": reads.custom_fields(conn, row.id),
             "follows": reads.follows(conn, row.id), "events": reads.events(conn, row.id),
             "transfer_events": reads.events(conn, row.id, kinds=reads.TRANSFER_KINDS),
             "deliveries": reads.deliveries(conn, row.id), "orders": reads.orders(conn, row.id),
             "items": reads.transfer_items(ws, conn, row),
             "tags": reads.tags(conn, row.id),
             "dnc": reads.do_not_contact(ws, conn, row.id)}
    found["totals"] = reads.order_totals(conn, row.id, found["orders"])
    found["choices"] = reads.owner_choice(conn, row, found["follows"])
    found["complete"] = len(found["events"]) < reads.EVENTS_LIMIT
    names = reads.staff_names(conn, _userids(found))
    names.update({f.userid: f.name for f in found["follows"]})
    found["names"] = names
    found["codes"] = reads.code_names(ws, conn, [_payload(e).get("state")
                                                 for e in found["events"]])
    found["groups"] = reads.group_names(ws, conn, [_payload(e).get("chat_id")
                                                   for e in found["events"]])
    return found


def _build(found: dict[str, Any], *, reveal: bool, show_actor: bool) -> CustomerCard:
    """The card made of what :func:`_read` found."""
    from siyu.core.pii import mask_phone
    from siyu.plugins.customers import journey

    row, follows, names = found["row"], found["follows"], found["names"]
    timeline = journey.timeline(row, found["events"], found["deliveries"], found["orders"],
                                names=names, codes=found["codes"], groups=found["groups"],
                                complete=found["complete"])
    return CustomerCard(
        profile=_profile(row, found["fields"], row.phone if reveal else mask_phone(row.phone)),
        owner=_owner(row, follows),
        followers=[_follower(f, row.owner_id) for f in follows],
        owner_history=journey.owner_history(found["items"], found["transfer_events"],
                                            found["choices"], names, show_actor=show_actor),
        tags=[{"group": t.group, "name": t.name, "source": t.source, "tagged_at": t.created_at}
              for t in found["tags"]],
        orders=_orders_frame(found["orders"]), order_totals=found["totals"],
        timeline=_timeline_frame(timeline),
        risk_notes=journey.risk_notes(found["dnc"], found["deliveries"]),
        phone_masked=not reveal and bool(row.phone))


def _payload(event: Any) -> dict[str, Any]:
    return event.payload if isinstance(event.payload, dict) else {}


def _userids(found: dict[str, Any]) -> set[str]:
    """Every staff userid the card may name."""
    userids: set[str] = set()
    for event in [*found["events"], *found["transfer_events"]]:
        payload = _payload(event)
        userids.update(str(payload[k]) for k in ("userid", "from", "to") if payload.get(k))
    userids.update(d.sender for d in found["deliveries"] if d.sender)
    userids.update(o.staff for o in found["orders"] if o.staff)
    for item in found["items"]:
        userids.update((item.handover, item.takeover))
    for choice in found["choices"]:
        detail = choice.detail if isinstance(choice.detail, dict) else {}
        userids.update(str(detail[k]) for k in ("owner", "was") if detail.get(k))
    return userids


def _profile(row: Any, fields: dict[str, str], phone: str | None) -> dict[str, Any]:
    return {"id": row.id, "name": row.name or "", "external_userid": row.external_userid,
            "unionid": row.unionid, "phone": phone,
            "gender": row.gender, "city": row.city or "", "member_id": row.member_id,
            "source_channel": row.source_channel or "", "remark": row.remark or "",
            "store": row.store, "store_name": row.store_name, "added_at": row.added_at,
            "removed_at": row.removed_at, "removed": row.removed_at is not None,
            "fields": fields}


def _owner(row: Any, follows: list[Any]) -> dict[str, Any] | None:
    if row.owner is None:
        return None
    follow = next((f for f in follows if f.staff_id == row.owner_id), None)
    return {"userid": row.owner, "name": row.owner_name or "",
            "since": follow.added_at if follow is not None else None,
            "pinned": follow is not None and follow.owner_pinned_at is not None}


def _follower(follow: Any, owner_id: int | None) -> dict[str, Any]:
    live = follow.deleted_at is None
    return {"userid": follow.userid, "name": follow.name or "",
            "owner": live and follow.staff_id == owner_id,
            "pinned": live and follow.owner_pinned_at is not None,
            "added_at": follow.added_at, "state": follow.state or "",
            "remark": follow.remark or "", "deleted_at": follow.deleted_at,
            "deleted_by": follow.deleted_by}


def _orders_frame(rows: list[Any]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(ORDER_COLUMNS), dtype=object)
    frame["paid_at"] = pd.to_datetime(frame["paid_at"], utc=True)
    for column in ("amount_fen", "refunded_fen"):
        frame[column] = frame[column].astype("int64")
    return frame


def _timeline_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame
