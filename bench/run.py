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
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The floors of issue #18: what users feel must not fall below them.
TARGETS = {"P1": 0.85, "P2": 1.2, "P3": 0.35, "P4": 30.0, "P5": 120.0, "L1_RSS_GROWTH": 2.0}


# Each mechanism kept for speed (issue #18): the figure it is kept for, the setting that turns
# it off, and the backends it works on. With --mechanisms, P1 and P3 are measured without each
# one too, in the same interleaved rounds; it must buy at least MECHANISM_GAIN on its figure.
MECHANISMS = {
    "key cache": ("P1", {"PORTAL_API_KEY_CACHE": "false"}, {"sqlite"}),
    "stored client JSON": ("P3", {"PORTAL_CLIENT_LIST_STORED_JSON": "false"},
                           {"sqlite", "postgresql"}),
}
MECHANISM_GAIN = 0.15


@dataclass
class Build:
    """One server under test: a checkout, its environment, and the port it listens on."""

    label: str
    root: Path
    env: dict
    figures: set  # what is measured on it besides P1 and P3
    port: int = 0


def main() -> None:
    args = _arguments()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    # Whatever was made (servers, the baseline's checkout and database, the seeded files) is
    # removed on the way out, however the run ends.
    with ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        env = _environment(workdir)
        backend = "postgresql" if env["DATABASE_URL"].startswith("postgresql") else "sqlite"
        print(f"Backend: {backend}; {args.clients:,} clients in the large firm; "
              f"{args.seconds} s runs")
        builds = _builds(args, workdir, env, backend, cleanup)
        setups = {}
        for build in builds:
            if build.env["DATABASE_URL"] not in setups:
                setups[build.env["DATABASE_URL"]] = _seed(build, args.clients)
        # The seed wrote a gigabyte: let the kernel write it back now, not during the first runs.
        os.sync()
        for build in builds:
            build.port = _free_port()
            cleanup.callback(_stop, _start_gunicorn(build))
        if args.postgres_cpus:
            _give_postgres_its_own_cpus(env, [b.port for b in builds], args.postgres_cpus)
        results = _measure(builds, setups, args)
    _report(results, backend, args)


def _builds(args, workdir: Path, env: dict, backend: str, cleanup: ExitStack) -> list[Build]:
    only = set(args.only.split(","))
    builds = [Build("as built", ROOT, env, only)]
    if args.mechanisms and only & {"P1", "P3"}:
        builds += [Build(f"without {name}", ROOT, {**env, **setting}, set())
                   for name, (_figure, setting, backends) in MECHANISMS.items()
                   if backend in backends]
    if args.baseline:
        builds.append(_baseline_build(args.baseline, workdir, env, only - {"L1"}, cleanup))
    return builds


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _seed(build: Build, clients: int) -> dict:
    """A fresh database for the build, seeded by its own CLI: two firms, keys, deep cursors."""
    _flask(build, "db", "upgrade")
    _flask(build, "seed-clients", "1000", "--firm", "Small Firm")
    _flask(build, "seed-clients", str(clients), "--firm", "Large Firm")
    return _prepare_firms(build)


