"""Who is calling: HTTP Basic, X-API-Key/X-API-Secret headers, or a Bearer token.

Credentials are read from headers only, never from the URL, the session or a cookie.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError

from portal.api import tokens
from portal.errors import database_unavailable
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api.models import ApiKey
from portal.public_api.verification import (
    AuthFailure,
    Verification,
    check_key_state,
    read_key_row_by_id,
    verify_credentials,
)

LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presents: a key + secret, a bearer token, or something malformed."""

    api_key: str | None = None
    api_secret: str | None = None
    token: str | None = None
    # Why the credentials could not be read at all, in words for the caller; None when read.
    malformed: str | None = None
    source: str = "headers"  # where the key and secret came from: headers, basic or body


NOT_BASE64 = "The Basic credentials are not base64 of API_KEY:API_SECRET."
NO_COLON = ("The Basic credentials hold no colon: send base64 of the API key, a colon and the "
            "API secret.")
EMPTY_BEARER = ("The Bearer token is empty: send 'Authorization: Bearer' and the access_token "
                "from POST /api/v1/auth/token.")
UNKNOWN_SCHEME = ("Authorization must be Basic (the API key and secret) or Bearer (a token "
                  "from POST /api/v1/auth/token).")


def read_credentials() -> Credentials:
    """The credentials in the request's headers."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return _read_basic(value.strip())
        if scheme == "bearer":
            return Credentials(token=value.strip()) if value.strip() else Credentials(
                malformed=EMPTY_BEARER)
        return Credentials(malformed=UNKNOWN_SCHEME)
    return Credentials(request.headers.get("X-API-Key"), request.headers.get("X-API-Secret"))


def _read_basic(value: str) -> Credentials:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return Credentials(malformed=NOT_BASE64, source="basic")
    api_key, colon, api_secret = decoded.partition(":")
    if not colon:
        return Credentials(api_key, malformed=NO_COLON, source="basic")
    return Credentials(api_key, api_secret, source="basic")


def authenticate(credentials: Credentials) -> Verification:
    """Verify what the request presented."""
    if credentials.malformed:
        return Verification(None, AuthFailure.MALFORMED_CREDENTIALS)
    if credentials.token is not None:
        return verify_token(credentials.token)
    return verify_credentials(credentials.api_key, credentials.api_secret)


def verify_token(token: str) -> Verification:
    """A token is only as good as its key right now: deleted or inactive means 401."""
    try:
        key_id, binding = tokens.read_token(token)
    except tokens.TokenExpired:
        return Verification(None, AuthFailure.TOKEN_EXPIRED)
    except tokens.TokenInvalid:
        return Verification(None, AuthFailure.TOKEN_INVALID)
    key = read_key_row_by_id(key_id)
    if key is not None and key.deleted_at is None and not tokens.binding_matches(key, binding):
        return Verification(key, AuthFailure.TOKEN_INVALID)
    return check_key_state(key)


def remember_caller(verification: Verification) -> None:
    g.api_key = verification.key
    g.firm_id = verification.key.firm_id if verification.key else None
    g.auth_failure = verification.failure


def touch_last_used() -> None:
    """Record "last used" at most once a minute per key: most requests write nothing."""
    key = g.get("api_key")
    if key is None or g.get("auth_failure") is not None:
        return
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    key_id = key.id
    # Only this update may commit here: whatever a view left uncommitted (it owns its
    # transaction, and a refused request commits nothing) is dropped first.
    db.session.rollback()
    # The WHERE clause keeps several processes from all writing in the same minute.
    try:
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id)
            .where(or_(ApiKey.last_used_at.is_(None),
                       ApiKey.last_used_at < now - LAST_USED_EVERY))
            .values(last_used_at=now)
        )
        db.session.commit()
    except SQLAlchemyError as error:
        if not database_unavailable(error):
            raise
        # The answer is ready: a database locked, down or out of pooled connections must not
        # turn it into an error.
        db.session.rollback()
        current_app.logger.warning("Could not record last use of key %s: %s", key_id,
                                   type(getattr(error, "orig", error)).__name__)
