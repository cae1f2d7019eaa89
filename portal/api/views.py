"""The JSON API v1: authentication for every route, ping, and the token exchange."""

from flask import Blueprint, current_app, g, jsonify, request

from portal.api import tokens
from portal.api.auth import authenticate_request, remember_caller, touch_last_used
from portal.api.responses import app_inactive, data_response, unauthenticated, validation_error
from portal.public_api.service import AuthFailure, verify_credentials

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Routes reachable without credentials; every other route requires them (deny by default).
PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi"}


@bp.before_request
def require_credentials():
    """Authenticate every API request before its view runs."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    verification = authenticate_request()
    remember_caller(verification)
    if verification.failure is AuthFailure.APP_INACTIVE:
        return app_inactive()
    if not verification.ok:
        return unauthenticated()
    return None


@bp.after_request
def after_api_request(response):
    if response.status_code < 500:
        touch_last_used()
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.get("/ping")
def ping():
    """Who am I: the key's firm and name."""
    key = g.api_key
    return data_response(
        {"firm": key.firm.name, "key_name": key.name, "request_id": g.request_id}
    )


@bp.post("/auth/token")
def issue_token():
    """Exchange an API key + secret for a Bearer token (1 hour)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return validation_error(
            [{"field": "body", "message": "Send a JSON object with api_key and api_secret."}],
            status=400,
        )
    api_key, api_secret = body.get("api_key"), body.get("api_secret")
    if not isinstance(api_key, str) or not isinstance(api_secret, str):
        api_key = api_secret = None
    verification = verify_credentials(api_key, api_secret)
    remember_caller(verification)
    if verification.failure is AuthFailure.APP_INACTIVE:
        return app_inactive()
    if not verification.ok:
        return unauthenticated()
    # The token answer is OAuth-shaped (no "data" envelope) so standard clients understand it.
    return jsonify(
        access_token=tokens.issue_token(verification.key),
        token_type="Bearer",
        expires_in=current_app.config["API_TOKEN_TTL_SECONDS"],
    )
