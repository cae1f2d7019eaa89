"""The benchmark suite (`make bench`): gunicorn with 2 sync workers, driven by wrk on loopback.

Every figure is a ratio of two runs made one after the other on the same machine, so a noisy
machine shifts both sides alike. Usage: python bench/run.py [--clients N] [--seconds S]
(DATABASE_URL or TEST_DATABASE_URL selects PostgreSQL; default is a SQLite file in a temp dir).
"""

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGETS = {"P1": 0.90, "P2": 1.2, "P3": 0.5, "P4": 30.0, "P5": 120.0}


def main() -> None:
    args = _arguments()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    env = _environment(workdir)
    backend = "postgresql" if env["DATABASE_URL"].startswith("postgresql") else "sqlite"
    print(f"Backend: {backend}; {args.clients:,} clients in the large firm; {args.seconds} s runs")
    _flask(env, "db", "upgrade")
    _flask(env, "seed-clients", "1000", "--firm", "Small Firm")
    _flask(env, "seed-clients", str(args.clients), "--firm", "Large Firm")
    setup = _prepare_firms(env)
    port = _free_port()
    server = _start_gunicorn(env, port)
    try:
        results = _measure(port, setup, args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    _report(results, backend, args)
    shutil.rmtree(workdir, ignore_errors=True)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", default="P1,P2,P3,P4,P5",
                        help="comma-separated figures to measure, e.g. P1,P3 while profiling")
    return parser.parse_args()


def _environment(workdir: Path) -> dict:
    url = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    return {
        **os.environ,
        "DATABASE_URL": url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "PORTAL_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "API_SECRET_HMAC_KEY": secrets.token_urlsafe(32),
        "API_SECRET_FERNET_KEYS": Fernet.generate_key().decode(),
        # The benchmark measures the work, not the rate limiter's refusals.
        "PORTAL_API_RATE_LIMIT_READS": "1000000000",
        "PORTAL_API_RATE_LIMIT_WRITES": "1000000000",
    }


def _flask(env: dict, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _prepare_firms(env: dict) -> dict:
    """Keys (and deep cursors) for both firms, made by bench/setup_firms.py."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "setup_firms.py")], cwd=ROOT, env=env,
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"setting up the firms failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", "wsgi:app"], cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _get(port, "/healthz")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def _get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def _auth(creds: dict) -> str:
    raw = base64.b64encode(f"{creds['key']}:{creds['secret']}".encode()).decode()
    return f"Authorization: Basic {raw}"


def wrk(port: int, path: str, seconds: int, connections: int = 16, header: str | None = None):
    """Requests per second, p50 latency in ms, and non-2xx/socket errors."""
    status, body = _get(port, path, dict([header.split(": ", 1)]) if header else None)
    if status != 200:
        sys.exit(f"GET {path} answered {status}: {body[:300]!r}")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
               f"http://127.0.0.1:{port}{path}"]
    if header:
        command[1:1] = ["-H", header]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _millis(re.search(r"\s50%\s+([\d.]+\w+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rps, "p50_ms": p50, "errors": int(errors.group(1)) if errors else 0}


def _millis(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _measure(port: int, setup: dict, args) -> dict:
    small, large = _auth(setup["small"]), _auth(setup["large"])
    seconds, results, only = args.seconds, {}, set(args.only.split(","))
    if only & {"P1", "P3"}:
        health = wrk(port, "/healthz", seconds)
    if "P1" in only:
        ping = wrk(port, "/api/v1/ping", seconds, header=small)
        results["P1"] = {"healthz": health, "ping": ping, "ratio": ping["rps"] / health["rps"]}
    if "P3" in only:
        listing = wrk(port, "/api/v1/clients?limit=100", seconds, header=small)
        results["P3"] = {"healthz": health, "list": listing,
                         "ratio": listing["rps"] / health["rps"]}
    if "P2" in only:
        results["P2"] = _scale(port, setup, small, large, seconds)
    if "P5" in only:
        results["P5"] = {"peak_rss_mb": _worker_peak_rss(port)}
    if "P4" in only:
        results["P4"] = _writes(port, setup["large"])
    return results


def _scale(port, setup, small, large, seconds) -> dict:
    out = {}
    for name, suffix in (("first page", ""), ("deep cursor", "&cursor={}")):
        runs = {}
        for label, header in (("small", small), ("large", large)):
            path = "/api/v1/clients?limit=100" + suffix.format(setup[label]["deep_cursor"])
            runs[label] = wrk(port, path, seconds, connections=2, header=header)
        out[name] = {**runs, "ratio": runs["large"]["p50_ms"] / runs["small"]["p50_ms"]}
    return out


def _worker_peak_rss(port: int) -> float:
    """The largest VmHWM among the gunicorn workers listening on `port`."""
    master = subprocess.run(["pgrep", "-f", f"gunicorn.*127.0.0.1:{port}", "-o"],
                            capture_output=True, text=True).stdout.split()[0]
    workers = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
    peaks = []
    for pid in workers.split():
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
    return max(peaks)


def _writes(port: int, creds: dict, total: int = 10_000, workers: int = 8) -> dict:
    header = _auth(creds).split(": ", 1)[1]

    def post_many(worker: int) -> int:
        connection, errors = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
        for number in range(worker, total, workers):
            body = json.dumps({"name": f"Bench {number}", "client_initials": "BN",
                               "address_country_code": "EE"})
            connection.request("POST", "/api/v1/clients", body=body, headers={
                "Authorization": header, "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            errors += response.status != 201
        return errors

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        errors = sum(pool.map(post_many, range(workers)))
    return {"seconds": time.perf_counter() - started, "errors": errors, "requests": total}


def _rows(results: dict) -> list[tuple]:
    """(figure, value, target, met) for every figure that was measured."""
    rows = []
    if "P1" in results:
        ratio = results["P1"]["ratio"]
        rows.append(("P1 auth overhead (ping / healthz req/s)", ratio, ">= 0.90",
                     ratio >= TARGETS["P1"]))
    for name in ("first page", "deep cursor"):
        if "P2" in results:
            ratio = results["P2"][name]["ratio"]
            rows.append((f"P2 {name} p50 (1M / 1k)", ratio, "<= 1.2", ratio <= TARGETS["P2"]))
    if "P3" in results:
        ratio = results["P3"]["ratio"]
        rows.append(("P3 list 100 / healthz req/s", ratio, ">= 0.5", ratio >= TARGETS["P3"]))
    if "P4" in results:
        p4 = results["P4"]
        rows.append(("P4 10,000 creates, 8 clients (s)", p4["seconds"], "< 30 s, 0 errors",
                     p4["seconds"] < TARGETS["P4"] and p4["errors"] == 0))
    if "P5" in results:
        rss = results["P5"]["peak_rss_mb"]
        rows.append(("P5 peak RSS per worker (MB)", rss, "< 120", rss < TARGETS["P5"]))
    return rows


def _report(results: dict, backend: str, args) -> None:
    print(f"\nResults ({backend}, {args.clients:,} clients):")
    print(f"{'figure':<44} {'value':>10}  {'target':<18} met")
    for name, value, target, met in _rows(results):
        print(f"{name:<44} {value:>10.2f}  {target:<18} {'yes' if met else 'NO'}")
    print(f"\nDetails: {json.dumps(results, indent=1)}")
    if args.json:
        args.json.write_text(json.dumps({"backend": backend, **results}, indent=1))


if __name__ == "__main__":
    main()
