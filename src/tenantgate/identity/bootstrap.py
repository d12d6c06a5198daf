"""The identity server's composition root: settings in, wired dependencies out."""

from __future__ import annotations

from ..settings import Settings
from .domain.clock import Clock, SystemClock
from .domain.passwords import Passwords
from .services.config import IdentityConfig
from .services.context import Deps
from .services.hashing_pool import HashingPool
from .services.keyring import KeyRing
from .storage.engine import create_engine_for
from .storage.sql_store import SqlIdentityStore


def identity_config(settings: Settings) -> IdentityConfig:
    return IdentityConfig(
        issuer=settings.issuer.rstrip("/"),
        key_encryption_key=settings.key_encryption_key_bytes(),
        access_token_ttl=settings.access_token_ttl,
        sso_token_ttl=settings.sso_token_ttl,
        tenant_ref_rotation=settings.tenant_ref_rotation,
        tenant_ref_grace=settings.tenant_ref_grace,
        refresh_token_ttl=settings.refresh_token_ttl,
        refresh_token_idle_ttl=min(settings.refresh_token_idle_ttl, settings.refresh_token_ttl),
        authorization_code_ttl=settings.authorization_code_ttl,
        key_overlap=max(settings.key_overlap, settings.access_token_ttl, settings.sso_token_ttl),
        leeway=settings.clock_leeway,
    )


def build_deps(
    settings: Settings, *, clock: Clock | None = None, passwords: Passwords | None = None
) -> Deps:
    config = identity_config(settings)
    clock = clock or SystemClock()
    store = SqlIdentityStore(create_engine_for(settings.resolved_database_url))
    return Deps(
        store=store,
        config=config,
        clock=clock,
        keyring=KeyRing(store, config, clock),
        passwords=passwords or Passwords(),
        hashing=HashingPool(settings.password_hashing_threads),
    )
