"""users.public_id: the id the API shows for a member

Revision ID: d8a2c4e6f1b3
Revises: d9a4c2e7b1f0
Create Date: 2026-12-04 16:40:00

The API listed members by their primary key, which is also what a portal session names; a
member now has an opaque public id of its own ("mem_" and 20 random base-32 characters, as
portal/ids.py makes), backfilled for existing users.
"""
import base64
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd8a2c4e6f1b3'
down_revision = 'd9a4c2e7b1f0'
branch_labels = None
depends_on = None


def _new_member_id() -> str:
    # The format as of this revision (a migration must not change when the app's code does).
    return 'mem_' + base64.b32encode(secrets.token_bytes(15)).decode().lower()[:20]


def _backfill() -> None:
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.text('SELECT id FROM users')).all():
        connection.execute(sa.text('UPDATE users SET public_id = :public_id WHERE id = :id'),
                           {'public_id': _new_member_id(), 'id': user_id})


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=32), nullable=True))
    _backfill()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint('uq_users_public_id', ['public_id'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_public_id', type_='unique')
        batch_op.drop_column('public_id')
