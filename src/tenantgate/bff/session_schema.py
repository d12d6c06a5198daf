"""The portal session table.  The cookie value is never stored, only its SHA-256."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id_digest", String(64), primary_key=True),
    Column("portal", String(32), nullable=False),
    Column("public_id", String(64), nullable=False, unique=True),
    Column("subject", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("tenant_id", Integer, nullable=True),
    Column("tenant_ref", String(64), nullable=True),
    Column("tenant_name", String(200), nullable=True),
    Column("permissions", Text, nullable=False),
    Column("sealed_tokens", Text, nullable=False),  # AES-GCM under the portal's session key
    Column("access_expires_at", Float, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),  # absolute deadline
    Column("refresh_lease_until", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("end_reason", String(64), nullable=True),
    Index("ix_portal_sessions_portal_subject", "portal", "subject"),
)
