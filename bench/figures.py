"""The figures (bench/run.py): P1-P5 and L1, each measured with wrk or a loop of its own
against the builds' servers.
"""

import base64
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import servers

ROUNDS = 3


def measure(builds: list[servers.Build], setups: dict, args) -> dict:
    """The figures of the first build (as built) at the top level; under "builds", P1 and P3 of
    every build, and the other figures of those that measure them."""
    seconds, only = args.seconds, set(args.only.split(","))
    per_build = {build.label: {} for build in builds}
    if only & {"P1", "P3"}:
        for label, figures in _against_healthz(builds, setups, seconds, only).items():
            per_build[label].update(figures)
    for build in builds:
        setup, out = setups[build.env["DATABASE_URL"]], per_build[build.label]
        small, port = basic_auth(setup["small"]), build.port
        if "P2" in build.figures:
            out["P2"] = _scale(port, setup, small, basic_auth(setup["large"]), seconds)
        if "P5" in build.figures:
            out["P5"] = {"peak_rss_mb": _worker_peak_rss(port)}
        if "P4" in build.figures:
            out["P4"] = _writes(port, setup["large"])
        if "L1" in build.figures:
            out["L1"] = _load(build, setup["small"], args.load_seconds)
    results = dict(per_build[builds[0].label])
    if len(builds) > 1:
        results["builds"] = per_build
    return results


def _against_healthz(builds: list[servers.Build], setups: dict, seconds: int, only: set) -> dict:
    """P1 and P3 of each build: req/s of the API ÷ its /healthz, from the medians of ROUNDS
    interleaved rounds.

    Interleaving (healthz, ping, list, the next build's healthz, ..., then round two) means a
    machine that speeds up or slows down during the run moves every ratio alike; each round
    starts with another build, so none is always first."""
    rounds = {}
    for number in range(ROUNDS):
        for build in builds[number:] + builds[:number]:
            auth = basic_auth(setups[build.env["DATABASE_URL"]]["small"])
            paths = {"healthz": ("/healthz", None)}
            if "P1" in only:
                paths["ping"] = ("/api/v1/ping", auth)
            if "P3" in only:
                paths["list"] = ("/api/v1/clients?limit=100", auth)
            for name, (path, header) in paths.items():
                rounds.setdefault(build.label, {}).setdefault(name, []).append(
                    wrk(build.port, path, seconds, header=header))
    return {label: _ratios(runs) for label, runs in rounds.items()}


def _ratios(rounds: dict) -> dict:
    medians = {name: statistics.median(run["rps"] for run in runs)
               for name, runs in rounds.items()}
    cpu = {name: statistics.median(run["worker_cpu_ms"] for run in runs)
           for name, runs in rounds.items()}
    results = {}
    for figure, name in (("P1", "ping"), ("P3", "list")):
        if name in rounds:
            results[figure] = {"rounds": {"healthz": rounds["healthz"], name: rounds[name]},
                               "median_rps": {"healthz": medians["healthz"],
                                              name: medians[name]},
                               "median_worker_cpu_ms": {"healthz": cpu["healthz"],
                                                        name: cpu[name]},
                               "ratio": medians[name] / medians["healthz"],
                               "cpu_ratio": cpu["healthz"] / cpu[name]}
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


def _writes(port: int, creds: dict, total: int = 10_000, clients: int = 8) -> dict:
    """P4: `total` creates from `clients` concurrent connections, timed from first to last.

    Not wrk: wrk runs for a duration, not a number of requests. A selector loop keeps eight
    non-blocking sockets busy, each closed as soon as its answer has arrived (a sync gunicorn
    worker waits for the client to close before it takes the next request). It costs the
    shared cores about 0.4 ms of CPU a create, where an asyncio streams client cost 0.8–0.9 ms
    (measured): the load generator should not take the server's CPU."""
    header = basic_auth(creds).encode()
    numbers = iter(range(total))
    statuses: dict[int, int] = {}
    selector = selectors.DefaultSelector()

    def start(number: int) -> None:
        body = json.dumps({"name": f"Bench {number}", "client_initials": "BN",
                           "address_country_code": "EE"}).encode()
        request = (b"POST /api/v1/clients HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header
                   + b"\r\nContent-Type: application/json\r\nContent-Length: "
                   + str(len(body)).encode() + b"\r\n\r\n" + body)
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        selector.register(sock, selectors.EVENT_WRITE, [request, b""])  # [to send, received]

    def answered(sock: socket.socket, answer: bytes) -> None:
        selector.unregister(sock)
        sock.close()
        status = int(answer[9:12]) if answer.startswith(b"HTTP/1.") else 0
        statuses[status] = statuses.get(status, 0) + 1
        number = next(numbers, None)
        if number is not None:
            start(number)

    cpu_before = _workers_cpu_seconds(port)
    started = time.perf_counter()
    for _, number in zip(range(clients), numbers, strict=False):
        start(number)
    while selector.get_map():
        for key, _events in selector.select():
            sock, state = key.fileobj, key.data
            try:
                if state[0]:
                    state[0] = state[0][sock.send(state[0]):]
                    if not state[0]:
                        selector.modify(sock, selectors.EVENT_READ, state)
                    continue
                chunk = sock.recv(65536)
            except OSError:
                answered(sock, b"")
                continue
            if chunk:
                state[1] += chunk
            else:  # the server closes the connection after answering
                answered(sock, state[1])
    seconds = time.perf_counter() - started
    cpu = _workers_cpu_seconds(port) - cpu_before
    errors = sum(n for status, n in statuses.items() if status != 201)
    return {"seconds": seconds, "requests": sum(statuses.values()), "errors": errors,
            "statuses": statuses, "worker_cpu_ms": round(1000 * cpu / total, 3)}


