"""Permission and tenant helpers: the tenant comes from the token, never from the request."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from tenantgate.guard import (
    GuardError,
    InsufficientScope,
    TenantMismatch,
    VerifiedToken,
    require_permission,
    require_tenant,
    require_tenant_scoped,
)

from .support import TENANT


def _token(
    tenant: str | None = TENANT, permissions: tuple[str, ...] = ("customers:read",)
) -> VerifiedToken:
    return VerifiedToken(
        subject="u_1",
        kind="admin",
        client_id="admin-portal",
        session_id="s_1",
        tenant_ref=tenant,
        permissions=frozenset(permissions),
        expires_at=0,
        jti="j_1",
        claims=MappingProxyType({}),
    )


def test_held_permission_passes() -> None:
    require_permission(_token(), "customers:read")


@pytest.mark.parametrize(
    "permission", ["customers:lock", "customers:READ", "customers", "customers:read ", "*", ""]
)
def test_permission_not_held_is_refused(permission: str) -> None:
    with pytest.raises(InsufficientScope) as info:
        require_permission(_token(), permission)
    assert (info.value.status_code, info.value.error) == (403, "insufficient_scope")
    assert info.value.scope == permission


def test_every_named_permission_is_required() -> None:
    token = _token(permissions=("customers:read", "reporting:view"))
    require_permission(token, "customers:read", "reporting:view")
    with pytest.raises(InsufficientScope):
        require_permission(token, "customers:read", "customers:lock")


def test_requiring_nothing_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="permission"):
        require_permission(_token())


def test_same_tenant_passes_and_returns_the_tokens_ref() -> None:
    assert require_tenant(_token(), TENANT) == TENANT


@pytest.mark.parametrize(
    "named",
    [
        "tr_other_bank",
        TENANT.upper(),
        TENANT + " ",
        " " + TENANT,
        TENANT[:-1],
        "",
        None,
        [TENANT],
        42,
        TENANT.encode(),
        TENANT + "\u0000",
        "\ud800",
    ],
    ids=repr,
)
def test_another_tenant_named_by_the_request_is_refused(named: object) -> None:
    with pytest.raises(TenantMismatch) as info:
        require_tenant(_token(), named)
    assert info.value.status_code == 403
    assert info.value.description == "The access token is not valid for this tenant."


def test_unscoped_token_is_refused_on_tenant_routes() -> None:
    with pytest.raises(TenantMismatch):
        require_tenant_scoped(_token(tenant=None))
    with pytest.raises(TenantMismatch):
        require_tenant(_token(tenant=None), TENANT)


def test_scoped_token_yields_its_tenant() -> None:
    assert require_tenant_scoped(_token()) == TENANT


@pytest.mark.parametrize("cls", [InsufficientScope, TenantMismatch])
def test_public_description_never_carries_the_private_detail(cls: type[GuardError]) -> None:
    exc = cls("secret detail: tenant tr_x for sub u_1")
    assert "secret" not in exc.description
    assert exc.detail.startswith("secret")
    assert "secret" in repr(exc)
