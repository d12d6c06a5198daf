"""The identity server's tables.  Times are epoch seconds (double precision) so that
the injected clock is the only clock; the database never stamps time by itself."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
)

tenant_refs = Table(
    "tenant_refs",
    metadata,
    Column("ref", String(64), primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("epoch", Integer, nullable=False),
    # One ref per tenant and rotation epoch: the row every instance agrees on.
    UniqueConstraint("tenant_id", "epoch", name="uq_tenant_refs_tenant_epoch"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(64), nullable=False, unique=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=True),
    Column("password_hash", String(256), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
    # TOTP secret sealed under the KEK (associated data: the subject); NULL = no TOTP.
    Column("totp_sealed", Text, nullable=True),
    # Time step of the last accepted code: a code at or before it is refused (single use).
    Column("totp_last_step", Integer, nullable=True),
)

admin_grants = Table(
    "admin_grants",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("permissions", Text, nullable=False),  # space-separated, sorted
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("secret_digest", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("redirect_uris", Text, nullable=False),  # JSON list
    Column("account_kinds", Text, nullable=False),  # JSON list
    Column("grant_types", Text, nullable=False),  # JSON list
    Column("audience", String(128), nullable=False),
    Column("sso_audiences", Text, nullable=False),  # JSON list
    Column("redeems_sso", Boolean, nullable=False, default=False),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("client_id", String(128), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(64), nullable=False),
    Column("issued_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
    Column("session_id", String(64), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("current_tenant_id", Integer, nullable=True),
    Column("revoked_at", Float, nullable=True),
    Index("ix_sessions_account", "account_id"),
)

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("tenant_id", Integer, nullable=True),
    Column("started_at", Float, nullable=False),
    Column("deadline", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    # Space-separated; NULL = no ceiling.  A family born from SSO never refreshes wider.
    Column("permission_ceiling", Text, nullable=True),
    Index("ix_refresh_families_session", "session_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column(
        "family_id",
        String(64),
        ForeignKey("refresh_families.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("issued_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("rotated_at", Float, nullable=True),
    Index("ix_refresh_tokens_family", "family_id"),
)

revoked_access_tokens = Table(
    "revoked_access_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
)

one_time_uses = Table(
    "one_time_uses",
    metadata,
    # Namespaced by kind: an SSO jti can never collide with another one-time object.
    Column("kind", String(32), primary_key=True),
    Column("jti", String(128), primary_key=True),
    Column("claimant", String(128), nullable=False),
    Column("used_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

keys = Table(
    "keys",
    metadata,
    Column("kid", String(128), primary_key=True),
    Column("use", String(8), nullable=False),
    Column("alg", String(16), nullable=False),
    Column("sealed_private", Text, nullable=False),
    Column("public_jwk", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float, nullable=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    # One row per counted attempt; a sliding window counts rows newer than now - window.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),  # "account" | "address"
    Column("key_digest", String(64), nullable=False),  # SHA-256 of the username or address
    Column("at", Float, nullable=False),
    Index("ix_login_attempts_scope_key_at", "scope", "key_digest", "at"),
    Index("ix_login_attempts_at", "at"),
)

pending_logins = Table(
    "pending_logins",
    metadata,
    # Between the password and the TOTP step; deleted when the code is accepted, when the
    # attempts run out, or once expired.  Keyed by the SHA-256 of a random id the browser
    # holds in a short-lived cookie, and bound to the authorization request.
    Column("id_digest", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("binding", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("event", String(64), nullable=False),
    Column("account_id", Integer, nullable=True),
    Column("client_id", String(128), nullable=True),
    Column("tenant_id", Integer, nullable=True),
    Column("session_id", String(64), nullable=True),
    Column("address", String(64), nullable=True),
    Column("detail", Text, nullable=False),  # JSON object
    # Hash chain (domain/audit_chain.py): position, predecessor's hash, own hash.
    Column("seq", Integer, nullable=True, unique=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Index("ix_audit_events_at", "at"),
)

audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    # Exactly one row (id 1).  Appends update it first: that row lock serializes every
    # writer of the chain, on any number of instances.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    # The hash before last_hash: PostgreSQL's one-statement append moves last_hash here
    # while it computes the new one, and reads both back for the new record's link.
    Column("prev_hash", String(64), nullable=True),
)
