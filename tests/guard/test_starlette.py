"""The Starlette/FastAPI binding: Bearer extraction, size limits, RFC 6750 challenges."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tenantgate.guard import GuardError, require_permission, require_tenant
from tenantgate.guard.starlette import BearerAuth, guard_error_handler

from .support import TENANT, Env, make_token, valid_claims

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    bearer = BearerAuth(env.verifier)

    async def customers(request: Request) -> JSONResponse:
        token = await bearer(request)
        require_permission(token, "customers:read")
        require_tenant(token, request.query_params.get("tenant"))
        return JSONResponse({"sub": token.subject, "tenant": token.tenant_ref})

    async def lock(request: Request) -> JSONResponse:
        require_permission(await bearer(request), "customers:lock")
        return JSONResponse({})

    app = Starlette(
        routes=[Route("/customers", customers), Route("/lock", lock)],
        exception_handlers={GuardError: guard_error_handler},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client


async def test_valid_bearer_token_reaches_the_handler(env: Env, api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/customers",
        params={"tenant": TENANT},
        headers={"Authorization": f"Bearer {make_token(env.es)}"},
    )
    assert response.status_code == 200
    assert response.json() == {"sub": "u_3b9d7c", "tenant": TENANT}


@pytest.mark.parametrize("prefix", ["bearer ", "BEARER ", "Bearer   "])
async def test_scheme_is_case_insensitive(env: Env, api: httpx.AsyncClient, prefix: str) -> None:
    headers = {"Authorization": prefix + make_token(env.es)}
    response = await api.get("/customers", params={"tenant": TENANT}, headers=headers)
    assert response.status_code == 200


async def test_missing_credentials_get_a_bare_challenge(api: httpx.AsyncClient) -> None:
    response = await api.get("/customers")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="tenantgate"'
    assert response.headers["cache-control"] == "no-store"


async def test_bad_token_gets_invalid_token_with_the_fixed_sentence(
    env: Env, api: httpx.AsyncClient
) -> None:
    expired = make_token(env.es, valid_claims(exp=1))
    forged = make_token(env.es)[:-4] + "AAAA"
    bodies = set()
    for raw in (expired, forged, "x.y.z"):
        response = await api.get("/customers", headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        bodies.add(response.text)
    assert bodies == {
        '{"error":"invalid_token","error_description":"The access token is invalid."}'
    }


@pytest.mark.parametrize(
    "value",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer a,b",
        "Token abc",
        "Bearer " + "A" * 9000,
        "Bearer " + "A" * (1024 * 1024),
    ],
    ids=["basic", "no-token", "empty", "two-tokens", "comma", "other-scheme", "9kb", "1mb"],
)
async def test_malformed_or_oversize_headers_are_bad_requests(
    api: httpx.AsyncClient, value: str
) -> None:
    response = await api.get("/customers", headers={"Authorization": value})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_two_authorization_headers_are_refused(env: Env, api: httpx.AsyncClient) -> None:
    token = make_token(env.es)
    response = await api.get(
        "/customers",
        headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")],
    )
    assert response.status_code == 400


async def test_missing_permission_is_403_insufficient_scope(
    env: Env, api: httpx.AsyncClient
) -> None:
    response = await api.get("/lock", headers={"Authorization": f"Bearer {make_token(env.es)}"})
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="customers:lock"' in challenge


@pytest.mark.parametrize("tenant", ["tr_other_bank", None])
async def test_tenant_named_in_the_query_must_be_the_tokens(
    env: Env, api: httpx.AsyncClient, tenant: str | None
) -> None:
    params = {"tenant": tenant} if tenant else {}
    response = await api.get(
        "/customers", params=params, headers={"Authorization": f"Bearer {make_token(env.es)}"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "tenant_mismatch"
