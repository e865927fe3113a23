"""Each console user's language: ``app_user.language`` (``NULL``: the workspace's).

Revision ID: 0009_user_language
Revises: 0008_order_upserts
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_user_language"
down_revision = "0008_order_upserts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", recreate="never") as batch:
        batch.add_column(sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=10),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", recreate="never") as batch:
        batch.drop_column("language")