def _load(build: servers.Build, creds: dict, seconds: int, connections: int = 32) -> dict:
    """The load run: list + create at 32 connections; statuses, and workers' RSS over time.

    The firm gets limits a busy integration could meet (so some 429s are expected: the limiter
    working) instead of the raised ones the ratios above use."""
    port = build.port
    servers.flask(build, "set-rate-limits", "--firm", "Small Firm", "--reads", "6000",
                  "--writes", "2400")
    wrk_run = subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
         str(servers.ROOT / "bench/mixed.lua"), "-H", basic_auth(creds),
         f"http://127.0.0.1:{port}"],
        stdout=subprocess.PIPE, text=True,
    )
    samples = []
    while wrk_run.poll() is None:
        time.sleep(5)
        samples.append(_worker_rss(port))
    output = wrk_run.stdout.read()
    statuses = {int(code): int(n) for code, n in re.findall(r"status (\d+) (\d+)", output)}
    # Growth is counted from the end of the first rate-limit window (a minute): until then the
    # mix changes as the limits are reached (429s are cheap, so the request rate jumps), and
    # memory rises once to that new peak: warm-up. A leak keeps growing after it.
    steady = samples[min(LIMIT_WINDOW_SECONDS // 5, len(samples)) - 1]
    growth = max(last - first for first, last in zip(steady, samples[-1], strict=True))
    return {
        "statuses": statuses,
        "errors": sum(n for code, n in statuses.items() if code >= 400 and code != 429)
        + _socket_errors(output),
        "rss_mb_samples": samples, "rss_growth_mb": growth,
        "rss_growth_whole_run_mb": max(
            last - first for first, last in zip(samples[0], samples[-1], strict=True)),
    }


LIMIT_WINDOW_SECONDS = 60


def _socket_errors(output: str) -> int:
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                      output)
    return sum(int(n) for n in found.groups()) if found else 0


def wrk(port: int, path: str, seconds: int, connections: int = 16, header: str | None = None):
    """Requests per second, p50 latency in ms, and non-2xx/socket errors."""
    status, body = servers.get(port, path, dict([header.split(": ", 1)]) if header else None)
    if status != 200:
        sys.exit(f"GET {path} answered {status}: {body[:300]!r}")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
               f"http://127.0.0.1:{port}{path}"]
    if header:
        command[1:1] = ["-H", header]
    cpu_before = _workers_cpu_seconds(port)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = _workers_cpu_seconds(port) - cpu_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _millis(re.search(r"\s50%\s+([\d.]+\w+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    # CPU the workers spent per request: unlike req/s, barely moved by a noisy neighbour.
    return {"rps": rps, "p50_ms": p50, "errors": int(errors.group(1)) if errors else 0,
            "worker_cpu_ms": round(1000 * cpu / max(requests, 1), 3)}


def basic_auth(creds: dict) -> str:
    raw = base64.b64encode(f"{creds['key']}:{creds['secret']}".encode()).decode()
    return f"Authorization: Basic {raw}"


def _millis(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _workers_cpu_seconds(port: int) -> float:
    """User + system CPU time of the gunicorn workers on `port` so far."""
    total = 0
    for pid in servers.worker_pids(port):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _worker_peak_rss(port: int) -> float:
    """The largest VmHWM (peak RSS) among the gunicorn workers listening on `port`."""
    return max(_worker_memory(port, "VmHWM"))


def _worker_rss(port: int) -> list[float]:
    """Each gunicorn worker's resident memory now, in MB (in pid order)."""
    return _worker_memory(port, "VmRSS")


def _worker_memory(port: int, field: str) -> list[float]:
    sizes = []
    for pid in servers.worker_pids(port):
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024)
    return sizes
