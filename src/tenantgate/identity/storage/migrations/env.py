"""Alembic environment: the URL comes from the caller (`tenantgate db upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from tenantgate.identity.storage.schema import metadata

url: str = context.config.attributes.get("database_url") or context.config.get_main_option(
    "sqlalchemy.url", ""
)
engine = create_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table="alembic_version_identity",
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
