"""The core tables. Plugins add their own through ``register_models``.

Money is integer fen (分). Times are timezone-aware UTC (:class:`UTCDateTime`). Phone
numbers are stored normalised (``13800000001``) and leave the services masked unless the
acting role may see them (see :mod:`siyu.core.pii`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from siyu.storage.types import UTCDateTime, utcnow


def _ts(nullable: bool = True, index: bool = False, default=None) -> Any:
    return Field(default=default, sa_column=sa.Column(UTCDateTime(), nullable=nullable,
                                                      index=index))


def _created() -> Any:
    return Field(default_factory=utcnow,
                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class Setting(SQLModel, table=True):
    """Workspace settings (name, timezone, plugin settings), one JSON value per key."""

    key: str = Field(primary_key=True, max_length=200)
    value: Any = Field(default=None, sa_column=sa.Column(sa.JSON))


class Store(SQLModel, table=True):
    """A physical or online store; orders, staff and contacts attribute to it."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(max_length=200)
    region: str = Field(default="", max_length=100)
    city: str = Field(default="", max_length=100)
    created_at: datetime = _created()


class Staff(SQLModel, table=True):
    """A staff member (a WeCom member who serves customers)."""

    id: int | None = Field(default=None, primary_key=True)
    userid: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    name: str = Field(max_length=200)
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True,
                                 ondelete="SET NULL")
    status: str = Field(default="active", max_length=20)
    created_at: datetime = _created()


