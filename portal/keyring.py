"""Server-side keys: an HMAC key to verify API secrets, Fernet keys to reveal them, and the
SECRET_KEY that signs session cookies and Bearer tokens.

Keys come from the environment (API_SECRET_HMAC_KEY, API_SECRET_FERNET_KEYS: comma-separated,
newest first, so old ciphertexts stay readable during a rotation; SECRET_KEY) or, in
development, from key files generated once per instance in instance/ with mode 0600.
"""

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet
from flask import Flask, current_app

KEY_FILE_NAME = "api-secret-keys.json"
SECRET_KEY_FILE_NAME = "secret-key.json"


@dataclass(frozen=True)
class Keyring:
    hmac_key: bytes
    fernet: MultiFernet

    def digest(self, secret: str) -> str:
        """HMAC-SHA256 of a secret, hex: what we compare on every API call."""
        return hmac.new(self.hmac_key, secret.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, secret: str) -> bytes:
        return self.fernet.encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        return self.fernet.decrypt(token).decode()


def init_keyring(app: Flask) -> None:
    hmac_key = app.config.get("API_SECRET_HMAC_KEY")
    fernet_keys = app.config.get("API_SECRET_FERNET_KEYS")
    if not (hmac_key and fernet_keys):
        stored = _load_or_create_key_file(Path(app.instance_path) / KEY_FILE_NAME, _new_api_keys)
        hmac_key = hmac_key or stored["hmac_key"]
        fernet_keys = fernet_keys or ",".join(stored["fernet_keys"])
    if isinstance(fernet_keys, str):
        fernet_keys = [k.strip() for k in fernet_keys.split(",") if k.strip()]
    app.extensions["keyring"] = Keyring(
        hmac_key=hmac_key.encode() if isinstance(hmac_key, str) else hmac_key,
        fernet=MultiFernet([Fernet(k) for k in fernet_keys]),
    )


def init_secret_key(app: Flask) -> None:
    """A development instance without SECRET_KEY gets one of its own: a signing key that ships
    with the code would let anyone sign a session cookie (production refuses to start
    without one: config_checks.py)."""
    if not app.config.get("SECRET_KEY"):
        stored = _load_or_create_key_file(
            Path(app.instance_path) / SECRET_KEY_FILE_NAME,
            lambda: {"secret_key": secrets.token_urlsafe(48)},
        )
        app.config["SECRET_KEY"] = stored["secret_key"]


def keyring() -> Keyring:
    return current_app.extensions["keyring"]


def _new_api_keys() -> dict:
    return {"hmac_key": secrets.token_urlsafe(48), "fernet_keys": [Fernet.generate_key().decode()]}


def _load_or_create_key_file(path: Path, make_keys) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    keys = make_keys()
    # O_EXCL + 0600: never readable by others, and two processes starting at once cannot both win.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return json.loads(path.read_text())
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle)
    return keys
