"""guard_decisions: the runtime guard's rail decisions, one row per rail per request

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'guard_decisions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('run_id', sa.String(length=64), nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=False),
        sa.Column('conversation', sa.String(length=128), nullable=False),
        sa.Column('phase', sa.String(length=16), nullable=False),
        sa.Column('rail', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('latency_s', sa.Float(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('guard_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guard_decisions_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guard_decisions_request_id'), ['request_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('guard_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guard_decisions_request_id'))
        batch_op.drop_index(batch_op.f('ix_guard_decisions_run_id'))
    op.drop_table('guard_decisions')
