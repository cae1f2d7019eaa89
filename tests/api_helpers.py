"""Fixtures' helpers for JSON API tests: make a saved key pair and build auth headers."""

import base64

from portal.extensions import db
from portal.public_api import service


def make_pair(firm, admin, name="Integration", active=True):
    """A saved key (and its secret) for `firm`, with the Public API app activated."""
    pair = service.generate_key_pair(firm, name, admin)
    service.save_key(pair.key, admin)
    if active:
        service.set_app_active(firm, True, admin)
    db.session.commit()
    return pair


def basic(api_key: str, api_secret: str) -> dict:
    raw = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def key_headers(api_key: str, api_secret: str) -> dict:
    return {"X-API-Key": api_key, "X-API-Secret": api_secret}


def bearer(client, api_key: str, api_secret: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"api_key": api_key, "api_secret": api_secret})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json['access_token']}"}
