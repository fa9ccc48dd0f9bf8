"""Commission secretariats: which commissions each one serves.

Revision ID: 0005_secretariat_commissions
Revises: 0004_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_secretariat_commissions"
down_revision = "0004_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commission_codes", sa.JSON(), server_default="[]", nullable=False))


def downgrade():
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("commission_codes")
