"""api_keys.name_fold: live key names unique compared folded (case, compatibility forms)

Revision ID: c3e1f0a9d2b4
Revises: b5d0c6f1a2e3
Create Date: 2026-11-28 08:00:00

The service compared names folded since 2026-11-28, but the unique index was on the exact
name, so two admins saving "Zapier" and "zapier" at the same moment could both succeed. The
index is now on a digest of the folded name (portal/public_api/models.py: key_name_fold).

Live keys that already share a folded name (saved before names were compared folded) are kept
as they are: the oldest gets the plain fold, each other one a fold of its own (the folded name
and its id), which its successor inherits on a roll. Other keys are outside the index.
"""
import hashlib
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3e1f0a9d2b4'
down_revision = 'b5d0c6f1a2e3'
branch_labels = None
depends_on = None

LIVE = 'saved_at IS NOT NULL AND deleted_at IS NULL AND replaced_by_id IS NULL'


def _fold(name: str, unique_to: str | None = None) -> str:
    # The rule as of this revision (a migration must not change when the app's code does).
    folded = unicodedata.normalize('NFKC', name).casefold()
    if unique_to is not None:
        folded += '\0' + unique_to
    return hashlib.sha256(folded.encode()).hexdigest()


def _backfill() -> None:
    connection = op.get_bind()
    keys = connection.execute(sa.text(
        'SELECT id, firm_id, name, saved_at IS NOT NULL AND deleted_at IS NULL '
        'AND replaced_by_id IS NULL AS live FROM api_keys ORDER BY created_at, id'
    )).all()
    taken = set()
    for key in keys:
        fold = _fold(key.name)
        if key.live:
            if (key.firm_id, fold) in taken:
                fold = _fold(key.name, unique_to=key.id)
            taken.add((key.firm_id, fold))
        connection.execute(sa.text('UPDATE api_keys SET name_fold = :fold WHERE id = :id'),
                           {'fold': fold, 'id': key.id})


def upgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_fold', sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('name_fold', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index('uq_api_keys_live_name')
        batch_op.create_index('uq_api_keys_live_name_fold', ['firm_id', 'name_fold'],
                              unique=True, sqlite_where=sa.text(LIVE),
                              postgresql_where=sa.text(LIVE))


def downgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_api_keys_live_name_fold')
        batch_op.create_index('uq_api_keys_live_name', ['firm_id', 'name'], unique=True,
                              sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
        batch_op.drop_column('name_fold')
