"""Indexes for the console's contact reports: removals per day, channels of active contacts.

Revision ID: 0003_contact_report_indexes
Revises: 0002_users_audit
"""

from alembic import op

revision = "0003_contact_report_indexes"
down_revision = "0002_users_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contact_removed_at", "contact", ["removed_at"])
    op.create_index("ix_contact_channel_removed", "contact", ["source_channel", "removed_at"])


def downgrade() -> None:
    op.drop_index("ix_contact_channel_removed", table_name="contact")
    op.drop_index("ix_contact_removed_at", table_name="contact")
