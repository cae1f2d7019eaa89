"""Database connection settings that depend on the backend."""

import select

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from portal.extensions import db

# WAL lets readers carry on while one process writes, and synchronous=NORMAL syncs at
# checkpoints instead of on every commit: the usual settings for SQLite behind a web server.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def configure_connections(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            event.listen(engine, "checkout", _replace_if_closed_by_the_server)
        return
    if engine.url.database in (None, "", ":memory:"):
        return

    @event.listens_for(engine, "connect")
    def _set_sqlite_pragmas(connection, _record):
        cursor = connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()


def _replace_if_closed_by_the_server(dbapi_connection, _record, _proxy) -> None:
    """A pooled connection the server has closed (a restart, a failover, an idle timeout) is
    replaced before use, so an outage ends without failing the first requests after it.
    Raising DisconnectionError makes the pool connect afresh."""
    if closed_by_the_server(dbapi_connection):
        raise DisconnectionError("the server closed this pooled connection")


def closed_by_the_server(dbapi_connection) -> bool:
    """Whether an idle connection was closed by the server (or cannot be used at all).

    An idle connection has nothing to read; when the server closes it, it sends an error and
    end-of-file, so its socket turns readable. Polling that costs microseconds, where
    pool_pre_ping sends a query and waits for the answer (one more round trip per use)."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # a connection that cannot even be polled is no better
        return True
