"""The identity server's keys, read from the database and cached briefly.

The database is the source of truth so that every instance signs with the same
current key and publishes the same JWKS; ``tenantgate keys rotate`` on any host
reaches all instances within ``key_cache_seconds`` (or at once on an unknown kid).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..domain.clock import Clock
from ..domain.keys import (
    EncryptionKey,
    SigningKey,
    StoredKey,
    generate_signing_key,
    generate_sso_key,
    open_signing_key,
    open_sso_key,
)
from .config import IdentityConfig
from .ports import KeyStore

UNKNOWN_KID_COOLDOWN = 5.0


class KeyRing:
    def __init__(self, store: KeyStore, config: IdentityConfig, clock: Clock) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._lock = asyncio.Lock()
        self._loaded_at = float("-inf")
        self._signing: dict[str, SigningKey] = {}
        self._sso: dict[str, EncryptionKey] = {}
        self._current_signing: SigningKey | None = None
        self._current_sso: EncryptionKey | None = None
        self._jwks: dict[str, Any] = {"keys": []}
        self._forced_at = float("-inf")

    async def refresh(self, *, force: bool = False) -> None:
        now = self._clock.now()
        if not force and now - self._loaded_at < self._config.key_cache_seconds:
            return
        async with self._lock:
            if not force and self._clock.now() - self._loaded_at < self._config.key_cache_seconds:
                return
            stored = await self._store.all_keys()
            if not any(k.use == "sig" and k.retired_at is None for k in stored):
                await rotate_keys(self._store, self._config, self._clock, "sig")
                stored = await self._store.all_keys()
            if not any(k.use == "enc" and k.retired_at is None for k in stored):
                await rotate_keys(self._store, self._config, self._clock, "enc")
                stored = await self._store.all_keys()
            self._load(stored, now)

    async def refresh_for_unknown_kid(self) -> bool:
        """Another instance may have rotated keys: reload, at most every few seconds so
        that junk kids cannot turn into a database query each."""
        now = self._clock.now()
        if now - self._forced_at < UNKNOWN_KID_COOLDOWN:
            return False
        self._forced_at = now
        await self.refresh(force=True)
        return True

    def _load(self, stored: list[StoredKey], now: float) -> None:
        kek, overlap = self._config.key_encryption_key, self._config.key_overlap
        usable = sorted(
            (k for k in stored if k.usable_at(now, overlap)), key=lambda k: k.created_at
        )
        signing = {
            k.kid: self._signing.get(k.kid) or open_signing_key(k, kek)
            for k in usable
            if k.use == "sig"
        }
        sso = {
            k.kid: self._sso.get(k.kid) or open_sso_key(k, kek) for k in usable if k.use == "enc"
        }
        current_sig = [k for k in usable if k.use == "sig" and k.retired_at is None]
        current_enc = [k for k in usable if k.use == "enc" and k.retired_at is None]
        self._signing, self._sso = signing, sso
        self._current_signing = signing[current_sig[-1].kid]
        self._current_sso = sso[current_enc[-1].kid]
        self._jwks = {"keys": [key.public_jwk for key in signing.values()]}
        self._loaded_at = now

    def signing_key(self) -> SigningKey:
        if self._current_signing is None:
            raise RuntimeError("KeyRing.refresh() was never awaited")
        return self._current_signing

    def sso_key(self) -> EncryptionKey:
        if self._current_sso is None:
            raise RuntimeError("KeyRing.refresh() was never awaited")
        return self._current_sso

    def verification_key(self, kid: str) -> SigningKey | None:
        return self._signing.get(kid)

    def sso_opening_key(self, kid: str) -> EncryptionKey | None:
        return self._sso.get(kid)

    def knows(self, kid: str) -> bool:
        return kid in self._signing or kid in self._sso

    def jwks(self) -> dict[str, Any]:
        return self._jwks


async def rotate_keys(store: KeyStore, config: IdentityConfig, clock: Clock, use: str) -> str:
    """Create a new current key of ``use`` ("sig" or "enc"); the old one enters its overlap."""
    now = clock.now()
    kek = config.key_encryption_key
    key = generate_signing_key(kek, now) if use == "sig" else generate_sso_key(kek, now)
    await store.add_key(key, retire_others_at=now)
    return key.kid
