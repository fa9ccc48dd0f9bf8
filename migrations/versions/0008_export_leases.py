"""Export job leases (placeholder).

Revision ID: 0008_export_leases
Revises: 0007_concurrency
"""

from alembic import op  # noqa: F401

revision = "0008_export_leases"
down_revision = "0007_concurrency"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
