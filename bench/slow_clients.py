"""Slow clients against each serving shape, on loopback: not a test (see bench/RESULTS.md).

For each shape: wrk's req/s on /healthz (16 connections), then 200 idle connections opened
(connected, nothing sent) while 12 requests are timed one after the other.

    .venv/bin/python bench/slow_clients.py [--seconds 5]
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDLE = 200
TIMED = 12
TIMEOUT = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shapes(port: int) -> dict:
    gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}"]
    return {
        "sync workers": [*gunicorn, "wsgi:app"],
        "gthread, 2 x 8 threads": [*gunicorn, "-k", "gthread", "--threads", "8", "wsgi:app"],
        "nginx + sync workers": [str(ROOT / "scripts/serve")],
    }


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()  # noqa: S310 (loopback)
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer")


def wrk(url: str, seconds: int) -> float:
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", url], capture_output=True,
                         text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def timed_with_idle(url: str, port: int) -> list[float | None]:
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(IDLE)]
    times = []
    try:
        time.sleep(0.5)
        for _ in range(TIMED):
            started = time.monotonic()
            try:
                urllib.request.urlopen(url, timeout=TIMEOUT).read()  # noqa: S310
                times.append(time.monotonic() - started)
            except OSError:
                times.append(None)
    finally:
        for sock in idle:
            sock.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "PORT": str(port),
           "UPSTREAM_PORT": str(free_port())}
    url = f"http://127.0.0.1:{port}/healthz"
    for name, command in shapes(port).items():
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_up(url)
            rate = wrk(url, args.seconds)
            times = timed_with_idle(url, port)
        finally:
            server.terminate()
            server.wait(timeout=30)
        answered = [t for t in times if t is not None]
        worst = f"{max(answered):.3f} s" if answered else "-"
        print(f"| {name} | {rate:,.0f} | {len(answered)} of {TIMED} | {worst} |", flush=True)


if __name__ == "__main__":
    main()
