"""SECURITY.md matrix, row "DoS", at the portals (new here) and the identity server.
Thorough identity-side: tests/identity/http/test_dos.py, tests/identity/domain/
test_strict_parsing.py (zip bomb, PBES2, nesting)."""

from __future__ import annotations

import base64
import json
import time
import zlib

import pytest

from tenantgate.guard.errors import InvalidToken

from ..identity.harness import World
from ..jose_helpers import b64
from ..portals.customer.support import Customer, transaction_count
from ..portals.harness import PortalWorld
from ..portals.reporting.steps import land
from .support import FIRST, Forge, assert_no_server_error, bearer, verifier_for

pytestmark = pytest.mark.anyio


async def test_1_mb_authorization_header(world: World) -> None:
    answer = await bearer(world, "a" * 1_000_000)
    assert answer.status_code in (400, 431), answer.status_code
    assert_no_server_error(answer)
    assert (
        await bearer(world, (await world.login("admin-portal", "admin"))["access_token"])
    ).status_code == 200


async def test_100_kb_token(world: World) -> None:
    f = await Forge.of(world)
    big = f.signed(padding="x" * 100_000)
    started = time.perf_counter()
    with pytest.raises(InvalidToken):
        await verifier_for(world, "admin").verify(big)
    assert time.perf_counter() - started < 0.05
    answer = await bearer(world, big)
    assert answer.status_code in (400, 401, 431)
    exchanged = await world.mint_sso(big)  # over the form-body limit: 413 before parsing
    assert exchanged.status_code in (400, 413), exchanged.status_code


async def sso_header_variant(world: World, **changes: object) -> str:
    scoped = await world.admin_in(FIRST)
    token = (await world.mint_sso(scoped["access_token"])).json()["access_token"]
    parts = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    return ".".join([b64(json.dumps({**header, **changes}).encode()), *parts[1:]])


async def test_jwe_with_zip(reporting: PortalWorld) -> None:
    world = reporting.identity
    bomb = b64(zlib.compress(b"{" + b" " * 5_000_000 + b"}"))
    zipped = await sso_header_variant(world, zip="DEF")
    parts = zipped.split(".")
    with_bomb = ".".join([*parts[:3], bomb[:6000], parts[4]])
    for token in (zipped, with_bomb):
        answer = await world.redeem_sso(token)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
        landed = await land(reporting, token)
        assert landed.status_code == 400


async def test_pbes2_with_a_huge_p2c(world: World) -> None:
    token = await sso_header_variant(
        world, alg="PBES2-HS512+A256KW", p2c=2_000_000_000, p2s=b64(b"salt-salt-salt-s")
    )
    await world.redeem_sso("warm.up.a.b.c")
    started = time.perf_counter()
    answer = await world.redeem_sso(token)
    elapsed = time.perf_counter() - started
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert elapsed < 0.05, elapsed


async def test_deeply_nested_json(portal: PortalWorld, me: Customer) -> None:
    before = await transaction_count(portal)
    for depth in (100, 10_000, 100_000):
        body = "[" * depth + "]" * depth
        answer = await portal.browser.post(
            "/api/transfers",
            content=body,
            headers={
                "X-CSRF-Token": me.csrf,
                "Origin": portal.url,
                "Content-Type": "application/json",
            },
        )
        assert 400 <= answer.status_code < 500, (depth, answer.status_code)
        nested = '{"from":' * depth + '"x"' + "}" * depth
        answer = await portal.browser.post(
            "/api/transfers",
            content=nested,
            headers={
                "X-CSRF-Token": me.csrf,
                "Origin": portal.url,
                "Content-Type": "application/json",
            },
        )
        assert 400 <= answer.status_code < 500, (depth, answer.status_code)
    assert await transaction_count(portal) == before


async def test_deeply_nested_json_in_a_signed_token_at_the_guard(world: World) -> None:
    f = await Forge.of(world)
    deep = f.signed(nested=json.loads("[" * 600 + "]" * 600))
    with pytest.raises(InvalidToken):
        await f.verifier.verify(deep)


async def test_10_mb_form_body(reporting: PortalWorld) -> None:
    world = reporting.identity
    body = b"sso_token=" + b"a" * 10_000_000
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    portal = await reporting.browser.post("/sso/landing", content=body, headers=headers)
    assert portal.status_code == 413, portal.status_code
    identity = await world.http.post("/token", content=body, headers=headers)
    assert identity.status_code == 413
    assert (await reporting.browser.get("/healthz")).status_code == 200


async def test_thousands_of_form_fields(reporting: PortalWorld) -> None:
    world = reporting.identity
    fields = "&".join(f"f{i}=v" for i in range(5000))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    portal = await reporting.browser.post(
        "/sso/landing", content=f"sso_token=a.b.c.d.e&{fields}", headers=headers
    )
    assert 400 <= portal.status_code < 500, portal.status_code
    assert_no_server_error(portal)
    logout = await reporting.browser.post("/auth/logout", content=fields, headers=headers)
    assert 200 <= logout.status_code < 500
    assert_no_server_error(logout)
    identity = await world.http.post("/token", content=f"grant_type=x&{fields}", headers=headers)
    assert 400 <= identity.status_code < 500
