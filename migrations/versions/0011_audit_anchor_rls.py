"""Audit anchoring and row-level security (placeholder).

Revision ID: 0011_audit_anchor_rls
Revises: 0010_accounts
"""

from alembic import op  # noqa: F401

revision = "0011_audit_anchor_rls"
down_revision = "0010_accounts"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
