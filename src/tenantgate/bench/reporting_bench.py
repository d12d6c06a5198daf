"""Reporting: the KPI summary behind the reporting portal's ``GET /api/summary``.

What is timed is ``banking.kpis.summarize`` for the dashboard's default period (the last 30
days) of a random FI, plus JSON rendering of the result — the database work of the route.
The portal's HTTP layer and session lookup are not included (see the report in
``bench/results.json``: ``details.reporting.measures``).

Scales (``TENANTGATE_BENCH_REPORTING_SCALE``):

* ``small`` (default): 20 FIs × 1,000 customers × 20 transactions (400k transactions), on
  PostgreSQL when ``TENANTGATE_DATABASE_URL`` is set, SQLite otherwise — reported as such;
* ``full``: 250 FIs × 4,000 customers (1M) × 20 transactions (20M), PostgreSQL only;
  generation takes ~5 min on a 2-core machine, so
  ``TENANTGATE_BENCH_REPORTING_SCHEMA=name`` keeps the data in that schema and later runs
  reuse it.

The rollups the summary reads are proved equal to a direct aggregate of the facts by
``tests/banking/test_generator.py::test_generated_data_is_consistent_and_rollups_equal_facts``
(``banking.verification.compare_rollups_with_facts``); the benchmark re-checks one FI of the
data set it measures."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ..banking.engine import create_banking_engine
from ..banking.generator import generate
from ..banking.kpis import summarize
from ..banking.schema import create_schema, institutions
from ..banking.scope import TenantScope
from ..banking.verification import compare_rollups_with_facts
from ..banking.vocabulary import institution_names
from .cpu import load_average
from .stats import figure, percentile

SCALES = {
    "small": {"banks": 20, "customers_per_bank": 1_000},
    "full": {"banks": 250, "customers_per_bank": 4_000},
}
REQUESTS = 300
PERIOD_DAYS = 30


@asynccontextmanager
async def _engine(scale: str) -> AsyncIterator[tuple[AsyncEngine, str, bool]]:
    """(engine, database description, keep): SQLite in a temporary directory, or a schema on
    PostgreSQL (kept when TENANTGATE_BENCH_REPORTING_SCHEMA names it, else dropped)."""
    url = os.environ.get("TENANTGATE_DATABASE_URL")
    if url is None:
        if scale == "full":
            raise SystemExit("the full reporting scale needs PostgreSQL: TENANTGATE_DATABASE_URL")
        with tempfile.TemporaryDirectory(prefix="tg-bench-reporting-") as directory:
            engine = create_banking_engine(f"sqlite+aiosqlite:///{Path(directory) / 'b.db'}")
            try:
                yield engine, "sqlite", False
            finally:
                await engine.dispose()
        return
    named = os.environ.get("TENANTGATE_BENCH_REPORTING_SCHEMA")
    schema = named or f"tg_bench_reporting_{secrets.token_hex(4)}"
    engine = create_banking_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    try:
        yield engine, f"postgresql (schema {schema})", named is not None
    finally:
        if named is None:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def _populate(engine: AsyncEngine, banks: int, customers: int) -> dict[str, Any]:
    await create_schema(engine)
    async with engine.connect() as conn:
        present = int(await conn.scalar(select(func.count()).select_from(institutions)) or 0)
    if present == banks:
        return {"generated": False, "seconds": 0.0}
    if present:
        raise SystemExit(f"the reporting schema holds {present} FIs, not {banks}: use a new one")
    started = time.perf_counter()
    names = institution_names(banks)
    report = await generate(
        engine,
        [(i + 1, name) for i, name in enumerate(names)],
        customers_per_bank=customers,
        until=datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0),
    )
    return {
        "generated": True,
        "seconds": time.perf_counter() - started,
        "customers": report.customers,
        "transactions": report.transactions,
    }


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    out: dict[str, int] = {}
    async with engine.connect() as conn:
        for table in ("institutions", "customers", "transactions"):
            # Exact counts: a few seconds at 20M rows, once per run.
            out[table] = int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608 - fixed names
    return out


async def _measure(engine: AsyncEngine, banks: int, today: date) -> list[float]:
    start = today - timedelta(days=PERIOD_DAYS - 1)
    rng = random.Random(7)  # noqa: S311 - which FI to ask for, not a secret
    latencies: list[float] = []
    for _ in range(REQUESTS):
        scope = TenantScope(rng.randint(1, banks))
        began = time.perf_counter()
        kpis = await summarize(engine, scope, start, today)
        json.dumps(dataclasses.asdict(kpis), default=str)
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


async def _run(repeats: int) -> dict[str, Any]:
    scale = os.environ.get("TENANTGATE_BENCH_REPORTING_SCALE", "small")
    if scale not in SCALES:
        raise SystemExit(f"TENANTGATE_BENCH_REPORTING_SCALE must be one of {sorted(SCALES)}")
    shape = SCALES[scale]
    async with _engine(scale) as (engine, database, kept):
        generation = await _populate(engine, shape["banks"], shape["customers_per_bank"])
        counts = await _counts(engine)
        today = datetime.now(UTC).date()
        differences = await compare_rollups_with_facts(
            engine, TenantScope(1), today - timedelta(days=PERIOD_DAYS - 1), today
        )
        await _measure(engine, shape["banks"], today)  # warm the pool and caches
        p50: list[float] = []
        p95: list[float] = []
        loads: list[float] = []
        for _ in range(repeats):
            latencies = await _measure(engine, shape["banks"], today)
            p50.append(percentile(latencies, 50))
            p95.append(percentile(latencies, 95))
            loads.append(load_average())
    return {
        "figures": {
            "summary p50": figure(p50, "ms"),
            "summary p95": figure(p95, "ms"),
        },
        "details": {
            "scale": scale,
            "database": database,
            "kept": kept,
            "rows": counts,
            "generation": generation,
            "period_days": PERIOD_DAYS,
            "requests_per_repeat": REQUESTS,
            "rollups_equal_direct_query_for_fi_1": differences == [],
            "rollup_differences": differences,
            "load_average_1m": loads,
            "measures": "banking.kpis.summarize + JSON, sequential, one client, in process; "
            "not the portal's HTTP and session layers",
        },
    }


def run_reporting_benchmarks(repeats: int) -> dict[str, Any]:
    return asyncio.run(_run(repeats))
