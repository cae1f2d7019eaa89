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


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A private redis-server on a free loopback port, for this module only."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    server.terminate()
    server.wait(timeout=10)


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
