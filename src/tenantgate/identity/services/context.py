"""The dependencies every use case shares, wired once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread

from ..domain.clock import Clock
from ..domain.passwords import Passwords
from ..domain.tenant_refs import RefStatus, classify_ref, new_tenant_ref, rotation_epoch
from .config import IdentityConfig
from .keyring import KeyRing
from .ports import IdentityStore
from .records import AuditEvent

T = TypeVar("T")


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
    _refs: dict[tuple[int, int], str] = field(default_factory=dict)

    def now(self) -> float:
        return self.clock.now()

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """CPU-bound work (Argon2) runs in a worker thread, never on the event loop."""
        return await anyio.to_thread.run_sync(fn, *args)

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
            AuditEvent(
                event=event,
                at=self.now(),
                account_id=account_id,
                client_id=client_id,
                tenant_id=tenant_id,
                address=caller.address,
                session_id=session_id,
                detail=detail,
            )
        )

    async def current_ref(self, tenant_id: int) -> str:
        epoch = rotation_epoch(self.now(), self.config.tenant_ref_rotation)
        cached = self._refs.get((tenant_id, epoch))
        if cached is not None:
            return cached
        ref = await self.store.ref_for_epoch(tenant_id, epoch, new_tenant_ref())
        if len(self._refs) > 10_000:
            self._refs.clear()
        self._refs[(tenant_id, epoch)] = ref  # a stored epoch's ref never changes
        return ref

    async def resolve_ref(self, ref: str) -> tuple[int, RefStatus]:
        """The tenant a ref names and whether it is current, stale or unknown."""
        found = await self.store.find_ref(ref)
        if found is None:
            return 0, RefStatus.UNKNOWN
        status = classify_ref(
            found.epoch,
            self.now(),
            self.config.tenant_ref_rotation,
            self.config.tenant_ref_grace,
        )
        return found.tenant_id, status
