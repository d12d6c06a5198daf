"""Metadata, JWKS, token, revocation, introspection and tenant listing (CONTRACT §2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..domain.errors import InvalidRequest, InvalidToken
from ..services.client_auth import authenticate_client
from ..services.context import Caller, Deps
from ..services.introspection import introspect_token
from ..services.revocation import revoke_token
from ..services.tenant_listing import list_selectable_tenants
from ..services.tenant_resolution import resolve_tenant_ref
from ..services.token_endpoint import GRANTS, grant_tokens
from ..services.token_exchange import GRANT_TYPE as TOKEN_EXCHANGE
from .errors import NO_STORE
from .forms import basic_credentials, bearer_token, read_form

router = APIRouter()
ADMIN_AUDIENCE = "admin-api"

# OpenAPI metadata only.  The routes read their form bodies by hand (``read_form``: strict
# ``application/x-www-form-urlencoded``, no repeated parameters), so FastAPI cannot see them;
# these descriptions let schema-driven tools (tests/fuzz) send the bodies the routes accept.
# Client authentication (HTTP Basic) and bearer tokens are read from the Authorization header.
_FORM = "application/x-www-form-urlencoded"
_TEXT: dict[str, Any] = {"type": "string", "maxLength": 4096}


def _form_body(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"requestBody": {"required": True, "content": {_FORM: {"schema": schema}}}}


TOKEN_FORM = _form_body(
    {
        "grant_type": {
            "type": "string",
            "enum": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
        },
        "code": _TEXT,
        "code_verifier": _TEXT,
        "redirect_uri": _TEXT,
        "refresh_token": _TEXT,
        "scope": _TEXT,
        "tenant": _TEXT,
        "subject_token": _TEXT,
        "subject_token_type": _TEXT,
        "requested_token_type": _TEXT,
        "audience": _TEXT,
        "actor_token": _TEXT,
        "actor_token_type": _TEXT,
    },
    ["grant_type"],
)
TOKEN_FORM_ONLY = _form_body({"token": _TEXT, "token_type_hint": _TEXT}, ["token"])
REF_FORM = _form_body({"ref": _TEXT}, ["ref"])


def deps_of(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


def caller_of(request: Request) -> Caller:
    return Caller(address=request.client.host if request.client else None)


@router.get("/.well-known/oauth-authorization-server", tags=["discovery"])
async def metadata(request: Request) -> dict[str, Any]:
    issuer = deps_of(request).config.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks.json",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": sorted(GRANTS),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "authorization_response_iss_parameter_supported": True,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
    }


@router.get("/jwks.json", tags=["discovery"])
async def jwks(request: Request) -> JSONResponse:
    keyring = deps_of(request).keyring
    await keyring.refresh()
    # Public keys only; caches may keep them briefly, rotation overlaps for far longer.
    return JSONResponse(keyring.jwks(), headers={"Cache-Control": "public, max-age=60"})


@router.post("/token", tags=["oauth"], openapi_extra=TOKEN_FORM)
async def token(request: Request) -> JSONResponse:
    deps = deps_of(request)
    client = await authenticate_client(deps, *basic_credentials(request))
    form = await read_form(request)
    response = await grant_tokens(deps, client, form, caller_of(request))
    return JSONResponse(response.as_json(), headers=NO_STORE)


@router.post("/revoke", tags=["oauth"], openapi_extra=TOKEN_FORM_ONLY)
async def revoke(request: Request) -> Response:
    deps = deps_of(request)
    client = await authenticate_client(deps, *basic_credentials(request))
    await revoke_token(deps, client, await read_form(request), caller_of(request))
    return Response(status_code=200, headers=NO_STORE)


@router.post("/introspect", tags=["oauth"], openapi_extra=TOKEN_FORM_ONLY)
async def introspect(request: Request) -> JSONResponse:
    deps = deps_of(request)
    client = await authenticate_client(deps, *basic_credentials(request))
    body = await introspect_token(deps, client, await read_form(request))
    return JSONResponse(body, headers=NO_STORE)


@router.get("/tenants", tags=["tenants"])
async def tenants(request: Request) -> JSONResponse:
    token = bearer_token(request)
    if token is None:
        raise InvalidToken("no bearer token")
    if len(token) > 8192:
        raise InvalidRequest("token too large")
    listing = await list_selectable_tenants(deps_of(request), token, (ADMIN_AUDIENCE,))
    return JSONResponse({"tenants": listing}, headers=NO_STORE)


@router.post("/tenant-refs/resolve", tags=["tenants"], openapi_extra=REF_FORM)
async def resolve_ref(request: Request) -> JSONResponse:
    """For portal backends: which internal FI a ref names, and whether it is current."""
    deps = deps_of(request)
    client = await authenticate_client(deps, *basic_credentials(request))
    form = await read_form(request)
    body = await resolve_tenant_ref(deps, client, form.get("ref", ""))
    return JSONResponse(body, headers=NO_STORE)


# The client-authenticated back channel, served ahead of FastAPI's router
# (direct_routes.py); the routes above document it.
DIRECT_ROUTES = {
    ("POST", "/token"): token,
    ("POST", "/revoke"): revoke,
    ("POST", "/introspect"): introspect,
    ("POST", "/tenant-refs/resolve"): resolve_ref,
}


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
async def readyz(request: Request) -> JSONResponse:
    deps = deps_of(request)
    try:
        await deps.store.ping()
        await deps.keyring.refresh()
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503, headers=NO_STORE)
    return JSONResponse({"status": "ready"}, headers=NO_STORE)
