from __future__ import annotations

import pytest

from ..harness import ISSUER, World

pytestmark = pytest.mark.anyio


async def test_metadata_follows_rfc_8414(world: World) -> None:
    response = await world.http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == ISSUER
    for name, path in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/jwks.json"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ]:
        assert meta[name] == ISSUER + path
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in meta["grant_types_supported"]
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in meta["grant_types_supported"]


async def test_jwks_publishes_public_keys_only(world: World) -> None:
    keys = (await world.http.get("/jwks.json")).json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "EC"
        assert key["alg"] == "ES256"
        assert key["use"] == "sig"
        assert "d" not in key
    assert all(k["kty"] != "oct" for k in keys)


async def test_health_and_readiness(world: World) -> None:
    assert (await world.http.get("/healthz")).json() == {"status": "ok"}
    ready = await world.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_unknown_paths_answer_json_404(world: World) -> None:
    response = await world.http.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
