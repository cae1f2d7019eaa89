"""The API's response shapes: {"data": ...} envelopes and {"error": {...}} errors."""

from flask import current_app, jsonify

from portal.errors import json_error

UNAUTHENTICATED_MESSAGE = (
    "Authentication failed. Send a valid API key and API secret "
    "(HTTP Basic, X-API-Key/X-API-Secret headers, or a Bearer token)."
)
APP_INACTIVE_MESSAGE = (
    "The Public API is deactivated for this firm. An admin can activate it in "
    "Settings and Apps > Public API; the same keys then work again."
)
WWW_AUTHENTICATE = 'Basic realm="Uku API", charset="UTF-8", Bearer realm="Uku API"'


def data_response(data, status: int = 200, headers=None):
    response = jsonify(data=data)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def list_response(items: list, limit: int, next_cursor: str | None):
    return jsonify(data=items, meta=_list_meta(limit, next_cursor))


def stored_list_response(items_json: list[str], limit: int, next_cursor: str | None):
    """A list whose items are JSON already (stored): joined, not decoded and encoded again."""
    meta = current_app.json.dumps(_list_meta(limit, next_cursor), separators=(",", ":"))
    body = '{"data":[' + ",".join(items_json) + '],"meta":' + meta + "}\n"  # as jsonify
    return current_app.response_class(body, mimetype="application/json")


def _list_meta(limit: int, next_cursor: str | None) -> dict:
    return {"limit": limit, "has_more": next_cursor is not None, "next_cursor": next_cursor}


def unauthenticated():
    """One body for every credential failure, so nobody can probe which keys exist."""
    return json_error(
        401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE,
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def malformed_credentials(hint: str):
    """Credentials whose format is wrong: the hint is told from what was sent, not looked up."""
    return json_error(401, "MALFORMED_CREDENTIALS", hint,
                      headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def token_expired():
    """A token we signed that is past its hour: it names no key that the caller did not know."""
    return json_error(
        401, "TOKEN_EXPIRED", "The Bearer token has expired (tokens last one hour): ask "
        "POST /api/v1/auth/token for a new one.", headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def token_invalid():
    """A token that is not ours, was altered, or whose key changed since it was issued."""
    return json_error(
        401, "TOKEN_INVALID", "The Bearer token is not valid: it was altered, was not issued "
        "by this API, or its key changed since. Ask POST /api/v1/auth/token for a new one.",
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def app_inactive():
    """Only for a caller whose key and secret are both right."""
    return json_error(
        401, "API_APP_INACTIVE", APP_INACTIVE_MESSAGE,
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def validation_error(details: list[dict], status: int = 422, message: str | None = None):
    message = message or "The request is not valid; see details."
    return json_error(status, "VALIDATION_ERROR", message, details=details)
