"""The attack-matrix tests reuse the shared fixtures: a seeded identity server per test (on
SQLite and on PostgreSQL) and the three portals in-process (tests/portals/harness.py)."""

from __future__ import annotations

from ..identity.conftest import (  # noqa: F401 — fixtures shared with the identity tests
    anyio_backend,
    clock,
    postgres_template,
    sqlite_template,
    world,
    world_database,
)
from ..portals.admin.conftest import admin  # noqa: F401 — the admin portal in-process
from ..portals.conftest import banking_url, sessions_url  # noqa: F401 — shared fixtures
from ..portals.customer.conftest import me, portal  # noqa: F401 — the customer portal
from ..portals.reporting.conftest import reporting  # noqa: F401 — the reporting portal
