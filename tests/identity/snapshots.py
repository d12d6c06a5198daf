"""Seed once per test session, then give every test the same fresh state quickly:
SQLite copies a template file; PostgreSQL truncates and re-inserts a snapshot."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.identity.storage.schema import metadata

_SERIAL = {"tenants": "id", "accounts": "id", "audit_events": "id"}


def copy_sqlite_template(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


async def take_snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            return {
                table.name: [dict(r._mapping) for r in (await conn.execute(select(table))).all()]
                for table in metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def restore_snapshot(url: str, snapshot: dict[str, list[dict[str, Any]]]) -> None:
    engine = create_engine_for(url)
    try:
        async with engine.begin() as conn:
            # DELETE beats TRUNCATE on a handful of tiny tables (no relfilenode swap).
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
            for table in metadata.sorted_tables:
                if snapshot[table.name]:
                    await conn.execute(table.insert(), snapshot[table.name])
            for name, column in _SERIAL.items():
                table = metadata.tables[name]
                highest = (await conn.execute(select(func.max(table.c[column])))).scalar()
                await conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, :c), :v, :called)"),
                    {"t": name, "c": column, "v": highest or 1, "called": highest is not None},
                )
    finally:
        await engine.dispose()
