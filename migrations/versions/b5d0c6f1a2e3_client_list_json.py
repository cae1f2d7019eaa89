"""clients.list_json: each client's list JSON, stored

Revision ID: b5d0c6f1a2e3
Revises: e47b388ab526
Create Date: 2026-11-28 01:40:00

Existing clients start with NULL, which the list computes as before; `flask refresh-list-json`
stores theirs (portal/crm/list_json.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d0c6f1a2e3'
down_revision = 'e47b388ab526'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_json', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('list_json')
