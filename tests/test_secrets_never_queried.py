"""A secret, wherever a request puts it (in the key's place, swapped, run together with the key,
as a token), is never bound as a SQL parameter nor written to SQLAlchemy's statement log: only
values in the API key's exact format are ever looked up."""

import base64
import logging

import pytest
from sqlalchemy import event

from portal.extensions import db
from tests.api_helpers import basic, key_headers, make_pair

PING = "/api/v1/ping"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _requests(key: str, secret: str) -> dict:
    """Every place a caller could send `secret`: {name: (method, path, kwargs)}."""
    run_together = {"Authorization": "Basic " + _b64(key + secret)}
    return {
        "headers-swapped": ("GET", PING, {"headers": key_headers(secret, key)}),
        "secret-as-key-only": ("GET", PING, {"headers": {"X-API-Key": secret}}),
        "secret-as-both": ("GET", PING, {"headers": key_headers(secret, secret)}),
        "prefix-of-secret-as-key": ("GET", PING, {"headers": key_headers(secret[:40], secret)}),
        "basic-swapped": ("GET", PING, {"headers": basic(secret, key)}),
        "basic-secret-only": ("GET", PING, {"headers": basic(secret, "")}),
        "basic-run-together": ("GET", PING, {"headers": run_together}),
        "basic-no-colon": ("GET", PING, {"headers": {
            "Authorization": "Basic " + _b64(secret)}}),
        "bearer-secret": ("GET", PING, {"headers": {"Authorization": f"Bearer {secret}"}}),
        "token-swapped": ("POST", "/api/v1/auth/token",
                          {"json": {"api_key": secret, "api_secret": key}}),
        "right-credentials": ("GET", PING, {"headers": basic(key, secret)}),
        "secret-in-path": ("GET", f"/api/v1/clients/{secret}", {"headers": basic(key, secret)}),
    }


@pytest.fixture
def bound_parameters(app):
    """Every parameter SQLAlchemy binds while the test runs, as text."""
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(repr(parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    yield seen
    event.remove(db.engine, "before_cursor_execute", capture)


@pytest.mark.parametrize("placement", list(_requests("k", "s")))
def test_a_secret_is_never_bound_or_logged(client, world, bound_parameters, caplog, placement):
    pair = make_pair(world.firm, world.admin)
    method, path, kwargs = _requests(pair.key.api_key, pair.secret)[placement]
    bound_parameters.clear()
    with caplog.at_level(logging.DEBUG, logger="sqlalchemy.engine"):
        response = client.open(path, method=method, **kwargs)
    assert response.status_code < 500
    assert bound_parameters, "the request was expected to query (and be recorded)"
    seen = " ".join(bound_parameters) + caplog.text
    for part in (pair.secret, pair.secret[:16], pair.secret[-16:]):
        assert part not in seen
