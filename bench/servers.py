"""The servers under test (bench/run.py): each build's database, seeded by its own CLI, and
its gunicorn on loopback; and the processes' ids for the figures that read their CPU and memory.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


BIN = Path(sys.executable).parent


@dataclass
class Build:
    """One server under test: a checkout, its environment, and the port it listens on."""

    label: str
    root: Path
    env: dict
    figures: set  # what is measured on it besides P1 and P3
    port: int = 0


def environment(workdir: Path) -> dict:
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


def flask(build: Build, *args: str) -> str:
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


def seed(build: Build, clients: int) -> dict:
    """A fresh database for the build, seeded by its own CLI: two firms, keys, deep cursors."""
    flask(build, "db", "upgrade")
    flask(build, "seed-clients", "1000", "--firm", "Small Firm")
    flask(build, "seed-clients", str(clients), "--firm", "Large Firm")
    return _prepare_firms(build)


def baseline_build(ref: str, workdir: Path, env: dict, figures: set,
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(build: Build) -> subprocess.Popen:
    port = build.port
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", "wsgi:app"], cwd=build.root, env=build.env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            get(port, "/healthz")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def gunicorn_master(port: int) -> str:
    return subprocess.run(["pgrep", "-f", f"gunicorn.*127.0.0.1:{port}", "-o"],
                          capture_output=True, text=True).stdout.split()[0]


def worker_pids(port: int) -> list[str]:
    master = gunicorn_master(port)
    workers = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
    return sorted(workers.split(), key=int)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in found.split()]


def _flask_python(env: dict, code: str) -> str:
    """What `code` prints, run inside the app's context."""
    result = subprocess.run(
        [sys.executable, "-c", "from sqlalchemy import text\nfrom portal import create_app\n"
                               "from portal.extensions import db\n"
                               f"with create_app().app_context():\n    {code}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    return result.stdout.strip()


def give_postgres_its_own_cpus(env: dict, ports: list[int], database_cpus: set[int]) -> None:
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
    masters = [int(gunicorn_master(port)) for port in ports]
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