class Contact(SQLModel, table=True):
    """A customer in the private domain (a WeCom external contact, or an imported member)."""

    # (city, id) and (source_channel, id): PostgreSQL answers a segment's city or channel
    # rule from the index alone, in id order (a merge join with the tag index); on SQLite they
    # are the same as (city) and (source_channel), which carry the rowid anyway.
    __table_args__ = (sa.Index("ix_contact_channel_removed", "source_channel", "removed_at"),
                      sa.Index("ix_contact_city_id", "city", "id"),
                      sa.Index("ix_contact_channel_id", "source_channel", "id"))

    id: int | None = Field(default=None, primary_key=True)
    external_userid: str | None = Field(default=None, max_length=64,
                                        sa_column_kwargs={"unique": True})
    unionid: str | None = Field(default=None, max_length=64, index=True)
    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20, index=True)
    gender: int = Field(default=0)
    city: str = Field(default="", max_length=100)
    owner_id: int | None = Field(default=None, foreign_key="staff.id", index=True,
                                 ondelete="SET NULL")
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True,
                                 ondelete="SET NULL")
    source_channel: str = Field(default="", max_length=100)
    remark: str = Field(default="", max_length=200)
    #: A CRM's member (loyalty card) number; orders and members are matched by it too.
    member_id: str | None = Field(default=None, max_length=64, index=True)
    added_at: datetime | None = _ts(index=True)
    removed_at: datetime | None = _ts(index=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class TagGroup(SQLModel, table=True):
    """A group of tags. ``kind`` is ``manual``, ``auto`` (rule-applied) or ``plugin``."""

    __tablename__ = "tag_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True}, nullable=False)
    kind: str = Field(default="manual", max_length=20)
    source: str = Field(default="", max_length=100)
    wecom_group_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


class Tag(SQLModel, table=True):
    """A tag inside a group; contacts carry tags through :class:`ContactTag`."""

    __table_args__ = (sa.UniqueConstraint("group_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="tag_group.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    wecom_tag_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


class ContactTag(SQLModel, table=True):
    """A tag on a contact, with who put it there."""

    __tablename__ = "contact_tag"
    # A tag's contacts straight from the index (segments' tag rules): no row lookup.
    __table_args__ = (sa.Index("ix_contact_tag_tag_contact", "tag_id", "contact_id"),)

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")
    source: str = Field(default="manual", max_length=100)
    created_at: datetime = _created()


class Event(SQLModel, table=True):
    """One step of a customer journey. ``dedupe_key`` makes a replayed event a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64, index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True,
                                   ondelete="CASCADE")
    occurred_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False,
                                                      index=True))
    dedupe_key: str = Field(max_length=255, sa_column_kwargs={"unique": True}, nullable=False)
    source: str = Field(default="", max_length=100)
    payload: Any = Field(default=None, sa_column=sa.Column(sa.JSON))


#: Order statuses that count as sales (revenue is the amount less what was refunded).
PAID_STATUSES = ("paid", "partially_refunded")


class Order(SQLModel, table=True):
    """An order from a connector or an import; ``(source, external_id)`` is unique.

    ``status`` is ``paid``, ``partially_refunded``, ``refunded`` or ``cancelled``;
    ``refunded_fen`` (0 to ``amount_fen``) is how much of it was refunded.
    """

    __tablename__ = "orders"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),
                      sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen",
                                         name="ck_orders_refunded_fen"))

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(default="import", max_length=64)
    external_id: str = Field(max_length=128)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True,
                                   ondelete="SET NULL")
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True,
                                 ondelete="SET NULL")
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True,
                                 ondelete="SET NULL")
    amount_fen: int = Field(default=0)
    status: str = Field(default="paid", max_length=20)
    refunded_fen: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    paid_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    buyer_phone: str | None = Field(default=None, max_length=20, index=True)
    buyer_unionid: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


CORE_TABLES = tuple(m.__table__ for m in (Setting, Store, Staff, Contact, TagGroup, Tag,
                                          ContactTag, Event, Order))


class JobRun(SQLModel, table=True):
    """One run of a scheduled job: when, how it ended, and what it said."""

    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200, index=True)
    started_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = _ts()
    status: str = Field(default="running", max_length=20)
    message: str = Field(default="", max_length=2000)


CORE_TABLES = CORE_TABLES + (JobRun.__table__,)


class User(SQLModel, table=True):
    """A console user. ``password_hash`` is scrypt (see :mod:`siyu.core.passwords`)."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True}, nullable=False)
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=300)
    disabled: bool = Field(default=False)
    failed_logins: int = Field(default=0)
    last_failed_at: datetime | None = _ts()
    last_login_at: datetime | None = _ts()
    locked_until: datetime | None = _ts()
    #: The console language this user chose (``zh_CN``, ``en``); ``None``: the workspace's.
    language: str | None = Field(default=None, max_length=10)
    created_at: datetime = _created()


class ConsoleSession(SQLModel, table=True):
    """A console sign-in. The browser holds a random token in a signed cookie; the table
    keeps only its SHA-256, so reading the database does not yield usable sessions."""

    __tablename__ = "console_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, nullable=False)
    user_name: str = Field(max_length=100, index=True)
    address: str = Field(default="", max_length=64)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = _ts()


class AuditLog(SQLModel, table=True):
    """Who changed what, when, on what. Written for every state-changing action."""

    __tablename__ = "audit_log"
    # "How many searches did this user run in the last minute" (contact search rate limit).
    __table_args__ = (sa.Index("ix_audit_log_actor_action_at", "actor", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=100, index=True)
    action: str = Field(max_length=100, index=True)
    target: str = Field(default="", max_length=300)
    detail: Any = Field(default=None, sa_column=sa.Column(sa.JSON))


CORE_TABLES = CORE_TABLES + (User.__table__, AuditLog.__table__)


class HookNotice(SQLModel, table=True):
    """A hook notification (``on_contact_added``…), written in the transaction of the change
    it describes. One row may carry many items (an import's new contacts), delivered one by
    one with delivery ids ``"<id>:<index>"``; a single notice's delivery id is ``"<id>"``."""

    __tablename__ = "hook_notice"

    id: int | None = Field(default=None, primary_key=True)
    hook: str = Field(max_length=100, index=True)
    #: What the notice is about (``contact:42``); notices about one subject reach each
    #: plugin in the order they were written. ``None`` for a bulk notice.
    subject: str | None = Field(default=None, max_length=200)
    items: int = Field(default=1)
    payload: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    created_at: datetime = _created()


class HookDelivery(SQLModel, table=True):
    """One plugin's delivery of one notice (or of one item of a bulk notice, split off when
    it failed): pending until ``due_at``, retried with backoff, ``done`` or ``failed``."""

    __tablename__ = "hook_delivery"
    __table_args__ = (sa.Index("ix_hook_delivery_status_due", "status", "due_at"),
                      sa.Index("ix_hook_delivery_plugin_subject", "plugin", "subject",
                               "status"))

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="hook_notice.id", index=True, ondelete="CASCADE")
    plugin: str = Field(max_length=100)
    subject: str | None = Field(default=None, max_length=200)
    #: For a split-off item of a bulk notice, its index; ``None`` for the whole notice.
    item: int | None = Field(default=None)
    #: Items of a bulk notice delivered so far (resumes there after a crash).
    position: int = Field(default=0)
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    due_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    error: str = Field(default="", max_length=2000)
    delivered_at: datetime | None = _ts()


CORE_TABLES = CORE_TABLES + (HookNotice.__table__, HookDelivery.__table__)


#: Who ended a follow: the customer deleted the member (``del_follow_user``), the member
#: deleted the customer (``del_external_contact``), or an on-job transfer moved the customer
#: to another member (``del_external_contact`` with Source ``DELETE_BY_TRANSFER``).
FOLLOW_DELETED_BY = ("customer", "staff", "transfer")


class ContactFollow(SQLModel, table=True):
    """One staff member's friendship with one contact (a WeCom ``follow_user`` entry).

    WeCom lets one customer be the friend of several members; each relation is a row, kept
    (with ``deleted_at``) after it ends, and revived when the same member adds the customer
    again. The contact's ``owner_id`` is chosen among its live follows (see
    :mod:`siyu.core.services.follows`).
    """

    __tablename__ = "contact_follow"
    __table_args__ = (
        sa.UniqueConstraint("contact_id", "staff_id", name="uq_contact_follow_contact_staff"),
        # The follows of a staff member, by when they were added.
        sa.Index("ix_contact_follow_staff_added", "staff_id", "added_at"),
        # The contacts a staff member still follows (live follows only).
        sa.Index("ix_contact_follow_staff_live", "staff_id", "contact_id",
                 sqlite_where=sa.text("deleted_at IS NULL"),
                 postgresql_where=sa.text("deleted_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE")
    staff_id: int = Field(foreign_key="staff.id", ondelete="CASCADE")
    #: When the member added the customer (``None`` when only the deletion is known).
    added_at: datetime | None = _ts()
    #: The WeCom ``state`` of the add (the live code or link it came through), ≤ 30 chars.
    state: str = Field(default="", max_length=64)
    #: The member's own remark for the customer.
    remark: str = Field(default="", max_length=200)
    #: The member's own tags for the customer: ``[{"id", "name": "group/tag", "type"}]``
    #: (``type`` as WeCom gives it: 1 corp, 2 the member's personal tag, 3 rule group).
    tags: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: When the relation ended; ``None`` while the member and the customer are friends.
    deleted_at: datetime | None = _ts()
    #: One of :data:`FOLLOW_DELETED_BY`; ``None`` while live (and for removals migrated
    #: from before follows were kept, when nothing recorded who removed).
    deleted_by: str | None = Field(default=None, max_length=20)
    #: When a user made this member the contact's owner explicitly
    #: (``ws.contacts.set_owner``); the choice holds until this follow is deleted.
    owner_pinned_at: datetime | None = _ts()


CORE_TABLES = CORE_TABLES + (ContactFollow.__table__,)


class ContactStats(SQLModel, table=True):
    """Per-contact order aggregates that segment rules read, kept current in the
    transaction of every order write (see :mod:`siyu.core.segments.stats`).

    Only paid orders (:data:`PAID_STATUSES`) count; revenue is amounts less refunds. A
    contact without paid orders has no row. ``last2_order_at`` and ``last3_order_at`` are the
    second and third most recent paid orders: "at least N orders since T" is "the N-th most
    recent order is at or after T", answered here without reading the orders.
    """

    __tablename__ = "contact_stats"
    # RFM groups are found by walking these in (value, contact) order.
    __table_args__ = (sa.Index("ix_contact_stats_last_order", "last_order_at", "contact_id"),
                      sa.Index("ix_contact_stats_orders", "orders", "contact_id"),
                      sa.Index("ix_contact_stats_revenue", "revenue_fen", "contact_id"))

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    orders: int = Field(default=0)
    revenue_fen: int = Field(default=0, sa_type=sa.BigInteger)
    first_order_at: datetime | None = _ts()
    last_order_at: datetime | None = _ts()
    last2_order_at: datetime | None = _ts()
    last3_order_at: datetime | None = _ts()


class ContactEventStats(SQLModel, table=True):
    """How often and when each contact did each kind of journey event, kept current as
    events are recorded."""

    __tablename__ = "contact_event_stats"
    __table_args__ = (sa.Index("ix_contact_event_stats_kind_last", "kind", "last_at"),)

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(max_length=64, primary_key=True)
    events: int = Field(default=0)
    first_at: datetime | None = _ts()
    last_at: datetime | None = _ts()


class Segment(SQLModel, table=True):
    """A saved audience: the current version of its spec, who owns it and its last count."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True}, nullable=False)
    description: str = Field(default="", max_length=500)
    owner: str = Field(default="", max_length=100)
    spec: Any = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=False))
    version: int = Field(default=1)
    last_count: int | None = Field(default=None)
    counted_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SegmentVersion(SQLModel, table=True):
    """Each save of a segment; any version can be restored (as a new version)."""

    __tablename__ = "segment_version"
    __table_args__ = (sa.UniqueConstraint("segment_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    segment_id: int = Field(foreign_key="segment.id", ondelete="CASCADE")
    version: int
    spec: Any = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=False))
    description: str = Field(default="", max_length=500)
    saved_by: str = Field(default="", max_length=100)
    saved_at: datetime = _created()
    note: str = Field(default="", max_length=300)


class SegmentSnapshot(SQLModel, table=True):
    """A frozen member list of a segment (or an unsaved spec) at one time, for a campaign."""

    __tablename__ = "segment_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    segment_id: int | None = Field(default=None, foreign_key="segment.id", index=True,
                                   ondelete="SET NULL")
    version: int | None = Field(default=None)
    spec: Any = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=False))
    members: int = Field(default=0)
    taken_by: str = Field(default="", max_length=100)
    taken_at: datetime = _created()


class SegmentSnapshotMember(SQLModel, table=True):
    """One contact of a snapshot."""

    __tablename__ = "segment_snapshot_member"

    snapshot_id: int = Field(foreign_key="segment_snapshot.id", primary_key=True,
                             ondelete="CASCADE")
    contact_id: int = Field(primary_key=True)


class OrderLine(SQLModel, table=True):
    """One product line of an order, where the source gives lines (an order-lines file, a
    connector). Re-importing an order's lines replaces them."""

    __tablename__ = "order_line"
    __table_args__ = (sa.UniqueConstraint("order_id", "line_no"),
                      sa.Index("ix_order_line_product", "product"),
                      sa.Index("ix_order_line_category", "category"))

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    line_no: int = Field(default=1)
    sku: str = Field(default="", max_length=100)
    product: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=100)
    quantity: int = Field(default=1)
    amount_fen: int = Field(default=0)


class ContactField(SQLModel, table=True):
    """A custom field of a contact (a column of a contact import mapped to ``field:<name>``,
    e.g. 会员等级 or 生日), kept as text."""

    __tablename__ = "contact_field"
    __table_args__ = (sa.Index("ix_contact_field_name_value", "name", "value"),)

    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    name: str = Field(max_length=100, primary_key=True)
    value: str = Field(default="", max_length=500)


CORE_TABLES = CORE_TABLES + (ContactStats.__table__, ContactEventStats.__table__,
                             OrderLine.__table__, ContactField.__table__,
                             Segment.__table__, SegmentVersion.__table__,
                             SegmentSnapshot.__table__, SegmentSnapshotMember.__table__)


#: A campaign's life: drafted, maybe scheduled, then sending (or paused) until every delivery
#: ended, or cancelled.
CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "paused", "done", "cancelled")
#: Where a delivery is: ``queued`` (waiting for a sender), ``sending`` (in a batch handed to
#: the channel), ``pending`` (the provider holds it: a WeCom task waiting for the staff member
#: to confirm), then ``sent``, ``failed``, ``blocked`` (a risk rule vetoed it), ``skipped``
#: (holdout, quota, frequency cap, not a friend…) or ``cancelled`` (the campaign was).
DELIVERY_STATUSES = ("queued", "sending", "pending", "sent", "failed", "blocked", "skipped",
                     "cancelled")
#: Statuses a delivery never leaves.
DELIVERY_FINAL = ("sent", "failed", "blocked", "skipped", "cancelled")


class Campaign(SQLModel, table=True):
    """A message to an audience through one channel: content, variants, schedule, status.

    ``audience`` is ``{"segment": name}``, ``{"spec": spec}`` or ``{"targets": [keys]}``;
    ``content`` is ``{"text", "subject", "attachments"}``; ``variants`` lists
    ``{"name", "share", "content"}`` (shares in percent of the non-holdout audience).
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True}, nullable=False)
    status: str = Field(default="draft", max_length=20, index=True)
    channel: str = Field(max_length=64)
    audience: Any = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=False))
    content: Any = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=False))
    variants: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    holdout_pct: int = Field(default=0)
    #: ``{"policy": "owner"}`` (each customer's owner) or ``{"policy": "staff", "userid"}``.
    sender: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: Channel-specific options (``{"chat_type": "group"}``).
    options: Any = Field(default=None, sa_column=sa.Column(sa.JSON))
    #: Days after delivery an order counts as a conversion.
    conversion_days: int = Field(default=7)
    #: Salt of the holdout / variant split (so two campaigns split differently).
    salt: int = Field(default=0)
    scheduled_at: datetime | None = _ts()
    snapshot_id: int | None = Field(default=None, foreign_key="segment_snapshot.id",
                                    ondelete="SET NULL")
    targeted: int = Field(default=0)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    launched_by: str = Field(default="", max_length=100)
    launched_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()


class DeliveryBatch(SQLModel, table=True):
    """One hand-over of deliveries to a channel's ``send``: the intent, committed before the
    provider is called, and its outcome. A batch still ``sending`` after its lease is in
    doubt: recovery reconciles it with the provider (or sends it again, for channels that
    cannot be asked)."""

    __tablename__ = "delivery_batch"
    __table_args__ = (sa.Index("ix_delivery_batch_status_lease", "status", "lease_until"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=64)
    sender: str | None = Field(default=None, max_length=64)
    #: ``sending``, ``done``, ``reconciling`` (recovery owns it), ``reconciled``.
    status: str = Field(default="sending", max_length=20)
    items: int = Field(default=0)
    worker: str = Field(default="", max_length=100)
    claimed_at: datetime = _created()
    lease_until: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = _ts()
    note: str = Field(default="", max_length=500)


class Delivery(SQLModel, table=True):
    """The outbox: one row per recipient × campaign; ``(campaign_id, recipient)`` is the
    idempotency key."""

    __table_args__ = (sa.UniqueConstraint("campaign_id", "recipient",
                                          name="uq_delivery_campaign_recipient"),
                      sa.Index("ix_delivery_queue", "campaign_id", "status", "sender", "id"),
                      sa.Index("ix_delivery_contact_status", "contact_id", "status"))

    #: 64-bit on PostgreSQL (billions of deliveries over the years); SQLite's rowid is.
    id: int | None = Field(default=None, sa_column=sa.Column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True))
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    #: ``contact:<id>`` or a channel target's key.
    recipient: str = Field(max_length=200)
    contact_id: int | None = Field(default=None)
    variant: str = Field(default="", max_length=40)
    #: The staff userid who sends it (the owner at launch, or the campaign's fixed sender).
    sender: str | None = Field(default=None, max_length=64)
    status: str = Field(default="queued", max_length=20)
    reason: str = Field(default="", max_length=500)
    attempts: int = Field(default=0)
    batch_id: int | None = Field(default=None, index=True)
    provider_id: str | None = Field(default=None, max_length=128)
    not_before: datetime | None = _ts()
    updated_at: datetime = _created()
    sent_at: datetime | None = _ts()


CORE_TABLES = CORE_TABLES + (Campaign.__table__, DeliveryBatch.__table__,
                             Delivery.__table__)
