"""Export job leases: who runs a job, until when, and how many runs it took.

A worker claims a job with a conditional UPDATE (status and previous claim token as read),
so a redelivered message never runs a job twice; the run renews its lease as it writes
progress, and a job whose lease expired (its worker died) is taken over by the next message
from zero, at most ``EXPORT_MAX_ATTEMPTS`` times (``services/exports.py``).

Revision ID: 0008_export_leases
Revises: 0007_concurrency
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_export_leases"
down_revision = "0007_concurrency"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("export_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_export_job_tenant_status_lease", ["tenant_id", "status", "lease_expires_at"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("export_job", schema=None) as batch_op:
        batch_op.drop_index("ix_export_job_tenant_status_lease")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("attempts")
