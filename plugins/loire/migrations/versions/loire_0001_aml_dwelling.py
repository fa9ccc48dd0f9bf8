"""loire: dwellings counted for the aide à la médiation locative (AML)

Revision ID: loire_0001
Revises:
Create Date: 2026-11-24 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'loire_0001'
down_revision = None
branch_labels = ('loire',)
depends_on = '0002_workflow'


def upgrade():
    op.create_table('loire_aml_dwelling',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measure.id'], name=op.f('fk_loire_aml_dwelling_measure_id_measure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['operator_id'], ['organisation.id'], name=op.f('fk_loire_aml_dwelling_operator_id_organisation')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_loire_aml_dwelling_tenant_id_tenant'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loire_aml_dwelling')),
    sa.UniqueConstraint('measure_id', 'mode', name=op.f('uq_loire_aml_dwelling_measure_id_mode'))
    )
    with op.batch_alter_table('loire_aml_dwelling', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loire_aml_dwelling_measure_id'), ['measure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loire_aml_dwelling_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index('ix_loire_aml_dwelling_tenant_year', ['tenant_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_loire_aml_dwelling_tenant_id'), ['tenant_id'], unique=False)


def downgrade():
    with op.batch_alter_table('loire_aml_dwelling', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loire_aml_dwelling_tenant_id'))
        batch_op.drop_index('ix_loire_aml_dwelling_tenant_year')
        batch_op.drop_index(batch_op.f('ix_loire_aml_dwelling_operator_id'))
        batch_op.drop_index(batch_op.f('ix_loire_aml_dwelling_measure_id'))

    op.drop_table('loire_aml_dwelling')
