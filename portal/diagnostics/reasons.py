"""Reason codes of failed API requests, and what each one means in plain words."""

import enum

from portal.error_codes import CATALOGUE, SPECIFIC_CODES, code_for_status
from portal.public_api.verification import AuthFailure


class Reason(enum.StrEnum):
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    MALFORMED_CREDENTIALS = "MALFORMED_CREDENTIALS"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    WRONG_SECRET = "WRONG_SECRET"  # noqa: S105  (a reason code, not a password)
    KEY_DELETED = "KEY_DELETED"
    APP_INACTIVE = "APP_INACTIVE"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105  (a reason code, not a password)
    TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105  (a reason code, not a password)
    KEY_EXPIRED = "KEY_EXPIRED"
    KEY_ROLLED = "KEY_ROLLED"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    SWAPPED_CREDENTIALS = "SWAPPED_CREDENTIALS"
    HTTPS_REQUIRED = "HTTPS_REQUIRED"
    RATE_LIMITED = "RATE_LIMITED"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    SERVER_ERROR = "SERVER_ERROR"


AUTH_REASONS = frozenset(Reason(failure.value) for failure in AuthFailure)
# The reasons an admin can act on at once, so the Public API page warns about them.
ALERT_REASONS = AUTH_REASONS | {Reason.SWAPPED_CREDENTIALS, Reason.HTTPS_REQUIRED,
                                Reason.RATE_LIMITED, Reason.SERVER_ERROR}
VALIDATION_STATUSES = frozenset({400, 413, 415, 422})

_TEXTS = {
    Reason.MISSING_CREDENTIALS: "The request carried no API key and API secret. Send both, "
    "with HTTP Basic or the X-API-Key and X-API-Secret headers.",
    Reason.MALFORMED_CREDENTIALS: "The credentials could not be read: an API key has 32 and a "
    "secret 48 letters and digits. Copy both again from Settings and Apps.",
    Reason.UNKNOWN_KEY: "No such API key exists. Copy the API key again from Settings and "
    "Apps, in full.",
    Reason.APP_INACTIVE: "The Public API is deactivated: activate it in Settings and Apps.",
    Reason.TOKEN_EXPIRED: "The Bearer token has expired (tokens last one hour). Ask "
    "POST /api/v1/auth/token for a new one.",
    Reason.TOKEN_INVALID: "The Bearer token is not valid: it was altered, or the key's secret "
    "changed since it was issued. Ask POST /api/v1/auth/token for a new one.",
    Reason.KEY_EXPIRED: "The API key has passed its expiry date. An admin can set a later "
    "date on the key in Settings and Apps, or roll the key.",
    Reason.KEY_ROLLED: "This API key was replaced by a roll and its grace period has ended. "
    "Use the new API key and secret shown in Settings and Apps.",
    Reason.IP_NOT_ALLOWED: "The request came from an IP address outside the key's IP "
    "allow-list. Add the address in Settings and Apps, or call from an allowed address.",
    Reason.SWAPPED_CREDENTIALS: "The API key and the API secret were sent the other way "
    "round: the key went where the secret belongs. Send the API key as X-API-Key (or the "
    "Basic user name) and the secret as X-API-Secret (or the Basic password).",
    Reason.HTTPS_REQUIRED: "The API key and secret were sent over plain HTTP, where anyone on "
    "the way can read them, and were refused unchecked. Call the API's https:// address, and "
    "roll the key in Settings and Apps: treat its secret as exposed.",
    Reason.RATE_LIMITED: "Too many requests in a short time. Slow down and retry after the "
    "number of seconds in the Retry-After header.",
    Reason.VALIDATION_ERROR: "The request's body or parameters were not valid; the response "
    "lists what to fix.",
    Reason.NOT_FOUND: "Nothing exists at this address, or it belongs to another firm. Check "
    "the path and the id against the API documentation.",
    Reason.SERVER_ERROR: "Something went wrong on our side. Retry later; if it keeps "
    "happening, give support the request id.",
}


# The same reasons in a few plain words, for the failures banner ("mostly wrong secret").
_WORDS = {
    Reason.MISSING_CREDENTIALS: "missing key or secret",
    Reason.MALFORMED_CREDENTIALS: "unreadable key or secret",
    Reason.UNKNOWN_KEY: "unknown key",
    Reason.WRONG_SECRET: "wrong secret",
    Reason.KEY_DELETED: "deleted key",
    Reason.APP_INACTIVE: "the Public API is deactivated",
    Reason.TOKEN_EXPIRED: "expired token",
    Reason.TOKEN_INVALID: "invalid token",
    Reason.KEY_EXPIRED: "expired key",
    Reason.KEY_ROLLED: "old key after a roll",
    Reason.IP_NOT_ALLOWED: "IP address not allowed",
    Reason.HTTPS_REQUIRED: "credentials sent over plain HTTP",
    Reason.RATE_LIMITED: "too many requests",
    Reason.SERVER_ERROR: "errors on our side",
}


def in_words(reason: str) -> str:
    """A reason in a few plain words, e.g. 'wrong secret'."""
    return _WORDS.get(reason, "refused requests")


def reason_code(status: int, failure: AuthFailure | None,
                answered_code: str | None = None) -> str | None:
    """The reason a response failed, or None when it did not (2xx, 3xx). answered_code is
    the answer's error.code: one the API chose on purpose (HTTPS_REQUIRED, ...) says more than
    its status, which would read e.g. FORBIDDEN."""
    if status < 400:
        return None
    if status >= 500:
        return Reason.SERVER_ERROR
    if status in (401, 403) and failure is not None:
        return Reason(failure.value)
    if answered_code in SPECIFIC_CODES:
        return answered_code
    if status == 429:
        return Reason.RATE_LIMITED
    if status in VALIDATION_STATUSES:
        return Reason.VALIDATION_ERROR
    if status == 404:
        return Reason.NOT_FOUND
    return code_for_status(status, default="CLIENT_ERROR")


def explain(reason: str, key=None) -> str:
    """What went wrong and what to do, naming the key when it is known."""
    name = f"'{key.name}'" if key is not None else None
    if reason == Reason.WRONG_SECRET:
        target = f"key {name}" if name else "the key"
        return (f"The API secret did not match {target}. Copy the secret again from Settings "
                "and Apps.")
    if reason == Reason.KEY_DELETED:
        when = key.deleted_at.strftime("%Y-%m-%d") if key is not None and key.deleted_at else ""
        when = f" on {when}" if when else ""
        return f"This key was deleted{when}: generate a new key and update the integration."
    if reason == Reason.MISSING_CREDENTIALS and name:
        return (f"The request sent key {name} without its API secret. Send both, with HTTP "
                "Basic or the X-API-Key and X-API-Secret headers.")
    if reason in _TEXTS:
        return _TEXTS[reason]
    entry = CATALOGUE.get(reason)  # a reason that is the answer's error code (412, 428, ...)
    if entry is not None:
        return f"{entry.meaning} {entry.action}".replace("`", "")
    return "The request was refused; the response body says why."


def is_alert(reason: str) -> bool:
    return reason in ALERT_REASONS
