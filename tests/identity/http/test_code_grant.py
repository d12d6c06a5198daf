from __future__ import annotations

import httpx
import jwt
import pytest

from ..harness import World, pkce_pair

pytestmark = pytest.mark.anyio


def claims_of(token: str) -> dict[str, object]:
    # Inspection only (the signature is verified in test_third_party_verification).
    decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def exchange(
    world: World, client_id: str, code: str, verifier: str, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": world.client(client_id)["redirect_uri"],
    }
    form.update(extra)
    return await world.token(client_id, **form)


async def test_an_admin_gets_an_unscoped_token_and_an_employee_a_scoped_one(world: World) -> None:
    admin = claims_of((await world.login("admin-portal", "admin"))["access_token"])
    assert "tenant" not in admin
    assert admin["kind"] == "admin"
    assert admin["aud"] == "admin-api"
    employee = world.employee_of()
    body = await world.login("reporting-portal", employee.username)
    scoped = claims_of(body["access_token"])
    assert str(scoped["tenant"]).startswith("fi_")
    assert scoped["permissions"] == ["reporting:view"]
    assert scoped["aud"] == "reporting-api"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1200
    assert body["refresh_token"]


async def test_the_access_token_carries_every_contract_claim(world: World) -> None:
    token = (await world.login("admin-portal", "admin"))["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"]
    claims = claims_of(token)
    for name in (
        "iss",
        "sub",
        "aud",
        "client_id",
        "exp",
        "iat",
        "jti",
        "sid",
        "kind",
        "permissions",
    ):
        assert name in claims
    assert str(claims["sub"]).startswith("u_")  # opaque, not the database key


async def test_a_wrong_code_verifier_is_refused(world: World) -> None:
    code, _ = await world.authorization_code("admin-portal", "admin")
    other_verifier, _ = pkce_pair()
    response = await exchange(world, "admin-portal", code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_is_single_use_and_reuse_revokes_what_it_issued(world: World) -> None:
    code, verifier = await world.authorization_code("admin-portal", "admin")
    first = await exchange(world, "admin-portal", code, verifier)
    assert first.status_code == 200
    second = await exchange(world, "admin-portal", code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    refreshed = await world.refresh("admin-portal", first.json()["refresh_token"])
    assert refreshed.status_code == 400
    assert await world.audit_events("code.reuse_detected")


async def test_a_code_older_than_its_lifetime_is_refused(world: World) -> None:
    code, verifier = await world.authorization_code("admin-portal", "admin")
    world.clock.advance(world.deps.config.authorization_code_ttl + 1)
    response = await exchange(world, "admin-portal", code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_just_inside_its_lifetime_works(world: World) -> None:
    code, verifier = await world.authorization_code("admin-portal", "admin")
    world.clock.advance(world.deps.config.authorization_code_ttl - 1)
    assert (await exchange(world, "admin-portal", code, verifier)).status_code == 200


async def test_a_different_redirect_uri_at_the_token_endpoint_is_refused(world: World) -> None:
    code, verifier = await world.authorization_code("admin-portal", "admin")
    response = await exchange(
        world, "admin-portal", code, verifier, redirect_uri="http://127.0.0.1:8701/other"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_issued_to_one_client_cannot_be_redeemed_by_another(world: World) -> None:
    code, verifier = await world.authorization_code("admin-portal", "admin")
    response = await world.token(
        "reporting-portal",
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=world.client("admin-portal")["redirect_uri"],
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("missing", ["code", "code_verifier", "redirect_uri"])
async def test_missing_parameters_are_invalid_requests(world: World, missing: str) -> None:
    code, verifier = await world.authorization_code("admin-portal", "admin")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": world.client("admin-portal")["redirect_uri"],
    }
    del form[missing]
    response = await world.token("admin-portal", **form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_the_password_grant_is_refused(world: World) -> None:
    response = await world.token(
        "admin-portal",
        grant_type="password",
        username="admin",
        password=world.user("admin").password,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_the_customer_portal_may_not_exchange_tokens(world: World) -> None:
    response = await world.token(
        "customer-portal",
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token="x",
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    "auth",
    [None, ("admin-portal", "wrong-secret"), ("no-such-client", "x"), ("", "")],
)
async def test_client_authentication_failures_are_401_with_a_challenge(
    world: World, auth: tuple[str, str] | None
) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "x"}
    if auth is None:
        response = await world.http.post("/token", data=form)
    else:
        response = await world.http.post("/token", data=form, auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "header", ["Basic", "Basic !!!", "Basic " + "YWJj", "Bearer abc", "Basic w4k="]
)
async def test_malformed_basic_credentials_are_401(world: World, header: str) -> None:
    response = await world.http.post(
        "/token", data={"grant_type": "refresh_token"}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
