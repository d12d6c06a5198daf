"""Reporting SSO over the token endpoint: SECURITY.md's Replay and Time rows, the
attacks on the JWE itself, the scope of what a redemption yields, and the audit trail.

Every refusal of an SSO token must be the same 400 `invalid_grant` with the same text
(no oracle between expired, replayed, tampered and foreign); the private reason is
checked in the audit trail instead, so each test also proves *why* it was refused.
"""

from __future__ import annotations

import base64
import json
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from joserfc import jwe, jwt
from joserfc.jwk import KeySet, OctKey
from sqlalchemy import update

from tenantgate.demo.seed import DemoIdentity
from tenantgate.identity.domain.clock import ManualClock
from tenantgate.identity.domain.keys import EncryptionKey
from tenantgate.identity.domain.sso_tokens import (
    SsoClaims,
    SsoTokenRefused,
    open_sso_token,
    seal_sso_token,
)
from tenantgate.identity.services.keyring import rotate_keys
from tenantgate.identity.storage import schema
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from ..harness import (
    ACCESS_TOKEN_TYPE,
    SSO_TOKEN_TYPE,
    World,
    running_world,
)

pytestmark = pytest.mark.anyio

SSO_TYP = "tg-sso+jwe"
REPORTING = "reporting-portal"
ADMIN_PORTAL = "admin-portal"

REFRESH_WIDENS_BUG = (
    "BUG: refresh_grant re-derives permissions from the admin's whole grant on the FI, so the "
    "first refresh of an SSO-issued reporting session yields customers:lock, customers:read, "
    "reporting:view, sessions:manage instead of reporting:view (RFC 8693 §5, DESIGN §3)"
)


# -- helpers -------------------------------------------------------------------


@dataclass
class Handoff:
    """An admin on one FI and the SSO token minted for reporting."""

    scoped: dict[str, Any]
    sso: str
    minted: dict[str, Any]


def first_fi(world: World) -> str:
    return next(iter(world.seed.tenants))


def second_fi(world: World) -> str:
    return list(world.seed.tenants)[1]


async def handoff(world: World, tenant: str | None = None, username: str = "admin") -> Handoff:
    scoped = await world.admin_in(tenant or first_fi(world), username)
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    body: dict[str, Any] = minted.json()
    return Handoff(scoped, str(body["access_token"]), body)


