"""Idempotency-Key under faults, on real gunicorn workers: a worker killed, or PostgreSQL
stopped, in the middle of a create leaves no claim behind (the retry creates, once, at once),
and retries of a key still in progress never hold a worker.

tests/held_create_wsgi.py holds a create after its rows and claim are written, before the
commit, for as long as the test wants.
"""

import http.client
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.accounts.models import Firm
from portal.crm.models import Client, IdempotencyRecord
from portal.extensions import db
from tests.api_helpers import API, make_pair, pair_headers
from tests.conftest import make_user
from tests.gunicorn_helpers import latency_bound, started_gunicorn, timed_get
from tests.postgres_helpers import PrivatePostgres

BODY = {"name": "Held Ltd", "client_initials": "HL", "address_country_code": "EE"}
HOLD = {"X-Test-Hold": "1"}
# How soon after the fault a retry must have created the client.
RECOVERY_SECONDS = 5


def on_postgresql() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def post(server, headers: dict) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("POST", f"{API}/clients", body=json.dumps(BODY),
                           headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, json.loads(response.read()), dict(response.getheaders())
    finally:
        connection.close()


def retry_until_created(server, headers: dict) -> tuple[dict, float]:
    """Retry as a client would (on 409 in progress and 503); the created client and how long
    it took."""
    started = time.monotonic()
    while time.monotonic() - started < 4 * RECOVERY_SECONDS:
        try:
            status, payload, _ = post(server, headers)
        except OSError:
            status, payload = None, None  # a worker still restarting
        if status == 201:
            return payload["data"], time.monotonic() - started
        assert status in (None, 409, 503), (status, payload)
        time.sleep(0.2)
    pytest.fail(f"no 201 after {4 * RECOVERY_SECONDS} s: last {status} {payload}")


def held_gunicorn(request, config: dict, tmp_path: Path):
    hold_file = tmp_path / "hold"
    server = started_gunicorn(request, config, tmp_path, app="tests.held_create_wsgi:app",
                              extra_env={"TEST_HOLD_FILE": str(hold_file)})
    return server, hold_file


def hold_a_create(pool, server, hold_file: Path, headers: dict):
    """Start a create that holds before its commit; its future, and the holding worker's pid."""
    future = pool.submit(post, server, {**headers, **HOLD})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if hold_file.exists() and hold_file.read_text():
            return future, int(hold_file.read_text())
        assert not future.done(), future.result()
        time.sleep(0.02)
    pytest.fail("the create never reached its hold")


def created_rows() -> tuple[int, int]:
    db.session.rollback()
    clients = select(func.count()).select_from(Client).where(Client.name == BODY["name"])
    records = select(func.count()).select_from(IdempotencyRecord)
    return db.session.execute(clients).scalar_one(), db.session.execute(records).scalar_one()


def test_a_worker_killed_mid_create_leaves_the_key_free(request, app, app_config, world,
                                                        tmp_path):
    server, hold_file = held_gunicorn(request, app_config, tmp_path)
    headers = {**pair_headers(make_pair(world.firm, world.admin)), "Idempotency-Key": "killed"}
    with ThreadPoolExecutor(max_workers=1) as pool:
        held, pid = hold_a_create(pool, server, hold_file, headers)
        os.kill(pid, signal.SIGKILL)
        hold_file.unlink()
        with pytest.raises(OSError):  # the answer died with the worker
            held.result(timeout=30)
    created, took = retry_until_created(server, headers)
    assert took < RECOVERY_SECONDS
    status, replayed, replay_headers = post(server, headers)
    assert status == 201 and replay_headers["Idempotent-Replayed"] == "true"
    assert replayed["data"]["id"] == created["id"]
    assert created_rows() == (1, 1)


def test_postgresql_stopped_mid_create_leaves_the_key_free(request, app_config, tmp_path):
    if not on_postgresql():
        pytest.skip("PostgreSQL only (make test-pg): stops and starts a private server")
    postgres = PrivatePostgres()
    request.addfinalizer(postgres.remove)
    postgres.start()
    config = {**app_config, "SQLALCHEMY_DATABASE_URI": postgres.url}
    private = create_app(config)
    with private.app_context():
        db.create_all()
        firm = Firm(name="Alpha Accounting")
        db.session.add(firm)
        db.session.flush()
        pair = make_pair(firm, make_user(firm, "admin@alpha.example", "admin"))
        headers = {**pair_headers(pair), "Idempotency-Key": "outage"}
        db.session.remove()
        db.engine.dispose()  # this process holds no connection while the server is down
        server, hold_file = held_gunicorn(request, config, tmp_path)
        with ThreadPoolExecutor(max_workers=1) as pool:
            held, _ = hold_a_create(pool, server, hold_file, headers)
            postgres.stop()
            hold_file.unlink()
            assert held.result(timeout=30)[0] == 503  # the commit failed
        postgres.start()
        created, took = retry_until_created(server, headers)
        assert took < RECOVERY_SECONDS
        assert post(server, headers)[1]["data"]["id"] == created["id"]
        try:
            assert created_rows() == (1, 1)
        finally:
            db.session.remove()
            db.engine.dispose()


def test_retries_of_a_key_in_progress_do_not_hold_workers(request, app, app_config, world,
                                                          tmp_path):
    """8 retries while the first create holds one of the two workers: each answers 409 at
    once, and a ping sent with them answers within a second (tests/gunicorn_helpers.py:
    latency_bound)."""
    if not on_postgresql():
        pytest.skip("SQLite has one writer: a retry waits for it, as every write does")
    server, hold_file = held_gunicorn(request, app_config, tmp_path)
    headers = {**pair_headers(make_pair(world.firm, world.admin)), "Idempotency-Key": "busy"}
    ping_url = server.base_url + f"{API}/ping"
    # The ping may wait for the 8 retries' answers, never for the held create. The warm-up
    # also stamps the key's "last used" for the minute.
    bound = latency_bound(ping_url, headers, queued=8)
    with ThreadPoolExecutor(max_workers=10) as pool:
        held, _ = hold_a_create(pool, server, hold_file, headers)
        retries = [pool.submit(post, server, headers) for _ in range(8)]
        ping = pool.submit(timed_get, ping_url, headers)
        assert ping.result(timeout=30)[0] == 200
        assert ping.result()[1] < bound, (ping.result(), bound)
        for status, payload, answer_headers in (retry.result(timeout=30) for retry in retries):
            assert status == 409 and payload["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
            assert answer_headers["Retry-After"] == "1"
        hold_file.unlink()
        status, first, _ = held.result(timeout=30)
    assert status == 201
    assert post(server, headers)[1]["data"]["id"] == first["data"]["id"]
    assert created_rows() == (1, 1)


def test_a_claim_committed_without_a_response_is_taken_over(client, world):
    """A claim row committed on its own (as an earlier version did) is no running request."""
    headers = {**pair_headers(make_pair(world.firm, world.admin)), "Idempotency-Key": "stuck"}
    db.session.add(IdempotencyRecord(firm_id=world.firm.id, idempotency_key="stuck",
                                     request_fingerprint="0" * 64))
    db.session.commit()
    created = client.post(f"{API}/clients", json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    assert client.post(f"{API}/clients", json=BODY, headers=headers).json == created.json
    assert created_rows() == (1, 1)
