"""moselle: FSL aids with their amounts and rent-arrears prevention follow-ups

Revision ID: moselle_0001
Revises:
Create Date: 2026-11-24 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'moselle_0001'
down_revision = None
branch_labels = ('moselle',)
depends_on = '0002_workflow'


def upgrade():
    op.create_table('moselle_fsl_aid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('nature', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_moselle_fsl_aid_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_moselle_fsl_aid_measure_id_measure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_moselle_fsl_aid_tenant_id_tenant'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moselle_fsl_aid'))
    )
    with op.batch_alter_table('moselle_fsl_aid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moselle_fsl_aid_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moselle_fsl_aid_measure_id'), ['measure_id'], unique=False)
        batch_op.create_index('ix_moselle_fsl_aid_tenant_granted', ['tenant_id', 'granted_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_moselle_fsl_aid_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('moselle_rent_arrears_follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('first_unpaid_date', sa.Date(), nullable=False),
    sa.Column('first_unpaid_amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('reported_by', sa.String(length=32), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_moselle_rent_arrears_follow_up_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_moselle_rent_arrears_follow_up_measure_id_measure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_moselle_rent_arrears_follow_up_tenant_id_tenant'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moselle_rent_arrears_follow_up')),
    sa.UniqueConstraint('measure_id', name=op.f('uq_moselle_rent_arrears_follow_up_measure_id'))
    )
    with op.batch_alter_table('moselle_rent_arrears_follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moselle_rent_arrears_follow_up_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moselle_rent_arrears_follow_up_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_moselle_rent_arrears_follow_up_tenant_opened', ['tenant_id', 'opened_on'], unique=False)


def downgrade():
    with op.batch_alter_table('moselle_rent_arrears_follow_up', schema=None) as batch_op:
        batch_op.drop_index('ix_moselle_rent_arrears_follow_up_tenant_opened')
        batch_op.drop_index(batch_op.f('ix_moselle_rent_arrears_follow_up_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_moselle_rent_arrears_follow_up_household_id'))

    op.drop_table('moselle_rent_arrears_follow_up')
    with op.batch_alter_table('moselle_fsl_aid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moselle_fsl_aid_tenant_id'))
        batch_op.drop_index('ix_moselle_fsl_aid_tenant_granted')
        batch_op.drop_index(batch_op.f('ix_moselle_fsl_aid_measure_id'))
        batch_op.drop_index(batch_op.f('ix_moselle_fsl_aid_household_id'))

    op.drop_table('moselle_fsl_aid')
