"""clients.api_json: each client's API JSON, stored for lists to send as it is

Revision ID: a3c5e7f9b2d4
Revises: e5f7a9b1c3d6
Create Date: 2026-12-04 19:30:00

Existing clients start with NULL, which lists serialize on each read until
`flask store-client-json` stores theirs (`make run` and `make serve` run it after upgrading).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b2d4'
down_revision = 'e5f7a9b1c3d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_json', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('api_json')
