"""SECURITY.md matrix, row "Time", with the identity server's manual clock driving every
party: the portal's guard reads the same clock (`verifier_for`, built like `build_portal`).
Thorough: tests/guard/test_claims.py, tests/identity/domain/test_strict_parsing.py
(time edges), tests/identity/http/test_sso.py (Time), test_refresh.py, test_code_grant.py."""

from __future__ import annotations

import pytest

from tenantgate.guard.errors import InvalidToken

from ..identity.harness import World
from ..portals.harness import PortalWorld
from .portals import session_of
from .support import DROP, FIRST, Forge, bearer, claims_of, verifier_for

pytestmark = pytest.mark.anyio
GUARD_LEEWAY = 5  # guard.claims.ClaimPolicy default, restated so a change is seen


async def test_access_token_at_exp_minus_1_s(world: World) -> None:
    tokens = await world.login("admin-portal", "admin")
    exp = claims_of(tokens["access_token"])["exp"]
    world.clock.advance(exp - 1 - world.clock.now())
    verified = await verifier_for(world, "admin").verify(tokens["access_token"])
    assert verified.expires_at == exp
    assert (await bearer(world, tokens["access_token"])).status_code == 200


async def test_access_token_at_exp_plus_leeway_plus_1_s(world: World) -> None:
    tokens = await world.login("admin-portal", "admin")
    exp = claims_of(tokens["access_token"])["exp"]
    verifier = verifier_for(world, "admin")
    assert verifier.policy.leeway == GUARD_LEEWAY
    world.clock.advance(exp + GUARD_LEEWAY + 1 - world.clock.now())
    with pytest.raises(InvalidToken):
        await verifier.verify(tokens["access_token"])
    assert (await bearer(world, tokens["access_token"])).status_code == 401


async def test_access_token_past_exp_through_the_portal_session(admin: PortalWorld) -> None:
    """A portal never serves on an expired token: past exp + leeway the BFF refreshes (the
    identity session is alive), so the session's token is a new, valid one."""
    from ..portals.admin.steps import choose, sign_in

    await sign_in(admin)
    await choose(admin, FIRST)
    before = await session_of(admin)
    world = admin.identity
    world.clock.advance(before.access_expires_at + GUARD_LEEWAY + 1 - world.clock.now())
    with pytest.raises(InvalidToken):
        await admin.portal.verifier.verify(before.tokens.access_token)
    page = await admin.browser.get("/")
    assert page.status_code == 200
    after = await session_of(admin)
    assert after.tokens.access_token != before.tokens.access_token
    await admin.portal.verifier.verify(after.tokens.access_token)


async def test_nbf_in_the_future(world: World) -> None:
    f = await Forge.of(world)
    now = int(world.clock.now())
    await f.refused(
        {
            "nbf +60 s": f.signed(nbf=now + 60),
            "nbf past leeway": f.signed(nbf=now + GUARD_LEEWAY + 2),
            "nbf a day ahead": f.signed(nbf=now + 86400),
        }
    )
    # Within the leeway it is honoured as valid (clock skew), at the guard.
    await f.verifier.verify(f.signed(nbf=now + 1))


async def test_missing_exp(world: World) -> None:
    f = await Forge.of(world)
    await f.refused(
        {
            "missing": f.signed(exp=DROP),
            "null": f.signed(exp=None),
            "string": f.signed(exp=str(f.payload["exp"])),
            "float": f.signed(exp=f.payload["exp"] + 0.5),
            "bool": f.signed(exp=True),
        }
    )


async def test_sso_token_at_119_s_and_121_s(world: World) -> None:
    assert world.deps.config.sso_token_ttl == 120
    scoped = await world.admin_in(FIRST)
    early = (await world.mint_sso(scoped["access_token"])).json()["access_token"]
    late = (await world.mint_sso(scoped["access_token"])).json()["access_token"]
    world.clock.advance(119)
    assert (await world.redeem_sso(early)).status_code == 200
    world.clock.advance(2)
    refused = await world.redeem_sso(late)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


async def test_refresh_past_the_idle_limit(world: World) -> None:
    idle = world.deps.config.refresh_token_idle_ttl
    tokens = await world.login("admin-portal", "admin")
    world.clock.advance(idle - 1)
    kept = await world.refresh("admin-portal", tokens["refresh_token"])
    assert kept.status_code == 200, kept.text
    world.clock.advance(idle + 1)
    dead = await world.refresh("admin-portal", kept.json()["refresh_token"])
    assert (dead.status_code, dead.json()["error"]) == (400, "invalid_grant")


async def test_refresh_past_the_absolute_limit(world: World) -> None:
    config = world.deps.config
    absolute, idle = config.refresh_token_ttl, config.refresh_token_idle_ttl
    tokens = await world.login("admin-portal", "admin")
    token, elapsed = tokens["refresh_token"], 0
    while elapsed + idle - 1 < absolute:  # stay active: never idle long enough to die
        world.clock.advance(idle - 1)
        elapsed += idle - 1
        answer = await world.refresh("admin-portal", token)
        assert answer.status_code == 200, (elapsed, answer.text)
        token = answer.json()["refresh_token"]
    world.clock.advance(absolute - elapsed + 1)
    dead = await world.refresh("admin-portal", token)
    assert (dead.status_code, dead.json()["error"]) == (400, "invalid_grant")


async def test_authorization_code_reused_or_older_than_its_lifetime(world: World) -> None:
    client = "admin-portal"
    redirect = world.client(client)["redirect_uri"]

    async def exchange(code: str, verifier: str) -> int:
        answer = await world.token(
            client,
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            redirect_uri=redirect,
        )
        return answer.status_code

    code, verifier = await world.authorization_code(client, "admin")
    assert await exchange(code, verifier) == 200
    assert await exchange(code, verifier) == 400  # reused
    old, old_verifier = await world.authorization_code(client, "admin")
    world.clock.advance(world.deps.config.authorization_code_ttl + 1)
    assert await exchange(old, old_verifier) == 400  # older than its lifetime
