"""Accounts: server-side sessions, token expiry, invitations (placeholder).

Revision ID: 0010_accounts
Revises: 0009_idempotency
"""

from alembic import op  # noqa: F401

revision = "0010_accounts"
down_revision = "0009_idempotency"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
