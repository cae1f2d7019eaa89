"""Domain rules of the Public API app, shared by the portal views, the JSON API and the CLI."""

import secrets
import string
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.models import Firm, User
from portal.audit.service import record_event
from portal.extensions import db
from portal.ids import utcnow
from portal.keyring import keyring
from portal.public_api.models import (
    LIVE_KEY,
    ApiKey,
    folded_key_name,
    refused_by_live_name_index,
)
from portal.public_api.verification import API_KEY_LENGTH, API_SECRET_LENGTH

KEY_NAME_MAX = 100
DRAFT_LIFETIME = timedelta(minutes=15)
_ALNUM = string.ascii_letters + string.digits


class KeyNameError(ValueError):
    """The key name the admin typed cannot be used; the message is shown inline."""


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
    if any(_hidden(character) for character in name):
        raise KeyNameError("The key name contains characters that are not allowed: invisible "
                           "or control characters, or ones that change the direction of the "
                           "text.")
    # A firm has a handful of keys, so they are compared here, for a message naming the one
    # that has the name; the database's unique index settles two saves at the same moment.
    live_names = select(ApiKey.name).where(ApiKey.firm_id == firm.id, LIVE_KEY)
    for taken in db.session.execute(live_names).scalars():
        if folded_key_name(taken) == folded_key_name(name):
            raise KeyNameError(f"A key named “{taken}” already exists. Choose another name.")
    return name


# Bidirectional formatting characters: a name holding them can show as something else
# (e.g. U+202E turns "\u202elive" into "evil" on screen). Letters of right-to-left scripts are fine.
_DIRECTION_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                "\u2066\u2067\u2068\u2069")
# The one invisible format character a name may hold: it joins emoji (👩‍💻).
_ZERO_WIDTH_JOINER = "\u200d"


def _hidden(character: str) -> bool:
    """Control, direction and other invisible format characters (zero-width space, soft
    hyphen, word joiner, byte-order mark, tags): they would make look-alike names."""
    if character in _DIRECTION_CONTROLS:
        return True
    category = unicodedata.category(character)
    return category == "Cc" or (category == "Cf" and character != _ZERO_WIDTH_JOINER)


def generate_key_pair(firm: Firm, name: str, actor: User, *, scope: str = "read_write",
                      expires_on: date | None = None) -> GeneratedPair:
    """Create a draft key with a fresh random pair; it works only once save_key() is called."""
    name = clean_key_name(firm, name)
    _forget_stale_drafts(firm)
    pair = mint_key_pair(firm.id, name, actor, scope=scope, expires_on=expires_on)
    db.session.add(pair.key)
    db.session.flush()
    return pair


def mint_key_pair(firm_id: str, name: str, actor: User, **controls) -> GeneratedPair:
    """A new key row (not yet added to the session) with a fresh random API key and secret:
    the secret is kept only as its digest and its ciphertext."""
    secret = random_alnum(API_SECRET_LENGTH)
    ring = keyring()
    key = ApiKey(firm_id=firm_id, name=name, api_key=random_alnum(API_KEY_LENGTH),
                 secret_digest=ring.digest(secret), secret_ciphertext=ring.encrypt(secret),
                 created_by_id=actor.id, **controls)
    return GeneratedPair(key=key, secret=secret)


def save_key(draft: ApiKey, actor: User) -> ApiKey:
    """Save a draft: from now on it authenticates (while the app is active)."""
    clean_key_name(draft.firm, draft.name)
    draft.saved_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError as error:
        # Another admin saved the same name after the check above: the unique index refused
        # it. The session must be rolled back (the view does) before it is used again.
        if not refused_by_live_name_index(error):
            raise
        raise KeyNameError("Another key with this name was saved just now. Choose another "
                           "name.") from error
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


def working_key():
    """The criterion of keys that still authenticate: saved, not deleted, and never rolled or
    within their grace period (LIVE_KEY, without the roll's successor taking the name)."""
    return and_(ApiKey.saved_at.is_not(None), ApiKey.deleted_at.is_(None),
                or_(ApiKey.retires_at.is_(None), ApiKey.retires_at > utcnow()))


def live_keys(firm: Firm) -> list[ApiKey]:
    """Saved, undeleted keys, including rolled ones until their grace period ends."""
    query = (
        select(ApiKey)
        .options(joinedload(ApiKey.created_by), joinedload(ApiKey.firm))
        .where(ApiKey.firm_id == firm.id, working_key())
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return list(db.session.execute(query).scalars())


def _forget_stale_drafts(firm: Firm) -> None:
    cutoff = utcnow() - DRAFT_LIFETIME
    db.session.execute(
        delete(ApiKey).where(
            ApiKey.firm_id == firm.id, ApiKey.saved_at.is_(None), ApiKey.created_at < cutoff
        )
    )
