"""Revocation under concurrency: a key deleted while 20 threads use it on a live threaded server,
and an app deactivated while two gunicorn worker processes serve it.

Nothing here waits for a time to pass: every request records when it started, and the
assertions are causal (a request that started after the commit saw it). The 50 parallel
creates with one Idempotency-Key are in test_api_create.py.
"""

import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from portal.extensions import db
from portal.public_api import service
from tests.api_helpers import NO_RATE_LIMITS, live_server, make_pair, pair_headers
from tests.conftest import FERNET_KEY

ROOT = Path(__file__).resolve().parent.parent
PING = "/api/v1/ping"
THREADS = 20
MAX_REQUESTS_PER_THREAD = 400
GUNICORN_START_SECONDS = 120


def get(url: str, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http on loopback)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn -w 2` serving wsgi:app; its access log names the worker (pid) of each request."""

    def __init__(self, tmp_path: Path, database_url: str, api_secret_hmac_key: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp_path / "access.log"
        self.error_log = tmp_path / "error.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            # Shared by both workers: sessions, HMAC digests and ciphertexts must match.
            "SECRET_KEY": "gunicorn-test-secret-key",
            "API_SECRET_HMAC_KEY": api_secret_hmac_key,
            "API_SECRET_FERNET_KEYS": FERNET_KEY,
            "PORTAL_API_RATE_LIMIT_READS": "1000000",
            "PORTAL_API_AUTH_FAILURES_PER_IP": "1000000",
        }
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--worker-class", "sync",
             "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "5",
             "--access-logfile", str(self.access_log),
             "--access-logformat", "%(p)s %(s)s %(U)s %({x-test-phase}i)s",
             "--error-logfile", str(self.error_log), "wsgi:app"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + GUNICORN_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited: {self.error_log.read_text()[-2000:]}")
            try:
                if get(self.base_url + "/healthz", {})[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"gunicorn did not answer /healthz: {self.error_log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_lines(self, phase: str) -> list[tuple[str, str, str]]:
        """(pid, status, path) of each request of this phase logged so far. A worker writes
        the line after answering, so the phase travels in a request header, not in time."""
        if not self.access_log.exists():
            return []
        lines = [line.split(" ") for line in self.access_log.read_text().splitlines()]
        return [tuple(parts[:3]) for parts in lines if len(parts) == 4 and parts[3] == phase]


@pytest.fixture
def gunicorn(request, app, app_config, tmp_path):
    """gunicorn on the test's database (schema made by `app`); always stopped after the test."""
    server = Gunicorn(tmp_path, app_config["SQLALCHEMY_DATABASE_URI"],
                      app_config["API_SECRET_HMAC_KEY"])
    request.addfinalizer(server.stop)
    server.wait_until_up()
    return server


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
