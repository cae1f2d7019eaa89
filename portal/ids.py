"""Opaque, non-sequential identifiers: a type prefix and 20 random base-32 characters."""

import base64
import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    """100 random bits from the OS CSPRNG, in lower-case base 32 (one call: bulk-seed fast)."""
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()[:20]


def utcnow() -> datetime:
    """Naive UTC now: SQLite has no time zones, so every stored datetime is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
