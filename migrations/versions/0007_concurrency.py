"""Version counters that serialise concurrent changes (placeholder, filled by the concurrency work).

Revision ID: 0007_concurrency
Revises: 0006_request_measure_indexes
"""

from alembic import op  # noqa: F401

revision = "0007_concurrency"
down_revision = "0006_request_measure_indexes"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
