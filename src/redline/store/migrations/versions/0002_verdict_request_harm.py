"""verdicts.request_harm: how harmful the request itself is, as the judge read it

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_harm', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_column('request_harm')
