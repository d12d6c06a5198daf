"""The issuer's public keys, fetched from its ``jwks_uri`` and cached (RFC 7517 §5, RFC 8414).

The cache policy follows what mature JOSE libraries settled on (panva/jose's remote JWK Set):

* ``max_age`` (default 10 min): a key set older than this is refetched before use;
* refetch on an unknown ``kid`` - that is how a rotated-in key is picked up - but at most once
  per ``cooldown`` (default 30 s) after the last fetch attempt, so a flood of tokens with
  made-up ``kid`` values cannot turn the guard into an amplifier against the issuer;
* one fetch at a time: concurrent coroutines wait on one ``asyncio.Lock`` and reuse the
  result of the fetch that ran while they waited instead of starting their own;
* a failed refresh keeps serving the previous keys for ``stale_if_error`` (default 1 h) so
  an issuer blip does not log every user out, and is not retried for ``failure_backoff``.

Hardening of the fetch itself: no redirects, only ``200``, a body limit, a timeout, JSON
without duplicate members. Keys are parsed once per fetch (see :mod:`.keys`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Final

import httpx

from tenantgate.guard.compact import parse_json
from tenantgate.guard.errors import GuardError, KeySetUnavailable
from tenantgate.guard.keys import SUPPORTED_ALGORITHMS, KeySet, PublicKey

__all__ = ["RemoteKeySet", "StaticKeySource", "discover_jwks_uri", "metadata_url"]

log = logging.getLogger(__name__)

DEFAULT_MAX_JWKS_BYTES: Final = 64 * 1024
_ACCEPT: Final = "application/jwk-set+json, application/json;q=0.9"


class _FetchError(Exception):
    """Internal: one fetch attempt failed; the reason is for logs."""


async def _get_json(
    client: httpx.AsyncClient, url: str, *, http_timeout: float, max_bytes: int
) -> Any:
    """GET ``url`` and decode a bounded JSON object body. Raises :class:`_FetchError`."""
    try:
        async with client.stream(
            "GET", url, headers={"Accept": _ACCEPT}, timeout=http_timeout, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise _FetchError(f"HTTP {response.status_code} from {url}")
            declared = response.headers.get("Content-Length", "0")
            if not declared.isdigit() or int(declared) > max_bytes:
                raise _FetchError(f"body from {url} larger than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():  # decoded: bounds a gzip bomb too
                body += chunk
                if len(body) > max_bytes:
                    raise _FetchError(f"body from {url} larger than {max_bytes} bytes")
    except httpx.HTTPError as exc:
        raise _FetchError(f"{type(exc).__name__} fetching {url}") from exc
    try:
        return parse_json(bytes(body), "document")
    except GuardError as exc:
        raise _FetchError(f"{url}: {exc.detail}") from exc


class StaticKeySource:
    """A fixed :class:`KeySet` behind the same interface as :class:`RemoteKeySet`."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    async def get_key(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)


