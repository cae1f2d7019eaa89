"""Drop clients.list_json: client lists are serialised from the rows on each read

Revision ID: d9a4c2e7b1f0
Revises: d9a41c7e5b20
Create Date: 2026-12-04 16:45:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd9a4c2e7b1f0'
down_revision = 'd9a41c7e5b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('list_json')


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_json', sa.Text(), nullable=True))
