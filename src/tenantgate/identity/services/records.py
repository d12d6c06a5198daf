"""What the use cases store and read back: plain records, no behaviour of storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..domain.accounts import Account


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    digest: str
    client_id: str
    account_id: int
    redirect_uri: str
    code_challenge: str
    issued_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class CodeUse:
    code: AuthorizationCode
    first_use: bool  # False: somebody already redeemed it (RFC 6749 §4.1.2 reuse)
    session_id: str | None  # the session the first redemption started


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    account_id: int
    client_id: str
    started_at: float
    current_tenant_id: int | None = None
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session as an operator sees it: one that can still be refreshed."""

    id: str
    account_id: int
    client_id: str
    client_name: str
    tenant_id: int  # the FI the session acts on
    tenant_name: str
    started_at: float
    last_activity_at: float  # the newest refresh token: the login or the last refresh


@dataclass(frozen=True, slots=True)
class RefreshFamily:
    id: str
    session_id: str
    client_id: str
    account_id: int
    tenant_id: int | None
    started_at: float
    deadline: float  # absolute lifetime
    # Refreshes never grant more than this (RFC 8693 §5: no widening); None = no ceiling.
    ceiling: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    digest: str
    family_id: str
    issued_at: float
    expires_at: float  # idle deadline, never past the family deadline


@dataclass(frozen=True, slots=True)
class RefreshView:
    """A refresh token with its family and session as one read."""

    token: RefreshToken
    family: RefreshFamily
    rotated_at: float | None
    family_revoked: bool
    session_revoked: bool


@dataclass(frozen=True, slots=True)
class GrantedClaim:
    """A one-time claim and what a redemption goes on, read with it: who claimed first
    (None: this claim won), and after a win the account and its admin grant on the FI, as
    ``account_with_grant`` would answer them."""

    first_claimant: str | None
    account: Account | None
    grant: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class BearerState:
    """What accepting an access token re-checks, read as one statement: its session, the
    session's account, whether the token's ``jti`` was revoked, and the account's admin
    grant on one FI (the one the session acts on, unless another was asked for), as
    ``admin_permissions`` would answer it (None: no grant, an unusable one, or no FI)."""

    session: Session
    account: Account
    jti_revoked: bool
    grant: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class RefreshContext:
    """What a refresh decides on, read as one snapshot (one statement): the token with its
    family and session, the family's account, whether the family's FI is active, and the
    account's admin grant on that FI (``None``: no grant, or an unscoped family)."""

    view: RefreshView
    account: Account | None
    tenant_active: bool
    admin_grant: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class TenantRef:
    tenant_id: int
    ref: str
    epoch: int


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event: str
    at: float
    account_id: int | None = None
    client_id: str | None = None
    tenant_id: int | None = None
    address: str | None = None
    session_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AttemptCounts:
    """One noted login attempt: the rows it added and, per scope, the attempts in the window
    (this one included)."""

    ids: tuple[int, ...]
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A login whose password was right and whose TOTP code is still due."""

    id_digest: str
    account_id: int
    binding: str  # SHA-256 of the authorization request it belongs to
    created_at: float
    expires_at: float
    attempts: int = 0
