from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantgate.demo.seed import DemoIdentity
from tenantgate.identity.domain.clock import ManualClock

from .databases import postgres_schema
from .harness import World, prepare_database, running_world
from .snapshots import copy_sqlite_template, restore_snapshot, take_snapshot


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (migrations not yet applied)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=float(int(time.time())))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoIdentity]:
    path = tmp_path_factory.mktemp("template") / "identity.db"
    seed = asyncio.run(prepare_database(f"sqlite+aiosqlite:///{path}"))
    return path, seed


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[tuple[str, DemoIdentity, dict[str, Any]]]:
    with postgres_schema() as url:
        seed = asyncio.run(prepare_database(url))
        yield url, seed, asyncio.run(take_snapshot(url))


@pytest.fixture(params=["sqlite", "postgres"])
def world_database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, DemoIdentity]:
    """A seeded database, fresh for every test: (url, what the seed created)."""
    if request.param == "sqlite":
        template, seed = request.getfixturevalue("sqlite_template")
        return copy_sqlite_template(template, tmp_path / "identity.db"), seed
    url, seed, snapshot = request.getfixturevalue("postgres_template")
    asyncio.run(restore_snapshot(url, snapshot))
    return url, seed


@pytest.fixture
async def world(
    world_database: tuple[str, DemoIdentity], clock: ManualClock
) -> AsyncIterator[World]:
    """A seeded identity server on each database."""
    url, seed = world_database
    async with running_world(url, seed, clock) as running:
        yield running
