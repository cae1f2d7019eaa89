"""Remembering API key rows between requests, for exactly as long as the database is unchanged.

Reading a key costs a pooled connection and a query: most of what authentication costs. On
SQLite, `PRAGMA data_version` answers in microseconds whether any other connection has
committed since it was last asked (https://www.sqlite.org/pragma.html#pragma_data_version). A
row read after version V is reused only while the version is still V, so any commit (a key
deleted, rolled or edited, the app deactivated, a rate limit changed, by this process or any
other) makes the very next request read the row again: revocation stays immediate in every
worker, and a quiet database pays no query per request. A busy one commits all the time, so
that re-read runs on the cache's own sqlite3 connection (PlainReader), not through the session.

Other backends have no such counter, so there every request reads the row (create_app installs
no cache). Expiry and grace periods are checked on the row per request, so time passing needs no
invalidation.
"""

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable

from flask import Flask
from sqlalchemy import Dialect, Select, event

from portal.extensions import db
from portal.public_api.verification import KEY_BY_API_KEY, key_row

MAX_ROWS = 10_000


class KeyRowCache:
    """Per-thread rows keyed by public API key, each tagged with the version it was read at."""

    def __init__(self, database_path: str, reader: "PlainReader"):
        self._path = database_path
        self._reader = reader
        self._local = threading.local()
        self._generation = 0
        # Weak: a thread that ends (the dev server starts one per request) takes its state and
        # connection with it; close() reaches the states of threads still alive.
        self._states: weakref.WeakSet[_ThreadState] = weakref.WeakSet()
        self._states_lock = threading.Lock()

    def lookup(self, api_key: str, read: Callable):
        """The cached row when nothing was committed since it was read; else the row afresh,
        through the watcher connection (read() when that connection is unusable)."""
        state = self._state()
        version = state.version()
        if version is None:
            return read(api_key)
        cached = state.rows.get(api_key)
        if cached is not None and cached[0] == version:
            return cached[1]
        # The version was taken before the read: a commit racing with it changes the version
        # again, so the row can only be re-read too often, never trusted for too long.
        try:
            # Every write makes the next request read its key again (a busy API writes a lot):
            # on the watcher's own connection that costs tens of microseconds, not a query
            # through the session.
            row = self._reader.first(state.connection, value=api_key)
        except sqlite3.Error:
            state.close()
            return read(api_key)
        if row is not None:  # unknown keys are not remembered: guessing must not fill memory
            if len(state.rows) >= MAX_ROWS:
                state.rows.clear()
            state.rows[api_key] = (version, row)
        return row

    def _state(self) -> "_ThreadState":
        state = getattr(self._local, "state", None)
        if state is None or state.pid != os.getpid() or state.generation != self._generation:
            # New thread, a worker forked after its parent used the cache (SQLite connections
            # must not cross a fork), or the engine was disposed: a connection of its own.
            state = self._local.state = _ThreadState(self._path, self._generation)
            with self._states_lock:
                self._states.add(state)
        return state

    def close(self) -> None:
        """Close every watcher connection (with the engine's pool: nothing keeps the file open)."""
        with self._states_lock:
            states, self._states = list(self._states), weakref.WeakSet()
            self._generation += 1
        for state in states:
            state.close()


class PlainReader:
    """A Core query compiled once for SQLite and run on a plain sqlite3 connection; its values
    are converted by the columns' own result processors, as SQLAlchemy would convert them."""

    def __init__(self, query: Select, dialect: Dialect, make_row: Callable):
        compiled = query.compile(dialect=dialect)
        self.sql = str(compiled)
        self.parameter_names = compiled.positiontup
        self.processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in query.selected_columns
        ]
        self.make_row = make_row

    def first(self, connection: sqlite3.Connection, **parameters):
        values = [parameters[name] for name in self.parameter_names]
        # fetchall: a statement left unfinished would hold a read snapshot (and its lock)
        rows = connection.execute(self.sql, values).fetchall()
        if not rows:
            return None
        return self.make_row([
            value if convert is None or value is None else convert(value)
            for convert, value in zip(self.processors, rows[0], strict=True)
        ])


class _ThreadState:
    """A thread's own watcher connection and rows: versions of different connections differ."""

    def __init__(self, path: str, generation: int):
        self.path = path
        self.generation = generation
        self.pid = os.getpid()
        self.connection: sqlite3.Connection | None = None
        self.rows: dict[str, tuple[int, object]] = {}

    def version(self) -> int | None:
        """The database's change counter as this connection sees it; None when unreadable."""
        try:
            if self.connection is None:
                # Used only by its own thread; closed from another one by KeyRowCache.close().
                self.connection = sqlite3.connect(self.path, timeout=1, check_same_thread=False)
                self.rows.clear()  # versions of an earlier connection mean nothing here
            # fetchall: a statement left unfinished would hold a read snapshot (and its lock)
            return self.connection.execute("PRAGMA data_version").fetchall()[0][0]
        except sqlite3.Error:
            # Unreadable now (locked, gone): no cache; the normal read reports the problem.
            self.close()
            return None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


def install_key_cache(app: Flask) -> None:
    """Cache key rows when the database is a SQLite file and API_KEY_CACHE is on (default)."""
    if not app.config.get("API_KEY_CACHE", True):
        return
    with app.app_context():
        engine = db.engine
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    reader = PlainReader(KEY_BY_API_KEY, engine.dialect, key_row)
    cache = app.extensions["api_key_cache"] = KeyRowCache(url.database, reader)
    event.listen(engine, "engine_disposed", lambda _engine: cache.close())
