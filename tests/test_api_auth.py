"""The 401 matrix: every failure mode x every auth form, and the one distinguishable case."""

import base64
import hashlib

import pytest
from itsdangerous import URLSafeTimedSerializer

from portal.api import tokens
from portal.extensions import db
from portal.public_api import service
from portal.public_api.models import ApiKey
from tests.api_helpers import NO_RATE_LIMITS, basic, bearer, key_headers, make_pair

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
    """Every well-formed credential failure, in every form: nothing sent, an unknown key, a
    wrong secret (format problems get hints instead: test_format_problems_get_hints)."""
    wrong = ("x" if pair.secret[0] != "x" else "y") + pair.secret[1:]
    unknown = "Z" * 32
    return {
        "missing": {},
        "basic-unknown-key": basic(unknown, pair.secret),
        "basic-wrong-secret": basic(pair.key.api_key, wrong),
        "headers-unknown-key": key_headers(unknown, pair.secret),
        "headers-wrong-secret": key_headers(pair.key.api_key, wrong),
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


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(("headers", "hint"), [
    (key_headers("k" * 48, "s" * 32), "X-API-Key holds 48 characters; an API key has 32. Did "
                                      "you swap the key and the secret?"),
    (key_headers("k" * 31, "s" * 48), "X-API-Key holds 31 characters; an API key has 32."),
    (key_headers("k" * 32, "s" * 47), "X-API-Secret holds 47 characters; an API secret has 48."),
    ({"X-API-Key": "k" * 32}, "X-API-Secret is missing"),
    ({"X-API-Secret": "s" * 48}, "X-API-Key is missing"),
    (key_headers(" " + "k" * 32, "s" * 48), "X-API-Key has spaces or quotes around it"),
    (key_headers('"' + "k" * 32 + '"', "s" * 48), "X-API-Key has spaces or quotes around it"),
    (key_headers("k" * 32, "'" + "s" * 48 + "'"), "X-API-Secret has spaces or quotes"),
    (key_headers("k" * 31 + "-", "s" * 48), "X-API-Key holds characters other than letters"),
    (basic("k" * 32, "s" * 12), "The Basic password (the API secret) holds 12 characters"),
    (basic("k" * 32, ""), "The Basic password (the API secret) is missing"),
    ({"Authorization": "Basic " + _b64("k" * 32)}, "The Basic credentials hold no colon"),
    ({"Authorization": "Basic @@@@"}, "The Basic credentials are not base64"),
    ({"Authorization": "Bearer "}, "The Bearer token is empty"),
    ({"Authorization": "Digest x"}, "Authorization must be Basic"),
])
def test_format_problems_get_hints(client, headers, hint):
    """Told from what was sent alone (no look-up), so a hint names no key that exists."""
    reference = client.get(PING)
    response = client.get(PING, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "MALFORMED_CREDENTIALS"
    assert hint in response.json["error"]["message"]
    assert _headers_without_length(response) == _headers_without_length(reference)


def _headers_without_length(response) -> dict:
    return {name: value for name, value in response.headers.items()
            if name not in ("X-Request-Id", "Content-Length")}


def test_the_token_exchange_names_its_body_fields_in_hints(client):
    response = client.post("/api/v1/auth/token",
                           json={"api_key": "s" * 48, "api_secret": "k" * 32})
    assert response.json["error"]["code"] == "MALFORMED_CREDENTIALS"
    assert response.json["error"]["message"] == (
        "api_key holds 48 characters; an API key has 32. Did you swap the key and the secret?")


def test_deleted_key_gets_the_same_401_in_every_form(client, pair, world):
    token_headers = bearer(client, pair.key.api_key, pair.secret)
    reference = _body_without_request_id(client.get(PING))
    service.delete_key(db.session.get(type(pair.key), pair.key.id), world.admin)
    db.session.commit()
    for headers in (basic(pair.key.api_key, pair.secret),
                    key_headers(pair.key.api_key, pair.secret)):
        response = client.get(PING, headers=headers)
        assert response.status_code == 401
        assert _body_without_request_id(response) == reference
    # A token we signed may say it no longer works: it names no key its holder did not know.
    assert client.get(PING, headers=token_headers).json["error"]["code"] == "TOKEN_INVALID"


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
    assert response.status_code == 401 and response.json["error"]["code"] == "TOKEN_EXPIRED"
    assert "ask POST /api/v1/auth/token for a new one" in response.json["error"]["message"]


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


# --- the full matrix: every failure mode x every auth form ----------------------------------


@pytest.fixture
def app_config(app_config):
    # The matrix fails authentication dozens of times from one IP within a minute.
    return {**app_config, **NO_RATE_LIMITS}


def _raw_without_request_id(response) -> bytes:
    request_id = response.headers["X-Request-Id"].encode()
    assert request_id in response.get_data()
    return response.get_data().replace(request_id, b"REQUEST_ID")


def _forged_token(app, payload, secret_key="another-secret-key") -> str:  # noqa: S107
    """A token signed like ours but with another key (or a payload we never issued)."""
    serializer = URLSafeTimedSerializer(secret_key, salt=tokens.SALT,
                                        signer_kwargs={"digest_method": hashlib.sha256})
    return serializer.dumps(payload)


def matrix(client, app, pair, world):
    """{(form, failure mode): headers} for every form and every way credentials can fail."""
    wrong = ("x" if pair.secret[0] != "x" else "y") + pair.secret[1:]
    unknown = "Q" * 32
    other = make_pair(world.other_firm, world.other_admin, name="Other firm")
    deleted = make_pair(world.firm, world.admin, name="To delete")
    deleted_token = bearer(client, deleted.key.api_key, deleted.secret)
    service.delete_key(db.session.get(ApiKey, deleted.key.id), world.admin)
    db.session.commit()
    good_token = bearer(client, pair.key.api_key, pair.secret)["Authorization"].split()[1]
    tampered = good_token[:-2] + ("AA" if not good_token.endswith("AA") else "BB")
    key_id = pair.key.id
    return {
        # HTTP Basic
        ("basic", "missing"): {"Authorization": "Basic"},
        ("basic", "empty"): {"Authorization": "Basic "},
        ("basic", "only-a-colon"): basic("", ""),
        ("basic", "malformed-base64"): {"Authorization": "Basic @@@@"},
        ("basic", "not-utf8"): {"Authorization": "Basic " + base64.b64encode(
            b"\xff\xfe:\xff").decode()},
        ("basic", "no-colon"): {"Authorization": "Basic " + base64.b64encode(
            pair.key.api_key.encode()).decode()},
        ("basic", "malformed-key"): basic("short", pair.secret),
        ("basic", "malformed-secret"): basic(pair.key.api_key, "short"),
        ("basic", "non-ascii-key"): basic("é" * 32, pair.secret),
        ("basic", "unknown-key"): basic(unknown, pair.secret),
        ("basic", "wrong-secret"): basic(pair.key.api_key, wrong),
        ("basic", "other-firms-secret"): basic(pair.key.api_key, other.secret),
        ("basic", "deleted-key"): basic(deleted.key.api_key, deleted.secret),
        ("basic", "swapped"): basic(pair.secret, pair.key.api_key),
        # X-API-Key / X-API-Secret
        ("headers", "missing-both"): {},
        ("headers", "only-key"): {"X-API-Key": pair.key.api_key},
        ("headers", "only-secret"): {"X-API-Secret": pair.secret},
        ("headers", "empty"): key_headers("", ""),
        ("headers", "malformed-key"): key_headers("not a key!", pair.secret),
        ("headers", "malformed-secret"): key_headers(pair.key.api_key, "x" * 49),
        ("headers", "unknown-key"): key_headers(unknown, pair.secret),
        ("headers", "wrong-secret"): key_headers(pair.key.api_key, wrong),
        ("headers", "other-firms-secret"): key_headers(pair.key.api_key, other.secret),
        ("headers", "deleted-key"): key_headers(deleted.key.api_key, deleted.secret),
        # Bearer
        ("bearer", "missing"): {"Authorization": "Bearer"},
        ("bearer", "empty"): {"Authorization": "Bearer    "},
        ("bearer", "garbage"): {"Authorization": "Bearer not.a.token"},
        ("bearer", "tampered"): {"Authorization": f"Bearer {tampered}"},
        ("bearer", "other-signing-key"): {"Authorization": "Bearer " + _forged_token(
            app, {"k": key_id, "b": "0" * 16})},
        ("bearer", "wrong-binding"): {"Authorization": "Bearer " + _forged_token(
            app, {"k": key_id, "b": "0" * 16}, app.config["SECRET_KEY"])},
        ("bearer", "unknown-key-id"): {"Authorization": "Bearer " + _forged_token(
            app, {"k": "key_doesnotexist", "b": "0" * 16}, app.config["SECRET_KEY"])},
        ("bearer", "not-a-dict"): {"Authorization": "Bearer " + _forged_token(
            app, ["k", key_id], app.config["SECRET_KEY"])},
        ("bearer", "api-secret-as-token"): {"Authorization": f"Bearer {pair.secret}"},
        ("bearer", "deleted-key"): deleted_token,
        # other schemes and mixtures
        ("other", "digest"): {"Authorization": "Digest username=x"},
        ("other", "token-scheme"): {"Authorization": f"Token {good_token}"},
        ("other", "bad-authorization-beats-good-headers"): {
            "Authorization": "Basic @@@@", **key_headers(pair.key.api_key, pair.secret)},
    }


# Well-formed credentials that fail: identical to sending none. Tokens we can judge say so
# (TOKEN_INVALID); any other mode is a format problem with a hint (MALFORMED_CREDENTIALS).
WELL_FORMED = {"unknown-key", "wrong-secret", "other-firms-secret", "deleted-key", "missing-both"}


def _expected_code(form: str, mode: str) -> str:
    if mode in WELL_FORMED and form != "bearer":
        return "UNAUTHENTICATED"
    if form == "bearer" and mode not in ("missing", "empty"):
        return "TOKEN_INVALID"
    return "MALFORMED_CREDENTIALS"


def test_every_failure_in_every_form_is_the_same_401(client, app, pair, world):
    """The same answer within each group, the same headers in all of them."""
    cases = matrix(client, app, pair, world)
    reference = client.get(PING)
    by_code = {"UNAUTHENTICATED": _raw_without_request_id(reference)}
    for (form, mode), headers in cases.items():
        response = client.get(PING, headers=headers)
        code = _expected_code(form, mode)
        assert response.status_code == 401, (form, mode, response.text)
        assert response.json["error"]["code"] == code, (form, mode)
        if code != "MALFORMED_CREDENTIALS":  # its message is the hint
            expected = by_code.setdefault(code, _raw_without_request_id(response))
            assert _raw_without_request_id(response) == expected, (form, mode)
        assert _headers_without_length(response) == _headers_without_length(reference)
        assert "Set-Cookie" not in response.headers
    assert reference.json["error"]["code"] == "UNAUTHENTICATED"
    assert set(reference.json["error"]) == {"code", "message", "request_id", "doc_url"}


def test_the_matrix_holds_on_every_endpoint(client, app, pair, world):
    """A sample of failure modes on each authenticated operation, GET and POST alike: each
    answers there as it answers on ping."""
    cases = matrix(client, app, pair, world)
    sample = [("basic", "wrong-secret"), ("headers", "unknown-key"), ("bearer", "tampered"),
              ("basic", "deleted-key"), ("headers", "missing-both"), ("basic", "swapped")]
    expected = {case: _raw_without_request_id(client.get(PING, headers=cases[case]))
                for case in sample}
    for method, path in [("GET", "/clients"), ("GET", "/clients/cli_x"), ("POST", "/clients"),
                         ("GET", "/contacts"), ("GET", "/contacts/con_x"), ("POST", "/contacts"),
                         ("GET", "/members"), ("GET", "/client-groups"),
                         ("GET", "/client-fields")]:
        for case in sample:
            response = client.open(f"/api/v1{path}", method=method, headers=cases[case],
                                   json={"name": "x"} if method == "POST" else None)
            assert response.status_code == 401, (path, case)
            assert _raw_without_request_id(response) == expected[case], (path, case)


def test_token_exchange_failures_are_the_same_401(client, app, pair, world):
    reference = _raw_without_request_id(client.get(PING))
    wrong = ("x" if pair.secret[0] != "x" else "y") + pair.secret[1:]
    deleted = make_pair(world.firm, world.admin, name="Gone")
    service.delete_key(db.session.get(ApiKey, deleted.key.id), world.admin)
    db.session.commit()
    for api_key, api_secret in [("Q" * 32, pair.secret), (pair.key.api_key, wrong),
                                (deleted.key.api_key, deleted.secret)]:
        response = client.post("/api/v1/auth/token",
                               json={"api_key": api_key, "api_secret": api_secret})
        assert response.status_code == 401, (api_key, response.text)
        assert _raw_without_request_id(response) == reference
    for api_key, api_secret in [("short", pair.secret), (pair.key.api_key, "short")]:
        response = client.post("/api/v1/auth/token",
                               json={"api_key": api_key, "api_secret": api_secret})
        assert response.json["error"]["code"] == "MALFORMED_CREDENTIALS"


def test_inactive_app_is_named_only_when_key_and_secret_are_right(client, app, pair, world):
    wrong = ("x" if pair.secret[0] != "x" else "y") + pair.secret[1:]
    token = bearer(client, pair.key.api_key, pair.secret)
    service.set_app_active(world.firm, False, world.admin)
    db.session.commit()
    inactive = [basic(pair.key.api_key, pair.secret),
                key_headers(pair.key.api_key, pair.secret), token]
    for headers in inactive:
        assert client.get(PING, headers=headers).json["error"]["code"] == "API_APP_INACTIVE"
    reference = _raw_without_request_id(client.get(PING))
    for headers in [basic(pair.key.api_key, wrong), key_headers(pair.key.api_key, wrong),
                    basic("Q" * 32, pair.secret)]:
        response = client.get(PING, headers=headers)
        assert response.status_code == 401
        assert _raw_without_request_id(response) == reference
    forged = client.get(PING, headers={"Authorization": "Bearer x.y"})
    assert forged.json["error"]["code"] == "TOKEN_INVALID"
    response = client.post("/api/v1/auth/token",
                           json={"api_key": pair.key.api_key, "api_secret": wrong})
    assert _raw_without_request_id(response) == reference


def test_a_token_does_not_outlive_its_expiry_after_reactivation(client, app, pair, world):
    token = bearer(client, pair.key.api_key, pair.secret)
    service.set_app_active(world.firm, False, world.admin)
    db.session.commit()
    service.set_app_active(world.firm, True, world.admin)
    db.session.commit()
    assert client.get(PING, headers=token).status_code == 200
    app.config["API_TOKEN_TTL_SECONDS"] = -1  # the token is now past its lifetime
    response = client.get(PING, headers=token)
    assert response.status_code == 401 and response.json["error"]["code"] == "TOKEN_EXPIRED"


@pytest.mark.parametrize("params", [
    {"api_key": "K", "api_secret": "S"}, {"access_token": "T"}, {"token": "T"},
    {"key": "K", "secret": "S"},
])
def test_no_form_of_credentials_in_the_url_is_read(client, pair, params):
    token = bearer(client, pair.key.api_key, pair.secret)["Authorization"].split()[1]
    values = {"K": pair.key.api_key, "S": pair.secret, "T": token}
    query = {name: values[value] for name, value in params.items()}
    assert client.get(PING, query_string=query).status_code == 401
    assert client.get("/api/v1/clients", query_string=query).status_code == 401


def test_failed_authentication_does_not_touch_last_used(client, pair):
    wrong = ("x" if pair.secret[0] != "x" else "y") + pair.secret[1:]
    client.get(PING, headers=basic(pair.key.api_key, wrong))
    assert db.session.get(ApiKey, pair.key.id).last_used_at is None


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", "/api/v1/ping", {}, 200),
    ("GET", "/api/v1/ping", {"auth": False}, 401),
    ("GET", "/api/v1/clients", {"query_string": {"limit": "0"}}, 400),
    ("GET", "/api/v1/clients/cli_x", {}, 404),
    ("DELETE", "/api/v1/clients", {}, 405),
    ("POST", "/api/v1/clients", {"data": "x", "content_type": "text/plain"}, 415),
    ("POST", "/api/v1/clients", {"json": {}}, 422),
    ("POST", "/api/v1/clients", {"data": b"x" * (1024 * 1024 + 1),
                                 "content_type": "application/json"}, 413),
    ("GET", "/api/v1/openapi.json", {"auth": False}, 200),
    ("POST", "/api/v1/auth/token", {"auth": False, "json": {}}, 422),
])
def test_every_response_carries_a_request_id(client, pair, method, path, kwargs, status):
    headers = {} if kwargs.pop("auth", True) is False else basic(pair.key.api_key, pair.secret)
    response = client.open(path, method=method, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["X-Request-Id"].startswith("req_")
    if status >= 400:
        assert response.json["error"]["request_id"] == response.headers["X-Request-Id"]
    if status == 405:
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_405_on_a_single_object_names_its_methods(client, pair):
    response = client.post("/api/v1/clients/cli_x", headers=basic(pair.key.api_key, pair.secret))
    assert response.status_code == 405
    assert response.json["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" not in response.headers["Allow"] and "GET" in response.headers["Allow"]


def test_recording_last_use_never_commits_a_refused_requests_work(client, pair, app):
    """A view that added a row and then answered 4xx must not see it committed afterwards."""
    from flask import abort
    from sqlalchemy import func, select

    from portal.crm.models import ClientGroup

    def refuse():
        db.session.add(ClientGroup(firm_id=pair.key.firm_id, name="Should not exist"))
        db.session.flush()
        abort(409)

    # An "api." endpoint runs the API blueprint's hooks, as a real API view would.
    app.add_url_rule("/api/v1/test-refuse", endpoint="api.test_refuse", view_func=refuse)
    response = client.get("/api/v1/test-refuse", headers=basic(pair.key.api_key, pair.secret))
    assert response.status_code == 409
    assert db.session.get(type(pair.key), pair.key.id).last_used_at is not None
    assert db.session.execute(select(func.count(ClientGroup.id))).scalar() == 0