def _baseline_build(ref: str, workdir: Path, env: dict, figures: set,
                    cleanup: ExitStack) -> Build:
    """An earlier commit, checked out beside this one, with a database of its own: the
    'before' of a change, measured in the same run as the 'after'."""
    root = workdir / "baseline"
    added = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(root),
                            ref], capture_output=True, text=True, check=False)
    if added.returncode != 0:
        sys.exit(f"git worktree add {ref} failed:\n{added.stderr}")
    cleanup.callback(subprocess.run, ["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                      str(root)], check=False)
    url = env["DATABASE_URL"]
    if url.startswith("sqlite"):
        url = f"sqlite:///{workdir / 'baseline.sqlite3'}"
    else:
        url = _new_postgres_database(url, "portal_bench_baseline", cleanup)
    # The checkout's own package first: the installed one is this checkout's (editable).
    return Build(f"baseline {ref}", root, {**env, "DATABASE_URL": url, "PYTHONPATH": str(root)},
                 figures)


def _new_postgres_database(url: str, name: str, cleanup: ExitStack) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url, isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    drop()
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    cleanup.callback(engine.dispose)
    cleanup.callback(drop)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--load-seconds", type=int, default=150)
    parser.add_argument("--postgres-cpus", type=_cpu_list, default=None,
                        help="PostgreSQL only: pin the database server to these CPUs (e.g. 1) "
                             "and gunicorn, wrk and this script to the others, as if the "
                             "database had a host of its own")
    parser.add_argument("--only", default="P1,P2,P3,P4,P5,L1",
                        help="comma-separated figures to measure, e.g. P1,P3 while profiling")
    parser.add_argument("--mechanisms", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure P1 and P3 without each mechanism kept for speed")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also measure this commit (a checkout of its own, with its own "
                             "database): P1 and P3 in the same interleaved rounds, then P2, P4 "
                             "and P5")
    return parser.parse_args()


def _cpu_list(value: str) -> set[int]:
    cpus = {int(cpu) for cpu in value.split(",")}
    if not cpus or not cpus < os.sched_getaffinity(0):
        raise argparse.ArgumentTypeError(
            f"give some but not all of the CPUs {sorted(os.sched_getaffinity(0))}")
    return cpus


def _give_postgres_its_own_cpus(env: dict, ports: list[int], database_cpus: set[int]) -> None:
    """Pin the database server (its postmaster, so backends started later too, and every
    process it has started) to `database_cpus`, and gunicorn, wrk (started from this process)
    and this process to the rest: the app's CPUs then do only the app's work, as they would
    with the database on a host of its own."""
    if not env["DATABASE_URL"].startswith("postgresql"):
        sys.exit("--postgres-cpus needs PostgreSQL (DATABASE_URL or TEST_DATABASE_URL)")
    # The first line of postmaster.pid, in the server's data directory, is the postmaster's.
    data_directory = _flask_python(
        env, "print(db.session.execute(text('SHOW data_directory')).scalar())")
    postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    app_cpus = os.sched_getaffinity(0) - database_cpus
    masters = [int(_gunicorn_master(port)) for port in ports]
    try:
        for pid in [postmaster, *_children(postmaster)]:
            os.sched_setaffinity(pid, database_cpus)
        for pid in [*masters, *[c for m in masters for c in _children(m)], os.getpid()]:
            os.sched_setaffinity(pid, app_cpus)
    except PermissionError:
        sys.exit("--postgres-cpus: pinning the database server's processes needs root "
                 "(or CAP_SYS_NICE)")
    print(f"PostgreSQL on CPUs {sorted(database_cpus)}; gunicorn, wrk and the benchmark on "
          f"{sorted(app_cpus)}")


def _flask_python(env: dict, code: str) -> str:
    """What `code` prints, run inside the app's context."""
    result = subprocess.run(
        [sys.executable, "-c", "from sqlalchemy import text\nfrom portal import create_app\n"
                               "from portal.extensions import db\n"
                               f"with create_app().app_context():\n    {code}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    return result.stdout.strip()


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in found.split()]


def _environment(workdir: Path) -> dict:
    url = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    return {
        **os.environ,
        "DATABASE_URL": url or f"sqlite:///{workdir / 'bench.sqlite3'}",
        "PORTAL_ENV": "production",
        "PORTAL_API_ALLOW_PLAIN_HTTP": "true",  # wrk talks plain HTTP on loopback
        "SECRET_KEY": secrets.token_urlsafe(32),
        "API_SECRET_HMAC_KEY": secrets.token_urlsafe(32),
        "API_SECRET_FERNET_KEYS": Fernet.generate_key().decode(),
        # The benchmark measures the work, not the rate limiter's refusals.
        "PORTAL_API_RATE_LIMIT_READS": "1000000000",
        "PORTAL_API_RATE_LIMIT_WRITES": "1000000000",
    }


def _flask(build: Build, *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=build.root, env=build.env,
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _prepare_firms(build: Build) -> dict:
    """Keys (and deep cursors) for both firms, made by the build's bench/setup_firms.py."""
    result = subprocess.run(
        [sys.executable, str(build.root / "bench" / "setup_firms.py")], cwd=build.root,
        env=build.env,
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        sys.exit(f"setting up the firms failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(build: Build) -> subprocess.Popen:
    port = build.port
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", "wsgi:app"], cwd=build.root, env=build.env,
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


def _workers_cpu_seconds(port: int) -> float:
    """User + system CPU time of the gunicorn workers on `port` so far."""
    total = 0
    for pid in _worker_pids(port):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _millis(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _measure(builds: list[Build], setups: dict, args) -> dict:
    """The figures of the first build (as built) at the top level; under "builds", P1 and P3 of
    every build, and the other figures of those that measure them."""
    seconds, only = args.seconds, set(args.only.split(","))
    per_build = {build.label: {} for build in builds}
    if only & {"P1", "P3"}:
        for label, figures in _against_healthz(builds, setups, seconds, only).items():
            per_build[label].update(figures)
    for build in builds:
        setup, out = setups[build.env["DATABASE_URL"]], per_build[build.label]
        small, port = _auth(setup["small"]), build.port
        if "P2" in build.figures:
            out["P2"] = _scale(port, setup, small, _auth(setup["large"]), seconds)
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


ROUNDS = 3


def _against_healthz(builds: list[Build], setups: dict, seconds: int, only: set) -> dict:
    """P1 and P3 of each build: req/s of the API ÷ its /healthz, from the medians of ROUNDS
    interleaved rounds.

    Interleaving (healthz, ping, list, the next build's healthz, ..., then round two) means a
    machine that speeds up or slows down during the run moves every ratio alike."""
    rounds = {}
    for _ in range(ROUNDS):
        for build in builds:
            auth = _auth(setups[build.env["DATABASE_URL"]]["small"])
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


def _worker_peak_rss(port: int) -> float:
    """The largest VmHWM (peak RSS) among the gunicorn workers listening on `port`."""
    return max(_worker_memory(port, "VmHWM"))


def _worker_rss(port: int) -> list[float]:
    """Each gunicorn worker's resident memory now, in MB (in pid order)."""
    return _worker_memory(port, "VmRSS")


def _gunicorn_master(port: int) -> str:
    return subprocess.run(["pgrep", "-f", f"gunicorn.*127.0.0.1:{port}", "-o"],
                          capture_output=True, text=True).stdout.split()[0]


def _worker_pids(port: int) -> list[str]:
    master = _gunicorn_master(port)
    workers = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
    return sorted(workers.split(), key=int)


def _worker_memory(port: int, field: str) -> list[float]:
    sizes = []
    for pid in _worker_pids(port):
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024)
    return sizes


def _writes(port: int, creds: dict, total: int = 10_000, clients: int = 8) -> dict:
    """P4: `total` creates from `clients` concurrent connections, timed from first to last.

    Not wrk: wrk runs for a duration, not a number of requests. A selector loop keeps eight
    non-blocking sockets busy, each closed as soon as its answer has arrived (a sync gunicorn
    worker waits for the client to close before it takes the next request). It costs the
    shared cores about 0.4 ms of CPU a create, where an asyncio streams client cost 0.8–0.9 ms
    (measured): the load generator should not take the server's CPU."""
    header = _auth(creds).encode()
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


def _load(build: Build, creds: dict, seconds: int, connections: int = 32) -> dict:
    """The load run: list + create at 32 connections; statuses, and workers' RSS over time.

    The firm gets limits a busy integration could meet (so some 429s are expected: the limiter
    working) instead of the raised ones the ratios above use."""
    port = build.port
    _flask(build, "set-rate-limits", "--firm", "Small Firm", "--reads", "6000", "--writes", "2400")
    wrk_run = subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(ROOT / "bench/mixed.lua"),
         "-H", _auth(creds), f"http://127.0.0.1:{port}"],
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


def _rows(results: dict) -> list[tuple]:
    """(figure, value, target, met) for every figure that was measured."""
    rows = []
    if "P1" in results:
        ratio = results["P1"]["ratio"]
        rows.append(("P1 auth overhead (ping / healthz req/s)", ratio, f">= {TARGETS['P1']}",
                     ratio >= TARGETS["P1"]))
    for name in ("first page", "deep cursor"):
        if "P2" in results:
            ratio = results["P2"][name]["ratio"]
            rows.append((f"P2 {name} p50 (1M / 1k)", ratio, "<= 1.2", ratio <= TARGETS["P2"]))
    if "P3" in results:
        ratio = results["P3"]["ratio"]
        rows.append(("P3 list 100 / healthz req/s", ratio, f">= {TARGETS['P3']}",
                     ratio >= TARGETS["P3"]))
    for figure, name in (("P1", "ping"), ("P3", "list")):
        if figure in results:  # not a target: the same ratio by worker CPU per request
            cpu = results[figure]["median_worker_cpu_ms"]
            rows.append((f"  {figure} by worker CPU (healthz {cpu['healthz']:.2f} ms, "
                         f"{name} {cpu[name]:.2f} ms)", results[figure]["cpu_ratio"], "", None))
    if "P4" in results:
        p4 = results["P4"]
        rows.append(("P4 10,000 creates, 8 clients (s)", p4["seconds"], "< 30 s, 0 errors",
                     p4["seconds"] < TARGETS["P4"] and p4["errors"] == 0))
    if "P5" in results:
        rss = results["P5"]["peak_rss_mb"]
        rows.append(("P5 peak RSS per worker (MB)", rss, "< 120", rss < TARGETS["P5"]))
    if "L1" in results:
        load = results["L1"]
        rows.append(("L1 load: errors besides 429", load["errors"], "0", load["errors"] == 0))
        rows.append(("L1 load: RSS growth per worker (MB)", load["rss_growth_mb"], "<= 2",
                     load["rss_growth_mb"] <= TARGETS["L1_RSS_GROWTH"]))
    return rows


def _report(results: dict, backend: str, args) -> None:
    placement = (f", PostgreSQL pinned to CPUs {sorted(args.postgres_cpus)}"
                 if args.postgres_cpus else "")
    print(f"\nResults ({backend}, {args.clients:,} clients{placement}):")
    print(f"{'figure':<44} {'value':>10}  {'target':<18} met")
    for name, value, target, met in _rows(results):
        verdict = "" if met is None else "yes" if met else "NO"
        print(f"{name:<44} {value:>10.2f}  {target:<18} {verdict}")
    if "builds" in results:
        _report_builds(results["builds"])
    print(f"\nDetails: {json.dumps(results, indent=1)}")
    if args.json:
        args.json.write_text(json.dumps(
            {"backend": backend, "postgres_cpus": sorted(args.postgres_cpus or ()), **results},
            indent=1))


def _report_builds(builds: dict) -> None:
    """Each build's figures side by side; a mechanism's gain is as built ÷ without it."""
    labels = list(builds)
    print("\nThe same run, build by build:")
    print(f"{'figure':<28}" + "".join(f"{label[:26]:>28}" for label in labels))
    for figure, target in TARGETS.items():
        values = [_figure_value(builds[label], figure) for label in labels]
        if any(value is not None for value in values):
            print(f"{figure + ' (target ' + str(target) + ')':<28}" + "".join(
                f"{'' if value is None else f'{value:.3f}':>28}" for value in values))
    as_built = builds[labels[0]]
    for name, (figure, _setting, _backends) in MECHANISMS.items():
        without = builds.get(f"without {name}", {})
        if figure in as_built and figure in without:
            gain = as_built[figure]["ratio"] / without[figure]["ratio"] - 1
            cpu_gain = as_built[figure]["cpu_ratio"] / without[figure]["cpu_ratio"] - 1
            verdict = "earns its place" if gain >= MECHANISM_GAIN else "buys too little"
            print(f"{name} buys {figure} {gain:+.1%} by req/s, {cpu_gain:+.1%} by worker CPU "
                  f"({verdict}: at least {MECHANISM_GAIN:.0%} by req/s)")


def _figure_value(figures: dict, figure: str) -> float | None:
    if figure in ("P1", "P3") and figure in figures:
        return figures[figure]["ratio"]
    if figure == "P2" and "P2" in figures:
        return max(figures["P2"][name]["ratio"] for name in ("first page", "deep cursor"))
    if figure == "P4" and "P4" in figures:
        return figures["P4"]["seconds"]
    if figure == "P5" and "P5" in figures:
        return figures["P5"]["peak_rss_mb"]
    if figure == "L1_RSS_GROWTH" and "L1" in figures:
        return figures["L1"]["rss_growth_mb"]
    return None


if __name__ == "__main__":
    main()
