"""Time, issuer, audience, type and claim-shape rules (RFC 7519 §4.1, RFC 9068, RFC 8725)."""

from __future__ import annotations

from typing import Any

import pytest

from tenantgate.guard import InvalidToken, KeySet, StaticKeySource, TokenVerifier
from tenantgate.guard.claims import ClaimPolicy

from .support import (
    AUDIENCE,
    ISSUER,
    NOW,
    Env,
    header_for,
    make_token,
    valid_claims,
)

pytestmark = pytest.mark.anyio

EXP = int(NOW) + 1200
LEEWAY = 5


async def refused(env: Env, claims: dict[str, Any], detail: str) -> None:
    with pytest.raises(InvalidToken) as info:
        await env.verifier.verify(make_token(env.es, claims))
    assert detail in info.value.detail
    assert info.value.description == "The access token is invalid."


def _without(name: str) -> dict[str, Any]:
    claims = valid_claims()
    del claims[name]
    return claims


# --- Time -----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1200, -1, 0, LEEWAY - 1])
async def test_token_is_accepted_until_exp_plus_leeway(env: Env, offset: int) -> None:
    env.clock.now = EXP + offset
    assert (await env.verifier.verify(make_token(env.es))).expires_at == EXP


@pytest.mark.parametrize("offset", [LEEWAY, LEEWAY + 1, 3600])
async def test_token_is_refused_from_exp_plus_leeway(env: Env, offset: int) -> None:
    env.clock.now = EXP + offset
    await refused(env, valid_claims(), "expired")


async def test_leeway_is_configurable(env: Env) -> None:
    strict = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=env.keyset, leeway=0, clock=env.clock
    )
    env.clock.now = EXP - 1
    await strict.verify(make_token(env.es))
    env.clock.now = EXP
    with pytest.raises(InvalidToken, match="expired"):
        await strict.verify(make_token(env.es))


@pytest.mark.parametrize("leeway", [-1, 301])
def test_unreasonable_leeway_is_a_configuration_error(leeway: float) -> None:
    with pytest.raises(ValueError, match="leeway"):
        ClaimPolicy(issuer=ISSUER, audience=AUDIENCE, leeway=leeway)


async def test_nbf_in_the_future_beyond_leeway_is_refused(env: Env) -> None:
    await refused(env, valid_claims(nbf=int(NOW) + LEEWAY + 1), "not yet valid")


async def test_nbf_within_leeway_is_accepted(env: Env) -> None:
    await env.verifier.verify(make_token(env.es, valid_claims(nbf=int(NOW) + LEEWAY)))


async def test_iat_in_the_future_beyond_leeway_is_refused(env: Env) -> None:
    await refused(env, valid_claims(iat=int(NOW) + LEEWAY + 1), "future")


@pytest.mark.parametrize("name", ["exp", "iat"])
async def test_missing_required_time_claim_is_refused(env: Env, name: str) -> None:
    await refused(env, _without(name), f"{name} missing")


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value", [None, str(EXP), float(EXP) + 0.5, True, [EXP], {"t": EXP}], ids=repr
)
async def test_time_claims_must_be_integers(env: Env, name: str, value: object) -> None:
    await refused(env, valid_claims(**{name: value}), name)


async def test_the_verifier_reads_time_only_from_the_injected_clock(env: Env) -> None:
    env.clock.now = 0.0  # 1970: a real clock would call this token "issued in the future"
    await refused(env, valid_claims(), "future")


# --- Issuer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        ISSUER + "/",
        ISSUER + ".evil.test",
        ISSUER + "/tenant",
        "https://evil.test/" + ISSUER,
        ISSUER.upper(),
        ISSUER.replace("https", "HTTPS"),
        ISSUER.replace("https://", "http://"),
        ISSUER[:-1],
        " " + ISSUER,
        ISSUER + "\u0000",
        "",
        None,
        [ISSUER],
        1,
    ],
    ids=repr,
)
async def test_issuer_must_match_exactly(env: Env, iss: object) -> None:
    await refused(env, valid_claims(iss=iss), "iss")


