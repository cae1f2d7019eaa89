"""Recording API traffic: a timer before each /api/ request, the recorder after it.

Registered on the app, not the API blueprint, so unknown /api/ routes (404, 405) and errors
raised before a blueprint view are recorded too.
"""

import re
import time

from flask import Flask, current_app, g, request
from sqlalchemy import select

from portal.api import tokens
from portal.api.auth import read_credentials
from portal.diagnostics.buffer import TrafficBuffer, log_failure
from portal.diagnostics.reasons import Reason, reason_code
from portal.errors import API_PREFIX
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api.models import ApiKey
from portal.public_api.verification import is_key_shaped

DEFAULT_FLUSH_SECONDS = 2.0
# A path segment that long could be a secret pasted into a URL; it is never stored.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9]{40,}")
MAX_DETAILS = 10


def register(app: Flask) -> None:
    """Time and record every /api/ request (DIAGNOSTICS_ENABLED=False turns it off)."""
    if not app.config.get("DIAGNOSTICS_ENABLED", True):
        return
    interval = app.config.get("DIAGNOSTICS_FLUSH_SECONDS", 0 if app.testing else None)
    interval = DEFAULT_FLUSH_SECONDS if interval is None else float(interval)
    app.extensions["api_traffic"] = TrafficBuffer(app, interval)
    app.before_request(_start_timer)
    app.after_request(_after_request)


def _start_timer() -> None:
    if request.path.startswith(API_PREFIX):
        g.api_started = time.perf_counter()


def _after_request(response):
    started = g.get("api_started")
    if started is not None:
        record_api_request(response, time.perf_counter() - started)
    return response


def record_api_request(response, duration: float) -> None:
    """Count the request against its key, log it if it failed; never fails the request."""
    try:
        _record(response, duration)
    except Exception as error:
        log_failure(error, "Could not record API request %s", g.get("request_id"))


def _record(response, duration: float) -> None:
    status = response.status_code
    key = g.get("api_key")
    error = answered_error(response) if status >= 400 else {}
    reason = reason_code(status, g.get("auth_failure"), error.get("code"))
    key_id, firm_id = (key.id, key.firm_id) if key is not None else (None, None)
    # A 429 before authentication is the limit on failed logins (per IP and key): it must stay
    # cheap under a flood, so no query to find whose key it named (its earlier 401s did).
    if key is None and reason is not None and reason != Reason.RATE_LIMITED:
        named = presented_key()
        if named is None and (swapped := swapped_key()) is not None:
            named, reason = swapped, Reason.SWAPPED_CREDENTIALS
        key_id, firm_id = named or (None, None)
    row = None
    if reason:
        row = _failure_row(status, reason, key_id, firm_id, duration)
        row["details"] = error_details(error)
    current_app.extensions["api_traffic"].add(key_id, firm_id, status, row)


def _failure_row(status, reason, key_id, firm_id, duration: float) -> dict:
    """What the log keeps of a failed request: never a header, a body or a query string."""
    return {
        "created_at": utcnow(),
        "request_id": (g.get("request_id") or "")[:64],
        "firm_id": firm_id,
        "key_id": key_id,
        "method": request.method[:10],
        "path": _SECRET_LIKE.sub("[redacted]", request.path)[:200],
        "status": status,
        "reason": reason,
        "client_ip": (request.remote_addr or "")[:64] or None,
        "user_agent": request.headers.get("User-Agent", "")[:200] or None,
        "duration_ms": round(duration * 1000, 2),
    }


def answered_error(response) -> dict:
    """The answer's JSON `error` object, or {} when it has none."""
    body = response.get_json(silent=True) if response.is_json else None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def error_details(error: dict) -> list[dict] | None:
    """The field and message of each problem the answer named (at most MAX_DETAILS): what the
    API wrote, never the request. A field can be a key the caller sent, so anything in either
    that could be a secret is redacted, as in the path."""
    details = error.get("details")
    if not isinstance(details, list):
        return None
    return [
        {"field": _SECRET_LIKE.sub("[redacted]", str(item.get("field", "")))[:100],
         "message": _SECRET_LIKE.sub("[redacted]", str(item.get("message", "")))[:200]}
        for item in details[:MAX_DETAILS] if isinstance(item, dict)
    ] or None


def presented_key() -> tuple[str, str] | None:
    """Id and firm of the saved key a failed request named, by its public part or a token."""
    credentials = read_credentials()
    condition = None
    if credentials.token is not None:
        key_id = _token_key_id(credentials.token)
        condition = ApiKey.id == key_id if key_id else None
    elif is_key_shaped(credentials.api_key):
        # Only the key's exact format: a secret sent in its place is never bound to a query.
        condition = ApiKey.api_key == credentials.api_key
    if condition is None:
        return None
    query = select(ApiKey.id, ApiKey.firm_id).where(condition, ApiKey.saved_at.is_not(None))
    row = db.session.execute(query).first()
    return (row.id, row.firm_id) if row is not None else None


def swapped_key() -> tuple[str, str] | None:
    """Id and firm of the live key whose public part was sent where the secret belongs: the
    integration swapped them, and the firm should hear of it. Only a value in the key's exact
    format is looked up, never the secret that then sits in the key's place."""
    credentials = read_credentials()
    if (credentials.token is not None or is_key_shaped(credentials.api_key)
            or not is_key_shaped(credentials.api_secret)):
        return None
    query = select(ApiKey.id, ApiKey.firm_id).where(
        ApiKey.api_key == credentials.api_secret, ApiKey.saved_at.is_not(None),
        ApiKey.deleted_at.is_(None))
    row = db.session.execute(query).first()
    return (row.id, row.firm_id) if row is not None else None


def _token_key_id(token: str) -> str | None:
    """The key an expired token was issued for: its signature still proves it, age aside."""
    try:
        payload = tokens._serializer().loads(token)  # no max_age: signature only
    except Exception:
        return None
    key_id = payload.get("k") if isinstance(payload, dict) else None
    return key_id if isinstance(key_id, str) else None