async def mint_more(world: World, scoped_access_token: str) -> str:
    minted = await world.mint_sso(scoped_access_token)
    assert minted.status_code == 200, minted.text
    return str(minted.json()["access_token"])


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def flip_bit(segment: str) -> str:
    """One bit flipped in the decoded bytes; an empty segment gets one byte instead."""
    raw = bytearray(unb64(segment))
    if not raw:
        return b64(b"\x01")
    raw[len(raw) // 2] ^= 0x01
    return b64(bytes(raw))


def replace_part(token: str, index: int, segment: str) -> str:
    parts = token.split(".")
    parts[index] = segment
    return ".".join(parts)


def header_of(token: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(unb64(token.split(".")[0]))
    return header


async def verified_claims(world: World, token: str) -> dict[str, Any]:
    """Verify an access token with the published JWKS alone, as any resource server would."""
    jwks = (await world.http.get("/jwks.json")).json()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    return dict(decoded.claims)


def assert_refused(response: httpx.Response) -> str:
    """The one public answer to a bad SSO token; returns its description."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == "invalid_grant"
    assert body["error_description"]
    return str(body["error_description"])


def opens(world: World, token: str) -> SsoClaims:
    """Control without touching the one-time store: the server's own rules accept `token`."""
    return open_sso_token(
        token,
        keys=world.deps.keyring.sso_opening_key,
        issuer=world.deps.config.issuer,
        audience=REPORTING,
        now=world.clock.now(),
        leeway=world.deps.config.leeway,
    )


async def refusal_reasons(world: World) -> list[str]:
    return [json.loads(e["detail"])["reason"] for e in await world.audit_events("sso.refused")]


async def jti_of(world: World, sso_token: str) -> str:
    """The jti of a token we minted, read back from the identity server's own audit trail."""
    key = world.deps.keyring.sso_opening_key(header_of(sso_token)["kid"])
    assert key is not None
    plain = jwe.decrypt_compact(sso_token, key.secret, algorithms=["dir", "A256GCM"]).plaintext
    assert plain is not None
    jti = str(json.loads(plain)["jti"])
    minted = [json.loads(e["detail"])["jti"] for e in await world.audit_events("sso.minted")]
    assert jti in minted
    return jti


async def admin_claims(world: World, tenant: str, **overrides: Any) -> dict[str, Any]:
    """SSO claims exactly as the server would mint them for `admin` on `tenant`."""
    account_id, _ = await (await world.administration()).account_id("admin")
    now = int(world.clock.now())
    claims = SsoClaims(
        issuer=world.deps.config.issuer,
        audience=REPORTING,
        account_id=account_id,
        subject="forged-" + uuid.uuid4().hex,
        tenant_id=world.seed.tenants[tenant],
        session_id=str(uuid.uuid4()),
        minted_by=ADMIN_PORTAL,
        jwt_id=str(uuid.uuid4()),
        issued_at=now,
        expires_at=now + world.deps.config.sso_token_ttl,
    ).as_claims()
    claims.update(overrides)
    return claims


def encrypt_with_server_key(
    world: World, header: dict[str, Any], claims: dict[str, Any], algorithms: list[str]
) -> str:
    """A JWE that is genuinely encrypted under the server's current SSO key."""
    key = world.deps.keyring.sso_key()
    header = {"typ": SSO_TYP, "kid": key.kid, **header}
    plaintext = json.dumps(claims, separators=(",", ":")).encode()
    return jwe.encrypt_compact(header, plaintext, key.secret, algorithms=algorithms)


# -- the happy path and what it yields -----------------------------------------


async def test_redeemed_token_is_a_reporting_token_for_the_same_fi_only(world: World) -> None:
    fi = first_fi(world)
    h = await handoff(world, fi)
    assert h.minted["issued_token_type"] == SSO_TOKEN_TYPE
    assert h.minted["token_type"] == "N_A"
    assert 0 < h.minted["expires_in"] <= 120
    assert "refresh_token" not in h.minted
    assert len(h.sso.split(".")) == 5
    assert header_of(h.sso)["alg"] == "dir"
    assert header_of(h.sso)["enc"] == "A256GCM"

    redeemed = await world.redeem_sso(h.sso)
    assert redeemed.status_code == 200, redeemed.text
    body = redeemed.json()
    assert body["token_type"] == "Bearer"
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    current_ref = await world.tenant_ref(h.scoped["unscoped"]["access_token"], fi)
    assert body["tenant"] == {"ref": current_ref, "name": fi}

    claims = await verified_claims(world, body["access_token"])
    admin = await verified_claims(world, h.scoped["access_token"])
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert aud == ["reporting-api"]
    assert claims["tenant"] == current_ref
    assert claims["permissions"] == ["reporting:view"]
    assert claims["client_id"] == REPORTING
    assert claims["sub"] == admin["sub"]
    assert claims["kind"] == "admin"
    assert claims["sid"] != admin["sid"]
    assert claims["iss"] == world.deps.config.issuer


async def test_sso_refresh_token_is_bound_to_reporting_portal(world: World) -> None:
    fi = first_fi(world)
    h = await handoff(world, fi)
    redeemed = await world.redeem_sso(h.sso)
    assert redeemed.status_code == 200, redeemed.text
    refreshed = await world.refresh(REPORTING, redeemed.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    again = await verified_claims(world, refreshed.json()["access_token"])
    assert again["tenant"] == await world.tenant_ref(h.scoped["unscoped"]["access_token"], fi)
    assert again["client_id"] == REPORTING
    foreign = await world.refresh(ADMIN_PORTAL, refreshed.json()["refresh_token"])
    assert foreign.status_code == 400, foreign.text
    assert foreign.json()["error"] == "invalid_grant"


async def test_refreshing_the_sso_session_does_not_widen_its_permissions(world: World) -> None:
    h = await handoff(world)
    redeemed = await world.redeem_sso(h.sso)
    assert redeemed.status_code == 200, redeemed.text
    refreshed = await world.refresh(REPORTING, redeemed.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    again = await verified_claims(world, refreshed.json()["access_token"])
    assert again["permissions"] == ["reporting:view"]


async def test_mint_redeem_and_replay_are_audited(world: World) -> None:
    fi = first_fi(world)
    h = await handoff(world, fi)
    jti = await jti_of(world, h.sso)
    account_id, _ = await (await world.administration()).account_id("admin")
    tenant_id = world.seed.tenants[fi]
    admin_sid = (await verified_claims(world, h.scoped["access_token"]))["sid"]

    first = await world.redeem_sso(h.sso)
    assert first.status_code == 200, first.text
    second = await world.redeem_sso(h.sso)
    assert_refused(second)

    (minted,) = await world.audit_events("sso.minted")
    assert (minted["account_id"], minted["tenant_id"]) == (account_id, tenant_id)
    assert minted["client_id"] == ADMIN_PORTAL
    assert minted["session_id"] == admin_sid
    assert json.loads(minted["detail"])["jti"] == jti
    assert h.sso not in minted["detail"]

    (redeemed,) = await world.audit_events("sso.redeemed")
    assert (redeemed["account_id"], redeemed["tenant_id"]) == (account_id, tenant_id)
    assert redeemed["client_id"] == REPORTING
    reporting_sid = (await verified_claims(world, first.json()["access_token"]))["sid"]
    assert redeemed["session_id"] == reporting_sid
    detail = json.loads(redeemed["detail"])
    assert detail["jti"] == jti
    assert detail["origin_session"] == admin_sid

    (replay,) = await world.audit_events("sso.replay_refused")
    assert (replay["account_id"], replay["tenant_id"]) == (account_id, tenant_id)
    replay_detail = json.loads(replay["detail"])
    assert replay_detail["first_redeemed_by"] == REPORTING
    assert replay_detail["jti"] == jti
    for event in (minted, redeemed, replay):
        assert h.sso not in json.dumps(event, default=str)


# -- Replay ----------------------------------------------------------------------


async def test_twenty_parallel_redemptions_yield_exactly_one_success(world: World) -> None:
    h = await handoff(world)
    results: list[httpx.Response] = []

    async def redeem() -> None:
        results.append(await world.redeem_sso(h.sso))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(redeem)

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [400] * 19, [r.text for r in results if r.status_code >= 500]
    descriptions = {assert_refused(r) for r in results if r.status_code == 400}
    assert len(descriptions) == 1
    assert len(await world.audit_events("sso.redeemed")) == 1
    assert len(await world.audit_events("sso.replay_refused")) == 19


async def test_another_client_cannot_redeem(world: World) -> None:
    h = await handoff(world)
    foreign = await world.redeem_sso(h.sso, ADMIN_PORTAL)
    assert_refused(foreign)
    (refused,) = await world.audit_events("sso.refused")
    assert refused["client_id"] == ADMIN_PORTAL
    assert await world.audit_events("sso.redeemed") == []


async def test_redeem_without_client_authentication_is_401(world: World) -> None:
    h = await handoff(world)
    anonymous = await world.redeem_sso(h.sso, None)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"] == "invalid_client"
    assert anonymous.headers["www-authenticate"].startswith("Basic")

    wrong_secret = await world.http.post(
        "/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": h.sso,
            "subject_token_type": SSO_TOKEN_TYPE,
        },
        auth=(REPORTING, "not-the-secret"),
    )
    assert wrong_secret.status_code == 401, wrong_secret.text
    assert wrong_secret.json()["error"] == "invalid_client"
    assert await world.audit_events("sso.redeemed") == []
    assert await world.audit_events("sso.replay_refused") == []


@pytest.mark.parametrize(
    ("part", "name"),
    [(0, "header"), (1, "encrypted_key"), (2, "iv"), (3, "ciphertext"), (4, "tag")],
)
async def test_a_bit_flipped_in_any_jwe_part_is_refused(world: World, part: int, name: str) -> None:
    h = await handoff(world)
    opens(world, h.sso)  # control: the genuine token is acceptable
    parts = h.sso.split(".")
    tampered = replace_part(h.sso, part, flip_bit(parts[part]))
    assert tampered != h.sso
    assert_refused(await world.redeem_sso(tampered))
    (reason,) = await refusal_reasons(world)
    if name in {"iv", "ciphertext", "tag"}:
        assert reason.startswith("decryption"), reason
    with pytest.raises(SsoTokenRefused):
        opens(world, tampered)


async def test_header_equal_in_meaning_but_not_in_bytes_fails_authentication(world: World) -> None:
    """The protected header is GCM associated data: re-serialising it must break the tag."""
    h = await handoff(world)
    opens(world, h.sso)
    spaced = json.dumps(header_of(h.sso), separators=(", ", ": ")).encode()
    tampered = replace_part(h.sso, 0, b64(spaced))
    assert_refused(await world.redeem_sso(tampered))
    assert (await refusal_reasons(world))[0].startswith("decryption")


async def test_alg_and_enc_outside_the_allow_list_are_refused(world: World) -> None:
    fi = first_fi(world)
    # Control: the forging helper makes tokens the server accepts when nothing is wrong.
    control = encrypt_with_server_key(
        world, {"alg": "dir", "enc": "A256GCM"}, await admin_claims(world, fi), ["dir", "A256GCM"]
    )
    assert opens(world, control).tenant_id == world.seed.tenants[fi]

    h = await handoff(world, fi)
    swapped = {**header_of(h.sso), "alg": "A256GCM", "enc": "dir"}
    forgeries = [
        replace_part(h.sso, 0, b64(json.dumps(swapped).encode())),
        # Genuinely encrypted under the server's own key, with a key-wrapping alg.
        encrypt_with_server_key(
            world,
            {"alg": "A256KW", "enc": "A256GCM"},
            await admin_claims(world, fi),
            ["A256KW", "A256GCM"],
        ),
        encrypt_with_server_key(
            world,
            {"alg": "A256GCMKW", "enc": "A256GCM"},
            await admin_claims(world, fi),
            ["A256GCMKW", "A256GCM"],
        ),
        replace_part(h.sso, 0, b64(json.dumps({**header_of(h.sso), "alg": "none"}).encode())),
        replace_part(h.sso, 0, b64(json.dumps({**header_of(h.sso), "enc": "A128GCM"}).encode())),
    ]
    for forged in forgeries:
        assert_refused(await world.redeem_sso(forged))
    # Refused by the header allow-list, before any cryptography (A256GCMKW brings iv/tag).
    reasons = await refusal_reasons(world)
    assert len(reasons) == len(forgeries)
    assert set(reasons) <= {"algorithm not allowed", "unexpected header parameter"}, reasons


async def test_zip_header_is_refused_before_decompression(world: World) -> None:
    fi = first_fi(world)
    claims = await admin_claims(world, fi)
    plain = encrypt_with_server_key(
        world, {"alg": "dir", "enc": "A256GCM"}, claims, ["dir", "A256GCM"]
    )
    opens(world, plain)  # control: same claims, same key, no zip
    zipped = encrypt_with_server_key(
        world, {"alg": "dir", "enc": "A256GCM", "zip": "DEF"}, claims, ["dir", "A256GCM", "DEF"]
    )
    assert header_of(zipped)["zip"] == "DEF"
    assert_refused(await world.redeem_sso(zipped))
    assert await refusal_reasons(world) == ["unexpected header parameter"]


async def test_pbes2_with_a_huge_p2c_is_refused_in_well_under_50_ms(world: World) -> None:
    kid = world.deps.keyring.sso_key().kid
    header = {
        "alg": "PBES2-HS512+A256KW",
        "enc": "A256GCM",
        "p2s": b64(b"\x00" * 16),
        "p2c": 2_000_000_000,
        "typ": SSO_TYP,
        "kid": kid,
    }
    segments = [b64(b"\x01" * 40), b64(b"\x02" * 12), b64(b"\x03" * 64), b64(b"\x04" * 16)]
    token = ".".join([b64(json.dumps(header).encode()), *segments])

    # The rule itself, without I/O: refused before any key derivation.
    started = time.perf_counter()
    with pytest.raises(SsoTokenRefused, match=r"algorithm not allowed|unexpected header parameter"):
        open_sso_token(
            token,
            keys=world.deps.keyring.sso_opening_key,
            issuer=world.deps.config.issuer,
            audience=REPORTING,
            now=world.clock.now(),
            leeway=world.deps.config.leeway,
        )
    assert time.perf_counter() - started < 0.005

    # End to end the request does the same I/O as any refusal (client auth, key cache,
    # audit row), so compare it with a garbage token's: PBES2 adds no work at all.
    assert_refused(await world.redeem_sso("garbage"))  # warm-up
    pbes2: list[float] = []
    garbage: list[float] = []
    for _ in range(5):
        for candidate, timings in ((token, pbes2), ("garbage.a.b.c.d", garbage)):
            started = time.perf_counter()
            assert_refused(await world.redeem_sso(candidate))
            timings.append(time.perf_counter() - started)
    assert statistics.median(pbes2) < statistics.median(garbage) + 0.02, (pbes2, garbage)
    assert min(pbes2) < 0.25, pbes2  # 2e9 PBKDF2 rounds would take minutes


async def test_sso_jti_lives_in_its_own_namespace_of_one_time_objects(world: World) -> None:
    store = world.deps.store
    now = world.clock.now()
    shared = str(uuid.uuid4())
    # Store level: the same id claimed as an authorization code and as an SSO token.
    assert (
        await store.claim_once("authorization_code", shared, "admin-portal", now, now + 60) is None
    )
    assert await store.claim_once("sso", shared, REPORTING, now, now + 60) is None
    assert await store.claim_once("sso", shared, "x", now, now + 60) == REPORTING
    assert await store.claim_once("authorization_code", shared, "x", now, now + 60) == (
        "admin-portal"
    )

    # End to end: another kind of one-time object already holding the jti does not
    # make the SSO token look replayed ...
    h = await handoff(world)
    jti = await jti_of(world, h.sso)
    assert await store.claim_once("authorization_code", jti, "admin-portal", now, now + 60) is None
    assert (await world.redeem_sso(h.sso)).status_code == 200
    # ... and the SSO use did not consume the other kind's entry either.
    assert await store.claim_once("sso", jti, "x", now, now + 60) == REPORTING
    assert await store.claim_once("authorization_code", jti, "x", now, now + 60) == "admin-portal"

    # While the SSO namespace is the gate: a jti already used as SSO is a replay.
    other = await mint_more(world, h.scoped["access_token"])
    other_jti = await jti_of(world, other)
    assert await store.claim_once("sso", other_jti, "someone-else", now, now + 60) is None
    assert_refused(await world.redeem_sso(other))
    (replay,) = await world.audit_events("sso.replay_refused")
    assert json.loads(replay["detail"])["first_redeemed_by"] == "someone-else"


async def test_a_claim_with_grant_wins_once_and_reads_the_account_after_its_claim(
    world: World,
) -> None:
    store = world.deps.store
    now = world.clock.now()
    fi = world.seed.tenants[first_fi(world)]
    admin = await world.administration()
    account_id, _ = await admin.account_id("admin")
    ops_id, _ = await admin.account_id("ops")

    async def claim(jti: str, claimant: str, account: int, tenant: int) -> Any:
        return await store.claim_with_grant(
            "sso", jti, claimant, now, now + 60, account_id=account, tenant_id=tenant
        )

    jti = str(uuid.uuid4())
    won = await claim(jti, REPORTING, account_id, fi)
    assert won.first_claimant is None
    assert won.account is not None
    assert won.account.id == account_id
    assert won.grant is not None
    assert "reporting:view" in won.grant
    assert won.grant == await store.admin_permissions(account_id, fi)
    # A replay: who claimed first, and nothing read for it.
    again = await claim(jti, "someone-else", account_id, fi)
    assert (again.first_claimant, again.account, again.grant) == (REPORTING, None, None)
    # A claim that wins for an account that is gone, or for an FI it holds no grant on.
    gone = await claim(str(uuid.uuid4()), REPORTING, 987654, fi)
    assert (gone.first_claimant, gone.account, gone.grant) == (None, None, None)
    foreign = 987654 if fi != 987654 else 987655
    ungranted = await claim(str(uuid.uuid4()), REPORTING, ops_id, foreign)
    assert ungranted.first_claimant is None
    assert ungranted.account is not None
    assert ungranted.grant is None

    # Twenty at once on one jti: exactly one wins, all others name the winner.
    contested = str(uuid.uuid4())
    results = await gather_all([claim(contested, f"client-{n}", account_id, fi) for n in range(20)])
    winners = [r for r in results if r.first_claimant is None]
    assert len(winners) == 1
    winner = f"client-{results.index(winners[0])}"
    assert {r.first_claimant for r in results if r is not winners[0]} == {winner}


async def gather_all(calls: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    async def run(index: int, call: Any) -> None:
        results[index] = await call

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run, index, call)
    return results


# -- Time ------------------------------------------------------------------------


async def test_sso_token_is_accepted_at_ttl_minus_1(world: World) -> None:
    ttl = world.deps.config.sso_token_ttl
    assert ttl == 120
    h = await handoff(world)
    world.clock.advance(ttl - 1)
    redeemed = await world.redeem_sso(h.sso)
    assert redeemed.status_code == 200, redeemed.text


async def test_sso_token_is_refused_past_ttl_plus_leeway(world: World) -> None:
    ttl, leeway = world.deps.config.sso_token_ttl, world.deps.config.leeway
    h = await handoff(world)
    world.clock.advance(ttl + leeway + 1)
    assert_refused(await world.redeem_sso(h.sso))
    assert await refusal_reasons(world) == ["expired"]
    assert await world.audit_events("sso.replay_refused") == []


async def test_sso_token_is_refused_at_ttl_plus_1(world: World) -> None:
    ttl = world.deps.config.sso_token_ttl
    h = await handoff(world)
    world.clock.advance(ttl + 1)
    assert_refused(await world.redeem_sso(h.sso))
    assert await refusal_reasons(world) == ["expired"]


# -- who may mint ----------------------------------------------------------------


async def test_unscoped_admin_token_cannot_mint(world: World) -> None:
    unscoped = await world.login(ADMIN_PORTAL, "admin")
    minted = await world.mint_sso(unscoped["access_token"])
    assert minted.status_code == 400, minted.text
    assert minted.json()["error"] == "invalid_target"
    assert await world.audit_events("sso.minted") == []


async def test_admin_without_reporting_view_on_that_fi_cannot_mint(world: World) -> None:
    first, second = first_fi(world), second_fi(world)
    ops_second = await world.admin_in(second, "ops")
    refused = await world.mint_sso(ops_second["access_token"])
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_target"
    assert await world.audit_events("sso.minted") == []

    # Control: on its first FI, where it holds reporting:view, ops can.
    h = await handoff(world, first, "ops")
    assert opens(world, h.sso).tenant_id == world.seed.tenants[first]


async def test_the_mint_checks_the_admins_grant_as_it_is_now_not_as_the_token_says(
    world: World,
) -> None:
    fi = first_fi(world)
    tenant_id = world.seed.tenants[fi]
    admin = await world.administration()
    account_id, _ = await admin.account_id("admin")
    # reporting:view taken out of the grant after the FI-scoped token was issued ...
    scoped = (await world.admin_in(fi))["access_token"]
    await admin.grant(account_id, tenant_id, frozenset({"customers:read"}))
    narrowed = await world.mint_sso(scoped)
    # ... the whole grant revoked ...
    await admin.grant(account_id, tenant_id, frozenset({"customers:read", "reporting:view"}))
    scoped = (await world.admin_in(fi))["access_token"]
    assert (await world.mint_sso(scoped)).status_code == 200  # control: granted again
    await admin.revoke_grant(account_id, tenant_id)
    revoked = await world.mint_sso(scoped)
    # ... or the FI itself switched off.
    await admin.grant(account_id, tenant_id, frozenset({"customers:read", "reporting:view"}))
    scoped = (await world.admin_in(fi))["access_token"]
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    async with store.engine.begin() as conn:
        await conn.execute(
            update(schema.tenants).where(schema.tenants.c.id == tenant_id).values(active=False)
        )
    switched_off = await world.mint_sso(scoped)
    for refused in (narrowed, revoked, switched_off):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_target"
    assert len(await world.audit_events("sso.minted")) == 1


async def test_grant_removed_between_mint_and_redeem_refuses_the_redemption(
    world: World,
) -> None:
    fi = first_fi(world)
    h = await handoff(world, fi)
    admin = await world.administration()
    account_id, _ = await admin.account_id("admin")
    await admin.revoke_grant(account_id, world.seed.tenants[fi])

    assert_refused(await world.redeem_sso(h.sso))
    assert await refusal_reasons(world) == ["grant removed since mint"]
    assert await world.audit_events("sso.redeemed") == []
    # The refused token was spent: presenting it again is a replay.
    assert_refused(await world.redeem_sso(h.sso))
    assert len(await world.audit_events("sso.replay_refused")) == 1
    assert await refusal_reasons(world) == ["grant removed since mint"]


# -- no oracle -------------------------------------------------------------------


async def test_every_refusal_of_an_sso_token_reads_the_same(world: World) -> None:
    fi = first_fi(world)
    h = await handoff(world, fi)
    scoped = h.scoped["access_token"]
    expiring = await mint_more(world, scoped)
    tampered = await mint_more(world, scoped)
    foreign = await mint_more(world, scoped)
    assert (await world.redeem_sso(h.sso)).status_code == 200

    wrong_audience = encrypt_with_server_key(
        world,
        {"alg": "dir", "enc": "A256GCM"},
        await admin_claims(world, fi, aud="customer-portal"),
        ["dir", "A256GCM"],
    )
    wrong_issuer = encrypt_with_server_key(
        world,
        {"alg": "dir", "enc": "A256GCM"},
        await admin_claims(world, fi, iss=world.deps.config.issuer + ".evil"),
        ["dir", "A256GCM"],
    )
    other_key = seal_sso_token(
        SsoClaims(**_as_sso_fields(await admin_claims(world, fi))),
        _foreign_key(world.deps.keyring.sso_key().kid),
    )
    answers = {
        "replayed": await world.redeem_sso(h.sso),
        "tampered": await world.redeem_sso(
            replace_part(tampered, 3, flip_bit(tampered.split(".")[3]))
        ),
        "another client": await world.redeem_sso(foreign, ADMIN_PORTAL),
        "wrong audience": await world.redeem_sso(wrong_audience),
        "wrong issuer": await world.redeem_sso(wrong_issuer),
        "another key, same kid": await world.redeem_sso(other_key),
        "garbage": await world.redeem_sso("not.a.jwe.at.all"),
        "an access token": await world.redeem_sso(scoped),
    }
    world.clock.advance(world.deps.config.sso_token_ttl + world.deps.config.leeway + 1)
    answers["expired"] = await world.redeem_sso(expiring)

    descriptions = {name: assert_refused(r) for name, r in answers.items()}
    assert len(set(descriptions.values())) == 1, descriptions
    bodies = {r.text for r in answers.values()}
    assert len(bodies) == 1, bodies
    reasons = await refusal_reasons(world)
    assert "expired" in reasons
    assert "audience" in reasons
    assert "issuer" in reasons
    # The private reasons are in the audit trail only, never in the answer.
    (body,) = bodies
    generic = json.loads(body)["error_description"]
    for reason in reasons:
        assert reason in generic or reason not in body, reason
    for leak in ("audience", "issuer", "decryption", "malformed", "kid", "replay", "client"):
        assert leak not in body.lower()


def _as_sso_fields(claims: dict[str, Any]) -> dict[str, Any]:
    names = {
        "iss": "issuer",
        "aud": "audience",
        "uid": "account_id",
        "sub": "subject",
        "tid": "tenant_id",
        "sid": "session_id",
        "azp": "minted_by",
        "jti": "jwt_id",
        "iat": "issued_at",
        "exp": "expires_at",
    }
    return {names[k]: v for k, v in claims.items()}


def _foreign_key(kid: str) -> EncryptionKey:
    return EncryptionKey(kid, OctKey.generate_key(256))


# -- key rotation ------------------------------------------------------------------


async def test_sso_key_rotation_overlap(
    world_database: tuple[str, DemoIdentity], clock: ManualClock
) -> None:
    """Tokens minted before a rotation redeem during the overlap; past it they are refused.

    A short overlap (30 s < the 120 s token lifetime) isolates the key as the cause.
    """
    url, seed = world_database
    async with running_world(url, seed, clock, key_overlap=30) as world:
        h = await handoff(world)
        before_a = h.sso
        before_b = await mint_more(world, h.scoped["access_token"])
        old_kid = header_of(before_a)["kid"]

        world.clock.advance(5)
        new_kid = await rotate_keys(world.deps.store, world.deps.config, world.clock, "enc")
        await world.deps.keyring.refresh(force=True)
        assert new_kid != old_kid
        after = await mint_more(world, h.scoped["access_token"])
        assert header_of(after)["kid"] == new_kid

        assert (await world.redeem_sso(before_a)).status_code == 200

        world.clock.advance(world.deps.config.key_overlap + 1)
        await world.deps.keyring.refresh(force=True)
        assert_refused(await world.redeem_sso(before_b))
        assert await refusal_reasons(world) == ["unknown kid"]
        assert (await world.redeem_sso(after)).status_code == 200


async def test_sso_minted_with_a_new_key_redeems_on_an_instance_with_an_older_cache(
    world_database: tuple[str, DemoIdentity], clock: ManualClock
) -> None:
    url, seed = world_database
    async with (
        running_world(url, seed, clock, key_cache_seconds=10) as a,
        running_world(url, seed, clock, key_cache_seconds=10) as b,
    ):
        scoped = (await a.admin_in(first_fi(a)))["access_token"]
        clock.advance(1)
        new_kid = await rotate_keys(a.deps.store, a.deps.config, clock, "enc")
        await a.deps.keyring.refresh(force=True)  # A's cache happened to expire first
        sso = await mint_more(a, scoped)
        assert header_of(sso)["kid"] == new_kid
        redeemed = await b.redeem_sso(sso)
        assert redeemed.status_code == 200, (redeemed.text, await refusal_reasons(b))
