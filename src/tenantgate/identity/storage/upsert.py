"""`INSERT ... ON CONFLICT DO NOTHING` for both dialects: the atomic "first one wins"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_ignoring_conflicts(
    dialect: str, table: Table, values: dict[str, Any] | None = None
) -> Insert:
    """The statement; without *values* it takes them as execution parameters, so a hot
    path can build it once and run it with a dict each time."""
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    if values is not None:
        insert = insert.values(**values)
    return insert.on_conflict_do_nothing()
