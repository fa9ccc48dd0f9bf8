"""Audit entries keep the id of the request (or task) that wrote them, to find its log lines.

Nullable: the entries written before have none (and are signed without it, services/audit.py).

Revision ID: 0013_request_id
Revises: 0012_rgpd
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_request_id"
down_revision = "0012_rgpd"
branch_labels = None
depends_on = None


def upgrade():
    # A new nullable column: no row is rewritten, the append-only triggers are not involved.
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("request_id")
