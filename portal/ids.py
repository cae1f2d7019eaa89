"""Opaque, non-sequential identifiers: a type prefix and 20 random base-32 characters."""

import secrets
from datetime import UTC, datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def utcnow() -> datetime:
    """Naive UTC now: SQLite has no time zones, so every stored datetime is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
