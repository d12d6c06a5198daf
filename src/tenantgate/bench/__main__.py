"""Run the benchmarks: `python -m tenantgate.bench` (what `make bench` runs)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from .identity_bench import run_identity_benchmarks
from .verify_bench import run_verify_benchmarks


def main() -> int:
    repeats = int(os.environ.get("TENANTGATE_BENCH_REPEATS", "3"))
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "verify": run_verify_benchmarks(repeats),
        "identity": asyncio.run(run_identity_benchmarks(repeats)),
    }
    out = Path("bench") / "results.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\n{'benchmark':<44} {'median':>12}  unit")
    for group in ("verify", "identity"):
        for name, figure in results[group].items():
            print(f"{group + ': ' + name:<44} {figure['median']:>12.1f}  {figure['unit']}")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
