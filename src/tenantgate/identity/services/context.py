"""The dependencies every use case shares, wired once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..domain.accounts import Client
from ..domain.clock import Clock
from ..domain.passwords import Passwords
from ..domain.tenant_refs import RefStatus, classify_ref, new_tenant_ref, rotation_epoch
from .config import IdentityConfig
from .hashing_pool import HashingPool
from .keyring import KeyRing
from .ports import IdentityStore
from .records import AuditEvent

T = TypeVar("T")
REGISTRY_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, as far as the transport can tell."""

    address: str | None = None


@dataclass
class Deps:
    store: IdentityStore
    config: IdentityConfig
    clock: Clock
    keyring: KeyRing
    passwords: Passwords
    hashing: HashingPool = field(default_factory=HashingPool)
    _refs: dict[tuple[int, int], str] = field(default_factory=dict)
    _ref_rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    _clients: dict[str, tuple[float, Client | None]] = field(default_factory=dict)
    _tenant_names: dict[int, tuple[float, str]] = field(default_factory=dict)

    def now(self) -> float:
        return self.clock.now()

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """CPU-bound work (Argon2) runs on the hashing pool, never on the event loop."""
        return await self.hashing.run(fn, *args)

    async def audit(
        self,
        event: str,
        caller: Caller,
        *,
        account_id: int | None = None,
        client_id: str | None = None,
        tenant_id: int | None = None,
        session_id: str | None = None,
        **detail: Any,
    ) -> None:
        await self.store.record(
            self.audit_event(
                event,
                caller,
                account_id=account_id,
                client_id=client_id,
                tenant_id=tenant_id,
                session_id=session_id,
                **detail,
            )
        )

    def audit_event(
        self,
        event: str,
        caller: Caller,
        *,
        account_id: int | None = None,
        client_id: str | None = None,
        tenant_id: int | None = None,
        session_id: str | None = None,
        **detail: Any,
    ) -> AuditEvent:
        """An event to record inside another store transaction (e.g. with a rotation)."""
        return AuditEvent(
            event=event,
            at=self.now(),
            account_id=account_id,
            client_id=client_id,
            tenant_id=tenant_id,
            address=caller.address,
            session_id=session_id,
            detail=detail,
        )

    async def client(self, client_id: str) -> Client | None:
        """Client registrations change rarely; a few seconds of caching spares a query
        on every token request (a registration change reaches all instances that fast)."""
        now = self.now()
        cached = self._clients.get(client_id)
        if cached is not None and now - cached[0] < REGISTRY_CACHE_SECONDS:
            return cached[1]
        client = await self.store.client_by_id(client_id)
        if len(self._clients) > 1_000:
            self._clients.clear()
        self._clients[client_id] = (now, client)
        return client

    async def tenant_name(self, tenant_id: int) -> str:
        """For display only (never for an authorization decision), so it may be cached."""
        now = self.now()
        cached = self._tenant_names.get(tenant_id)
        if cached is not None and now - cached[0] < REGISTRY_CACHE_SECONDS:
            return cached[1]
        tenant = await self.store.tenant_by_id(tenant_id)
        name = tenant.name if tenant else ""
        if len(self._tenant_names) > 10_000:
            self._tenant_names.clear()
        self._tenant_names[tenant_id] = (now, name)
        return name

    async def current_ref(self, tenant_id: int) -> str:
        epoch = rotation_epoch(self.now(), self.config.tenant_ref_rotation)
        cached = self._refs.get((tenant_id, epoch))
        if cached is not None:
            return cached
        ref = await self.store.ref_for_epoch(tenant_id, epoch, new_tenant_ref())
        if len(self._refs) > 10_000:
            self._refs.clear()
        self._refs[(tenant_id, epoch)] = ref  # a stored epoch's ref never changes
        self._remember_ref(ref, tenant_id, epoch)
        return ref

    async def resolve_ref(self, ref: str) -> tuple[int, RefStatus]:
        """The tenant a ref names and whether it is current, stale or unknown.

        A stored ref's row never changes (refs are only ever inserted, once per tenant
        and epoch), so what it names is kept in memory once read; whether it is still
        current is judged against the clock on every call.  A ref the store does not
        know is asked again next time: it may be stored later by another instance, and
        guesses must not fill memory."""
        known = self._ref_rows.get(ref)
        if known is None:
            found = await self.store.find_ref(ref)
            if found is None:
                return 0, RefStatus.UNKNOWN
            known = self._remember_ref(ref, found.tenant_id, found.epoch)
        tenant_id, epoch = known
        status = classify_ref(
            epoch, self.now(), self.config.tenant_ref_rotation, self.config.tenant_ref_grace
        )
        return tenant_id, status

    def _remember_ref(self, ref: str, tenant_id: int, epoch: int) -> tuple[int, int]:
        if len(self._ref_rows) > 10_000:
            self._ref_rows.clear()
        known = self._ref_rows[ref] = (tenant_id, epoch)
        return known
