"""api_request_log.details: the field and message of each problem a refused request's answer
named, so an admin sees which field was refused (never the request body or a secret)

Revision ID: d9a41c7e5b20
Revises: c3e1f0a9d2b4
Create Date: 2026-12-04 17:20:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd9a41c7e5b20'
down_revision = 'c3e1f0a9d2b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_request_log') as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_request_log') as batch_op:
        batch_op.drop_column('details')
