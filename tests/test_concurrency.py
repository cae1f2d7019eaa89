"""Revocation under concurrency: a key deleted while 20 threads use it on a live threaded server,
and an app deactivated while two gunicorn worker processes serve it.

Nothing here waits for a time to pass: every request records when it started, and the
assertions are causal (a request that started after the commit saw it). The 50 parallel
creates with one Idempotency-Key are in test_api_create.py.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from portal.extensions import db
from portal.public_api import service
from tests.api_helpers import NO_RATE_LIMITS, live_server, make_pair, pair_headers
from tests.gunicorn_helpers import GUNICORN_START_SECONDS, get, started_gunicorn

PING = "/api/v1/ping"
THREADS = 20
MAX_REQUESTS_PER_THREAD = 400


# --- a key deleted while 20 threads use it ----------------------------------------------------


def test_a_key_deleted_while_20_threads_use_it(app, app_config, world):
    """Every response is 200 or 401; a request that started after the delete was committed is
    401; no thread sees a 200 after its first 401."""
    pair = make_pair(world.firm, world.admin)
    headers = pair_headers(pair)
    # No traffic recorder: its buffered counts would be written at exit, after the database
    # is gone; the gunicorn test below keeps it on.
    config = {**app_config, **NO_RATE_LIMITS, "DIAGNOSTICS_ENABLED": False}
    results: list[list[tuple[float, int, bytes]]] = [[] for _ in range(THREADS)]
    used = threading.Barrier(THREADS + 1)
    deleted_at: list[float] = []

    with live_server(config) as base_url:

        def worker(index: int) -> None:
            seen = results[index]
            for count in range(MAX_REQUESTS_PER_THREAD):
                started = time.monotonic()
                status, body = get(base_url + PING, headers)
                seen.append((started, status, body))
                if count == 0:
                    used.wait(timeout=120)  # every thread has used the key once
                if deleted_at and started > deleted_at[0] and status != 200:
                    return  # a request sent after the delete was refused: done

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        used.wait(timeout=120)
        service.delete_key(pair.key, world.admin)
        db.session.commit()
        deleted_at.append(time.monotonic())
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads)

    cutoff = deleted_at[0]
    statuses = [status for seen in results for _, status, _ in seen]
    assert set(statuses) <= {200, 401}, sorted(set(statuses))
    for seen in results:
        assert seen[0][1] == 200  # each thread used the key before it was deleted
        after = [(status, body) for started, status, body in seen if started > cutoff]
        assert after, "no request was sent after the delete"
        assert all(status == 401 and b'"UNAUTHENTICATED"' in body for status, body in after)
        first_refusal = next(i for i, (_, status, _) in enumerate(seen) if status == 401)
        assert all(status == 401 for _, status, _ in seen[first_refusal:])


# --- deactivation reaches every gunicorn worker at once ---------------------------------------


@pytest.fixture
def gunicorn(request, app, app_config, tmp_path):
    return started_gunicorn(request, app_config, tmp_path)


def ping_until_every_worker_answered(server, headers, status: int, phase: str) -> list:
    """Ping 8 at a time until both workers logged `status` for /ping; every response so far."""
    responses = []
    headers = {**headers, "X-Test-Phase": phase}
    deadline = time.monotonic() + GUNICORN_START_SECONDS
    with ThreadPoolExecutor(max_workers=8) as pool:
        while time.monotonic() < deadline:
            responses += pool.map(lambda _: get(server.base_url + PING, headers), range(8))
            pids = {pid for pid, logged, path in server.log_lines(phase)
                    if path == PING and logged == str(status)}
            if len(pids) >= 2:
                return responses
    pytest.fail(f"only workers {pids} answered {status} in {len(responses)} requests")


def test_deactivation_takes_effect_at_once_in_every_worker(gunicorn, world):
    pair = make_pair(world.firm, world.admin)
    headers = pair_headers(pair)
    before = ping_until_every_worker_answered(gunicorn, headers, 200, "before")
    assert {status for status, _ in before} == {200}

    service.set_app_active(world.firm, False, world.admin)
    db.session.commit()

    after = ping_until_every_worker_answered(gunicorn, headers, 401, "after")
    assert all(status == 401 and b'"API_APP_INACTIVE"' in body for status, body in after)
    logged = gunicorn.log_lines("after")
    assert {status for _, status, _ in logged} == {"401"}
    assert len({pid for pid, _, _ in logged}) == 2
