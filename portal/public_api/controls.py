"""Key controls: scope, expiry, IP allow-list and roll, for the portal, the API and the CLI."""

import functools
import ipaddress
import re
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError

from portal.accounts.models import User
from portal.audit.service import record_event
from portal.extensions import db
from portal.ids import new_id, utcnow
from portal.public_api.models import ApiKey, KeyScope, refused_by_live_name_index
from portal.public_api.service import GeneratedPair, mint_key_pair
from portal.public_api.verification import KeyRow

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWLIST_MAX = 100
# How long the old pair keeps working after a roll, as offered on the roll dialog.
GRACE_PERIODS = {
    "now": ("Stop the old key now", timedelta(0)),
    "1h": ("1 hour", timedelta(hours=1)),
    "24h": ("24 hours", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
}


class KeyRolledMeanwhile(Exception):
    """The key was rolled by someone else between loading it and rolling it; the session must
    be rolled back (the view does)."""


class ControlError(ValueError):
    """A key control the admin entered cannot be used; the message is shown inline."""


def scope_allows(key: KeyRow, method: str) -> bool:
    """A read key may only read; read & write keys may do anything their role allows."""
    return key.scope != KeyScope.READ or method in READ_METHODS


def ip_allowed(key: KeyRow, address: str | None) -> bool:
    """Whether the client address may use the key; parses only non-empty allow-lists."""
    if not key.ip_allowlist:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None) is not None:
        ip = ip.ipv4_mapped  # ::ffff:192.0.2.1 is the IPv4 client on a dual-stack socket
    return any(ip in network for network in _networks(key.ip_allowlist))


@functools.lru_cache(maxsize=4096)
def _networks(allowlist: str) -> tuple:
    # Keyed by the stored text, so an edited list is parsed afresh and a stale entry unused.
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowlist.split())


def clean_allowlist(raw: str | None) -> str | None:
    """Parse IPs and CIDRs (one a line or comma-separated) into the stored normal form."""
    entries = [entry for entry in re.split(r"[\s,]+", raw or "") if entry]
    if len(entries) > ALLOWLIST_MAX:
        raise ControlError(f"Enter at most {ALLOWLIST_MAX} addresses or networks.")
    networks = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            shown = entry if len(entry) <= 60 else entry[:60] + "…"
            raise ControlError(f"“{shown}” is not an IP address or network (CIDR), "
                               "e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32.") from None
        if str(network) not in networks:
            networks.append(str(network))
    return "\n".join(networks) or None


def clean_scope(raw: str | None) -> KeyScope:
    """The scope chosen on a form; anything unknown is refused."""
    try:
        return KeyScope(raw or KeyScope.READ_WRITE.value)
    except ValueError:
        raise ControlError("Choose Read only or Read & write.") from None


def clean_expiry(raw: str | None) -> date | None:
    """An optional expiry date (YYYY-MM-DD): today or later."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ControlError("Enter the expiry date as YYYY-MM-DD.") from None
    if day < utcnow().date():
        raise ControlError("The expiry date is in the past. Choose today or a later date.")
    return day


def days_left(key: ApiKey) -> int | None:
    """Days until the key expires (0 on its last day, negative after), None if it never does."""
    return None if key.expires_on is None else (key.expires_on - utcnow().date()).days


def update_controls(key: ApiKey, actor: User, *, scope: KeyScope, expires_on: date | None,
                    allowlist: str | None) -> list[str]:
    """Apply the edited controls; each change is audit-logged. Returns what changed."""
    changes = {
        "key.scope_changed": ("scope", scope.value, {"scope": scope.value}),
        "key.expiry_changed": ("expires_on", expires_on,
                               {"expires_on": expires_on.isoformat() if expires_on else None}),
        "key.ip_allowlist_changed": ("ip_allowlist", allowlist,
                                     {"ip_allowlist": (allowlist or "").split()}),
    }
    changed = []
    for action, (column, value, details) in changes.items():
        if getattr(key, column) != value:
            setattr(key, column, value)
            record_event(key.firm_id, actor, action, key.name,
                         {"api_key": key.api_key, **details})
            changed.append(column)
    return changed


def roll_key(key: ApiKey, grace: timedelta, actor: User) -> GeneratedPair:
    """Replace a key with a new pair of the same name and controls; the old one retires later."""
    now = utcnow()
    pair = mint_key_pair(key.firm_id, key.name, actor, id=new_id("key"), saved_at=now,
                         scope=key.scope, expires_on=key.expires_on,
                         ip_allowlist=key.ip_allowlist)
    successor = pair.key
    # The successor takes the old key's place in the unique live-name index (its fold too: a
    # key that shared a folded name before names were compared folded keeps its own), after
    # the old key has left it.
    successor.name_fold = key.name_fold
    key.replaced_by_id = successor.id
    key.retires_at = now + grace
    if grace <= timedelta(0):
        # Stopped now: nothing may use the old secret again, so it is not kept.
        key.secret_digest = key.secret_ciphertext = None
    db.session.flush()
    db.session.add(successor)
    try:
        db.session.flush()
    except IntegrityError as error:
        # Another admin's roll of the same key committed first: its successor holds the place.
        if not refused_by_live_name_index(error):
            raise
        raise KeyRolledMeanwhile from error
    record_event(key.firm_id, actor, "key.rolled", key.name, {
        "api_key": key.api_key, "new_api_key": successor.api_key,
        "old_key_works_until": key.retires_at.isoformat(timespec="seconds") + "Z",
    })
    return pair
