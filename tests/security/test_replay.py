"""SECURITY.md matrix, row "Replay": the one-time SSO token, at the identity server's token
endpoint and through the reporting portal's `/sso/landing` (where a browser delivers it).
Thorough identity-side tests: tests/identity/http/test_sso.py (Replay section) and
test_sso_multiprocess.py (two server processes on one database)."""

from __future__ import annotations

import json
import uuid

import anyio
import httpx
import pytest

from tenantgate.identity.services.sso import SSO_REFUSED

from ..identity.harness import World
from ..jose_helpers import b64, unb64
from ..portals.harness import PortalWorld
from ..portals.reporting.steps import land
from .support import FIRST

pytestmark = pytest.mark.anyio
REFUSED = {"error": "invalid_grant", "error_description": SSO_REFUSED}


async def mint(world: World) -> str:
    scoped = await world.admin_in(FIRST)
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    return str(minted.json()["access_token"])


def assert_refused(answer: httpx.Response) -> None:
    assert (answer.status_code, answer.json()) == (400, REFUSED), answer.text


async def test_sso_token_redeemed_twice(reporting: PortalWorld) -> None:
    """Through the landing page twice (the browser's back button, a replayed form post):
    the second is the same refusal page and leaves the first session as it was."""
    world = reporting.identity
    token = await mint(world)
    first = await land(reporting, token)
    assert first.status_code == 200
    cookie = reporting.browser.cookies.get(reporting.portal.config.session_cookie)
    second = await land(reporting, token)
    assert second.status_code == 400
    assert "set-cookie" not in second.headers
    assert reporting.browser.cookies.get(reporting.portal.config.session_cookie) == cookie
    assert_refused(await world.redeem_sso(token))
    assert len(await world.audit_events("sso.redeemed")) == 1


async def test_20_parallel_redeems_exactly_one_wins(world: World) -> None:
    token = await mint(world)
    answers: list[httpx.Response] = []

    async def redeem() -> None:
        answers.append(await world.redeem_sso(token))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            for _ in range(20):
                tasks.start_soon(redeem)
    assert sorted(a.status_code for a in answers) == [200] + [400] * 19
    for answer in answers:
        if answer.status_code == 400:
            assert_refused(answer)


async def test_redeemed_by_another_client(world: World) -> None:
    token = await mint(world)
    assert_refused(await world.redeem_sso(token, "admin-portal"))
    # The customer portal may not use token exchange at all: refused before the token is read.
    foreign = await world.redeem_sso(token, "customer-portal")
    assert (foreign.status_code, foreign.json()["error"]) == (400, "unauthorized_client")
    assert await world.audit_events("sso.redeemed") == []


async def test_redeemed_without_client_auth(world: World) -> None:
    token = await mint(world)
    anonymous = await world.redeem_sso(token, None)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")
    wrong = await world.http.post(
        "/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": token,
            "subject_token_type": "urn:tenantgate:token-type:sso",
        },
        auth=("reporting-portal", "not-the-secret"),
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert await world.audit_events("sso.redeemed") == []


async def test_bit_flips_in_each_jwe_part(world: World) -> None:
    token = await mint(world)
    parts = token.split(".")
    assert len(parts) == 5
    for index in range(5):
        raw = bytearray(unb64(parts[index]))
        if raw:
            for position in (0, len(raw) - 1):
                flipped = bytearray(raw)
                flipped[position] ^= 0x01
                forged = [*parts]
                forged[index] = b64(bytes(flipped))
                assert_refused(await world.redeem_sso(".".join(forged)))
        else:  # `dir`: the encrypted key is empty; a byte slipped in is the flip
            forged = [*parts]
            forged[index] = b64(b"\x01")
            assert_refused(await world.redeem_sso(".".join(forged)))
    assert (await world.redeem_sso(token)).status_code == 200


async def test_jwe_alg_enc_swapped(world: World) -> None:
    token = await mint(world)
    parts = token.split(".")
    header = json.loads(unb64(parts[0]))
    variants = [
        {"alg": header["enc"], "enc": header["alg"]},
        {"alg": "A256KW"},
        {"alg": "RSA-OAEP-256"},
        {"alg": "ECDH-ES"},
        {"enc": "A128GCM"},
        {"enc": "A256CBC-HS512"},
        {"alg": "none"},
    ]
    for change in variants:
        forged = b64(json.dumps({**header, **change}).encode())
        assert_refused(await world.redeem_sso(".".join([forged, *parts[1:]])))
    assert (await world.redeem_sso(token)).status_code == 200


async def test_sso_jti_colliding_with_an_authorization_code(world: World) -> None:
    """Another kind of one-time object already holding the SSO token's jti neither makes it
    look replayed nor is consumed by it (namespaced by kind). Thorough, with the jti read
    back from the token: tests/identity/http/test_sso.py::
    test_sso_jti_lives_in_its_own_namespace_of_one_time_objects."""
    store = world.deps.store
    now = world.clock.now()
    shared = str(uuid.uuid4())
    assert (
        await store.claim_once("authorization_code", shared, "admin-portal", now, now + 60) is None
    )
    assert await store.claim_once("sso", shared, "reporting-portal", now, now + 60) is None
    assert await store.claim_once("sso", shared, "x", now, now + 60) == "reporting-portal"
    assert (
        await store.claim_once("authorization_code", shared, "x", now, now + 60) == "admin-portal"
    )
    # And a real code redemption then a real SSO redemption both succeed in one world.
    token = await mint(world)
    assert (await world.redeem_sso(token)).status_code == 200
