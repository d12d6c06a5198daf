"""Tokens the issuer really mints are accepted and their claims come through intact."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tenantgate.guard import VerifiedToken

from .support import AUDIENCE, NOW, TENANT, Env, SigningKey, header_for, make_token, valid_claims

pytestmark = pytest.mark.anyio


def _key(env: Env, alg: str) -> SigningKey:
    return env.es if alg == "ES256" else env.ed


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
async def test_valid_token_verifies_and_exposes_its_claims(env: Env, alg: str) -> None:
    token = await env.verifier.verify(make_token(_key(env, alg)))

    assert token == VerifiedToken(
        subject="u_3b9d7c",
        kind="admin",
        client_id="admin-portal",
        session_id="s_77a0d1",
        tenant_ref=TENANT,
        permissions=frozenset({"reporting:view", "customers:read"}),
        expires_at=int(NOW) + 1200,
        jti="j_5e2f41",
        claims=token.claims,
    )
    assert dict(token.claims) == {
        **valid_claims(),
        "permissions": tuple(valid_claims()["permissions"]),
    }
    assert token.is_tenant_scoped


async def test_unscoped_admin_token_has_no_tenant(env: Env) -> None:
    claims = valid_claims()
    del claims["tenant"]
    token = await env.verifier.verify(make_token(env.es, claims))
    assert token.tenant_ref is None
    assert not token.is_tenant_scoped


@pytest.mark.parametrize("kind", ["employee", "customer"])
async def test_employee_and_customer_tokens_verify_with_a_tenant(env: Env, kind: str) -> None:
    token = await env.verifier.verify(make_token(env.ed, valid_claims(kind=kind)))
    assert token.kind == kind
    assert token.tenant_ref == TENANT


@pytest.mark.parametrize(
    ("header_extra", "claims_extra"),
    [
        pytest.param({"typ": "application/at+jwt"}, {}, id="typ-full-media-type"),
        pytest.param({}, {"aud": [AUDIENCE]}, id="aud-one-element-list"),
        pytest.param({}, {"nbf": int(NOW) - 1}, id="nbf-in-past"),
        pytest.param({}, {"scope": "openid", "extra": {"a": [1]}}, id="unknown-claims-kept"),
        pytest.param({"cty": "x"}, {}, id="harmless-unknown-header-ignored"),
        pytest.param({}, {"permissions": []}, id="no-permissions"),
    ],
)
async def test_accepted_variants(
    env: Env, header_extra: dict[str, Any], claims_extra: dict[str, Any]
) -> None:
    raw = make_token(env.es, valid_claims(**claims_extra), header_for(env.es, **header_extra))
    token = await env.verifier.verify(raw)
    assert token.subject == "u_3b9d7c"


async def test_verified_token_is_immutable_all_the_way_down(env: Env) -> None:
    token = await env.verifier.verify(make_token(env.es, valid_claims(extra={"nested": ["x"]})))
    with pytest.raises(dataclasses.FrozenInstanceError):
        token.tenant_ref = "tr_other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        token.claims["tenant"] = "tr_other"  # type: ignore[index]
    with pytest.raises(TypeError):
        token.claims["extra"]["nested"] = []
    with pytest.raises(AttributeError):
        token.permissions.add("customers:lock")  # type: ignore[attr-defined]
    assert isinstance(token.claims["permissions"], tuple)


async def test_lists_holding_containers_are_frozen_too(env: Env) -> None:
    extra = {"scalars": ["a", 1, None], "objects": [{"k": ["v"]}], "lists": [["x"], "y"]}
    token = await env.verifier.verify(make_token(env.es, valid_claims(**extra)))
    assert token.claims["scalars"] == ("a", 1, None)
    objects = token.claims["objects"]
    assert isinstance(objects, tuple)
    with pytest.raises(TypeError):
        objects[0]["k"] = []
    assert objects[0]["k"] == ("v",)
    assert token.claims["lists"] == (("x",), "y")


async def test_keys_are_fetched_once_for_many_tokens(env: Env) -> None:
    for _ in range(20):
        await env.verifier.verify(make_token(env.es))
        await env.verifier.verify(make_token(env.ed))
    assert env.endpoint.fetches == 1
