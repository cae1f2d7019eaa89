"""A 401 reads the same in status, body and every header, whatever the credentials named: a
made-up key, a real key with a wrong secret, a deleted, rolled or expired key, an inactive
app, a forged token. Also after several failures in a row, when the limit on failed
authentication answers 429 at the same count for each (it once counted made-up keys in an
allowance of their own, so the headers told which keys exist)."""

import hashlib
import re
from datetime import date, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from portal.api import tokens
from portal.extensions import db
from portal.public_api import controls, service
from portal.public_api.models import ApiKey
from tests.api_helpers import basic, key_headers, make_pair

PING = "/api/v1/ping"
TOKEN = "/api/v1/auth/token"
ALLOWANCE = 3
# Compared within a second: they count down to the end of a window that started at the first try.
CLOCK_HEADERS = ("Retry-After", "X-RateLimit-Reset")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_AUTH_FAILURES_PER_IP_AND_KEY": ALLOWANCE}


def _wrong(secret: str) -> str:
    return ("x" if secret[0] != "x" else "y") + secret[1:]


def _key(pair) -> ApiKey:
    return db.session.get(ApiKey, pair.key.id)


def _signed_token(app, payload) -> str:
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=tokens.SALT,
                                        signer_kwargs={"digest_method": hashlib.sha256})
    return serializer.dumps(payload)


def _credentials(mode: str, app, world) -> tuple[str, str]:
    """(api_key, api_secret) of a saved key put in the state `mode` names."""
    pair = make_pair(world.firm, world.admin, name="Named")
    key, secret = pair.key.api_key, pair.secret
    if mode == "wrong-secret":
        return key, _wrong(secret)
    if mode == "other-firms-secret":
        return key, make_pair(world.other_firm, world.other_admin).secret
    if mode.startswith("deleted"):
        service.delete_key(_key(pair), world.admin)
    elif mode.startswith("rolled"):
        controls.roll_key(_key(pair), timedelta(0), world.admin)
    elif mode.startswith("inactive-app"):
        service.set_app_active(world.firm, False, world.admin)
    elif mode.startswith("expired"):
        _key(pair).expires_on = date(2020, 1, 1)
    db.session.commit()
    return key, (secret if mode.endswith("right-secret") else _wrong(secret))


# Credentials a guesser could hold, never the right key and secret together: those are told
# apart on purpose (API_APP_INACTIVE), and only to whoever holds the secret.
MODES = ["wrong-secret", "other-firms-secret", "deleted-right-secret", "deleted-wrong-secret",
         "rolled-right-secret", "rolled-wrong-secret", "inactive-app-wrong-secret",
         "expired-wrong-secret"]


def _send(client, form: str, credentials, ip: str):
    api_key, api_secret = credentials
    environ = {"REMOTE_ADDR": ip}
    if form == "token-exchange":
        return client.post(TOKEN, json={"api_key": api_key, "api_secret": api_secret},
                           environ_base=environ)
    headers = basic(api_key, api_secret) if form == "basic" else key_headers(api_key, api_secret)
    return client.get(PING, headers=headers, environ_base=environ)


def _seen(response) -> tuple:
    """What a caller can compare: status, body and headers, the request id aside."""
    body = dict(response.json["error"])
    assert body.pop("request_id") == response.headers["X-Request-Id"]
    body["message"] = re.sub(r"\d+", "N", body["message"])  # "Retry after N s."
    headers = {name: value for name, value in response.headers.items()
               if name not in ("X-Request-Id", *CLOCK_HEADERS)}
    return response.status_code, body, headers


def _clock(response) -> list[int]:
    return [int(response.headers[name]) for name in CLOCK_HEADERS if name in response.headers]


def _assert_same(seen, reference) -> None:
    for (answer, expected) in zip(seen, reference, strict=True):
        assert _seen(answer) == _seen(expected)
        clock, expected_clock = _clock(answer), _clock(expected)
        assert len(clock) == len(expected_clock)
        assert all(abs(a - b) <= 1 for a, b in zip(clock, expected_clock, strict=True))


@pytest.mark.parametrize("form", ["basic", "headers", "token-exchange"])
@pytest.mark.parametrize("mode", MODES)
def test_a_401_is_the_same_whatever_the_key_was(client, app, world, form, mode):
    credentials = _credentials(mode, app, world)
    made_up = ("Q" * 32, "z" * 48)
    # One after the other, so both windows start (and count down) at about the same time.
    pairs = [(_send(client, form, made_up, "10.0.0.1"), _send(client, form, credentials,
                                                              "10.0.0.2"))
             for _ in range(ALLOWANCE + 2)]
    reference, seen = [p[0] for p in pairs], [p[1] for p in pairs]
    assert [r.status_code for r in reference] == [401] * ALLOWANCE + [429, 429]
    assert "X-RateLimit-Remaining" not in reference[0].headers
    _assert_same(seen, reference)


@pytest.mark.parametrize("mode", ["deleted", "rolled", "wrong-binding", "unknown-key-id",
                                  "tampered", "garbage"])
def test_a_refused_token_is_the_same_whatever_it_named(client, app, world, mode):
    pair = make_pair(world.firm, world.admin, name="Token")
    token = client.post(TOKEN, json={"api_key": pair.key.api_key,
                                     "api_secret": pair.secret}).json["access_token"]
    if mode == "deleted":
        service.delete_key(_key(pair), world.admin)
    elif mode == "rolled":
        controls.roll_key(_key(pair), timedelta(0), world.admin)
    db.session.commit()
    token = {
        "wrong-binding": _signed_token(app, {"k": pair.key.id, "b": "0" * 16}),
        "unknown-key-id": _signed_token(app, {"k": "key_doesnotexist", "b": "0" * 16}),
        "tampered": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "garbage": "not.a.token",
    }.get(mode, token)
    pairs = [(client.get(PING, headers={"Authorization": "Bearer forged"},
                         environ_base={"REMOTE_ADDR": "10.0.0.1"}),
              client.get(PING, headers={"Authorization": f"Bearer {token}"},
                         environ_base={"REMOTE_ADDR": "10.0.0.2"}))
             for _ in range(ALLOWANCE + 2)]
    made_up, seen = [p[0] for p in pairs], [p[1] for p in pairs]
    _assert_same(seen, made_up)
