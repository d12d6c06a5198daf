"""Portal tests reuse the identity fixtures (a seeded identity server per test, on
SQLite and on PostgreSQL); each portal's tests add their own `portal_world` fixture
with `running_portal` from the harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantgate.demo.seed import DemoIdentity

from ..identity.conftest import (  # noqa: F401 — fixtures shared with the identity tests
    anyio_backend,
    clock,
    postgres_template,
    sqlite_template,
    world,
    world_database,
)
from ..identity.databases import postgres_schema


@pytest.fixture
def banking_url(
    world_database: tuple[str, DemoIdentity],  # noqa: F811 — the shared fixture
    tmp_path: Path,
) -> Iterator[str]:
    """Banking data on the same kind of database as the identity server, fresh per test."""
    if world_database[0].startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'banking.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def sessions_url(
    world_database: tuple[str, DemoIdentity],  # noqa: F811 — the shared fixture
    tmp_path: Path,
) -> str:
    if world_database[0].startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"
    return world_database[0]
