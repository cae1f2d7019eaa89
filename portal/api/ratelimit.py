"""Per-key API rate limits and a stricter limit on failed authentication per IP and key.

Built on Flask-Limiter's storage and strategy (the `limits` library), so the counters are
shared between processes when RATELIMIT_STORAGE_URI points at Redis; while that storage is
unreachable they are kept in process memory (portal/limiter_fallback.py).
"""

import math
import time
from dataclasses import dataclass

from flask import current_app, request
from limits import RateLimitItemPerMinute

from portal.limiter_fallback import counters
from portal.public_api.verification import AuthFailure, KeyRow, Verification, is_key_shaped

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Refused although the credentials were right (the secret matched, or our signature did): no
# guess, so not counted against the failed-authentication allowance.
NOT_GUESSES = frozenset({AuthFailure.APP_INACTIVE, AuthFailure.KEY_EXPIRED,
                         AuthFailure.TOKEN_EXPIRED})


@dataclass(frozen=True)
class RateState:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the window resets

    def headers(self) -> dict:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))


def hit_key_limit(key: KeyRow) -> RateState:
    """Count this request against the key's read or write allowance."""
    is_write = request.method in WRITE_METHODS
    item = RateLimitItemPerMinute(_key_allowance(key, is_write))
    counter = item.key_for("api-key", key.id, "write" if is_write else "read")

    def hit(strategy) -> tuple[int, float]:
        # The fixed window's hit (incr), keeping the count it returns: with the window's end,
        # that is the whole state, where hit() then get_window_stats() would ask three times.
        count = strategy.storage.incr(counter, item.get_expiry())
        return count, strategy.storage.get_expiry(counter)

    count, reset_at = counters().run(hit)
    return RateState(count <= item.amount, item.amount, max(0, item.amount - count),
                     int(reset_at))


def auth_failures_exhausted(presented_key: str | None,
                            verification: Verification) -> RateState | None:
    """The 429 state when these credentials already failed authentication too often from this
    client IP.

    Per IP and presented key, not per IP alone: integration platforms send many firms'
    requests from the same addresses, and one firm's broken setup must not lock the others
    out. The allowance is chosen by what was presented, never by whether it names a saved key,
    so a made-up key and a real one with a wrong secret are refused alike."""
    item = _auth_failure_item()
    bucket = _auth_failure_bucket(presented_key, verification)
    if counters().run(lambda strategy: strategy.test(item, *bucket)):
        return None
    return _state(item, bucket, allowed=False)


def count_auth_failure(presented_key: str | None, verification: Verification) -> None:
    """Count a failed authentication against its allowance from this client IP."""
    item, bucket = _auth_failure_item(), _auth_failure_bucket(presented_key, verification)
    counters().run(lambda strategy: strategy.hit(item, *bucket))


def _auth_failure_bucket(presented_key: str | None, verification: Verification) -> tuple:
    """A key-shaped presented key counts on its own; a signed token counts against the key its
    signature names; anything else (missing, malformed, forged) shares one allowance.

    Only a value in the API key's exact format names a bucket: a secret pasted as the key never
    reaches the limiter's storage, and the names stay bounded."""
    if is_key_shaped(presented_key):
        subject = presented_key
    elif presented_key is None and verification.key is not None:
        subject = verification.key.id
    else:
        subject = "unreadable"
    return ("api-auth-failure", request.remote_addr or "unknown", subject)


def _auth_failure_item():
    return RateLimitItemPerMinute(current_app.config["API_AUTH_FAILURES_PER_IP_AND_KEY"])


def _key_allowance(key: KeyRow, is_write: bool) -> int:
    """The firm's override (set by `flask set-rate-limits`), else the app's default."""
    override = key.firm.api_write_limit if is_write else key.firm.api_read_limit
    if override is not None:
        return override
    return current_app.config["API_RATE_LIMIT_WRITES" if is_write else "API_RATE_LIMIT_READS"]


def _state(item, bucket: tuple, allowed: bool) -> RateState:
    stats = counters().run(lambda strategy: strategy.get_window_stats(item, *bucket))
    return RateState(allowed, item.amount, stats.remaining, int(stats.reset_time))
