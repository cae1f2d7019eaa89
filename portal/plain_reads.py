"""Plain reads for the API's hot path: SQL compiled once, run without the session's machinery.

A read through the session builds a statement, keys and looks up its compiled form, checks a
connection out of the pool, turns each row into a typed Row and returns the connection at
teardown: for a key lookup or a list page that is more than the database's own work.

- PlainQuery compiles a Core query once, for one dialect, and converts values the way
  SQLAlchemy would (the columns' own bind and result processors).
- One SELECT needs no transaction of its own (it runs in one snapshot), so key reads
  (portal/public_api/verification.py) and the client and contact pages
  (portal/api/page_queries.py) run theirs without one, on a connection each thread keeps open
  (ThreadConnections): a SQLite file's, or a server's in autocommit. Checking a connection
  out of the pool and back for each read (the isolation level set and reset, the pool's
  events) cost a PostgreSQL ping 0.3-0.5 ms of worker CPU under load (bench/RESULTS.md,
  session 6). If the thread's connection fails, the read is made the usual way (see
  fetch_all), which reports a lasting problem as every read does.
"""

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import Connection, Dialect, Engine, Select, Update, event
from sqlalchemy.exc import DBAPIError

from portal.database import closed_by_the_server
from portal.extensions import db


class ThreadConnections:
    """One plain connection per thread (and per process: none may cross a fork).

    `connect` opens one; `errors` is what its driver raises; `usable` (if given) says whether
    an open connection may still be used (e.g. not closed by the server meanwhile)."""

    def __init__(self, connect: Callable, errors: type[Exception],
                 usable: Callable | None = None):
        self.connect = connect
        self.errors = errors
        self.usable = usable
        self._local = threading.local()
        self._generation = 0
        # Weak: a thread that ends (the dev server starts one per request) takes its state and
        # connection with it; close() reaches the states of threads still alive.
        self._states: weakref.WeakSet[ThreadConnection] = weakref.WeakSet()
        self._lock = threading.Lock()

    def current(self) -> "ThreadConnection":
        state = getattr(self._local, "state", None)
        if state is None or state.pid != os.getpid() or state.generation != self._generation:
            # New thread, a worker forked after its parent used it, or the engine was
            # disposed: a connection of its own.
            state = self._local.state = ThreadConnection(self, self._generation)
            with self._lock:
                self._states.add(state)
        return state

    def fetch_all(self, sql: str, parameters) -> list[tuple]:
        """Run one read; an error of the driver closes the connection and is raised."""
        state = self.current()
        try:
            # fetchall: a statement left unfinished would hold a read snapshot (and its lock)
            return state.open().execute(sql, parameters).fetchall()
        except self.errors:
            state.close()
            raise

    def close(self) -> None:
        """Close every thread's connection (with the engine's pool: nothing keeps the database
        open)."""
        with self._lock:
            states, self._states = list(self._states), weakref.WeakSet()
            self._generation += 1
        for state in states:
            state.close()


class ThreadConnection:
    """A thread's connection, and what its users remember about it (`remembered`: cleared
    with each new connection, since e.g. change counters of different connections differ)."""

    def __init__(self, owner: ThreadConnections, generation: int):
        self.owner = owner
        self.generation = generation
        self.pid = os.getpid()
        self.connection = None
        self.remembered: dict = {}

    def open(self):
        connection = self.connection
        if connection is not None and self.owner.usable and not self.owner.usable(connection):
            self.close()
            connection = None
        if connection is None:
            # Used only by its own thread; closed from another one by ThreadConnections.close().
            connection = self.connection = self.owner.connect()
            self.remembered.clear()
        return connection

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except self.owner.errors:
                pass  # already broken: nothing left to close

    def __del__(self):
        # A thread that ended: its connection is closed, not left to the driver's finalizer.
        self.close()


