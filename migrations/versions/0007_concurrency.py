"""Version counters that serialise concurrent changes, and reference counters.

A request, a measure and a commission session carry a ``version`` that every change made
through a service bumps with a conditional UPDATE (``services/concurrency.py``): of two
clicks built on the same version, one wins and the other gets a French 409. References
(D-42-2026-00012) are numbered from a counter row instead of ``max() + 1``, which two
concurrent creations computed alike (a unique violation, then an error 500).

Revision ID: 0007_concurrency
Revises: 0006_request_measure_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_concurrency"
down_revision = "0006_request_measure_indexes"
branch_labels = None
depends_on = None

VERSIONED = ("request", "measure", "commission_session")


def upgrade():
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "reference_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stem", sa.String(length=32), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f("fk_reference_counter_tenant_id_tenant"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_counter")),
        sa.UniqueConstraint("tenant_id", "stem", name=op.f("uq_reference_counter_tenant_id_stem")),
    )
    with op.batch_alter_table("reference_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reference_counter_tenant_id"), ["tenant_id"], unique=False)


def downgrade():
    with op.batch_alter_table("reference_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_counter_tenant_id"))
    op.drop_table("reference_counter")
    for table in reversed(VERSIONED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
