"""Traffic waiting to be written: usage counts and failure rows, kept off the API's hot path.

A commit per API call would cost more than the call itself, so each process adds to memory and
a background thread writes everything every DIAGNOSTICS_FLUSH_SECONDS in one transaction (0
writes at once, as the tests do). Readers write their own process's pending traffic first.
"""

import atexit
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite

from portal.diagnostics.models import ApiRequestLog, ApiUsageCounter
from portal.errors import database_cause, database_unavailable
from portal.extensions import db
from portal.ids import utcnow

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
# While the database is unreachable the rows wait in memory, but never without bound.
MAX_PENDING_ROWS = 10_000


def this_hour() -> datetime:
    return utcnow().replace(minute=0, second=0, microsecond=0)


def _hour_of(hour_number: int) -> datetime:
    """Hours since the epoch (cheap to count by) as the naive UTC datetime that is stored."""
    return datetime(1970, 1, 1) + timedelta(hours=hour_number)


class TrafficBuffer:
    """Counts per (key, firm, hour, status class) and failure rows waiting to be written."""

    def __init__(self, app: Flask, interval: float):
        self.app = app
        self.interval = interval
        self._counts: Counter = Counter()
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self._stopped = threading.Event()

    def add(self, key_id: str | None, firm_id: str | None, status: int, row: dict | None) -> None:
        """One request: counted when its key is known, logged when it failed."""
        with self._lock:
            if key_id is not None:
                # The hot path: the hour and status class become column values only when written.
                self._counts[(key_id, firm_id, int(time.time() // 3600), status // 100)] += 1
            if row is not None and len(self._rows) < MAX_PENDING_ROWS:
                self._rows.append(row)
        if self.interval <= 0:
            self.flush()
        elif self._flusher is None or not self._flusher.is_alive():
            self._start_flusher()  # again in each forked worker: threads do not survive fork

    def flush(self) -> None:
        """Write what is pending (needs an app context); on failure it waits for the next try."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            rows, self._rows = self._rows, []
        if not counts and not rows:
            return
        try:
            write(counts, rows)
        except Exception:
            with self._lock:
                self._counts.update(counts)
                self._rows[:0] = rows[: MAX_PENDING_ROWS - len(self._rows)]
            raise

    def stop(self) -> None:
        """End the background writer after one last write."""
        self._stopped.set()
        if self._flusher is not None:
            self._flusher.join()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None and self._flusher.is_alive():
                return
            first = self._flusher is None
            self._flusher = threading.Thread(target=self._run, name="api-traffic", daemon=True)
            self._flusher.start()
        if first:
            atexit.register(self._flush_logged)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self._flush_logged()
        self._flush_logged()

    def _flush_logged(self) -> None:
        with self.app.app_context():
            try:
                self.flush()
            except Exception as error:
                log_failure(error, "Could not write API traffic; will retry")


def log_failure(error: Exception, message: str, *args) -> None:
    """A bug with its traceback; a database outage in one line with its cause, since it fails
    every request alike (the traceback only at debug level)."""
    logger = current_app.logger
    if not database_unavailable(error):
        logger.error(message, *args, exc_info=error)
        return
    logger.warning(message + ": %s", *args, database_cause(error))
    logger.debug(message, *args, exc_info=error)


def write(counts: Counter, rows: list[dict]) -> None:
    """Rows and atomic count upserts in one transaction of its own (never a request's)."""
    with db.engine.begin() as connection:
        if rows:
            connection.execute(insert(ApiRequestLog), rows)
        if counts:
            connection.execute(_upsert(counts))


def _upsert(counts: Counter):
    values = [
        {"key_id": key_id, "firm_id": firm_id, "hour": _hour_of(hour), "count": n,
         "status_class": f"{klass}xx"}
        for (key_id, firm_id, hour, klass), n in counts.items()
    ]
    insert_counts = _INSERTS[db.engine.dialect.name](ApiUsageCounter).values(values)
    return insert_counts.on_conflict_do_update(
        index_elements=["key_id", "hour", "status_class"],
        set_={"count": ApiUsageCounter.count + insert_counts.excluded["count"]},
    )
