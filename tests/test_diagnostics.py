"""The request log: every reason code from a real request, explained to the firm's admin."""

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from portal.accounts.models import Firm
from portal.api import tokens
from portal.diagnostics.models import ApiRequestLog
from portal.errors import json_error
from portal.extensions import db
from portal.public_api import service
from portal.public_api.models import ApiKey
from tests.api_helpers import basic, bearer, key_headers, make_pair
from tests.diagnostics_helpers import LOG, PING, hold_traffic, row_with, wrong


@pytest.fixture
def pair(world):
    return make_pair(world.firm, world.admin, name="Software Name")


@dataclass
class Case:
    status: int
    explanation: str


def _deleted(client, app, world, pair):
    service.delete_key(db.session.get(ApiKey, pair.key.id), world.admin)
    db.session.commit()
    return client.get(PING, headers=basic(pair.key.api_key, pair.secret))


def _inactive(client, app, world, pair):
    service.set_app_active(world.firm, False, world.admin)
    db.session.commit()
    return client.get(PING, headers=basic(pair.key.api_key, pair.secret))


def _expired(client, app, world, pair):
    headers = bearer(client, pair.key.api_key, pair.secret)
    app.config["API_TOKEN_TTL_SECONDS"] = -1
    return client.get(PING, headers=headers)


def _rebound(client, app, world, pair):
    """A token signed by us for this key, but bound to another secret (as after a rotation)."""
    token = tokens._serializer().dumps({"k": pair.key.id, "b": "0" * 16})
    return client.get(PING, headers={"Authorization": f"Bearer {token}"})


def _rate_limited(client, app, world, pair):
    app.config["API_RATE_LIMIT_READS"] = 1
    client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    return client.get(PING, headers=basic(pair.key.api_key, pair.secret))


def _plain_http(client, app, world, pair):
    """Credentials over plain HTTP in production, refused before they are checked."""
    environment, app.config["PORTAL_ENV"] = app.config["PORTAL_ENV"], "production"
    try:
        return client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    finally:
        app.config["PORTAL_ENV"] = environment


def _idempotency_key_reused(client, app, world, pair):
    """A 409 that says more than CONFLICT: the code the API chose is the reason."""
    headers = {**basic(pair.key.api_key, pair.secret), "Idempotency-Key": "reused-1"}
    for name in ("First", "Second"):
        response = client.post("/api/v1/clients", headers=headers, json={
            "name": name, "client_initials": "nwt", "address_country_code": "EE"})
    return response


def _server_error(client, app, world, pair):
    def broken():
        raise RuntimeError("boom")

    app.view_functions["api.ping"] = broken
    return client.get(PING, headers=basic(pair.key.api_key, pair.secret))


REQUESTS = {
    "MISSING_CREDENTIALS": lambda client, app, world, pair: client.get(
        PING, headers={"X-API-Key": pair.key.api_key}),
    "MALFORMED_CREDENTIALS": lambda client, app, world, pair: client.get(
        PING, headers=basic(pair.key.api_key, "short")),
    "WRONG_SECRET": lambda client, app, world, pair: client.get(
        PING, headers=key_headers(pair.key.api_key, wrong(pair.secret))),
    "KEY_DELETED": _deleted,
    "APP_INACTIVE": _inactive,
    "TOKEN_EXPIRED": _expired,
    "TOKEN_INVALID": _rebound,
    "RATE_LIMITED": _rate_limited,
    "VALIDATION_ERROR": lambda client, app, world, pair: client.post(
        "/api/v1/clients", json={}, headers=basic(pair.key.api_key, pair.secret)),
    "NOT_FOUND": lambda client, app, world, pair: client.get(
        "/api/v1/no-such-thing", headers=basic(pair.key.api_key, pair.secret)),
    "HTTPS_REQUIRED": _plain_http,
    "IDEMPOTENCY_KEY_REUSED": _idempotency_key_reused,
    "SERVER_ERROR": _server_error,
}

