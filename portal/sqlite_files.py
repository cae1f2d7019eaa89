"""The SQLite database file holds password hashes and client data: only its owner may read it.

SQLite creates the file under the process's umask (often 0644) and gives its -wal, -shm and
-journal files the database file's own mode, so keeping the database file 0600 keeps all four
private. The file is made (or tightened) at start, and again before any new connection, in
case it was removed meanwhile.
"""

import os
import stat

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url

from portal.extensions import db

COMPANIONS = ("", "-wal", "-shm", "-journal")


def keep_sqlite_files_private(app: Flask) -> None:
    """Make the app's SQLite database file 0600 now and whenever a connection is made."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:" or (
            path.startswith("file:")):
        return
    make_private(path)
    with app.app_context():
        event.listen(db.engine, "do_connect", lambda *_args: make_private(path))


def make_private(path: str) -> None:
    """Create the database file 0600 if it is missing; take group and other access away from
    it and its companions otherwise."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # e.g. no such folder (yet): SQLite's own error says so, as a 503
    for name in (path + suffix for suffix in COMPANIONS):
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
            if mode & 0o077:
                os.chmod(name, mode & 0o700)
        except FileNotFoundError:
            continue
