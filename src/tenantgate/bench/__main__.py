"""Run the benchmarks: `python -m tenantgate.bench` (what `make bench` runs).

Environment: ``TENANTGATE_DATABASE_URL`` (PostgreSQL; SQLite otherwise),
``TENANTGATE_BENCH_REPEATS`` (3), ``TENANTGATE_BENCH_DURATION`` (seconds per measured
window, 5), ``TENANTGATE_BENCH_REPORTING_SCALE`` (``small`` by default, ``full`` for 250 FIs,
1M customers and 20M transactions on PostgreSQL), ``TENANTGATE_BENCH_ONLY`` (a comma list
of ``verify,identity,reporting``)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .cpu import load_average
from .identity_bench import run_identity_benchmarks
from .verify_bench import run_verify_benchmarks

TARGETS = {
    # (group, figure, comparison, threshold): the targets, as same-run ratios.
    "refresh ≥ 70% of baseline": ("identity", "refresh grants / baseline", ">=", 0.70),
    "SSO ≥ 70% of baseline": ("identity", "SSO hand-offs / baseline", ">=", 0.70),
    "verify ≤ 1.3× raw cryptography": ("verify", "guard_over_raw", "<=", 1.30),
    "logins ≥ 90% of Argon2 limit": ("identity", "logins / argon2 limit", ">=", 0.90),
    "reporting summary p95 < 100 ms": ("reporting", "summary p95", "<", 100.0),
}


def _targets(results: dict[str, Any]) -> dict[str, Any]:
    verdicts: dict[str, Any] = {}
    for label, (group, name, op, threshold) in TARGETS.items():
        found = results.get(group, {}).get(name)
        if found is None:
            continue
        value = found["median"]
        met = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[op]
        verdicts[label] = {"value": value, "threshold": threshold, "met": met}
    return verdicts


def main() -> int:
    repeats = int(os.environ.get("TENANTGATE_BENCH_REPEATS", "3"))
    only = set(os.environ.get("TENANTGATE_BENCH_ONLY", "verify,identity,reporting").split(","))
    started = time.time()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_1m_at_start": load_average(),
        },
    }
    details: dict[str, Any] = {}
    if "verify" in only:
        results["verify"] = run_verify_benchmarks(repeats)
    if "identity" in only:
        identity = run_identity_benchmarks(repeats)
        results["identity"] = identity["figures"]
        details["identity"] = identity["details"]
    if "reporting" in only:
        from .reporting_bench import run_reporting_benchmarks

        reporting = run_reporting_benchmarks(repeats)
        results["reporting"] = reporting["figures"]
        details["reporting"] = reporting["details"]
    results["machine"]["load_average_1m_at_end"] = load_average()
    results["machine"]["seconds"] = round(time.time() - started, 1)
    results["targets"] = _targets(results)
    results["details"] = details
    out = Path("bench") / "results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    _print(results)
    print(f"\nwritten to {out}")
    return 0


def _print(results: dict[str, Any]) -> None:
    print(f"\n{'benchmark':<52} {'median':>10} {'min':>10} {'max':>10}  unit")
    for group in ("verify", "identity", "reporting"):
        for name, figure in results.get(group, {}).items():
            print(
                f"{group + ': ' + name:<52} {figure['median']:>10.2f} {figure['min']:>10.2f}"
                f" {figure['max']:>10.2f}  {figure['unit']}"
            )
    identity = results["details"].get("identity")
    if identity:
        print(f"\ncores used per measured window (median; database: {identity['database']}):")
        print(f"{'':<22} {'server':>8} {'loadgen':>8} {'rest':>8} {'load1m':>8}")
        for name, cores in identity["cores"].items():
            print(
                f"{name:<22} {cores['server']:>8.2f} {cores['load generator']:>8.2f}"
                f" {cores['rest of machine']:>8.2f} {cores['load average 1m']:>8.2f}"
            )
    print("\ntargets (ratios measured in this run):")
    for label, verdict in results["targets"].items():
        mark = "met" if verdict["met"] else "MISSED"
        print(f"  {label:<36} {verdict['value']:>8.2f}  {mark}")
    machine = results["machine"]
    print(
        f"\nload average (1 min) {machine['load_average_1m_at_start']:.2f} at start,"
        f" {machine['load_average_1m_at_end']:.2f} at end, on {machine['cpus']} cores:"
        " figures taken under other load are not the machine's capability"
    )


if __name__ == "__main__":
    raise SystemExit(main())