CASES = {
    "MISSING_CREDENTIALS": Case(401, "The request sent key 'Software Name' without its API "
                                     "secret."),
    "MALFORMED_CREDENTIALS": Case(401, "The credentials could not be read"),
    "WRONG_SECRET": Case(401, "The API secret did not match key 'Software Name'. Copy the "
                              "secret again from Settings and Apps."),
    "KEY_DELETED": Case(401, "This key was deleted on {today}: generate a new key and update "
                             "the integration."),
    "APP_INACTIVE": Case(401, "The Public API is deactivated: activate it in Settings and Apps."),
    "TOKEN_EXPIRED": Case(401, "The Bearer token has expired"),
    "TOKEN_INVALID": Case(401, "The Bearer token is not valid"),
    "RATE_LIMITED": Case(429, "Too many requests in a short time."),
    "VALIDATION_ERROR": Case(422, "The request's body or parameters were not valid"),
    "NOT_FOUND": Case(404, "Nothing exists at this address"),
    "HTTPS_REQUIRED": Case(403, "The API key and secret were sent over plain HTTP"),
    "IDEMPOTENCY_KEY_REUSED": Case(409, "This Idempotency-Key was already used with a "
                                        "different request."),
    "SERVER_ERROR": Case(500, "Something went wrong on our side."),
}


@pytest.mark.parametrize("reason", sorted(CASES))
def test_each_reason_is_logged_and_explained_to_the_admin(client, app, auth, world, pair,
                                                          reason):
    response = REQUESTS[reason](client, app, world, pair)
    case = CASES[reason]
    assert response.status_code == case.status, response.text
    request_id = response.json["error"]["request_id"]
    assert request_id == response.headers["X-Request-Id"]

    auth.login("admin@alpha.example")
    row = row_with(client.get(LOG).text, request_id)
    assert row is not None, f"{reason} row missing from the admin's log"
    assert reason in row and str(case.status) in row
    today = db.session.get(ApiKey, pair.key.id).deleted_at
    assert case.explanation.format(today=today and today.strftime("%Y-%m-%d")) in row
    assert "Software Name" in row


@pytest.mark.parametrize("headers, reason", [
    ({}, "MISSING_CREDENTIALS"),
    ({"Authorization": "Basic !!!"}, "MALFORMED_CREDENTIALS"),
    (key_headers("Z" * 32, "z" * 48), "UNKNOWN_KEY"),
    ({"Authorization": "Bearer not.a.token"}, "TOKEN_INVALID"),
])
def test_requests_nobody_can_be_tied_to_stay_out_of_every_firms_log(client, auth, pair,
                                                                     headers, reason):
    response = client.get(PING, headers=headers)
    assert response.status_code == 401
    row = db.session.execute(select(ApiRequestLog)).scalar_one()
    assert (row.reason, row.firm_id, row.key_id) == (reason, None, None)
    assert row.request_id == response.json["error"]["request_id"]
    auth.login("admin@alpha.example")
    assert row_with(client.get(LOG).text, row.request_id) is None


def test_the_per_ip_limit_on_failed_logins_is_logged_without_a_lookup(app, client, pair):
    app.config["API_AUTH_FAILURES_PER_IP_AND_KEY"] = 2
    statuses = [client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret))).status_code
                for _ in range(3)]
    assert statuses == [401, 401, 429]
    rows = db.session.execute(select(ApiRequestLog).order_by(ApiRequestLog.id)).scalars().all()
    assert [(row.reason, row.key_id) for row in rows] == [
        ("WRONG_SECRET", pair.key.id), ("WRONG_SECRET", pair.key.id), ("RATE_LIMITED", None)]


def test_successful_requests_are_counted_not_logged(client, pair):
    for _ in range(3):
        assert client.get(PING, headers=basic(pair.key.api_key, pair.secret)).status_code == 200
    assert db.session.execute(select(ApiRequestLog)).first() is None


def test_a_presented_secret_is_never_stored(client, pair):
    bad = wrong(pair.secret)
    client.get(PING, headers=basic(pair.key.api_key, bad))
    client.get(PING, headers=key_headers(pair.key.api_key, bad))
    client.get(f"/api/v1/clients/{pair.secret}", headers=basic(pair.key.api_key, pair.secret))
    client.post("/api/v1/auth/token", json={"api_key": pair.key.api_key, "api_secret": bad})
    rows = db.session.execute(select(ApiRequestLog)).scalars().all()
    assert len(rows) == 4
    stored = " ".join(str(value) for row in rows for value in vars(row).values())
    for secret in (pair.secret, bad):
        assert secret[:8] not in stored and secret[-8:] not in stored
    assert "/api/v1/clients/[redacted]" in stored


