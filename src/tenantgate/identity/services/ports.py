"""The storage the use cases need, as Protocols.  Each method is one atomic unit:
whatever must not be interleaved with another instance happens inside one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..domain.accounts import Account, Client, Tenant
from ..domain.keys import StoredKey
from .records import (
    AttemptCounts,
    AuditEvent,
    AuthorizationCode,
    BearerState,
    CodeUse,
    GrantedClaim,
    PendingLogin,
    RefreshContext,
    RefreshFamily,
    RefreshToken,
    RefreshView,
    Session,
    SessionSummary,
    TenantRef,
)


class AccountStore(Protocol):
    async def account_by_username(self, username: str) -> Account | None: ...
    async def account_by_id(self, account_id: int) -> Account | None: ...
    async def replace_password_hash(self, account_id: int, password_hash: str) -> None: ...


class LoginAttemptStore(Protocol):
    async def note_login_attempt(
        self, keys: Sequence[tuple[str, str]], now: float, window: float
    ) -> AttemptCounts:
        """Store one attempt per (scope, key digest) and commit; then count, per scope, the
        rows of that key newer than ``now - window`` (this attempt included).  Committing
        before counting makes the k-th concurrent attempt see at least k rows, on any number
        of instances."""
        ...

    async def forget_login_attempts(self, ids: Sequence[int]) -> None:
        """Drop noted attempts that turned out not to be failures (or were throttled)."""
        ...

    async def complete_login(
        self,
        code: AuthorizationCode,
        *,
        forget: Sequence[int],
        clear: tuple[str, str],
        audit: AuditEvent,
    ) -> None:
        """``forget_login_attempts(forget)``, the failures of ``clear`` (scope, key digest)
        deleted, ``code`` stored and ``audit`` appended, in one transaction: a login's
        throttle bookkeeping, its code and its audit event commit together or not at all."""
        ...


class SecondFactorStore(Protocol):
    async def start_pending_login(self, pending: PendingLogin) -> None:
        """Store a pending login (and purge expired ones)."""
        ...

    async def take_pending_attempt(
        self, id_digest: str, now: float, max_attempts: int
    ) -> PendingLogin | None:
        """Atomically count one code attempt against a live pending login; None when it is
        unknown, expired or out of attempts (it is then deleted)."""
        ...

    async def finish_pending_login(self, id_digest: str) -> bool:
        """Delete it; True only for the one call that did."""
        ...

    async def claim_totp_step(self, account_id: int, step: int) -> bool:
        """Atomically record ``step`` as the account's last used TOTP step; False when a code
        of this or a later step was already accepted (single use)."""
        ...


class ClientStore(Protocol):
    async def client_by_id(self, client_id: str) -> Client | None: ...


class TenantStore(Protocol):
    async def tenant_by_id(self, tenant_id: int) -> Tenant | None: ...

    async def ref_for_epoch(self, tenant_id: int, epoch: int, candidate: str) -> str:
        """The tenant's ref for ``epoch``; stores ``candidate`` if none exists yet."""
        ...

    async def find_ref(self, ref: str) -> TenantRef | None: ...


class GrantStore(Protocol):
    async def account_with_grant(
        self, account_id: int, tenant_id: int
    ) -> tuple[Account | None, frozenset[str] | None]:
        """The account and, as ``admin_permissions`` would answer, its grant on the FI."""
        ...

    async def admin_permissions(self, account_id: int, tenant_id: int) -> frozenset[str] | None:
        """None when the admin holds no grant on that FI (or the FI is inactive)."""
        ...

    async def admin_tenants(self, account_id: int) -> list[Tenant]: ...


class CodeStore(Protocol):
    async def use_code(self, digest: str, now: float) -> CodeUse | None: ...
    async def bind_code_to_session(self, digest: str, session_id: str) -> None: ...


class SessionStore(Protocol):
    async def start_session(self, session: Session) -> None: ...
    async def revoke_session(self, session_id: str, now: float) -> None: ...

    async def start_family(
        self,
        family: RefreshFamily,
        token: RefreshToken,
        *,
        replaces_others: bool,
        audit: AuditEvent | None = None,
    ) -> None:
        """Store a new family and its first token; with ``replaces_others`` revoke the
        session's other families of the same client and make this tenant current.
        With ``audit``, that event is appended in the same transaction."""
        ...

    async def open_session(
        self,
        session: Session,
        family: RefreshFamily,
        token: RefreshToken,
        *,
        audit: AuditEvent | None = None,
    ) -> None:
        """``start_session`` and ``start_family`` (and ``audit``) in one transaction."""
        ...

    async def bearer_state(
        self, jti: str, session_id: str, grant_on: int | None = None
    ) -> BearerState | None:
        """The session, its account, the jti's revocation and the account's grant on FI
        *grant_on* (default: the session's current FI), in one read (None: no session)."""
        ...

    async def refresh_token(self, digest: str) -> RefreshView | None: ...

    async def refresh_context(self, digest: str) -> RefreshContext | None:
        """The token, family, session, account, FI state and admin grant in one read."""
        ...

    async def rotate_refresh_token(
        self, digest: str, new: RefreshToken, now: float, *, audit: AuditEvent | None = None
    ) -> bool:
        """Atomically retire ``digest`` and store ``new``; False if it was already used.
        With ``audit``, a successful rotation appends that event in the same transaction."""
        ...

    async def revoke_family(self, family_id: str, now: float) -> None: ...
    async def revoke_access_token(self, jti: str, expires_at: float) -> None: ...


class SessionOverviewStore(Protocol):
    """The operators' view of live sessions, always within one FI: a session *acts on* FI T
    when its current tenant is T and, unless its account is an admin's, the account belongs
    to T.  Live: not revoked, and a refresh family that can still refresh."""

    async def live_sessions_acting_on(
        self, account_id: int, tenant_id: int, now: float
    ) -> list[SessionSummary]: ...

    async def revoke_session_acting_on(
        self, session_id: str, tenant_id: int, now: float
    ) -> Session | None:
        """Atomically revoke a live session acting on ``tenant_id`` and its families; the
        session as it was, or None when there is no such live session (one conditional
        UPDATE, so a session that moved to another FI meanwhile is never touched)."""
        ...


class OneTimeStore(Protocol):
    async def claim_once(
        self, kind: str, jti: str, claimant: str, now: float, expires_at: float
    ) -> str | None:
        """Mark (kind, jti) used.  None if this call won; else who used it first."""
        ...

    async def claim_with_grant(
        self,
        kind: str,
        jti: str,
        claimant: str,
        now: float,
        expires_at: float,
        *,
        account_id: int,
        tenant_id: int,
    ) -> GrantedClaim:
        """``claim_once``, and if it won ``account_with_grant(account_id, tenant_id)`` as
        of right after the claim, in one statement where the database allows."""
        ...


class KeyStore(Protocol):
    async def all_keys(self) -> list[StoredKey]: ...
    async def add_key(self, key: StoredKey, *, retire_others_at: float | None) -> None: ...


class AuditTrail(Protocol):
    async def record(self, event: AuditEvent) -> None: ...


class IdentityStore(
    AccountStore,
    LoginAttemptStore,
    SecondFactorStore,
    ClientStore,
    TenantStore,
    GrantStore,
    CodeStore,
    SessionStore,
    SessionOverviewStore,
    OneTimeStore,
    KeyStore,
    AuditTrail,
    Protocol,
):
    """Everything at once, as the composition root wires it."""

    async def ping(self) -> None: ...
