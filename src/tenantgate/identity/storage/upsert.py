"""`INSERT ... ON CONFLICT DO NOTHING` for both dialects: the atomic "first one wins"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def insert_ignoring_conflicts(dialect: str, table: Table, values: dict[str, Any]) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    return sqlite.insert(table).values(**values).on_conflict_do_nothing()
