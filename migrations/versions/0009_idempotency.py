"""API idempotency keys (placeholder).

Revision ID: 0009_idempotency
Revises: 0008_export_leases
"""

from alembic import op  # noqa: F401

revision = "0009_idempotency"
down_revision = "0008_export_leases"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
