"""Identity-server throughput against real server processes.

* the identity server: `python -m tenantgate.cli serve identity` (uvicorn, uvloop +
  httptools, one worker process, access log off) on a freshly migrated and seeded
  database — SQLite by default, PostgreSQL (a private schema) when
  ``TENANTGATE_DATABASE_URL`` is set;
* the bare-bones baseline (`baseline_app.py`) on the same database, same uvicorn setup;
* the load generator (`loadgen.py`) as a separate process (one thread, uvloop, raw
  HTTP/1.1 keep-alive), which reports the cores used by each side per measured window.

Each repeat runs the real server's scenarios and the baseline's back to back, so every ratio
compares figures taken under the same machine load, and the two swap places from one repeat
to the next (:func:`sides_in_order`): in paired runs of two builds of the identity server on
this machine, whichever ran first was often several percent faster, a bias a fixed order
would put into every ratio.  The reported figure is the median over repeats.

Logins are measured against what Argon2id with the configured parameters allows on this
machine's cores, measured right before and right after each repeat's logins (their mean:
the machine's capability during the window, even if it drifts between the two)."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import threading
import time
from typing import Any

from ..demo.seed import seed_identity
from ..identity.domain.accounts import AccountKind
from ..identity.domain.passwords import Argon2Parameters, Passwords
from ..identity.storage.administration import SqlAdministration
from ..identity.storage.engine import create_engine_for, upgrade_database
from .cpu import load_average
from .servers import bench_database, run_loadgen, start_baseline, start_identity
from .stats import figure

PASSWORD = "bench-password-123"  # a throwaway benchmark account
CONCURRENCY = 50
LOGIN_CONCURRENCY = 8
SCENARIOS = ("refresh", "sso", "select")


async def _seed(url: str) -> tuple[dict[str, Any], list[str]]:
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine_for(url)
    try:
        seed = await seed_identity(
            SqlAdministration(engine, time.time()),
            Passwords(),
            banks=12,
            port_base=8700,
            demo_password=PASSWORD,
        )
    finally:
        await engine.dispose()
    employees = [u.username for u in seed.users if u.kind is AccountKind.EMPLOYEE]
    return seed.clients, employees


def argon2_limit(seconds: float = 3.0) -> dict[str, float]:
    """Verifications per second that Argon2id with the server's parameters allows when
    every core does nothing else (one thread per core; argon2-cffi releases the GIL)."""
    passwords = Passwords()
    stored = passwords.hash(PASSWORD)
    cores = os.cpu_count() or 1
    counts = [0] * cores
    stop_at = time.perf_counter() + seconds

    def spin(index: int) -> None:
        while time.perf_counter() < stop_at:
            passwords.verify(stored, PASSWORD)
            counts[index] += 1

    threads = [threading.Thread(target=spin, args=(i,)) for i in range(cores)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    single = time.perf_counter()
    passwords.verify(stored, PASSWORD)
    return {
        "per_second": sum(counts) / elapsed,
        "cores": cores,
        "single_verify_ms": (time.perf_counter() - single) * 1000,
        "load_average_1m": load_average(),
    }


def bracket(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """One limit for the window between two measurements: their mean, both kept."""
    return {
        **after,
        "per_second": (before["per_second"] + after["per_second"]) / 2,
        "before_per_second": before["per_second"],
        "after_per_second": after["per_second"],
    }


def _plan(
    server: Any, world: tuple[dict[str, Any], list[str]], scenarios: list[str], target: str
) -> dict[str, Any]:
    clients, employees = world
    return {
        "target": target,
        "host": "127.0.0.1",
        "port": server.port,
        "server_pids": [server.pid],
        "clients": clients,
        "username": "admin",
        "password": PASSWORD,
        "login_users": employees,
        "concurrency": CONCURRENCY,
        "login_concurrency": LOGIN_CONCURRENCY,
        "scenarios": scenarios,
        "repeats": 1,
        "warmup": float(os.environ.get("TENANTGATE_BENCH_WARMUP", "1")),
        "duration": float(os.environ.get("TENANTGATE_BENCH_DURATION", "5")),
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(float(r[key]) for r in runs))


def run_identity_benchmarks(repeats: int) -> dict[str, Any]:
    postgres_url = os.environ.get("TENANTGATE_DATABASE_URL") or None
    with bench_database(postgres_url) as (kind, url, directory):
        world = asyncio.run(_seed(url))
        clients = world[0]
        kek = secrets.token_bytes(32)
        identity = start_identity(url, kek, directory)
        baseline_url = url if kind == "postgresql" else f"sqlite:///{directory / 'baseline.db'}"
        baseline = start_baseline(baseline_url, clients, directory)
        real_runs: dict[str, list[dict[str, Any]]] = {s: [] for s in (*SCENARIOS, "login")}
        base_runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SCENARIOS}
        limits: list[dict[str, float]] = []
        servers = {"identity": identity, "baseline": baseline}
        try:
            for repeat in range(repeats):
                runs = {
                    side: run_loadgen(_plan(servers[side], world, list(SCENARIOS), side), directory)
                    for side in sides_in_order(repeat)
                }
                real, base = runs["identity"], runs["baseline"]
                # Just before and just after the logins (servers idle both times): each
                # repeat's ratio compares figures taken seconds apart, under the same load.
                before = argon2_limit()
                real.update(run_loadgen(_plan(identity, world, ["login"], "identity"), directory))
                limits.append(bracket(before, argon2_limit()))
                for name in real_runs:
                    real_runs[name] += real[name]
                for name in base_runs:
                    base_runs[name] += base[name]
        finally:
            identity.stop()
            baseline.stop()
    return _summarise(kind, real_runs, base_runs, limits)


def sides_in_order(repeat: int) -> tuple[str, str]:
    """Which server's scenarios run first in *repeat*: they alternate."""
    return ("identity", "baseline") if repeat % 2 == 0 else ("baseline", "identity")


