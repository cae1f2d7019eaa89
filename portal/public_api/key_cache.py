"""Key rows remembered between requests, on SQLite, for exactly as long as nothing was committed.

`PRAGMA data_version` (https://www.sqlite.org/pragma.html#pragma_data_version) answers in
microseconds whether *another* connection committed since this connection last asked; commits
made on the same connection do not change it. So rows are kept per pooled DBAPI connection, in
its `info` dict (which lives exactly as long as that connection), tagged with the version read
*before* the row: a commit racing with the read can only cause a re-read, never a stale row.
Commits on the connection itself are covered by the engine's `commit` event (ORM and Core alike),
which empties that connection's rows. Any commit thus makes the very next request read its key
again, in every worker: revocation stays immediate.

A hit costs a pool checkout and the probe, not a Connection. A miss reads on a connection of its
own, outside the request's session: the row is what was committed, never a write a session might
still roll back. Unknown keys are not remembered (guessing must not fill memory), and a
data_version that cannot be read just means a read.
"""

import sqlite3

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from portal.extensions import db

MAX_ROWS = 10_000  # per connection; past it the connection forgets them all
_ROWS = "api_key_rows"  # where a connection's info dict keeps them
DATA_VERSION = "PRAGMA data_version"


def install_key_cache(app: Flask) -> None:
    """Remember key rows when the database is a SQLite file and API_KEY_CACHE is on."""
    with app.app_context():
        engine = db.engine
    if (engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:")
            or not app.config["API_KEY_CACHE"]):
        return
    event.listen(engine, "commit", _forget_rows)
    app.extensions["api_key_cache"] = True


def _forget_rows(connection) -> None:
    connection.info.pop(_ROWS, None)


def lookup(key, read):
    """read(db.session), or on SQLite the row read(connection) gave before, while nothing was
    committed since; a miss reads on a connection of its own, outside the session."""
    if not current_app.extensions.get("api_key_cache") or _session_in_transaction():
        return read(db.session)
    rows, version = _probe()
    remembered = rows.get(key)
    if version is not None and remembered is not None and remembered[0] == version:
        return remembered[1]
    with db.engine.connect() as connection:  # fails (503) as the session would
        row = read(connection)
    # Tagged with the version read before the row: a commit in between only means a re-read.
    if version is not None and row is not None:  # unknown keys are not remembered
        if len(rows) >= MAX_ROWS:
            rows.clear()
        rows[key] = (version, row)
    return row


def _probe() -> tuple[dict, int | None]:
    """A pooled connection's remembered rows and its data_version, on the bare DBAPI
    connection (a hit needs no Connection)."""
    try:
        raw = db.engine.raw_connection()
    except sqlite3.OperationalError as error:
        # Locked or unreachable: answered 503 now, as Engine.connect() would report it, rather
        # than waiting out the lock a second time in the read.
        raise OperationalError(None, None, error) from error
    try:
        return raw.info.setdefault(_ROWS, {}), _data_version(raw)
    finally:
        raw.close()


def _session_in_transaction() -> bool:
    """A session in a transaction reads on its own connection: a second one could wait on a
    small pool, and the read must see what the session wrote. (Without making a session.)"""
    return db.session.registry.has() and db.session().in_transaction()


def _data_version(raw) -> int | None:
    """The connection's data_version, or None when SQLite cannot answer (locked, gone)."""
    try:
        return raw.cursor().execute(DATA_VERSION).fetchone()[0]
    except sqlite3.Error:
        return None
