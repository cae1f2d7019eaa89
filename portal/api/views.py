"""The JSON API v1: authentication for every route, ping, and the token exchange."""

import re

from flask import Blueprint, abort, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from portal.api import ratelimit, spec, tokens
from portal.api.auth import (
    Credentials,
    authenticate,
    read_credentials,
    remember_caller,
    touch_last_used,
)
from portal.api.body import BodyError, parse_body
from portal.api.credential_hints import format_hint
from portal.api.envelopes import Ping, TokenRequest, TokenResponse
from portal.api.pagination import ParamError
from portal.api.responses import (
    app_inactive,
    data_response,
    malformed_credentials,
    token_expired,
    token_invalid,
    unauthenticated,
    validation_error,
)
from portal.api.spec import documented
from portal.crm.errors import CrmValidationError
from portal.errors import json_error
from portal.public_api.controls import ip_allowed, scope_allows
from portal.public_api.verification import AuthFailure, Verification, verify_credentials

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Routes reachable without credentials; every other route requires them (deny by default).
PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi"}


@bp.before_request
def require_credentials():
    """Authenticate every API request before its view runs."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    refusal = refuse_plain_http()
    if refusal is not None:
        return refusal
    credentials = read_credentials()
    refusal = _admit(lambda: authenticate(credentials), credentials)
    if refusal is None and not scope_allows(g.api_key, request.method):
        # Only here: exchanging a read key for a token is a POST that writes nothing.
        return json_error(403, "FORBIDDEN", "This API key has the read scope: it can only "
                          "read (GET). An admin can change the key's scope in Settings and Apps.")
    return refusal


def refuse_plain_http():
    """In production, credentials over plain HTTP are refused before they are checked: the
    scheme is the one ProxyFix took from a trusted proxy (TRUSTED_PROXIES), if any."""
    config = current_app.config
    if request.is_secure or config["API_ALLOW_PLAIN_HTTP"] or config["PORTAL_ENV"] != (
            "production"):
        return None
    https_url = "https://" + request.url.split("://", 1)[1]
    return json_error(403, "HTTPS_REQUIRED", f"The API takes credentials only over HTTPS: send "
                      f"this request to {https_url}. Those you sent travelled unencrypted; "
                      "roll the key in Settings and Apps.")


# What portal/ids.py makes: a type prefix, "_" and lower-case base 32. Looser than that, so
# ids of another length still reach their 404, but never mixed-case like a secret.
_ID_SHAPE = re.compile(r"[a-z]{2,8}_[a-z0-9]{1,40}")


@bp.before_request
def refuse_malformed_ids():
    """A path id no resource could have is a 404 before any look-up: a secret pasted into a
    URL never reaches a query."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and not _ID_SHAPE.fullmatch(value):
            abort(404)


def _admit(verify, credentials: Credentials):
    """Authenticate and rate-limit; a response means the request stops here.

    A 401 carries no X-RateLimit headers: they would describe an allowance chosen by what the
    credentials named, and a 401 must read the same whatever that was."""
    verification = verify()
    presented_key = credentials.api_key
    exhausted = ratelimit.auth_failures_exhausted(presented_key, verification)
    if exhausted is not None:
        # These credentials failed too often from this IP: refused whatever was presented, so
        # guessing stops paying, and nothing of the key is used or recorded. Other keys used
        # from the same IP are not held back.
        remember_caller(Verification(None))
        return _rate_limited(exhausted, "Too many failed authentication attempts.")
    remember_caller(verification)
    if verification.failure is not None:
        if verification.failure not in ratelimit.NOT_GUESSES:
            ratelimit.count_auth_failure(presented_key, verification)
        return _refusal(verification.failure, credentials)
    if not ip_allowed(verification.key, request.remote_addr):
        # Right credentials from the wrong place: likely leaked, so count it as a failure.
        g.auth_failure = AuthFailure.IP_NOT_ALLOWED
        ratelimit.count_auth_failure(presented_key, verification)
        return json_error(403, "FORBIDDEN", "This API key may not be used from this IP "
                          "address. An admin can change the key's IP allow-list.")
    g.rate_state = ratelimit.hit_key_limit(verification.key)
    if not g.rate_state.allowed:
        return _rate_limited(g.rate_state, "Rate limit exceeded for this API key.")
    return None


