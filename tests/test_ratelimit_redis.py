"""Rate-limit counters shared between processes through Redis (RATELIMIT_STORAGE_URI)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.api_helpers import basic, make_pair

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="Debian's redis-server is not installed"
)


class RedisServer:
    """A private redis-server on a free loopback port, which a test can stop and start."""

    def __init__(self, workdir: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        with redis.Redis(host="127.0.0.1", port=self.port) as client:
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A private redis-server for this module's shared-counter tests."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def app_config(app_config, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    return {**app_config, "RATELIMIT_STORAGE_URI": redis_url, "API_RATE_LIMIT_READS": 4}


# Another process (as another gunicorn worker would be) makes requests with the same key.
OTHER_PROCESS = """
import json, os, sys
sys.path.insert(0, os.getcwd())
from portal import create_app
app = create_app(json.loads(os.environ["TEST_APP_CONFIG"]))
headers = json.loads(os.environ["TEST_HEADERS"])
client = app.test_client()
print(json.dumps([client.get("/api/v1/ping", headers=headers).status_code for _ in range(3)]))
"""


def test_another_process_uses_up_the_same_allowance(client, app_config, world):
    pair = make_pair(world.firm, world.admin)
    headers = basic(pair.key.api_key, pair.secret)
    assert client.get("/api/v1/ping", headers=headers).status_code == 200
    env = {**os.environ, "TEST_APP_CONFIG": json.dumps(app_config),
           "TEST_HEADERS": json.dumps(headers)}
    other = subprocess.run([sys.executable, "-c", OTHER_PROCESS], env=env, check=True,
                           capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert json.loads(other.stdout.strip().splitlines()[-1]) == [200, 200, 200]
    # 4 requests in two processes: this process's fifth is over the shared limit of 4
    response = client.get("/api/v1/ping", headers=headers)
    assert response.status_code == 429 and response.headers["X-RateLimit-Remaining"] == "0"