def _summarise(
    kind: str,
    real: dict[str, list[dict[str, Any]]],
    base: dict[str, list[dict[str, Any]]],
    limits: list[dict[str, float]],
) -> dict[str, Any]:
    labels = {
        "refresh": "refresh grants",
        "sso": "SSO hand-offs",
        "select": "tenant selections",
        "login": "logins",
    }
    out: dict[str, Any] = {}
    for name, label in labels.items():
        runs = real[name]
        out[f"{label} per second"] = figure([r["rate"] for r in runs], "1/s")
        out[f"{label} p50"] = figure([r["p50_ms"] for r in runs], "ms")
        out[f"{label} p99"] = figure([r["p99_ms"] for r in runs], "ms")
        if name in base:
            pairs = zip(runs, base[name], strict=True)
            out[f"baseline {label} per second"] = figure([b["rate"] for b in base[name]], "1/s")
            out[f"{label} / baseline"] = figure([r["rate"] / b["rate"] for r, b in pairs], "×")
    out["argon2 limit (logins per second)"] = figure([m["per_second"] for m in limits], "1/s")
    out["logins / argon2 limit"] = figure(
        [r["rate"] / m["per_second"] for r, m in zip(real["login"], limits, strict=True)], "×"
    )
    details = {
        "database": kind,
        "server": "1 uvicorn worker process (uvloop, httptools, access log off)",
        "concurrency": CONCURRENCY,
        "login_concurrency": LOGIN_CONCURRENCY,
        "argon2": {"parameters": _params(), "limit per repeat": limits},
        "cores": {
            f"{side} {name}": {
                "server": _median(runs[name], "server_cores"),
                "load generator": _median(runs[name], "loadgen_cores"),
                "rest of machine": _median(runs[name], "other_cores"),
                "load average 1m": _median(runs[name], "load_average_1m"),
            }
            for side, runs in (("identity", real), ("baseline", base))
            for name in runs
        },
        "runs": {"identity": real, "baseline": base},
    }
    return {"figures": out, "details": details}


def _params() -> dict[str, int]:
    p = Argon2Parameters()
    return {"memory_kib": p.memory_cost_kib, "time_cost": p.time_cost, "lanes": p.parallelism}
