"""RGPD: the k-anonymity threshold of a département's pseudonymised exports, in its retention policy.

Revision ID: 0015_rgpd_k
Revises: 0013_request_id
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_rgpd_k"
down_revision = "0013_request_id"
branch_labels = None
depends_on = None


def upgrade():
    # A column with a server default: existing policies get k = 5, the platform's default.
    with op.batch_alter_table("rgpd_retention_policy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("export_k", sa.Integer(), server_default="5", nullable=False))


def downgrade():
    with op.batch_alter_table("rgpd_retention_policy", schema=None) as batch_op:
        batch_op.drop_column("export_k")
