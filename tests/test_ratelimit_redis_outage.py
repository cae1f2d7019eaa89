"""Redis stopped and started again during requests: the API and the portal login are served
(never a 500), limits are counted in process memory meanwhile (fail open), /readyz says so, and
one line is logged per outage."""

import logging
import time

import pytest
import redis

from portal import limiter_fallback
from portal.extensions import limiter
from tests.api_helpers import basic, make_pair
from tests.test_ratelimit_redis import RedisServer, pytestmark  # noqa: F401  (skip without it)


@pytest.fixture
def outage_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()
    # Flask-Limiter keeps its "storage is down" flag on the module-level extension, which
    # outlives this test's app: later tests must start with their own storage in use.
    limiter._storage_dead = False


@pytest.fixture
def app_config(app_config, outage_server, monkeypatch):
    monkeypatch.setattr(limiter_fallback, "RECHECK_SECONDS", 0.2)
    return {**app_config, "RATELIMIT_STORAGE_URI": outage_server.url,
            "API_RATE_LIMIT_READS": 4}


def test_redis_down_serves_counts_in_memory_and_comes_back(client, outage_server, world,
                                                          caplog):
    """Fail open: while Redis is down every API call and the portal login are answered (never
    500), limits are counted in process memory, /readyz says so, and one line is logged."""
    store = redis.Redis.from_url(outage_server.url)
    pair = make_pair(world.firm, world.admin, name="Outage")
    headers = basic(pair.key.api_key, pair.secret)
    assert client.get("/api/v1/ping", headers=headers).status_code == 200
    assert store.keys("*api-key*")
    outage_server.stop()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        statuses = [client.get("/api/v1/ping", headers=headers).status_code
                    for _ in range(5)]
        token = client.post("/api/v1/auth/token", json={"api_key": pair.key.api_key,
                                                        "api_secret": pair.secret})
        unknown = client.get("/api/v1/ping", headers=basic("Q" * 32, "z" * 48))
        wrong_login = client.post("/login", data={"email": "admin@alpha.example",
                                                  "password": "wrong password"})
        login = client.post("/login", data={"email": "admin@alpha.example",
                                            "password": "correct horse battery"})
        ready = client.get("/readyz")
    # A fresh count in memory: 4 reads, then 429 (per key, per process).
    assert statuses == [200, 200, 200, 200, 429]
    assert (token.status_code, unknown.status_code) == (200, 401)
    assert wrong_login.status_code < 500 and login.status_code == 302
    assert ready.status_code == 200
    assert ready.json == {"status": "degraded", "rate_limit_storage": "unreachable"}
    assert not [r for r in caplog.records if r.exc_info]
    api_lines = [r for r in caplog.records if "counting in this process's memory" in
                 r.getMessage()]
    assert len(api_lines) == 1
    outage_server.start()
    time.sleep(0.3)
    other = make_pair(world.firm, world.admin, name="After")
    assert client.get("/api/v1/ping",
                      headers=basic(other.key.api_key, other.secret)).status_code == 200
    assert any(other.key.id in key.decode() for key in store.keys("*api-key*"))
    assert client.get("/readyz").json == {"status": "ready"}
    store.close()
