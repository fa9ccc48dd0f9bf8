"""RGPD: retention policy, legal texts, anonymised files, intermediate archive, retention run lock.

Revision ID: 0012_rgpd
Revises: 0011_audit_anchor_rls
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_rgpd"
down_revision = "0011_audit_anchor_rls"
branch_labels = None
depends_on = None


TABLES = ("rgpd_retention_policy", "rgpd_legal_notice", "rgpd_anonymised_household", "rgpd_archive_entry",
          "rgpd_retention_run")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=op.f(f"fk_{table}_tenant_id_tenant"),
                                   ondelete="RESTRICT")


def _tenant_index(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_tenant_id"), ["tenant_id"], unique=False)


def upgrade():
    op.create_table(
        "rgpd_retention_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("active_months", sa.Integer(), nullable=False),
        sa.Column("archive_enabled", sa.Boolean(), nullable=False),
        sa.Column("archive_years", sa.Integer(), nullable=False),
        sa.Column("audit_months", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["changed_by_id"], ["user.id"],
                                name=op.f("fk_rgpd_retention_policy_changed_by_id_user"), ondelete="SET NULL"),
        _tenant_fk("rgpd_retention_policy"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rgpd_retention_policy")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_rgpd_retention_policy_tenant_id")),
    )
    _tenant_index("rgpd_retention_policy")

    op.create_table(
        "rgpd_legal_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["changed_by_id"], ["user.id"],
                                name=op.f("fk_rgpd_legal_notice_changed_by_id_user"), ondelete="SET NULL"),
        _tenant_fk("rgpd_legal_notice"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rgpd_legal_notice")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_rgpd_legal_notice_tenant_id")),
    )
    _tenant_index("rgpd_legal_notice")

    op.create_table(
        "rgpd_anonymised_household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("last_contact", sa.Date(), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("age_brackets", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"],
                                name=op.f("fk_rgpd_anonymised_household_household_id_household"),
                                ondelete="CASCADE"),
        _tenant_fk("rgpd_anonymised_household"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rgpd_anonymised_household")),
        sa.UniqueConstraint("household_id", name=op.f("uq_rgpd_anonymised_household_household_id")),
    )
    _tenant_index("rgpd_anonymised_household")

    op.create_table(
        "rgpd_archive_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("household_reference", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=260), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroy_after", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"],
                                name=op.f("fk_rgpd_archive_entry_household_id_household"), ondelete="SET NULL"),
        _tenant_fk("rgpd_archive_entry"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rgpd_archive_entry")),
    )
    with op.batch_alter_table("rgpd_archive_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rgpd_archive_entry_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_rgpd_archive_entry_tenant_destroy", ["tenant_id", "destroy_after"], unique=False)
        batch_op.create_index(batch_op.f("ix_rgpd_archive_entry_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "rgpd_retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=32), nullable=False),
        sa.Column("last_run_on", sa.Date(), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_summary", sa.JSON(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("rgpd_retention_run"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rgpd_retention_run")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_rgpd_retention_run_tenant_id")),
    )
    _tenant_index("rgpd_retention_run")

    if op.get_bind().dialect.name == "postgresql":  # the tenant wall of 0011 on the new tenant tables
        from asll.tenancy import row_security_sql

        for table in TABLES:
            for statement in row_security_sql(table):
                op.execute(statement)


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
