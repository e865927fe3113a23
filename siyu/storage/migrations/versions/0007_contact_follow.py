"""Follow relations: which staff members a customer is the friend of (contact × staff).

Existing data becomes one follow per contact that has an owner: added when the contact was
added, deleted when it was removed (by whom, when an event or the audit log says so), with
the WeCom state of the owner's add when a ``contact.added`` event kept it.

Revision ID: 0007_contact_follow
Revises: 0006_hook_delivery
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import siyu.storage.types

revision = "0007_contact_follow"
down_revision = "0006_hook_delivery"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"
#: Rows per UPDATE batch while filling in who removed a contact and the state of its add.
CHUNK = 1000


def upgrade() -> None:
    op.create_table(
        "contact_follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("added_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("remark", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("deleted_at", siyu.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("owner_pinned_at", siyu.storage.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "staff_id", name="uq_contact_follow_contact_staff"),
    )
    op.create_index("ix_contact_follow_staff_added", "contact_follow", ["staff_id", "added_at"])
    op.create_index("ix_contact_follow_staff_live", "contact_follow", ["staff_id", "contact_id"],
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    _migrate_owners(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_contact_follow_staff_live", table_name="contact_follow")
    op.drop_index("ix_contact_follow_staff_added", table_name="contact_follow")
    op.drop_table("contact_follow")


# -- existing data --------------------------------------------------------------------------

contact = sa.table("contact", sa.column("id", sa.Integer), sa.column("external_userid"),
                   sa.column("owner_id", sa.Integer), sa.column("remark"),
                   sa.column("added_at"), sa.column("removed_at"))
staff = sa.table("staff", sa.column("id", sa.Integer), sa.column("userid"))
follow = sa.table("contact_follow", sa.column("id", sa.Integer),
                  sa.column("contact_id", sa.Integer), sa.column("staff_id", sa.Integer),
                  sa.column("added_at"), sa.column("state"), sa.column("remark"),
                  sa.column("deleted_at"), sa.column("deleted_by"))
event = sa.table("event", sa.column("id", sa.Integer), sa.column("kind"),
                 sa.column("contact_id", sa.Integer), sa.column("occurred_at"),
                 sa.column("payload", sa.JSON))
audit = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("action"),
                 sa.column("target"), sa.column("detail", sa.JSON))


def _migrate_owners(conn: sa.Connection) -> None:
    """One follow per contact with an owner; then who removed it and the state of the add."""
    conn.execute(follow.insert().from_select(
        ["contact_id", "staff_id", "added_at", "state", "remark", "deleted_at"],
        sa.select(contact.c.id, contact.c.owner_id, contact.c.added_at, sa.literal(""),
                  sa.func.coalesce(contact.c.remark, ""), contact.c.removed_at)
        .where(contact.c.owner_id.is_not(None))))
    _removed_by(conn)
    _add_states(conn)


def _removed_by(conn: sa.Connection) -> None:
    """``deleted_by`` of the migrated follows of removed contacts: what the latest
    ``contact.removed`` event says, else the latest ``contact.remove`` audit entry."""
    removed = dict(conn.execute(
        sa.select(contact.c.id, contact.c.external_userid)
        .where(contact.c.owner_id.is_not(None), contact.c.removed_at.is_not(None))).all())
    if not removed:
        return
    by_target = {str(cid): cid for cid in removed}
    by_target.update({ext: cid for cid, ext in removed.items() if ext})
    who: dict[int, str] = {}
    for target, detail in conn.execute(
            sa.select(audit.c.target, audit.c.detail)
            .where(audit.c.action == "contact.remove").order_by(audit.c.id)):
        cid = by_target.get(target or "")
        if cid is not None and isinstance(detail, dict) and detail.get("by"):
            who[cid] = str(detail["by"])
    for cid, payload in conn.execute(
            sa.select(event.c.contact_id, event.c.payload)
            .where(event.c.kind == "contact.removed", event.c.contact_id.is_not(None))
            .order_by(event.c.occurred_at, event.c.id)):
        if cid in removed and isinstance(payload, dict) and payload.get("by"):
            who[cid] = str(payload["by"])
    rows = [{"cid": cid, "by": by} for cid, by in who.items()
            if by in ("customer", "staff", "transfer")]
    statement = (follow.update().where(follow.c.contact_id == sa.bindparam("cid"))
                 .values(deleted_by=sa.bindparam("by")))
    for start in range(0, len(rows), CHUNK):
        conn.execute(statement, rows[start:start + CHUNK])


def _add_states(conn: sa.Connection) -> None:
    """``state`` of each migrated follow: that of the latest ``contact.added`` event of the
    contact by its owner (the WeCom plugin keeps ``userid`` and ``state`` in the payload)."""
    owners = dict(conn.execute(
        sa.select(contact.c.id, staff.c.userid)
        .join(staff, staff.c.id == contact.c.owner_id)).all())
    if not owners:
        return
    states: dict[int, str] = {}
    for cid, payload in conn.execute(
            sa.select(event.c.contact_id, event.c.payload)
            .where(event.c.kind == "contact.added", event.c.contact_id.is_not(None))
            .order_by(event.c.occurred_at, event.c.id)):
        if (isinstance(payload, dict) and payload.get("userid")
                and payload.get("userid") == owners.get(cid)):
            states[cid] = str(payload.get("state") or "")[:64]
    rows = [{"cid": cid, "st": state} for cid, state in states.items() if state]
    statement = (follow.update().where(follow.c.contact_id == sa.bindparam("cid"))
                 .values(state=sa.bindparam("st")))
    for start in range(0, len(rows), CHUNK):
        conn.execute(statement, rows[start:start + CHUNK])
