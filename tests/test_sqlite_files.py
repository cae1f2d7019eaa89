"""The SQLite database file (password hashes, client data) and its -wal and -shm files are
readable by their owner only, whatever the umask."""

import os
import stat

import pytest
from sqlalchemy import text

from portal import create_app
from portal.extensions import db
from tests.conftest import make_user


@pytest.fixture
def open_umask():
    """The usual default: files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(path) -> dict:
    return {name: stat.S_IMODE(os.stat(path.parent / name).st_mode)
            for name in os.listdir(path.parent) if name.startswith(path.name)}


def sqlite_app(app_config, path):
    return create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})


def test_a_new_database_and_its_wal_files_are_0600(app_config, tmp_path, open_umask):
    path = tmp_path / "portal.sqlite3"
    app = sqlite_app(app_config, path)
    with app.app_context():
        db.create_all()
        make_user(None, "support@uku.example", support=True)
        db.session.commit()
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        found = modes(path)
        assert {"portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm"} <= set(found)
        assert set(found.values()) == {0o600}, found
        db.engine.dispose()


def test_an_existing_readable_database_is_made_private_at_start(app_config, tmp_path,
                                                                  open_umask):
    path = tmp_path / "portal.sqlite3"
    path.touch(mode=0o644)
    (tmp_path / "portal.sqlite3-wal").touch(mode=0o664)
    sqlite_app(app_config, path)
    assert set(modes(path).values()) == {0o600}


def test_a_database_removed_while_running_comes_back_private(app_config, tmp_path,
                                                               open_umask):
    path = tmp_path / "portal.sqlite3"
    app = sqlite_app(app_config, path)
    path.unlink()
    with app.app_context():
        db.create_all()
        assert set(modes(path).values()) == {0o600}
        db.engine.dispose()
