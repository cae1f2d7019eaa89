"""Remembering API key rows between requests, for exactly as long as the database is unchanged.

Reading a key is a query: most of what authentication costs. On SQLite, `PRAGMA data_version`
answers in microseconds whether any other connection has committed since it was last asked
(https://www.sqlite.org/pragma.html#pragma_data_version). A row read after version V is reused
only while the version is still V, so any commit (a key deleted, rolled or edited, the app
deactivated, a rate limit changed, by this process or any other) makes the very next request
read the row again: revocation stays immediate in every worker, and a quiet database pays no
query per request. A busy one commits all the time, so that re-read is a plain read
(portal/plain_reads.py) on the same connection, not a query through the session.

Other backends have no such counter, so there every request reads the row (create_app installs
no cache). Expiry and grace periods are checked on the row per request, so time passing needs no
invalidation.
"""

import sqlite3
from collections.abc import Callable

from flask import Flask

from portal.extensions import db
from portal.plain_reads import ThreadConnections

MAX_ROWS = 10_000


class KeyRowCache:
    """Per-thread rows keyed by public API key, each tagged with the version it was read at."""

    def __init__(self, connections: ThreadConnections):
        self.connections = connections

    def lookup(self, api_key: str, read: Callable):
        """The cached row when nothing was committed since it was read; else read(api_key)
        (a plain read, on the same connection while it works)."""
        try:
            # The database's change counter as this thread's connection sees it.
            ((version,),) = self.connections.fetch_all("PRAGMA data_version", ())
        except sqlite3.Error:
            # Unreadable now (locked, gone): no cache; the read reports the problem.
            return read(api_key)
        rows = self.connections.current().remembered.setdefault("key_rows", {})
        cached = rows.get(api_key)
        if cached is not None and cached[0] == version:
            return cached[1]
        # The version was taken before the read: a commit racing with it changes the version
        # again, so the row can only be re-read too often, never trusted for too long.
        row = read(api_key)
        if row is not None:  # unknown keys are not remembered: guessing must not fill memory
            if len(rows) >= MAX_ROWS:
                rows.clear()
            rows[api_key] = (version, row)
        return row


def install_key_cache(app: Flask) -> None:
    """Cache key rows when the database is a SQLite file and API_KEY_CACHE is on (default)."""
    connections = app.extensions.get("plain_connections")
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"  # only SQLite has data_version
    if sqlite and connections is not None and app.config.get("API_KEY_CACHE", True):
        app.extensions["api_key_cache"] = KeyRowCache(connections)
