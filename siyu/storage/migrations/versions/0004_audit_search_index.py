"""Index for the contact search rate limit: recent audit entries by actor and action.

Revision ID: 0004_audit_search_index
Revises: 0003_contact_report_indexes
"""

from alembic import op

revision = "0004_audit_search_index"
down_revision = "0003_contact_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_actor_action_at", "audit_log", ["actor", "action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor_action_at", table_name="audit_log")
