"""Accounts, tenants, clients and grants: the identity server's nouns."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class AccountKind(enum.StrEnum):
    ADMIN = "admin"
    EMPLOYEE = "employee"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    subject: str  # opaque, stable, public: the `sub` claim; never the database key
    username: str
    kind: AccountKind
    tenant_id: int | None  # employees and customers belong to exactly one FI
    password_hash: str
    active: bool = True
    totp_sealed: str | None = None  # a TOTP secret sealed under the KEK; None = password only

    @property
    def requires_totp(self) -> bool:
        return self.totp_sealed is not None


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    secret_digest: str
    redirect_uris: tuple[str, ...]
    account_kinds: frozenset[AccountKind]
    grant_types: frozenset[str]
    audience: str  # the API its access tokens are for
    sso_audiences: frozenset[str] = field(default_factory=frozenset)  # may mint SSO tokens for
    redeems_sso: bool = False
    name: str = ""

    def allows_grant(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def allows_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9700 §4.1.3: exact string comparison, no patterns, no normalisation.
        return redirect_uri in self.redirect_uris

    def admits(self, kind: AccountKind) -> bool:
        return kind in self.account_kinds
