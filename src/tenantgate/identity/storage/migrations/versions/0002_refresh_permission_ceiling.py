"""A permission ceiling on refresh families: a family born from SSO never refreshes wider.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_families") as batch:
        batch.add_column(sa.Column("permission_ceiling", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_families") as batch:
        batch.drop_column("permission_ceiling")
