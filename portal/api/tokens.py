"""Bearer tokens from POST /auth/token: signed, short-lived, re-checked against the key."""

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.public_api.verification import KeyRow

SALT = "api-access-token"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def _binding(key: KeyRow) -> str:
    """Ties a token to the key's current secret: a new or wiped secret voids old tokens."""
    return hashlib.sha256((key.secret_digest or "").encode()).hexdigest()[:16]


def issue_token(key: KeyRow) -> str:
    return _serializer().dumps({"k": key.id, "b": _binding(key)})


def read_token(token: str) -> tuple[str, str]:
    """The key id and binding inside a token; raises TokenExpired or TokenInvalid."""
    max_age = current_app.config["API_TOKEN_TTL_SECONDS"]
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenExpired from error
    except BadSignature as error:
        raise TokenInvalid from error
    if not isinstance(payload, dict) or not {"k", "b"} <= payload.keys():
        raise TokenInvalid
    return str(payload["k"]), str(payload["b"])


def binding_matches(key: KeyRow, binding: str) -> bool:
    return hmac.compare_digest(_binding(key), binding)
