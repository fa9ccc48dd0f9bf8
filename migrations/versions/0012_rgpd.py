"""RGPD: retention policy, anonymisation, legal pages (placeholder).

Revision ID: 0012_rgpd
Revises: 0011_audit_anchor_rls
"""

from alembic import op  # noqa: F401

revision = "0012_rgpd"
down_revision = "0011_audit_anchor_rls"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
