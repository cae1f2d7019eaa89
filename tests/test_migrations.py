"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL,
and come down again to an empty database."""

import logging
import re

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from portal import create_app
from portal.extensions import db
from portal.public_api.models import key_name_fold

VERSION_TABLE = "alembic_version"

# migrations/env.py (Flask-Migrate's template) tries Flask-SQLAlchemy 2's get_engine() first;
# on 3.1 that warns, and it falls back to db.engine by itself once 3.2 removes the method.
pytestmark = pytest.mark.filterwarnings(
    "ignore:'get_engine' is deprecated:DeprecationWarning"
)


@pytest.fixture
def keep_logging():
    """migrations/env.py calls logging.config.fileConfig, which replaces the root handlers and
    disables every existing logger; put logging back so later tests still see their logs."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if name in saved:
            logger.disabled, level, handlers, logger.propagate = saved[name]
            logger.setLevel(level)
            logger.handlers[:] = handlers
        else:
            logger.disabled = False


@pytest.fixture
def empty_app(app_config, keep_logging):
    """An app on the test database with nothing in it: no create_all, unlike the `app` fixture."""
    app = create_app(app_config)
    with app.app_context():
        _empty_database()
        yield app
        db.session.remove()
        _empty_database()
        db.engine.dispose()


def _empty_database():
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))


def _differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, db.metadata)


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {VERSION_TABLE}


def _current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def test_migrations_have_one_head(empty_app):
    assert len(_script().get_heads()) == 1


def test_upgrade_builds_the_models_schema(empty_app):
    assert _tables() == set()
    flask_migrate.upgrade()
    assert _current_revision() == _script().get_current_head()
    assert _tables() == set(db.metadata.tables)
    assert _differences() == []


def test_downgrade_to_base_leaves_no_table(empty_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    assert _tables() == set()
    assert _current_revision() is None
    # ... and the way back up still works.
    flask_migrate.upgrade()
    assert _differences() == []


def test_key_name_folds_are_backfilled_and_names_that_already_collide_are_kept(empty_app):
    """Live keys saved before names were compared folded may share a folded name: the upgrade
    keeps them all, and from then on the index refuses another."""
    flask_migrate.upgrade(revision="b5d0c6f1a2e3")
    now = "2026-11-01 10:00:00"
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO firms (id, name, api_app_active, created_at) "
            "VALUES ('firm_a', 'A', true, :now)"), {"now": now})
        for number, (name, saved, deleted) in enumerate([
            ("Zapier", now, None), ("ZAPIER", now, None), ("Old", now, now), ("zapier", None, None),
        ]):
            connection.execute(text(
                "INSERT INTO api_keys (id, firm_id, name, api_key, created_at, saved_at, "
                "deleted_at, scope) VALUES (:id, 'firm_a', :name, :id, :created, :saved, "
                ":deleted, 'read')"),
                {"id": f"key_{number}", "name": name, "saved": saved, "deleted": deleted,
                 "created": f"2026-11-01 10:00:0{number}"})
    flask_migrate.upgrade()
    assert _differences() == []
    with db.engine.connect() as connection:
        folds = dict(connection.execute(text("SELECT id, name_fold FROM api_keys")).all())
    plain = key_name_fold("Zapier")
    # The oldest live key keeps the plain fold; the later one gets one of its own; the draft
    # and the deleted key (outside the index) get their plain fold.
    assert folds["key_0"] == plain and folds["key_3"] == plain
    assert folds["key_1"] not in (plain, None)
    assert folds["key_2"] == key_name_fold("Old")
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO api_keys (id, firm_id, name, name_fold, api_key, created_at, saved_at, "
            "scope) VALUES ('key_9', 'firm_a', 'zapIER', :fold, 'key_9', :now, :now, 'read')"),
            {"fold": plain, "now": now})


def test_existing_users_get_a_public_id_each(empty_app):
    """Members are shown by an opaque id of their own, never the primary key a session names."""
    flask_migrate.upgrade(revision="d9a4c2e7b1f0")
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO firms (id, name, api_app_active, created_at) "
            "VALUES ('firm_a', 'A', true, '2026-11-01 10:00:00')"))
        for number in range(3):
            connection.execute(text(
                "INSERT INTO users (id, firm_id, email, name, role, is_support, "
                "is_active_member, password_hash, created_at) VALUES (:id, 'firm_a', :email, "
                "'U', 'member', false, true, 'x', '2026-11-01 10:00:00')"),
                {"id": f"usr_{number}", "email": f"u{number}@a.example"})
    flask_migrate.upgrade()
    assert _differences() == []
    with db.engine.connect() as connection:
        public_ids = dict(connection.execute(text("SELECT id, public_id FROM users")).all())
    assert len(set(public_ids.values())) == 3
    assert all(re.fullmatch(r"mem_[a-z2-7]{20}", value) for value in public_ids.values())
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(text(
            "UPDATE users SET public_id = :taken WHERE id = 'usr_1'"),
            {"taken": public_ids["usr_0"]})
