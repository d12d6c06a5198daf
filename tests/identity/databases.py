"""Test databases: a temporary SQLite file, or a private schema on PostgreSQL.

PostgreSQL is required in CI (CI=true): if it cannot be reached there the run
fails.  Elsewhere the PostgreSQL half is skipped, and the terminal summary says
so in capitals, so a local run never passes it silently."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SKIPPED_POSTGRES: list[str] = []


def postgres_base_url() -> str:
    return os.environ.get("TENANTGATE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def _libpq_dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def postgres_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        with psycopg.connect(_libpq_dsn(postgres_base_url()), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip()[:200]}"


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"PostgreSQL is required in CI and is not reachable: {reason}")
    SKIPPED_POSTGRES.append(reason)
    pytest.skip(f"POSTGRESQL NOT REACHABLE — PostgreSQL tests skipped: {reason}")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema; yields a SQLAlchemy URL whose connections use it."""
    require_postgres()
    schema = f"tg_test_{secrets.token_hex(6)}"
    dsn = _libpq_dsn(postgres_base_url())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    options = quote(f"-csearch_path={schema}")
    base = postgres_base_url()
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={options}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
