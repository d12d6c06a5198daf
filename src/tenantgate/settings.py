"""Settings from ``TENANTGATE_*`` environment variables.

There is deliberately no module-level instance: the composition root builds one
(``Settings()``) and passes it down, so tests construct their own.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_SSO_TOKEN_TTL = 120
MIN_KEK_BYTES = 32


class InsecureSettingsError(ValueError):
    """A value that is only acceptable in demo mode was used outside it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTGATE_", extra="ignore", frozen=True)

    demo_mode: bool = False
    data_dir: Path = Path(".tenantgate")
    database_url: str | None = None
    issuer: str = "http://127.0.0.1:8700"
    # 32 random bytes, base64url; encrypts the signing and SSO keys at rest.
    key_encryption_key: SecretStr | None = None
    redis_url: str | None = None

    access_token_ttl: Annotated[int, Field(ge=60, le=3600)] = 1200
    sso_token_ttl: Annotated[int, Field(ge=5, le=MAX_SSO_TOKEN_TTL)] = 120
    tenant_ref_rotation: Annotated[int, Field(ge=2)] = 1800
    refresh_token_ttl: Annotated[int, Field(ge=60)] = 28800
    refresh_token_idle_ttl: Annotated[int, Field(ge=60)] = 3600
    authorization_code_ttl: Annotated[int, Field(ge=10, le=600)] = 60
    # Keys stay published (JWKS) and usable for opening SSO tokens this long after rotation.
    key_overlap: Annotated[int, Field(ge=0)] = 3600
    clock_leeway: Annotated[int, Field(ge=0, le=30)] = 5
    trusted_proxies: tuple[str, ...] = ()
    # Threads that run Argon2 (0: one per core the process may use); see hashing_pool.py.
    password_hashing_threads: Annotated[int, Field(ge=0, le=256)] = 0

    @property
    def tenant_ref_grace(self) -> int:
        """How long a rotated ref stays recognisable as stale: one rotation period, and never
        less than an access token lives — a token issued just before a rotation carries the
        old ref and must keep working until it expires."""
        return max(self.tenant_ref_rotation, self.access_token_ttl)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return sqlite_url(self.data_dir)

    def key_encryption_key_bytes(self) -> bytes:
        if self.key_encryption_key is None:
            raise InsecureSettingsError("TENANTGATE_KEY_ENCRYPTION_KEY is not set")
        return decode_kek(self.key_encryption_key.get_secret_value())

    @model_validator(mode="after")
    def _refuse_insecure_outside_demo(self) -> Settings:
        if self.key_encryption_key is not None:
            decode_kek(self.key_encryption_key.get_secret_value())
        if self.demo_mode:
            return self
        if self.key_encryption_key is None:
            raise InsecureSettingsError(
                "TENANTGATE_KEY_ENCRYPTION_KEY is required outside demo mode "
                "(32 random bytes, base64url: `tenantgate keys new-kek`)"
            )
        if not self.issuer.startswith("https://"):
            raise InsecureSettingsError(
                "TENANTGATE_ISSUER must be an https:// URL outside demo mode"
            )
        if self.refresh_token_idle_ttl > self.refresh_token_ttl:
            raise InsecureSettingsError(
                "TENANTGATE_REFRESH_TOKEN_IDLE_TTL cannot exceed TENANTGATE_REFRESH_TOKEN_TTL"
            )
        return self


def sqlite_url(data_dir: Path) -> str:
    """The embedded default: one SQLite file under the data dir."""
    return f"sqlite+aiosqlite:///{(data_dir / 'identity.db').resolve()}"


def decode_kek(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InsecureSettingsError("the key-encryption key is not valid base64url") from exc
    if len(raw) != MIN_KEK_BYTES:
        raise InsecureSettingsError("the key-encryption key must be exactly 32 bytes")
    return raw