def _refusal(failure: AuthFailure, credentials: Credentials):
    """The 401: what can be told safely is told (a token's state, a format problem); any
    well-formed key and secret that fail read the same, so nobody learns which keys exist."""
    if failure is AuthFailure.APP_INACTIVE:
        return app_inactive()
    if credentials.token is not None:
        return token_expired() if failure is AuthFailure.TOKEN_EXPIRED else token_invalid()
    if failure in (AuthFailure.MISSING_CREDENTIALS, AuthFailure.MALFORMED_CREDENTIALS):
        hint = format_hint(credentials)
        if hint is not None:
            return malformed_credentials(hint)
    return unauthenticated()


def _rate_limited(state, message: str):
    g.rate_state = state
    headers = {"Retry-After": str(state.retry_after)}
    return json_error(429, "RATE_LIMITED", f"{message} Retry after {state.retry_after} s.",
                      headers=headers)


@bp.errorhandler(BodyError)
def bad_body(error: BodyError):
    if error.status == 415:
        return json_error(415, "UNSUPPORTED_MEDIA_TYPE", error.message, details=error.details)
    return validation_error(error.details, status=error.status, message=error.message)


@bp.errorhandler(RequestEntityTooLarge)
def body_too_large(error: RequestEntityTooLarge):
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    detail = [{"field": "body", "message": f"The body is larger than {limit} bytes."}]
    return validation_error(detail, status=413, message="The request body is too large.")


@bp.errorhandler(CrmValidationError)
def refused_by_crm(error: CrmValidationError):
    return validation_error(error.details)


@bp.errorhandler(ParamError)
def bad_param(error: ParamError):
    detail = [{"field": error.field, "message": error.message}]
    return validation_error(detail, status=400, message=f"Invalid parameter {error.field}.")


@bp.after_request
def after_api_request(response):
    if response.status_code < 500:
        touch_last_used()
    sweeper = current_app.extensions["key_retirement"]
    if sweeper.due():
        # Once per interval per process, and after the answer has been sent.
        app = current_app._get_current_object()
        response.call_on_close(lambda: sweeper.sweep(app))
    response.headers.setdefault("Cache-Control", "no-store")
    if g.get("rate_state") is not None:
        response.headers.update(g.rate_state.headers())
    return response


@bp.get("/ping")
@documented(summary="Who am I: the key's firm and name", response=Ping)
def ping():
    """Who am I: the key's firm and name."""
    key = g.api_key
    return data_response(
        {"firm": key.firm.name, "key_name": key.name, "request_id": g.request_id}
    )


@bp.post("/auth/token")
@documented(
    summary="Exchange an API key and secret for a Bearer token", request=TokenRequest,
    response=TokenResponse, raw_response=True, public=True,
    errors=("400", "401", "413", "415", "422"),
)
def issue_token():
    """Exchange an API key + secret for a Bearer token (1 hour)."""
    refusal = refuse_plain_http()
    if refusal is not None:
        return refusal
    body = parse_body(TokenRequest)
    credentials = Credentials(body.api_key, body.api_secret, source="body")
    refusal = _admit(lambda: verify_credentials(body.api_key, body.api_secret), credentials)
    if refusal is not None:
        return refusal
    # The token answer is OAuth-shaped (no "data" envelope) so standard clients understand it.
    return jsonify(
        access_token=tokens.issue_token(g.api_key),
        token_type="Bearer",  # noqa: S106  (the OAuth token type, not a password)
        expires_in=current_app.config["API_TOKEN_TTL_SECONDS"],
    )


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 reference of every endpoint (public: it holds no data)."""
    document = current_app.extensions.get("openapi")
    if document is None:
        document = current_app.extensions["openapi"] = spec.build(current_app)
    response = jsonify(spec.served(document, request.url_root))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.vary.add("Host")
    return response
