"""Checking an API key + secret: the JSON API's hot path.

A key is read as one row (the key and its firm) into an immutable KeyRow: what the rest of the
request needs, without an ORM object the request could change by accident. On SQLite the row is
remembered until anything is committed (key_cache.py).
"""

import enum
import hmac
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select

from portal.accounts.models import Firm
from portal.ids import utcnow
from portal.keyring import keyring
from portal.public_api import key_cache
from portal.public_api.models import ApiKey

API_KEY_LENGTH = 32
API_SECRET_LENGTH = 48


class AuthFailure(enum.StrEnum):
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    MALFORMED_CREDENTIALS = "MALFORMED_CREDENTIALS"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    WRONG_SECRET = "WRONG_SECRET"
    KEY_DELETED = "KEY_DELETED"
    APP_INACTIVE = "APP_INACTIVE"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_INVALID = "TOKEN_INVALID"
    KEY_EXPIRED = "KEY_EXPIRED"
    KEY_ROLLED = "KEY_ROLLED"
    # Checked after the credentials were accepted; answered 403 rather than 401.
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"


@dataclass(frozen=True, slots=True)
class FirmRow:
    """What the API needs of the key's firm."""

    name: str
    api_app_active: bool
    api_read_limit: int | None
    api_write_limit: int | None


@dataclass(frozen=True, slots=True)
class KeyRow:
    """An API key as read for one request."""

    id: str
    firm_id: str
    name: str
    api_key: str
    secret_digest: str | None
    saved_at: datetime | None
    deleted_at: datetime | None
    last_used_at: datetime | None
    scope: str
    expires_on: date | None
    ip_allowlist: str | None
    retires_at: datetime | None
    firm: FirmRow


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a key + secret: the key when known, and the failure if any."""

    key: KeyRow | None
    failure: AuthFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


_KEY_COLUMNS = [getattr(ApiKey.__table__.c, name) for name in KeyRow.__slots__[:-1]]
_FIRM_COLUMNS = [getattr(Firm.__table__.c, name).label(f"firm_{name}")
                 for name in FirmRow.__slots__]
# Core, not ORM: plain rows, one statement SQLAlchemy compiles once and caches.
_KEY_ROWS = select(*_KEY_COLUMNS, *_FIRM_COLUMNS).join_from(
    ApiKey.__table__, Firm.__table__, ApiKey.__table__.c.firm_id == Firm.__table__.c.id
)
KEY_BY_API_KEY = _KEY_ROWS.where(ApiKey.__table__.c.api_key == bindparam("value"))
_BY_ID = _KEY_ROWS.where(ApiKey.__table__.c.id == bindparam("value"))
_FIRM_WIDTH = len(_FIRM_COLUMNS)


def read_key_row(api_key: str) -> KeyRow | None:
    """The key with this public API key, straight from the database."""
    return _read(KEY_BY_API_KEY, api_key)


def read_key_row_by_id(key_id: str) -> KeyRow | None:
    """The key with this id (what a bearer token names), straight from the database."""
    return _read(_BY_ID, key_id)


def _read(query, value: str) -> KeyRow | None:
    def read(executor) -> KeyRow | None:
        row = executor.execute(query, {"value": value}).first()
        if row is None:
            return None
        return KeyRow(*row[:-_FIRM_WIDTH], FirmRow(*row[-_FIRM_WIDTH:]))

    return key_cache.lookup((query, value), read)


# A digest to compare against when the key is unknown, so that an unknown key costs the same
# time as a wrong secret and timing does not tell which keys exist.
_DUMMY_DIGEST = "0" * 64


def verify_credentials(api_key: str | None, api_secret: str | None) -> Verification:
    """Check a key + secret in constant time."""
    if not api_key or not api_secret:
        return Verification(None, AuthFailure.MISSING_CREDENTIALS)
    if not _plausible(api_key, API_KEY_LENGTH) or not _plausible(api_secret, API_SECRET_LENGTH):
        return Verification(None, AuthFailure.MALFORMED_CREDENTIALS)
    key = read_key_row(api_key)
    expected = key.secret_digest if key is not None and key.secret_digest else _DUMMY_DIGEST
    matches = hmac.compare_digest(keyring().digest(api_secret), expected)
    return check_key_state(key, secret_matches=matches)


def check_key_state(key: KeyRow | None, *, secret_matches: bool = True) -> Verification:
    """The failure, if any, for a looked-up key; also used to re-check a bearer token's key.

    Expiry and the end of a roll's grace period are decided here, on every request, from the
    row: time passing changes nothing in the database."""
    if key is None or key.saved_at is None:
        return Verification(None, AuthFailure.UNKNOWN_KEY)
    if key.deleted_at is not None:
        return Verification(key, AuthFailure.KEY_DELETED)
    if key.retires_at is not None and key.retires_at <= utcnow():
        # Checked before the secret: a rolled key's secret is wiped once it retires.
        return Verification(key, AuthFailure.KEY_ROLLED)
    if not secret_matches:
        return Verification(key, AuthFailure.WRONG_SECRET)
    if key.expires_on is not None and key.expires_on < utcnow().date():
        return Verification(key, AuthFailure.KEY_EXPIRED)
    if not key.firm.api_app_active:
        return Verification(key, AuthFailure.APP_INACTIVE)
    return Verification(key)


def is_key_shaped(value: str | None) -> bool:
    """In the API key's exact format: the only presented value ever looked up or stored."""
    return value is not None and _plausible(value, API_KEY_LENGTH)


def _plausible(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isalnum()
