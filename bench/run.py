"""The benchmark suite (`make bench`): gunicorn with 2 sync workers, driven by wrk on loopback.

Every figure is a ratio of two runs made one after the other on the same machine, so a noisy
machine shifts both sides alike. Usage: python bench/run.py [--clients N] [--seconds S]
(DATABASE_URL or TEST_DATABASE_URL selects PostgreSQL; default is a SQLite file in a temp dir).
This file runs the suite; servers.py starts what is measured, figures.py measures it and
report.py prints the verdicts.
"""

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import figures
import report
import servers


def main() -> None:
    args = _arguments()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    # Whatever was made (servers, the baseline's checkout and database, the seeded files) is
    # removed on the way out, however the run ends.
    with ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        env = servers.environment(workdir)
        backend = "postgresql" if env["DATABASE_URL"].startswith("postgresql") else "sqlite"
        print(f"Backend: {backend}; {args.clients:,} clients in the large firm; "
              f"{args.seconds} s runs")
        builds = _builds(args, workdir, env, backend, cleanup)
        setups = {}
        for build in builds:
            if build.env["DATABASE_URL"] not in setups:
                setups[build.env["DATABASE_URL"]] = servers.seed(build, args.clients)
        # The seed wrote a gigabyte: let the kernel write it back now, not during the first runs.
        os.sync()
        for build in builds:
            build.port = servers.free_port()
            cleanup.callback(servers.stop, servers.start_gunicorn(build))
        if args.postgres_cpus:
            servers.give_postgres_its_own_cpus(env, [b.port for b in builds], args.postgres_cpus)
        results = figures.measure(builds, setups, args)
    report.report(results, backend, args)


def _builds(args, workdir: Path, env: dict, backend: str,
            cleanup: ExitStack) -> list[servers.Build]:
    only = set(args.only.split(","))
    builds = [servers.Build("as built", servers.ROOT, env, only)]
    if args.mechanisms and only & {"P1", "P3"}:
        builds += [servers.Build(f"without {name}", servers.ROOT, {**env, **setting}, set())
                   for name, (_figure, setting, backends) in report.MECHANISMS.items()
                   if backend in backends]
    if args.baseline:
        builds.append(servers.baseline_build(args.baseline, workdir, env, only - {"L1"}, cleanup))
    return builds


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


if __name__ == "__main__":
    main()
