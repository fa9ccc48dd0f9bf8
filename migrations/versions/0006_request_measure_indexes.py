"""Indexes for the secretariat's queue and a request's measures.

Submitted requests are read per commission (agenda building, pending counts), so the
commission joins the request's (tenant, status) index; a request's page reads its measures
by ``measure.request_id``.

Revision ID: 0006_request_measure_indexes
Revises: 0005_secretariat_commissions
"""

from alembic import op

revision = "0006_request_measure_indexes"
down_revision = "0005_secretariat_commissions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index("ix_request_tenant_status")
        batch_op.create_index("ix_request_tenant_status_commission", ["tenant_id", "status", "commission_code"],
                              unique=False)
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measure_request_id"), ["request_id"], unique=False)


def downgrade():
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_request_id"))
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index("ix_request_tenant_status_commission")
        batch_op.create_index("ix_request_tenant_status", ["tenant_id", "status"], unique=False)
