"""Domain rules of the Public API app, shared by the portal views, the JSON API and the CLI."""

import enum
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Firm, User
from portal.audit.service import record_event
from portal.extensions import db
from portal.ids import utcnow
from portal.keyring import keyring
from portal.public_api.models import ApiKey

API_KEY_LENGTH = 32
API_SECRET_LENGTH = 48
KEY_NAME_MAX = 100
DRAFT_LIFETIME = timedelta(minutes=15)
_ALNUM = string.ascii_letters + string.digits


class KeyNameError(ValueError):
    """The key name the admin typed cannot be used; the message is shown inline."""


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


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a key + secret: the key when known, and the failure if any."""

    key: ApiKey | None
    failure: AuthFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class GeneratedPair:
    key: ApiKey
    secret: str


def random_alnum(length: int) -> str:
    """Letters and digits from the OS CSPRNG."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def set_app_active(firm: Firm, active: bool, actor: User) -> bool:
    """Activate or deactivate the Public API app; returns whether anything changed."""
    if firm.api_app_active == active:
        return False
    firm.api_app_active = active
    firm.api_app_changed_at = utcnow()
    firm.api_app_changed_by_id = actor.id
    record_event(firm.id, actor, "app.activated" if active else "app.deactivated", "Public API")
    return True


def clean_key_name(firm: Firm, raw: str | None) -> str:
    """Trim and check a key name: required, at most 100 characters, unique among live keys."""
    name = " ".join((raw or "").split())
    if not name:
        raise KeyNameError("Enter a name for the key, e.g. the software that will use it.")
    if len(name) > KEY_NAME_MAX:
        raise KeyNameError(f"The key name can have at most {KEY_NAME_MAX} characters.")
    if "\x00" in name:
        raise KeyNameError("The key name contains characters that are not allowed.")
    taken = select(ApiKey.id).where(
        ApiKey.firm_id == firm.id,
        ApiKey.name == name,
        ApiKey.saved_at.is_not(None),
        ApiKey.deleted_at.is_(None),
        ApiKey.replaced_by_id.is_(None),
    )
    if db.session.execute(taken).first():
        raise KeyNameError(f"A key named “{name}” already exists. Choose another name.")
    return name


def generate_key_pair(firm: Firm, name: str, actor: User, *, scope: str = "read_write",
                      expires_on: date | None = None) -> GeneratedPair:
    """Create a draft key with a fresh random pair; it works only once save_key() is called."""
    name = clean_key_name(firm, name)
    _forget_stale_drafts(firm)
    secret = random_alnum(API_SECRET_LENGTH)
    ring = keyring()
    key = ApiKey(
        firm_id=firm.id,
        name=name,
        api_key=random_alnum(API_KEY_LENGTH),
        secret_digest=ring.digest(secret),
        secret_ciphertext=ring.encrypt(secret),
        created_by_id=actor.id,
        scope=scope,
        expires_on=expires_on,
    )
    db.session.add(key)
    db.session.flush()
    return GeneratedPair(key=key, secret=secret)


def save_key(draft: ApiKey, actor: User) -> ApiKey:
    """Save a draft: from now on it authenticates (while the app is active)."""
    clean_key_name(draft.firm, draft.name)
    draft.saved_at = utcnow()
    details = {"api_key": draft.api_key, "scope": draft.scope,
               "expires_on": draft.expires_on.isoformat() if draft.expires_on else None}
    record_event(draft.firm_id, actor, "key.generated", draft.name, details)
    return draft


def reveal_secret(key: ApiKey, actor: User) -> str:
    """Decrypt a saved key's secret for its admin; every reveal is audit-logged."""
    record_event(key.firm_id, actor, "key.revealed", key.name, {"api_key": key.api_key})
    return keyring().decrypt(key.secret_ciphertext)


def reveal_secret_once(key: ApiKey) -> str:
    """The secret shown right after Save: part of generating it, so no separate audit event."""
    return keyring().decrypt(key.secret_ciphertext)


def delete_key(key: ApiKey, actor: User) -> None:
    """Delete a key for good: the secret is wiped; the public key is kept only as a tombstone."""
    key.deleted_at = utcnow()
    key.deleted_by_id = actor.id
    key.secret_digest = None
    key.secret_ciphertext = None
    record_event(key.firm_id, actor, "key.deleted", key.name, {"api_key": key.api_key})


def not_retired():
    """The criterion of keys that still work: never rolled, or within their grace period."""
    return or_(ApiKey.retires_at.is_(None), ApiKey.retires_at > utcnow())


def live_keys(firm: Firm) -> list[ApiKey]:
    """Saved, undeleted keys, including rolled ones until their grace period ends."""
    query = (
        select(ApiKey)
        .options(joinedload(ApiKey.created_by), joinedload(ApiKey.firm))
        .where(ApiKey.firm_id == firm.id, ApiKey.saved_at.is_not(None))
        .where(ApiKey.deleted_at.is_(None), not_retired())
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return list(db.session.execute(query).scalars())


# A digest to compare against when the key is unknown, so that an unknown key costs the same
# time as a wrong secret and timing does not tell which keys exist.
_DUMMY_DIGEST = "0" * 64
# Built once: the hot path only binds the value (SQLAlchemy caches the compiled SQL too).
_KEY_BY_API_KEY = (
    select(ApiKey).options(joinedload(ApiKey.firm)).where(ApiKey.api_key == bindparam("api_key"))
)


def verify_credentials(api_key: str | None, api_secret: str | None) -> Verification:
    """Check a key + secret in constant time; the API's hot path, so one indexed query."""
    if not api_key or not api_secret:
        return Verification(None, AuthFailure.MISSING_CREDENTIALS)
    if not _plausible(api_key, API_KEY_LENGTH) or not _plausible(api_secret, API_SECRET_LENGTH):
        return Verification(None, AuthFailure.MALFORMED_CREDENTIALS)
    key = db.session.execute(_KEY_BY_API_KEY, {"api_key": api_key}).scalar_one_or_none()
    expected = key.secret_digest if key is not None and key.secret_digest else _DUMMY_DIGEST
    matches = hmac.compare_digest(keyring().digest(api_secret), expected)
    return check_key_state(key, secret_matches=matches)


def check_key_state(key: ApiKey | None, *, secret_matches: bool = True) -> Verification:
    """The failure, if any, for a looked-up key; also used to re-check a bearer token's key."""
    if key is None or key.saved_at is None:
        return Verification(None, AuthFailure.UNKNOWN_KEY)
    if key.deleted_at is not None:
        return Verification(key, AuthFailure.KEY_DELETED)
    if not secret_matches:
        return Verification(key, AuthFailure.WRONG_SECRET)
    # Columns of the row already loaded: no query of their own.
    if key.retires_at is not None and key.retires_at <= utcnow():
        return Verification(key, AuthFailure.KEY_ROLLED)
    if key.expires_on is not None and key.expires_on < utcnow().date():
        return Verification(key, AuthFailure.KEY_EXPIRED)
    if not key.firm.api_app_active:
        return Verification(key, AuthFailure.APP_INACTIVE)
    return Verification(key)


def _plausible(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isalnum()


def _forget_stale_drafts(firm: Firm) -> None:
    cutoff = utcnow() - DRAFT_LIFETIME
    db.session.execute(
        delete(ApiKey).where(
            ApiKey.firm_id == firm.id, ApiKey.saved_at.is_(None), ApiKey.created_at < cutoff
        )
    )