class RemoteKeySet:
    """The cached JWK Set at ``jwks_uri``, fetched with the injected ``httpx.AsyncClient``."""

    def __init__(
        self,
        jwks_uri: str,
        client: httpx.AsyncClient,
        *,
        algorithms: frozenset[str] = SUPPORTED_ALGORITHMS,
        max_age: float = 600.0,
        cooldown: float = 30.0,
        stale_if_error: float = 3600.0,
        failure_backoff: float = 5.0,
        http_timeout: float = 5.0,
        max_bytes: int = DEFAULT_MAX_JWKS_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < cooldown <= max_age:
            raise ValueError("cooldown must be positive and not exceed max_age")
        self._uri = jwks_uri
        self._client = client
        self._algorithms = algorithms
        self._max_age = max_age
        self._cooldown = cooldown
        self._stale_if_error = stale_if_error
        self._failure_backoff = failure_backoff
        self._timeout = http_timeout
        self._max_bytes = max_bytes
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")  # last successful fetch
        self._attempted_at = float("-inf")  # last attempt, successful or not
        self._failed_at = float("-inf")
        self._generation = 0  # bumped after every attempt; waiters use it to skip theirs
        self._last_error: Exception | None = None  # chained into KeySetUnavailable
        self._lock = asyncio.Lock()

    @property
    def fresh(self) -> bool:
        return self._keys is not None and self._clock() < self._fetched_at + self._max_age

    @property
    def cooling_down(self) -> bool:
        return self._clock() < self._attempted_at + self._cooldown

    def _usable(self) -> KeySet | None:
        """The cached set, unless it is older than ``max_age + stale_if_error``."""
        limit = self._fetched_at + self._max_age + self._stale_if_error
        return self._keys if self._clock() < limit else None

    async def get_key(self, kid: str) -> PublicKey | None:
        """The key for ``kid`` or ``None``; :class:`KeySetUnavailable` if there are no keys."""
        if not self.fresh and self._clock() >= self._failed_at + self._failure_backoff:
            await self.reload()
        keys = self._usable()
        if keys is None:
            raise KeySetUnavailable(f"no usable key set from {self._uri}") from self._last_error
        key = keys.get(kid)
        # Unknown kid: maybe the issuer rotated a new key in (RFC 7517 §5 rotation). Refetch
        # unless cooling down - but if a fetch is in flight right now, wait for its result:
        # it may be the very fetch that brings this kid (reload() will not repeat it).
        if key is None and (self._lock.locked() or not self.cooling_down):
            await self.reload()
            keys = self._usable()
            key = keys.get(kid) if keys is not None else None
        return key

    async def reload(self) -> None:
        """Fetch now, unless another coroutine's fetch finished while this one waited."""
        seen = self._generation
        async with self._lock:
            if self._generation != seen:
                return  # a fetch completed while we queued: use its result, do not repeat it
            try:
                await self._fetch()
            finally:
                self._generation += 1

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        try:
            document = await _get_json(
                self._client, self._uri, http_timeout=self._timeout, max_bytes=self._max_bytes
            )
            keys = KeySet.from_jwks(document, allowed=self._algorithms)
        except (_FetchError, ValueError) as exc:
            self._failed_at, self._last_error = self._clock(), exc
            log.warning("jwks: fetch failed, keeping cached keys", extra={"reason": str(exc)})
            return
        if not len(keys):
            log.warning("jwks: key set holds no usable key", extra={"uri": self._uri})
        self._keys, self._fetched_at, self._last_error = keys, self._clock(), None


def metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: insert the well-known suffix between the host and any issuer path."""
    url = httpx.URL(issuer)
    if url.scheme not in ("https", "http") or url.query or url.fragment:
        raise ValueError("issuer must be an http(s) URL without query or fragment")
    path = url.path.rstrip("/")
    return str(url.copy_with(path=f"/.well-known/oauth-authorization-server{path}"))


async def discover_jwks_uri(
    client: httpx.AsyncClient, issuer: str, *, http_timeout: float = 5.0
) -> str:
    """Read the issuer's RFC 8414 metadata and return its ``jwks_uri``.

    Call once at start-up and hand the result to :class:`RemoteKeySet`. The metadata's
    ``issuer`` must equal ``issuer`` exactly (RFC 8414 §3.3), else it is someone else's.
    """
    try:
        metadata = await _get_json(
            client,
            metadata_url(issuer),
            http_timeout=http_timeout,
            max_bytes=DEFAULT_MAX_JWKS_BYTES,
        )
    except _FetchError as exc:
        raise KeySetUnavailable(f"metadata discovery failed: {exc}") from exc
    if metadata.get("issuer") != issuer:
        raise KeySetUnavailable("metadata issuer does not match the configured issuer")
    jwks_uri = metadata.get("jwks_uri")
    # TLS unless the issuer itself is plain HTTP (the loopback demo).
    scheme = httpx.URL(issuer).scheme
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(f"{scheme}://"):
        raise KeySetUnavailable("metadata has no usable jwks_uri")
    return jwks_uri
