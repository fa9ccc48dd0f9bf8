"""orne: evaluation data (situation at entry and exit, domains worked on)

Revision ID: orne_0001
Revises:
Create Date: 2026-11-24 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'orne_0001'
down_revision = None
branch_labels = ('orne',)
depends_on = '0002_workflow'


def upgrade():
    op.create_table('orne_measure_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('circonscription', sa.String(length=120), nullable=False),
    sa.Column('organisation', sa.String(length=10), nullable=False),
    sa.Column('origin', sa.String(length=40), nullable=False),
    sa.Column('validated_by', sa.String(length=20), nullable=False),
    sa.Column('entry_housing', sa.String(length=32), nullable=False),
    sa.Column('entry_resources', sa.String(length=40), nullable=False),
    sa.Column('entry_situation', sa.String(length=40), nullable=False),
    sa.Column('exit_resources', sa.String(length=40), nullable=False),
    sa.Column('exit_situation', sa.String(length=40), nullable=False),
    sa.Column('housing_result', sa.String(length=40), nullable=False),
    sa.Column('contact_date', sa.Date(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_orne_measure_record_measure_id_measure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_orne_measure_record_tenant_id_tenant'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orne_measure_record')),
    sa.UniqueConstraint('measure_id', name=op.f('uq_orne_measure_record_measure_id'))
    )
    with op.batch_alter_table('orne_measure_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orne_measure_record_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('orne_measure_domain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_orne_measure_domain_measure_id_measure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_orne_measure_domain_tenant_id_tenant'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orne_measure_domain')),
    sa.UniqueConstraint('measure_id', 'domain', name=op.f('uq_orne_measure_domain_measure_id_domain'))
    )
    with op.batch_alter_table('orne_measure_domain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orne_measure_domain_measure_id'), ['measure_id'], unique=False)
        batch_op.create_index('ix_orne_measure_domain_tenant_domain', ['tenant_id', 'domain'], unique=False)
        batch_op.create_index(batch_op.f('ix_orne_measure_domain_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('orne_measure_domain', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orne_measure_domain_tenant_id'))
        batch_op.drop_index('ix_orne_measure_domain_tenant_domain')
        batch_op.drop_index(batch_op.f('ix_orne_measure_domain_measure_id'))

    op.drop_table('orne_measure_domain')
    with op.batch_alter_table('orne_measure_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orne_measure_record_tenant_id'))

    op.drop_table('orne_measure_record')
