"""The 401 matrix: every failure mode x every auth form, and the one distinguishable case."""

import pytest

from portal.extensions import db
from portal.public_api import service
from tests.api_helpers import basic, bearer, key_headers, make_pair

PING = "/api/v1/ping"


@pytest.fixture
def pair(world):
    return make_pair(world.firm, world.admin)


def _body_without_request_id(response):
    body = dict(response.json["error"])
    body.pop("request_id")
    return body


@pytest.mark.parametrize("form", ["basic", "headers", "bearer"])
def test_each_auth_form_works(client, pair, form):
    headers = {
        "basic": lambda: basic(pair.key.api_key, pair.secret),
        "headers": lambda: key_headers(pair.key.api_key, pair.secret),
        "bearer": lambda: bearer(client, pair.key.api_key, pair.secret),
    }[form]()
    response = client.get(PING, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json["data"] == {
        "firm": "Alpha Accounting", "key_name": "Integration",
        "request_id": response.headers["X-Request-Id"],
    }


def failure_headers(pair, client):
    """Every credential failure the caller could make, in every form."""
    wrong = ("x" if pair.secret[0] != "x" else "y") + pair.secret[1:]
    unknown = "Z" * 32
    return {
        "missing": {},
        "basic-malformed-base64": {"Authorization": "Basic !!!not-base64"},
        "basic-no-colon": {"Authorization": "Basic " + "YWJj"},
        "basic-unknown-key": basic(unknown, pair.secret),
        "basic-wrong-secret": basic(pair.key.api_key, wrong),
        "basic-malformed-secret": basic(pair.key.api_key, "short"),
        "headers-unknown-key": key_headers(unknown, pair.secret),
        "headers-wrong-secret": key_headers(pair.key.api_key, wrong),
        "headers-only-key": {"X-API-Key": pair.key.api_key},
        "bearer-garbage": {"Authorization": "Bearer not.a.token"},
        "bearer-empty": {"Authorization": "Bearer "},
        "unknown-scheme": {"Authorization": "Digest abc"},
    }


def test_every_failure_has_the_same_body(client, pair):
    bodies = []
    for name, headers in failure_headers(pair, client).items():
        response = client.get(PING, headers=headers)
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"].startswith("Basic"), name
        assert response.json["error"]["request_id"] == response.headers["X-Request-Id"]
        bodies.append(_body_without_request_id(response))
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["code"] == "UNAUTHENTICATED"


def test_deleted_key_gets_the_same_401_in_every_form(client, pair, world):
    token_headers = bearer(client, pair.key.api_key, pair.secret)
    reference = _body_without_request_id(client.get(PING))
    service.delete_key(db.session.get(type(pair.key), pair.key.id), world.admin)
    db.session.commit()
    for headers in (basic(pair.key.api_key, pair.secret),
                    key_headers(pair.key.api_key, pair.secret), token_headers):
        response = client.get(PING, headers=headers)
        assert response.status_code == 401
        assert _body_without_request_id(response) == reference


def test_inactive_app_is_named_only_for_right_credentials(client, pair, world):
    token_headers = bearer(client, pair.key.api_key, pair.secret)
    service.set_app_active(world.firm, False, world.admin)
    db.session.commit()
    for headers in (basic(pair.key.api_key, pair.secret),
                    key_headers(pair.key.api_key, pair.secret), token_headers):
        response = client.get(PING, headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "API_APP_INACTIVE"
        assert "Settings and Apps" in response.json["error"]["message"]
    wrong = basic(pair.key.api_key, "x" * 48)
    assert client.get(PING, headers=wrong).json["error"]["code"] == "UNAUTHENTICATED"
    # reactivation: the same key and the same unexpired token work again
    service.set_app_active(world.firm, True, world.admin)
    db.session.commit()
    assert client.get(PING, headers=basic(pair.key.api_key, pair.secret)).status_code == 200
    assert client.get(PING, headers=token_headers).status_code == 200


def test_token_exchange_refuses_bad_credentials_with_the_same_401(client, pair):
    response = client.post("/api/v1/auth/token",
                           json={"api_key": pair.key.api_key, "api_secret": "x" * 48})
    assert response.status_code == 401 and response.json["error"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("body", [None, "[]", '"text"', '{"api_key": 1, "api_secret": 2}'])
def test_token_exchange_with_a_bad_body(client, pair, body):
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code in (400, 415, 422)
    assert "error" in response.json


def test_expired_token(client, pair, app):
    headers = bearer(client, pair.key.api_key, pair.secret)
    app.config["API_TOKEN_TTL_SECONDS"] = -1
    response = client.get(PING, headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "UNAUTHENTICATED"


def test_token_response_shape(client, pair):
    response = client.post("/api/v1/auth/token",
                           json={"api_key": pair.key.api_key, "api_secret": pair.secret})
    assert response.json["token_type"] == "Bearer" and response.json["expires_in"] == 3600


def test_credentials_in_the_url_are_ignored(client, pair):
    response = client.get(
        PING, query_string={"api_key": pair.key.api_key, "api_secret": pair.secret}
    )
    assert response.status_code == 401


def test_portal_login_does_not_authenticate_the_api(client, world, auth):
    auth.login("admin@alpha.example")
    response = client.get(PING)
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers


def test_api_never_sets_a_cookie(client, pair):
    response = client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    assert "Set-Cookie" not in response.headers


def test_request_id_is_echoed_when_sane(client, pair):
    headers = {**basic(pair.key.api_key, pair.secret), "X-Request-Id": "my-trace-12345"}
    assert client.get(PING, headers=headers).headers["X-Request-Id"] == "my-trace-12345"
    headers["X-Request-Id"] = "bad id\twith <html>"
    assert client.get(PING, headers=headers).headers["X-Request-Id"].startswith("req_")


def test_last_used_is_written_at_most_once_a_minute(client, pair):
    from datetime import timedelta

    from portal.public_api.models import ApiKey

    headers = basic(pair.key.api_key, pair.secret)
    client.get(PING, headers=headers)
    first = db.session.get(ApiKey, pair.key.id).last_used_at
    assert first is not None
    client.get(PING, headers=headers)
    assert db.session.get(ApiKey, pair.key.id).last_used_at == first
    key = db.session.get(ApiKey, pair.key.id)
    key.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    client.get(PING, headers=headers)
    assert db.session.get(ApiKey, pair.key.id).last_used_at > first - timedelta(minutes=2)


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404 and response.json["error"]["code"] == "NOT_FOUND"
