"""key controls: scopes, expiry, IP allow-lists, rolls, per-firm rate limits

Revision ID: e47b388ab526
Revises: ac4ddd437549
Create Date: 2026-11-27 15:42:53.055603

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e47b388ab526'
down_revision = 'ac4ddd437549'
branch_labels = None
depends_on = None

OLD_LIVE = 'saved_at IS NOT NULL AND deleted_at IS NULL'
# A rolled key shares its name with its successor during the grace period.
NEW_LIVE = 'saved_at IS NOT NULL AND deleted_at IS NULL AND replaced_by_id IS NULL'


def _live_name_index(batch_op, where: str) -> None:
    batch_op.create_index('uq_api_keys_live_name', ['firm_id', 'name'], unique=True,
                          sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade():
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=16), server_default='read_write', nullable=False))
        batch_op.add_column(sa.Column('expires_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ip_allowlist', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('replaced_by_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('retires_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('uq_api_keys_live_name')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        _live_name_index(batch_op, NEW_LIVE)

    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_read_limit', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('api_write_limit', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('firms', schema=None) as batch_op:
        batch_op.drop_column('api_write_limit')
        batch_op.drop_column('api_read_limit')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_api_keys_live_name')
    # Only keys still current keep their name slot; a replaced key in its grace period would
    # collide with its successor under the old index, so it is retired for good.
    op.execute(sa.text("UPDATE api_keys SET deleted_at = CURRENT_TIMESTAMP, secret_digest = NULL, "
                       "secret_ciphertext = NULL WHERE replaced_by_id IS NOT NULL "
                       "AND deleted_at IS NULL"))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        _live_name_index(batch_op, OLD_LIVE)
        batch_op.drop_column('retires_at')
        batch_op.drop_column('replaced_by_id')
        batch_op.drop_column('ip_allowlist')
        batch_op.drop_column('expires_on')
        batch_op.drop_column('scope')
