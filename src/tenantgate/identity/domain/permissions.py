"""The permission vocabulary and who holds what."""

from __future__ import annotations

from .accounts import Account, AccountKind

CUSTOMERS_READ = "customers:read"
CUSTOMERS_LOCK = "customers:lock"
REPORTING_VIEW = "reporting:view"
ACCOUNTS_READ = "accounts:read"
TRANSFERS_CREATE = "transfers:create"
SESSIONS_MANAGE = "sessions:manage"

ADMIN_PERMISSIONS = frozenset({CUSTOMERS_READ, CUSTOMERS_LOCK, REPORTING_VIEW, SESSIONS_MANAGE})
_FIXED = {
    AccountKind.EMPLOYEE: frozenset({REPORTING_VIEW}),
    AccountKind.CUSTOMER: frozenset({ACCOUNTS_READ, TRANSFERS_CREATE}),
}
# What reporting may do for an admin who arrives through SSO: never wider than
# the admin's own grant on that FI (RFC 8693 §5: no privilege widening).
REPORTING_PERMISSIONS = frozenset({REPORTING_VIEW})


class UnknownPermission(ValueError):
    pass


def validate_admin_permissions(permissions: set[str] | frozenset[str]) -> frozenset[str]:
    unknown = set(permissions) - ADMIN_PERMISSIONS
    if unknown:
        raise UnknownPermission(", ".join(sorted(unknown)))
    return frozenset(permissions)


def fixed_permissions(account: Account) -> frozenset[str]:
    """Employees and customers get fixed permissions for their own FI."""
    return _FIXED.get(account.kind, frozenset())
