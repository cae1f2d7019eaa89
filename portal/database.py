"""SQLite connection settings: WAL and synchronous=NORMAL for a file behind a web server."""

from flask import Flask
from sqlalchemy import event

from portal.extensions import db

# WAL lets readers carry on while one process writes, and synchronous=NORMAL syncs at
# checkpoints instead of on every commit: the usual settings for SQLite behind a web server.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def configure_connections(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return

    @event.listens_for(engine, "connect")
    def _set_sqlite_pragmas(connection, _record):
        cursor = connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()