def test_the_log_row_has_what_support_needs(client, pair):
    response = client.get(PING, headers={**key_headers(pair.key.api_key, wrong(pair.secret)),
                                         "User-Agent": "Software Name/2.1"},
                          environ_base={"REMOTE_ADDR": "192.0.2.7"})
    row = db.session.execute(select(ApiRequestLog)).scalar_one()
    assert row.request_id == response.headers["X-Request-Id"]
    assert (row.method, row.path, row.status) == ("GET", PING, 401)
    assert (row.client_ip, row.user_agent) == ("192.0.2.7", "Software Name/2.1")
    assert row.firm_id == pair.key.firm_id and row.key_id == pair.key.id
    assert row.duration_ms >= 0


def test_a_failing_recorder_never_fails_the_request(client, pair, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr("portal.diagnostics.buffer.write", broken)
    failed = client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    assert failed.status_code == 401 and failed.json["error"]["code"] == "UNAUTHENTICATED"
    assert client.get(PING, headers=basic(pair.key.api_key, pair.secret)).status_code == 200
    monkeypatch.setattr("portal.diagnostics.recorder.presented_key", broken)
    assert client.get(PING, headers={"X-API-Key": pair.key.api_key}).status_code == 401
    assert caplog.text.count("Could not record API request") == 3
    monkeypatch.undo()
    client.get(PING, headers=basic(pair.key.api_key, pair.secret))  # the next write catches up
    assert len(db.session.execute(select(ApiRequestLog)).all()) == 1


def test_the_recorder_never_commits_the_requests_own_work(app, client, world, pair):
    """A view's unfinished work is the view's to commit or drop; the recorder writes apart."""
    traffic = hold_traffic(app)

    def half_done():
        db.session.get(Firm, world.firm.id).api_app_active = False
        db.session.flush()
        return json_error(503, "SERVICE_UNAVAILABLE", "Refused.")  # no touch_last_used commit

    app.view_functions["api.ping"] = half_done
    assert client.get(PING, headers=basic(pair.key.api_key, pair.secret)).status_code == 503
    traffic.flush()
    assert db.session.get(Firm, world.firm.id).api_app_active
    assert db.session.execute(select(ApiRequestLog.reason)).scalar_one() == "SERVER_ERROR"


def test_failures_wait_in_memory_and_every_reader_writes_them_first(app, client, auth, pair):
    hold_traffic(app)
    response = client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    assert db.session.execute(select(ApiRequestLog)).first() is None
    auth.login("admin@alpha.example")
    assert row_with(client.get(LOG).text, response.headers["X-Request-Id"]) is not None


@pytest.mark.parametrize("form", ["headers", "basic"])
def test_swapped_key_and_secret_reach_the_keys_firm_log(client, auth, pair, world, form):
    """The secret sent as the key and the key as the secret: the key is looked up (it is in the
    key's format), never the secret; the firm's admin reads what happened in plain words."""
    send = key_headers if form == "headers" else basic
    response = client.get(PING, headers=send(pair.secret, pair.key.api_key))
    assert response.json["error"]["code"] == "MALFORMED_CREDENTIALS"
    assert "Did you swap the key and the secret?" in response.json["error"]["message"]
    row = db.session.execute(select(ApiRequestLog)).scalar_one()
    assert (row.reason, row.key_id, row.firm_id) == ("SWAPPED_CREDENTIALS", pair.key.id,
                                                     world.firm.id)
    auth.login("admin@alpha.example")
    shown = row_with(client.get(LOG).text, row.request_id)
    assert shown is not None and "the other way round" in shown


def test_a_swapped_deleted_key_or_two_secrets_name_no_firm(client, pair, world):
    other = make_pair(world.firm, world.admin, name="Other")
    service.delete_key(db.session.get(ApiKey, pair.key.id), world.admin)
    db.session.commit()
    client.get(PING, headers=key_headers(pair.secret, pair.key.api_key))
    client.get(PING, headers=key_headers(other.secret, other.secret))
    rows = db.session.execute(select(ApiRequestLog)).scalars().all()
    assert [(row.reason, row.firm_id) for row in rows] == [("MALFORMED_CREDENTIALS", None)] * 2
