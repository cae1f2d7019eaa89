"""Per-key rate limits, X-RateLimit headers, and the per-IP limit on failed authentication."""

from datetime import date

import pytest

from portal.extensions import db
from portal.public_api import service
from portal.public_api.models import ApiKey
from tests.api_helpers import basic, make_pair

PING = "/api/v1/ping"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_RATE_LIMIT_READS": 3, "API_RATE_LIMIT_WRITES": 2,
            "API_AUTH_FAILURES_PER_IP_AND_KEY": 4}


@pytest.fixture
def headers(world):
    pair = make_pair(world.firm, world.admin)
    return basic(pair.key.api_key, pair.secret)


def test_every_response_carries_rate_limit_headers(client, headers):
    response = client.get(PING, headers=headers)
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "2"
    assert int(response.headers["X-RateLimit-Reset"]) > 0


def test_reads_over_the_limit_get_429_with_retry_after(client, headers):
    statuses = [client.get(PING, headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(PING, headers=headers)
    assert response.json["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_writes_have_their_own_smaller_allowance(client, headers):
    body = {"name": "Acme", "client_initials": "AC", "address_country_code": "EE"}
    statuses = [client.post("/api/v1/clients", json=body, headers=headers).status_code
                for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert client.get(PING, headers=headers).status_code == 200


def test_keys_are_limited_separately(client, world, headers):
    other = make_pair(world.firm, world.admin, name="Second")
    for _ in range(4):
        client.get(PING, headers=headers)
    assert client.get(PING, headers=basic(other.key.api_key, other.secret)).status_code == 200


def test_failed_authentication_is_limited_per_ip_and_key_even_for_the_right_secret(client,
                                                                                  world):
    pair = make_pair(world.firm, world.admin, name="Guessed")
    wrong = basic(pair.key.api_key, "z" * 48)
    statuses = [client.get(PING, headers=wrong).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    # guessing stops paying: even the right secret is refused until the window passes
    right = basic(pair.key.api_key, pair.secret)
    assert client.get(PING, headers=right).status_code == 429
    other_ip = client.get(PING, headers=right, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 200


def test_one_keys_failures_do_not_lock_out_other_keys_from_the_same_ip(client, world,
                                                                       headers):
    """An integration platform sends many firms' requests from one address: a broken setup
    (or someone guessing) holds back only the key it presents."""
    unknown = {"X-API-Key": "Z" * 32, "X-API-Secret": "z" * 48}
    assert [client.get(PING, headers=unknown).status_code for _ in range(5)][-1] == 429
    token = {"Authorization": "Bearer not-a-token"}
    assert [client.get(PING, headers=token).status_code for _ in range(5)][-1] == 429
    assert client.get(PING, headers=headers).status_code == 200
    other_firm = make_pair(world.other_firm, world.other_admin, name="Elsewhere")
    assert client.get(PING, headers=basic(other_firm.key.api_key,
                                          other_firm.secret)).status_code == 200


def test_right_credentials_refused_for_another_reason_are_not_counted_as_guesses(
        client, app, world):
    """A key used while its app was deactivated (or past its expiry date, or with an expired
    token) works again at once when that is put right: only wrong credentials count."""
    pair = make_pair(world.firm, world.admin, name="Paused")
    headers = basic(pair.key.api_key, pair.secret)
    token = client.post("/api/v1/auth/token", json={"api_key": pair.key.api_key,
                                                    "api_secret": pair.secret}).json
    service.set_app_active(world.firm, False, world.admin)
    db.session.commit()
    answers = [client.get(PING, headers=headers).json["error"]["code"] for _ in range(6)]
    assert answers == ["API_APP_INACTIVE"] * 6
    service.set_app_active(world.firm, True, world.admin)
    db.session.get(ApiKey, pair.key.id).expires_on = date(2020, 1, 1)
    db.session.commit()
    assert [client.get(PING, headers=headers).status_code for _ in range(6)] == [401] * 6
    app.config["API_TOKEN_TTL_SECONDS"] = -1
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert [client.get(PING, headers=bearer).status_code for _ in range(6)] == [401] * 6
    app.config["API_TOKEN_TTL_SECONDS"] = 3600
    db.session.get(ApiKey, pair.key.id).expires_on = None
    db.session.commit()
    assert client.get(PING, headers=headers).status_code == 200
    assert client.get(PING, headers=bearer).status_code == 200


def test_unreadable_credentials_share_one_allowance_per_ip(client, headers):
    """Values that are no API key (a secret in the key's place, a typo) cannot name an
    allowance of their own; a saved key used from the same address still works."""
    statuses = [client.get(PING, headers={"X-API-Key": f"{n:048d}", "X-API-Secret": "z" * 48})
                .status_code for n in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    assert client.get(PING, headers=headers).status_code == 200


def test_no_secret_reaches_the_limiters_storage(app, client, world):
    """A secret sent where the key belongs (headers swapped, or key and secret run together)
    is never part of a rate-limit counter's name: only a value in the API key's format is."""
    from portal.extensions import limiter

    pair = make_pair(world.firm, world.admin, name="Swapped")
    client.get(PING, headers={"X-API-Key": pair.secret, "X-API-Secret": pair.key.api_key})
    client.get(PING, headers=basic(pair.key.api_key + pair.secret, ""))
    client.get(PING, headers=basic(pair.key.api_key, "wrong" * 10))
    names = " ".join(str(name) for name in limiter.storage.storage)
    assert "api-auth-failure" in names
    assert pair.secret not in names and pair.secret[:16] not in names
