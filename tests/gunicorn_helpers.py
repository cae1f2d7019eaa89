"""gunicorn serving the app on the test's database, for tests of what only a real server shows
(several worker processes, requests gunicorn refuses before the app sees them)."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import FERNET_KEY

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_START_SECONDS = 120
# The gunicorn beside the Python running the tests (the project's virtualenv).
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def get(url: str, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http on loopback)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn -w 2` serving wsgi:app with the production settings of gunicorn.conf.py; its
    access log names the worker (pid) of each request. behind_nginx: as `make serve` runs it,
    behind nginx (scripts/serve), which is what base_url reaches."""

    def __init__(self, tmp_path: Path, database_url: str, api_secret_hmac_key: str,
                 app: str = "wsgi:app", extra_env: dict | None = None,
                 behind_nginx: bool = False):
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
            "PORTAL_API_AUTH_FAILURES_PER_IP_AND_KEY": "1000000",
            **(extra_env or {}),
        }
        if behind_nginx:
            command = [str(ROOT / "scripts/serve")]
            env.update(PORT=str(self.port), UPSTREAM_PORT=str(free_port()), WEB_CONCURRENCY="2",
                       GUNICORN=GUNICORN)
        else:
            command = [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(
            [*command, "--graceful-timeout", "5",
             "--access-logfile", str(self.access_log),
             "--access-logformat", "%(p)s %(s)s %(U)s %({x-test-phase}i)s",
             "--error-logfile", str(self.error_log), app],
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


def started_gunicorn(request, app_config: dict, tmp_path: Path, **options) -> Gunicorn:
    """gunicorn on the test's database (its schema made by the `app` fixture), up and
    answering; always stopped after the test. `options`: Gunicorn's app, extra_env and
    behind_nginx."""
    server = Gunicorn(tmp_path, app_config["SQLALCHEMY_DATABASE_URI"],
                      app_config["API_SECRET_HMAC_KEY"], **options)
    request.addfinalizer(server.stop)
    server.wait_until_up()
    return server


def timed_get(url: str, headers: dict) -> tuple[int, float]:
    started = time.monotonic()
    status, _ = get(url, headers)
    return status, time.monotonic() - started


def latency_bound(url: str, headers: dict, queued: int = 0) -> float:
    """How long a GET of `url` may take while `queued` other requests are answered first: 1 s,
    or, on a machine too loaded for that, (queued + 2) times the slowest of 4 warm-up GETs
    (which also connect every worker to the database). A request held up by another one's
    work, or by a slow client, takes longer still."""
    times = []
    for _ in range(4):
        status, took = timed_get(url, headers)
        assert status == 200
        times.append(took)
    return max(1.0, (queued + 2) * max(times))