async def test_missing_issuer_is_refused(env: Env) -> None:
    await refused(env, _without("iss"), "iss")


# --- Audience --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [
        "admin-portal",
        AUDIENCE.upper(),
        AUDIENCE + " ",
        "",
        None,
        [],
        ["admin-portal"],
        [AUDIENCE, "admin-portal"],
        ["admin-portal", AUDIENCE],
        [AUDIENCE, AUDIENCE],
        [[AUDIENCE]],
        {"aud": AUDIENCE},
        1,
    ],
    ids=repr,
)
async def test_audience_must_be_exactly_this_service(env: Env, aud: object) -> None:
    await refused(env, valid_claims(aud=aud), "aud")


async def test_missing_audience_is_refused(env: Env) -> None:
    await refused(env, _without("aud"), "aud missing")


async def test_a_token_for_another_service_is_refused_by_that_service(env: Env) -> None:
    admin_api = TokenVerifier(
        issuer=ISSUER, audience="admin-portal", keys=env.keyset, clock=env.clock
    )
    reporting_token = make_token(env.es)  # aud = reporting-portal
    with pytest.raises(InvalidToken, match="aud"):
        await admin_api.verify(reporting_token)


# --- Token type (RFC 9068 §4, RFC 8725 §3.11) ------------------------------------------------


@pytest.mark.parametrize(
    "typ",
    [
        "JWT",
        "jwt",
        "sso+jwe",
        "rt+jwt",
        "at+JWT",
        "AT+JWT",
        "Application/at+jwt",
        "at+jwt ",
        "",
        None,
        1,
        ["at+jwt"],
        "id_token+jwt",
        "logout+jwt",
    ],
    ids=repr,
)
async def test_only_access_token_typ_is_accepted(env: Env, typ: object) -> None:
    with pytest.raises(InvalidToken, match="typ"):
        await env.verifier.verify(make_token(env.es, header=header_for(env.es, typ=typ)))


async def test_missing_typ_is_refused(env: Env) -> None:
    header = header_for(env.es)
    del header["typ"]
    with pytest.raises(InvalidToken, match="typ"):
        await env.verifier.verify(make_token(env.es, header=header))


# --- Required claims and their shapes --------------------------------------------------------


@pytest.mark.parametrize("name", ["sub", "client_id", "jti", "sid", "kind", "permissions"])
async def test_missing_required_claim_is_refused(env: Env, name: str) -> None:
    await refused(env, _without(name), name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sub", ""),
        ("sub", 42),
        ("sub", None),
        ("sub", "x" * 257),
        ("client_id", ["admin-portal"]),
        ("jti", 7),
        ("sid", {}),
        ("kind", "root"),
        ("kind", "Admin"),
        ("kind", ["admin"]),
        ("kind", None),
        ("permissions", "customers:read"),
        ("permissions", [1]),
        ("permissions", [""]),
        ("permissions", None),
        ("permissions", {"customers:read": True}),
        ("permissions", ["p"] * 257),
        ("tenant", ""),
        ("tenant", None),
        ("tenant", 17),
        ("tenant", ["tr_8f1c2a9e"]),
    ],
    ids=lambda v: repr(v)[:20],
)
async def test_malformed_claims_are_refused(env: Env, name: str, value: object) -> None:
    await refused(env, valid_claims(**{name: value}), name)


@pytest.mark.parametrize("kind", ["employee", "customer"])
async def test_employee_or_customer_token_without_tenant_is_refused(env: Env, kind: str) -> None:
    claims = valid_claims(kind=kind)
    del claims["tenant"]
    await refused(env, claims, "tenant")


def test_verifier_refuses_unknown_algorithms_in_its_configuration() -> None:
    keys = StaticKeySource(KeySet())
    for bad in (frozenset(), frozenset({"HS256"}), frozenset({"ES256", "none"})):
        with pytest.raises(ValueError, match="algorithms"):
            TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=keys, algorithms=bad)
