"""In-process rate-limit counters without a timer thread per burst of traffic.

limits' MemoryStorage expires counters from a threading.Timer that it starts again, 10 ms
after the last one ended, on every hit: under steady API traffic that is a new thread every
few requests, which profiling showed costing more than the rest of the per-key rate limiting.
This storage expires counters lazily instead: a counter past its window reads as zero (as in
MemoryStorage.get) and a sweep every SWEEP_EVERY hits drops the ones nobody reads again, so
memory stays bounded. Select it with RATELIMIT_STORAGE_URI=portal-memory:// (the default);
redis:// is still the choice for counters shared between processes.
"""

import time

from limits.storage import MemoryStorage

SWEEP_EVERY = 1000


class LazyMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["portal-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._hits_since_sweep = 0

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """MemoryStorage.incr without scheduling its expiry timer."""
        self.get(key)  # a counter whose window has passed starts again from zero
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
            count = self.storage[key]
        self._hits_since_sweep += 1
        if self._hits_since_sweep >= SWEEP_EVERY:
            self._hits_since_sweep = 0
            self.sweep()
        return count

    def sweep(self) -> None:
        """Drop every counter whose window has passed."""
        now = time.time()
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)


def per_process_warning(workers: int, environ) -> str | None:
    """The line to log once at start when several processes each count limits on their own:
    gunicorn workers with the in-process storage allow each limit once per worker."""
    uri = environ.get("RATELIMIT_STORAGE_URI") or environ.get(
        "PORTAL_RATELIMIT_STORAGE_URI") or "portal-memory://"
    if workers <= 1 or not uri.startswith(("portal-memory:", "memory:")):
        return None
    return (f"Rate limits are counted per process: {workers} workers with {uri} allow each "
            f"limit up to {workers} times over (30 failed API authentications a minute become "
            f"{30 * workers}). Set RATELIMIT_STORAGE_URI=redis://... to share the counts "
            "(SECURITY.md, Rate limits).")
