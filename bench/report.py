"""What the figures must meet (issue #18's floors and the mechanisms kept for speed), and the
report of a run.
"""

import json

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


def report(results: dict, backend: str, args) -> None:
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