class PlainQuery:
    """A Core query (a SELECT, or a write such as list_json's UPDATE) compiled once for a
    dialect, to run on its driver's connection: bound values and results are converted by the
    columns' own processors, as SQLAlchemy would."""

    def __init__(self, query: Select | Update, dialect: Dialect):
        compiled = query.compile(dialect=dialect)
        self.sql = str(compiled)
        self._compiled = compiled
        self._positional = compiled.positional
        self._names = compiled.positiontup if compiled.positional else list(compiled.binds)
        self._bind = {}
        for name in self._names:
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._bind[name] = processor
        self.result_processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(query, "selected_columns", ())
        ]

    def parameters(self, values: dict) -> tuple | dict:
        """The driver's parameters (a tuple or a dict, as its paramstyle wants) for `values`."""
        # With the query's own values (e.g. an OFFSET 0 that SQLite needs after a LIMIT).
        given = self._compiled.construct_params(values)
        converted = {
            name: self._bind[name](given[name])
            if name in self._bind and given[name] is not None else given[name]
            for name in self._names
        }
        if self._positional:  # a name may appear twice in the SQL
            return tuple(converted[name] for name in self._names)
        return converted

    def typed(self, row: tuple) -> list:
        return [
            value if convert is None or value is None else convert(value)
            for convert, value in zip(self.result_processors, row, strict=True)
        ]


_COMPILED: dict[tuple, PlainQuery] = {}


def compiled(query: Select | Update) -> PlainQuery:
    """`query` (built once and kept, e.g. at import) compiled for the app's database, on first
    use."""
    dialect = db.engine.dialect
    plain = _COMPILED.get((query, dialect.name))
    if plain is None:
        plain = _COMPILED[query, dialect.name] = PlainQuery(query, dialect)
    return plain


def fetch_all(query: PlainQuery, values: dict) -> list:
    """The rows of one SELECT, as the driver gives them (see PlainQuery.typed).

    On the thread's own connection; if that fails, the usual way: through the session for
    SQLite, on a pooled connection in autocommit elsewhere (one SELECT needs no transaction of
    its own, so the read costs one round trip, not BEGIN, SELECT and ROLLBACK). That way
    reports a lasting problem (a database down, locked or broken) as every read does.
    """
    parameters = query.parameters(values)
    extensions = current_app.extensions
    connections = extensions.get("plain_connections")
    if connections is not None:
        try:
            return connections.fetch_all(query.sql, parameters)
        except connections.errors:
            pass
    autocommit = extensions.get("autocommit_engine")
    if autocommit is None:
        return list(db.session.connection().exec_driver_sql(query.sql, parameters))
    with autocommit.connect() as connection:
        return _driver_rows(connection, query.sql, parameters)


def _driver_rows(connection: Connection, sql: str, parameters) -> list:
    """Run on the driver's own cursor. SQLAlchemy's execution of a plain SQL string builds its
    result metadata afresh each time: about 0.3 ms of CPU, more than the key read itself."""
    with _driver_cursor(connection, sql, parameters) as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def run_many(connection: Connection, sql: str, rows: list) -> None:
    """Run one compiled statement once per row of parameters on the driver's own cursor, in
    `connection`'s transaction (e.g. the session's): for a write on a busy path, without
    SQLAlchemy's per-execution work (portal/crm/list_json.py)."""
    with _driver_cursor(connection, sql, rows) as cursor:
        cursor.executemany(sql, rows)


@contextmanager
def _driver_cursor(connection: Connection, sql: str, parameters):
    """A cursor of `connection`'s driver connection, with SQLAlchemy's error handling kept: a
    driver error is wrapped as SQLAlchemy wraps it, and a lost connection is invalidated, so
    the 503 handler and the pool see what they always see."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    try:
        cursor = dbapi_connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, dbapi_connection, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql, parameters, error, dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters, connection_invalidated=lost,
            dialect=dialect,
        ) from error


def install_plain_reads(app: Flask) -> None:
    """Thread connections for a SQLite file (one in memory is per connection) and for a
    database server, whose failed reads fall back to autocommit connections from the pool."""
    with app.app_context():
        engine = db.engine
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return
        connections = ThreadConnections(
            lambda: sqlite3.connect(url.database, timeout=1, check_same_thread=False),
            sqlite3.Error,
        )
    else:
        app.extensions["autocommit_engine"] = engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )
        connections = ThreadConnections(
            lambda: _autocommit_connection(engine), engine.dialect.loaded_dbapi.Error,
            usable=lambda connection: not closed_by_the_server(connection),
        )
    app.extensions["plain_connections"] = connections
    event.listen(engine, "engine_disposed", lambda _engine: connections.close())


def _autocommit_connection(engine: Engine):
    """A driver connection made by the engine (its connect arguments and events), detached
    from the pool, in autocommit."""
    pooled = engine.raw_connection()
    connection = pooled.dbapi_connection
    pooled.detach()  # the pool makes another in its place; this one is ours to close
    try:
        engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
    except Exception:
        connection.close()
        raise
    return connection
