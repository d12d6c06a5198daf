"""What the use cases need to know of the deployment, as plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    issuer: str
    key_encryption_key: bytes
    access_token_ttl: int = 1200
    sso_token_ttl: int = 120
    tenant_ref_rotation: int = 1800
    tenant_ref_grace: int = 1800
    refresh_token_ttl: int = 28800
    refresh_token_idle_ttl: int = 3600
    authorization_code_ttl: int = 60
    key_overlap: int = 3600
    leeway: int = 5
    key_cache_seconds: float = 10.0
