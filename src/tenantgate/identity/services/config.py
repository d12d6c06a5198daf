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
    # Login throttling (sliding window, counted in the database; services/throttling.py).
    login_window: int = 900
    login_account_limit: int = 5
    login_address_limit: int = 20
    # The TOTP step: how long the pending login lives and how many codes it may try.
    pending_login_ttl: int = 300
    totp_max_attempts: int = 5
