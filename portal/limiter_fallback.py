"""The API's rate-limit counting when its storage (Redis, say) goes away: fail open.

While the storage is unreachable, requests are still served and still counted, in this
process's memory, as Flask-Limiter's in_memory_fallback does for the portal's limits
(RATELIMIT_IN_MEMORY_FALLBACK_ENABLED). The storage is tried again every RECHECK_SECONDS;
one warning line says it went, one line that it is back, never a traceback per request.
"""

import threading
import time

from flask import current_app
from limits.errors import StorageError
from limits.strategies import FixedWindowRateLimiter

from portal.extensions import limiter
from portal.limiter_storage import LazyMemoryStorage

RECHECK_SECONDS = 5.0


class FallbackCounters:
    """Runs a count against the storage, or against process memory while it is down."""

    def __init__(self):
        # The strategy extensions.limiter is created with, on its storage and on memory.
        self._storage = FixedWindowRateLimiter(limiter.storage)
        self._memory = FixedWindowRateLimiter(LazyMemoryStorage())
        self._down = False
        self._next_check = 0.0
        self._lock = threading.Lock()

    def run(self, count):
        """`count(strategy)`, e.g. `lambda s: s.hit(item, *bucket)`."""
        if self._down and not self._back():
            return count(self._memory)
        try:
            return count(self._storage)
        except StorageError as error:
            self._went_down(error)
            return count(self._memory)

    def _went_down(self, error: StorageError) -> None:
        with self._lock:
            self._next_check = time.monotonic() + RECHECK_SECONDS
            if self._down:
                return
            self._down = True
        cause = getattr(error, "storage_error", None) or error
        current_app.logger.warning(
            "Rate-limit storage unreachable (%s): counting in this process's memory until it "
            "is back", type(cause).__name__)

    def _back(self) -> bool:
        with self._lock:
            if time.monotonic() < self._next_check:
                return False
            self._next_check = time.monotonic() + RECHECK_SECONDS
        if not limiter.storage.check():
            return False
        with self._lock:
            self._down = False
        current_app.logger.warning("Rate-limit storage reachable again: counting there")
        return True


def counters() -> FallbackCounters:
    """This app's counters, made on first use."""
    counters_ = current_app.extensions.get("rate_counters")
    if counters_ is None:
        # setdefault: two threads' first requests share whichever was stored first.
        counters_ = current_app.extensions.setdefault("rate_counters", FallbackCounters())
    return counters_


def storage_healthy() -> bool:
    """Whether the rate-limit storage answers now (in-process memory always does)."""
    try:
        return bool(limiter.storage.check())
    except Exception:  # noqa: BLE001  (a probe: any failure means "not healthy")
        return False
