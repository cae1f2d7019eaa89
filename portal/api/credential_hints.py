"""What is wrong with credentials whose format is wrong, in words the caller can act on.

Told from the presented values alone, before and without any look-up, so a hint says nothing
about which keys exist: well-formed credentials that fail all get the same 401.
"""

from portal.api.auth import Credentials
from portal.public_api.verification import API_KEY_LENGTH, API_SECRET_LENGTH

# How each source names the two values.
_NAMES = {
    "headers": ("X-API-Key", "X-API-Secret"),
    "basic": ("The Basic user name (the API key)", "The Basic password (the API secret)"),
    "body": ("api_key", "api_secret"),
}
_QUOTES = "\"'`"


def format_hint(credentials: Credentials) -> str | None:
    """The first format problem of `credentials`, or None when their format is right (or
    nothing at all was sent: the generic 401 already says what to send)."""
    if credentials.malformed:
        return credentials.malformed
    if credentials.api_key is None and credentials.api_secret is None:
        return None
    key_name, secret_name = _NAMES[credentials.source]
    return (_value_problem(key_name, credentials.api_key, "API key", API_KEY_LENGTH)
            or _value_problem(secret_name, credentials.api_secret, "API secret",
                              API_SECRET_LENGTH))


def _value_problem(name: str, value: str | None, kind: str, length: int) -> str | None:
    if not value:
        return f"{name} is missing: send the API key and the API secret together."
    if value != value.strip() or value[0] in _QUOTES or value[-1] in _QUOTES:
        return f"{name} has spaces or quotes around it: send the {kind} alone."
    if not (value.isascii() and value.isalnum()):
        return (f"{name} holds characters other than letters and digits: copy the {kind} "
                "again from Settings and Apps.")
    if len(value) != length:
        swapped = {API_KEY_LENGTH, API_SECRET_LENGTH} - {length}
        hint = f"{name} holds {len(value)} characters; an {kind} has {length}."
        if len(value) in swapped:
            hint += " Did you swap the key and the secret?"
        return hint
    return None
