"""Orders as upserts: refunds on orders, member numbers on contacts.

Adds ``orders.refunded_fen`` (0 to ``amount_fen``, checked by the database; orders already
``refunded`` get their whole amount) and ``contact.member_id`` (indexed, to match orders and
members by it).

SQLite: nothing here recreates a table. ``contact`` and ``orders`` are referenced by foreign
keys with ``ON DELETE CASCADE`` / ``SET NULL``, and with foreign keys on, dropping a table to
copy it back (Alembic's batch "move and copy") would first delete its rows, and with them the
tags and events of every contact. Columns are added and dropped with ``ALTER TABLE`` instead
(``DROP COLUMN`` needs SQLite 3.35).

Revision ID: 0008_order_upserts
Revises: 0007_contact_follow
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_order_upserts"
down_revision = "0007_contact_follow"
branch_labels = None
depends_on = None

CHECK = "refunded_fen >= 0 AND refunded_fen <= amount_fen"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a CHECK only as part of the column (Alembic would want to copy the
        # table to add it afterwards).
        op.execute("ALTER TABLE orders ADD COLUMN refunded_fen INTEGER DEFAULT '0' NOT NULL "
                   f"CONSTRAINT ck_orders_refunded_fen CHECK ({CHECK})")
    else:
        op.add_column("orders", sa.Column("refunded_fen", sa.Integer(), nullable=False,
                                          server_default="0"))
        op.create_check_constraint("ck_orders_refunded_fen", "orders", CHECK)
    orders = sa.table("orders", sa.column("status", sa.String),
                      sa.column("amount_fen", sa.Integer), sa.column("refunded_fen", sa.Integer))
    op.execute(orders.update().where(orders.c.status == "refunded")
               .values(refunded_fen=orders.c.amount_fen))
    with op.batch_alter_table("contact", recreate="never") as batch:
        batch.add_column(sa.Column("member_id", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
        batch.create_index("ix_contact_member_id", ["member_id"], unique=False)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(f"downgrading 0008_order_upserts needs SQLite 3.35 or newer "
                               f"(ALTER TABLE … DROP COLUMN); this is {sqlite3.sqlite_version}")
    with op.batch_alter_table("contact", recreate="never") as batch:
        batch.drop_index("ix_contact_member_id")
        batch.drop_column("member_id")
    # The old statuses know no partial refund: such an order is paid again.
    orders = sa.table("orders", sa.column("status", sa.String))
    op.execute(orders.update().where(orders.c.status == "partially_refunded")
               .values(status="paid"))
    with op.batch_alter_table("orders", recreate="never") as batch:
        if not sqlite:  # on SQLite the CHECK is part of the column and goes with it
            batch.drop_constraint("ck_orders_refunded_fen", type_="check")
        batch.drop_column("refunded_fen")
