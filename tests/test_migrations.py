"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL,
and come down again to an empty database."""

import logging

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text

from portal import create_app
from portal.extensions import db

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
