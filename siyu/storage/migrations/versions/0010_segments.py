"""Segments: saved specs with versions and snapshots, order lines and contacts' custom fields
(rules select by product, category and field), and the per-contact stats their rules
read (``contact_stats``, ``contact_event_stats``), filled from existing orders and events.

Revision ID: 0010_segments
Revises: 0009_user_language
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import siyu.storage.types

revision = "0010_segments"
down_revision = "0009_user_language"
branch_labels = None
depends_on = None

TS = siyu.storage.types.UTCDateTime(timezone=True)


def _str(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "contact_stats",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("first_order_at", TS, nullable=True),
        sa.Column("last_order_at", TS, nullable=True),
        sa.Column("last2_order_at", TS, nullable=True),
        sa.Column("last3_order_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index("ix_contact_stats_last_order", "contact_stats",
                    ["last_order_at", "contact_id"])
    op.create_index("ix_contact_stats_orders", "contact_stats", ["orders", "contact_id"])
    op.create_index("ix_contact_stats_revenue", "contact_stats", ["revenue_fen", "contact_id"])
    op.create_table(
        "contact_event_stats",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", _str(64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_at", TS, nullable=True),
        sa.Column("last_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "kind"),
    )
    op.create_index("ix_contact_event_stats_kind_last", "contact_event_stats",
                    ["kind", "last_at"])
    op.create_table(
        "order_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", _str(100), nullable=False),
        sa.Column("product", _str(200), nullable=False),
        sa.Column("category", _str(100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "line_no"),
    )
    op.create_index("ix_order_line_order_id", "order_line", ["order_id"])
    op.create_index("ix_order_line_product", "order_line", ["product"])
    op.create_index("ix_order_line_category", "order_line", ["category"])
    op.create_table(
        "contact_field",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("name", _str(100), nullable=False),
        sa.Column("value", _str(500), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "name"),
    )
    op.create_index("ix_contact_field_name_value", "contact_field", ["name", "value"])
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _str(100), nullable=False),
        sa.Column("description", _str(500), nullable=False),
        sa.Column("owner", _str(100), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_count", sa.Integer(), nullable=True),
        sa.Column("counted_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "segment_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("description", _str(500), nullable=False),
        sa.Column("saved_by", _str(100), nullable=False),
        sa.Column("saved_at", TS, nullable=False),
        sa.Column("note", _str(300), nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("segment_id", "version"),
    )
    op.create_table(
        "segment_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("taken_by", _str(100), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_segment_snapshot_segment_id", "segment_snapshot", ["segment_id"])
    op.create_table(
        "segment_snapshot_member",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["segment_snapshot.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", "contact_id"),
    )
    op.create_index("ix_contact_city", "contact", ["city"])
    # The stats of what is already stored (later writes keep them current).
    op.execute("INSERT INTO contact_stats (contact_id, orders, revenue_fen, first_order_at, "
               "last_order_at, last2_order_at, last3_order_at) "
               "SELECT contact_id, count(*), sum(net), min(paid_at), max(paid_at), "
               "max(CASE WHEN n = 2 THEN paid_at END), max(CASE WHEN n = 3 THEN paid_at END) "
               "FROM (SELECT contact_id, paid_at, amount_fen - refunded_fen AS net, "
               "row_number() OVER (PARTITION BY contact_id ORDER BY paid_at DESC, id DESC) AS n "
               "FROM orders WHERE contact_id IS NOT NULL AND "
               "status IN ('paid', 'partially_refunded')) AS paid GROUP BY contact_id")
    op.execute("INSERT INTO contact_event_stats (contact_id, kind, events, first_at, last_at) "
               "SELECT contact_id, kind, count(*), min(occurred_at), max(occurred_at) "
               "FROM event WHERE contact_id IS NOT NULL GROUP BY contact_id, kind")


def downgrade() -> None:
    op.drop_index("ix_contact_city", table_name="contact")
    for table in ("segment_snapshot_member", "segment_snapshot", "segment_version", "segment",
                  "contact_field", "order_line", "contact_event_stats", "contact_stats"):
        op.drop_table(table)
