"""Merge the reminders, exports and API revisions, built in parallel on 0002_workflow.

Revision ID: 0004_merge
Revises: 0003_api, 0003_exports, 0003_reminders
"""

revision = "0004_merge"
down_revision = ("0003_api", "0003_exports", "0003_reminders")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
